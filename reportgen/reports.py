"""From the store to a :class:`~reportgen.models.Report`: the one call every report command makes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from .aggregate import aggregate, member_map
from .config import Config
from .models import Period, Provenance, Report
from .project_reports import with_projects
from .store import Store


@contextlib.contextmanager
def open_report(
    config: Config, period: Period, member: str | None = None, generated_at: datetime | None = None
) -> Iterator[Report]:
    """Aggregate ``period`` from the store; the report streams detail rows while the block runs."""
    store = Store.open(config.store_dir, create=False)
    try:
        yield build_report(store, config, period, member, generated_at)
    finally:
        store.close()


def build_report(
    store: Store,
    config: Config,
    period: Period,
    member: str | None = None,
    generated_at: datetime | None = None,
) -> Report:
    """Aggregate ``period`` (optionally one member's keys) from an open store."""
    keys = store.current_keys()
    token_names: tuple[str, ...] | None = None
    if member is not None:
        names = {k.name for k in keys} | set(store_token_names(store, period))
        _, members = member_map(config, names)
        token_names = tuple(members.get(member, ()))
    # The fingerprint reads every row again (half the time at a million rows): it runs on a
    # second connection while SQLite, which releases the GIL, groups the rows on this one.
    with ThreadPoolExecutor(1) as pool:
        digest = pool.submit(_fingerprint, store.directory, period, token_names)
        partials = store.partials(period, token_names)
        fingerprint = digest.result()
    report = aggregate(
        partials,
        period=period,
        config=config,
        status=store.latest_status(),
        keys=keys,
        source=store.detail_source(),
        member=member,
        generated_at=generated_at,
        provenance=provenance(store, period, token_names, fingerprint=fingerprint),
    )
    return with_projects(report, store, config)


def _fingerprint(directory: Path, period: Period, token_names: tuple[str, ...] | None) -> str:
    with Store.open(directory, create=False) as store:
        return store.fingerprint(period.start_ts, period.end_ts, token_names)


def provenance(
    store: Store,
    period: Period,
    token_names: tuple[str, ...] | None = None,
    *,
    fingerprint: str | None = None,
) -> Provenance:
    """Where the rows of ``period`` (optionally of some keys) came from, and their fingerprint."""
    last = store.last_sync()
    account = store.get_meta("account") or "#"
    base_url, _, user = account.partition("#")
    return Provenance(
        base_url=base_url,
        user_id=int(user) if user.isdigit() else None,
        flavor=(last or {}).get("flavor") or "",
        synced_at=None
        if not last or not last.get("finished_at")
        else datetime.fromtimestamp(last["finished_at"], UTC).astimezone(period.tz),
        fingerprint=store.fingerprint(period.start_ts, period.end_ts, token_names)
        if fingerprint is None
        else fingerprint,
    )


def store_token_names(store: Store, period: Period) -> list[str]:
    """Key names that have rows in ``period``."""
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT DISTINCT token_name FROM logs WHERE created_at >= ? AND created_at < ? AND type IN (2, 5, 6)",
            (period.start_ts, period.end_ts),
        )
    ]
