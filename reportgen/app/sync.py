"""Sync: plan closed windows the store lacks, fetch each completely, commit each atomically."""

from __future__ import annotations

import contextlib
import functools
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol, cast

from ..config import Config, GatewayConfig
from ..core.findings import CUT, DUPLICATE, OUTSIDE, WindowFinding, WindowTally
from ..core.fingerprint import ROW_FIELDS
from ..core.periods import Period, previous_month
from ..core.records import GatewayStatus, RowBatch, UsageRecord
from ..core.text import cut_rows
from ..errors import ConfigError, GatewayError, StoreError, UsageError
from ..sources import LogSource, Retention, clip, source_account, source_factory
from ..store import Store, qualified_key, sync_lock
from ..store import evidence as audit
from . import ratebudget
from .expiry import expiring_months, retention_notes
from .localedits import closed_changes
from .lookback import late_windows, plan_windows, reread_windows
from .pricing import Pricing
from .readahead import ReadAhead
from .signing import who
from .syncdigests import SyncDigests, prepare_page
from .syncresult import SyncResult

#: The stored fields that hold a gateway's text (a name cut to MAX_NAME is counted in them).
_TEXTS = tuple(
    ROW_FIELDS.index(f)
    for f in ("token_name", "model_name", "request_id", "client", "billing_source", "group", "username")
)

#: Only windows that ended at least this long ago are fetched: the gateway's log list is
#: newest-first with offset paging, so rows still being written shift the pages.
SAFETY_MARGIN_SECONDS = 300


class SyncProgress(Protocol):
    """What a sync reports while it runs (the CLI draws a progress bar from it)."""

    def planned(self, windows: int, skipped: int) -> None: ...
    def request(self, path: str) -> None: ...
    def window_done(self, rows: int, pages: int) -> None: ...


class _Silent:
    def planned(self, windows: int, skipped: int) -> None:
        pass

    def request(self, path: str) -> None:
        pass

    def window_done(self, rows: int, pages: int) -> None:
        pass


def sync_target(
    store: Store, config: Config, period: Period | None, now: int, source: str = "default"
) -> tuple[int, int]:
    """The inclusive range a sync covers: the period, or from the last sync's end, up to closed time."""
    closed = now - SAFETY_MARGIN_SECONDS
    if period is not None:
        return period.start_ts, min(period.end_ts - 1, closed)
    covered = store.source_coverage(source)
    if covered:
        start = covered[-1][1] + 1
    else:
        start = previous_month(datetime.fromtimestamp(now, UTC), config.tz).start_ts
    return start, closed


def run_sync(
    config: Config,
    period: Period | None = None,
    *,
    refetch: bool = False,
    strict: bool = False,
    reprice: bool = False,
    look_back: bool | None = None,
    rebind: bool = False,
    progress: SyncProgress | None = None,
    client_factory: Callable[..., LogSource] | None = None,
    now: Callable[[], float] = time.time,
) -> SyncResult:
    """Bring the store up to date for ``period`` (or since the last sync) and return what was done.

    Every completed window is committed before the next starts; if the gateway fails or
    the user interrupts, completed windows stay and the next run fetches only the rest.
    Each source (``[gateway]``, ``[gateways.NAME]``; ``--source`` picks one) is synced in
    turn into its own rows, reading the management API or the gateway's database.  Each
    window is priced as its month was first synced (:mod:`.pricing`); ``reprice`` prices
    the months synced at what ``/api/status`` says now.  ``look_back`` (by default: when no
    period is given) reads again the last days and the recently closed periods for rows the
    gateway logged late (:mod:`.lookback`).  ``rebind`` binds a source to the configured address
    when the store holds its account at another (the gateway moved), in the audit log.
    """
    sources = config.sources()
    for gw in sources:
        _check_source(config, gw)
    refuse_insecure(config, strict)
    progress = progress or _Silent()
    results = []
    with sync_lock(config.store), Store.open(config.store) as store:
        for gw in sources:
            started = time.monotonic()
            factory = client_factory or source_factory(gw)
            client = factory(gw, on_request=progress.request)
            ratebudget.share(client, config.store_dir, gw, getattr(progress, "waiting", None))
            if hasattr(client, "repeat_memory"):  # the API's windows tell repeats by what the store keeps
                client.repeat_memory = store.repeat_memory
            # The database source is read a few pages ahead by a second process while the store
            # writes; that process also digests each page and compresses its raw table (prepare_page).
            # It starts now, so that its start-up overlaps what comes before the windows.
            ahead = (
                ReadAhead(
                    functools.partial(factory, gw),
                    # the page's digests (for the sync's fingerprint) and raw table made there
                    prepare=functools.partial(prepare_page, qualified_key(gw.name, "")),
                )
                if getattr(client, "read_ahead", False)
                else None
            )
            try:
                results.append(
                    _sync_locked(
                        store,
                        client,
                        ahead,
                        gw,
                        config,
                        period,
                        (refetch, reprice, period is None if look_back is None else look_back, rebind),
                        progress,
                        now,
                        started,
                    )
                )
            finally:
                if ahead is not None:
                    ahead.close()
                ratebudget.keep(client, config.store_dir, gw)
                client.close()
    if len(results) == 1:
        return results[0]
    return SyncResult(
        target=_span(r.target for r in results),
        windows=sum(r.windows for r in results),
        skipped=sum(r.skipped for r in results),
        rows=sum(r.rows for r in results),
        pages=sum(r.pages for r in results),
        requests=sum(r.requests for r in results),
        seconds=sum(r.seconds for r in results),
        flavor=", ".join(r.flavor for r in results),
        keys=sum(r.keys for r in results),
        amended=tuple(dict.fromkeys(a for r in results for a in r.amended)),
        name="+".join(r.name for r in results),
        parts=tuple(results),
        duplicates=sum(r.duplicates for r in results),
        cut=sum(r.cut for r in results),
        findings=tuple(f for r in results for f in r.findings),
        warnings=tuple(dict.fromkeys(w for r in results for w in r.warnings)),
        reread=sum(r.reread for r in results),
        looked_back=sum(r.looked_back for r in results),
    )


def refuse_insecure(config: Config, strict: bool) -> None:
    """With ``strict``, refuse before any request what the config warns of (the token would cross
    the network over plain http): sync, reconcile and month-end alike."""
    if strict and config.warnings:
        raise UsageError(f"--strict: {config.warnings[0]}")


def _span(targets: Iterable[tuple[int, int]]) -> tuple[int, int]:
    spans = list(targets)
    return min(t[0] for t in spans), max(t[1] for t in spans)


def _check_source(config: Config, gw: GatewayConfig) -> None:
    table = "gateway" if gw.name == "default" else f"gateways.{gw.name}"
    if gw.source == "api" and not gw.base_url:
        raise ConfigError(
            f"{config.where(table + '.base_url')} is not set; add base_url under [{table}]"
            + (" (or set REPORTGEN_BASE_URL)" if gw.name == "default" else "")
        )
    if gw.source == "api" and gw.access_token is None:
        raise GatewayError(
            f"{gw.token_env} is not set; export the system access token from the gateway's "
            "Settings > Security page (not an sk- model key)"
            + ("" if gw.name == "default" else f" for source {gw.name!r}")
        )


def _store_window(
    store: Store,
    client: LogSource,
    window: tuple[int, int],
    read: Iterable[Sequence[UsageRecord]],
    fetched_at: int,
    name: str,
    price: GatewayStatus,
) -> tuple[int, int, tuple[WindowFinding, ...]]:
    """Replace ``[lo, hi]`` of source ``name`` with the rows of ``read``'s pages: rows, pages, and the
    rows served but not stored, by reason (the window is not complete when some are in no figure)."""
    lo, hi = window
    tally = WindowTally(lo, hi)
    pages = iter(read)
    first = next(pages, None)
    if isinstance(first, RowBatch):  # oldest first, parsed to stored values: written as they come
        batches = cast(Iterator[RowBatch], itertools.chain([first], pages))
        rows, window_pages = store.stream_window(
            lo, hi, _cuts(batches, tally), fetched_at, name, tally, price
        )
        return rows, window_pages, tally.findings()
    window_pages = 0
    with store.spool() as spool:  # pages come newest first: spooled, not held, till the window ends
        for page in itertools.chain([] if first is None else [first], pages):
            # A row outside the window would escape the window's atomic replace and be
            # stored twice by the sync of its own window: the store keeps only [lo, hi], and
            # counts the others (a source that does not count them itself).
            inside = [r for r in page if lo <= r.created_at <= hi]
            for record in page:
                if not lo <= record.created_at <= hi:
                    tally.add(OUTSIDE, record.quota, str(record.created_at))
            spool.add(inside)
            window_pages += 1
        counted = getattr(client, "window_findings", None)  # what the source left out itself
        findings = _merged(tally, counted if isinstance(counted, WindowTally) else None)
        rows = spool.rows
        store.replace_window(lo, hi, spool, window_pages, fetched_at, name, findings, price)
    return rows, window_pages, findings


def _cuts(batches: Iterator[RowBatch], tally: WindowTally) -> Iterator[RowBatch]:
    """``batches``, their rows with a cut name counted in ``tally``."""
    for batch in batches:
        if len(batch):
            cut = cut_rows([batch.columns[i] for i in _TEXTS])
            if cut:
                tally.add(CUT, rows=cut)
        yield batch


def _merged(mine: WindowTally, theirs: WindowTally | None) -> tuple[WindowFinding, ...]:
    if theirs is None:
        return mine.findings()
    for f in mine.findings():
        theirs.add(f.reason, f.quota, f.example, rows=f.rows)
    return theirs.findings()


def _sync_locked(
    store: Store,
    client: LogSource,
    ahead: ReadAhead | None,
    gw: GatewayConfig,
    config: Config,
    period: Period | None,
    how: tuple[bool, bool, bool, bool],
    progress: SyncProgress,
    now: Callable[[], float],
    started: float,
) -> SyncResult:
    refetch, reprice, look_back, rebind = how
    status = client.status()
    keys = client.keys()  # the first authenticated call: bind the store only to an account that answered
    name = gw.name
    store.use_sources((name,))
    moved = store.bind_account(*source_account(gw), source=name, at=int(now()), rebind=rebind)
    if moved is not None:  # the gateway moved: said once, and kept in the audit log
        account = "{} user {}".format(*source_account(gw))
        audit.append(
            store, int(now()), who(), "rebind", f"source {name}: {moved.replace('#', ' user ')} -> {account}"
        )
    store.set_rollup_zone(config.timezone)  # rollups per local day of the report timezone
    store.save_status(status, name)
    pricing = Pricing.of(store, name, status, config.tz, reprice)
    store.save_keys(keys, int(now()), name)
    # The wallet balance now: it holds every row logged before this second (the bridge rolls it).
    balance = client.balance(int(now()))
    if balance is not None:
        store.save_balance(replace(balance, source=name))
    target = sync_target(store, config, period, int(now()), name)
    if target[1] < target[0]:
        raise UsageError(
            f"nothing to sync yet: {period.label if period else 'the next window'} starts "
            f"{datetime.fromtimestamp(target[0], UTC):%Y-%m-%d %H:%M} UTC, and only windows that ended "
            f"{SAFETY_MARGIN_SECONDS // 60} minutes ago are fetched"
        )
    windows, skipped = plan_windows(target[0], target[1], store.source_coverage(name), refetch, config.tz)
    kept: Retention | None = getattr(client, "retention", None)  # the log table deletes old rows
    expired = None
    expiring: tuple[tuple[str, str], ...] = ()
    if kept is not None:
        windows, expired = clip(windows, kept.whole_since(int(now()), config.tz))
        expiring = expiring_months(store, kept, int(now()), config)
    late = reread_windows(store, client, name, windows, config.tz)
    again = [] if refetch or not look_back else late_windows(store, config, name, int(now()), windows + late)
    late = sorted(late + again)
    windows = late + windows  # older first, as a sync reads
    span = (min([target[0], *(lo for lo, _ in late)]), max([target[1], *(hi for _, hi in late)]))
    changed = pricing.notice(span)
    if reprice:
        store.reprice(name, target[0], target[1], pricing.now)
    progress.planned(len(windows), skipped)
    sync_id = store.start_sync(int(now()), client.flavor, target, name)
    done = rows = pages = 0
    copies = [0]  # rows repeating the row before them whole (a source without row ids)
    findings: list[WindowFinding] = []
    state, message = "failed", ""
    runs = SyncDigests(qualified_key(name, ""))
    try:
        if ahead is not None:
            ahead.read(windows)
        with ahead or contextlib.nullcontext():
            for lo, hi in windows:
                read = (
                    runs.pages(_reported(ahead.pages(lo, hi), progress), lo, hi)
                    if ahead is not None
                    else client.iter_log_pages(lo, hi)
                )
                window_rows, window_pages, left_out = _store_window(
                    store, client, (lo, hi), _copies(read, copies), int(now()), name, pricing.price(lo)
                )
                findings.extend(left_out)
                done += 1
                rows += window_rows
                pages += window_pages
                progress.window_done(window_rows, window_pages)
        # the span's fingerprint from the rows as written, when this sync wrote all of it
        merged = runs.fingerprint(span)
        state = "ok"
    except GatewayError as exc:
        message = str(exc)
        raise type(exc)(
            f"{exc} ({done} of {len(windows)} windows saved; run `reportgen sync` again to fetch the rest)"
        ) from None
    except StoreError as exc:  # the disk filled or turned read-only: what was committed stays
        message = str(exc)
        raise StoreError(
            f"{exc} ({done} of {len(windows)} windows saved; free space or fix the folder, then run "
            "`reportgen sync` again to fetch the rest)"
        ) from None
    except KeyboardInterrupt:
        state, message = "interrupted", "interrupted by the user"
        raise
    finally:
        runs.close()
        # the flavour as detected while paging (it may differ from the one named at the start);
        # on a full disk even this bookkeeping may fail, and must not hide why the sync stopped
        with contextlib.suppress(StoreError):
            store.finish_sync(sync_id, int(now()), state, done, rows, pages, message, flavor=client.flavor)
    wallet_records = getattr(client, "wallet_records", None)  # the database source reads the gateway's own
    if wallet_records is not None:
        store.save_wallet_records(name, wallet_records(target[0], target[1]))
    store.use_sources(None)  # a closed period holds every source's rows
    amended, local = closed_changes(store, int(now()), span, windows, sync_id)
    repriced = pricing.amend_closed(span, int(now()), sync_id)
    store.use_sources((name,))
    fingerprint = merged or store.fingerprint(span[0], span[1] + 1)
    audit.append(
        store,
        int(now()),
        who(),
        "sync",
        f"{datetime.fromtimestamp(span[0], config.tz):%Y-%m-%d %H:%M} .. "
        f"{datetime.fromtimestamp(span[1], config.tz):%Y-%m-%d %H:%M} {config.timezone}"
        + ("" if name == "default" else f" source {name}"),
        fingerprint,
        {"windows": done, "skipped": skipped, "rows": rows, "amended": [a.label for a in amended]}
        | ({"read_again": len(late) - len(again)} if len(late) > len(again) else {})
        | ({"looked_back": len(again)} if again else {}),
    )
    described = getattr(client, "described", "")  # only the database source describes itself
    return SyncResult(
        target=target,
        windows=done,
        skipped=skipped,
        rows=rows,
        pages=pages,
        requests=client.requests_made + (ahead.pages_read if ahead is not None else 0),
        seconds=time.monotonic() - started,
        flavor=client.flavor,
        keys=len(keys),
        amended=tuple(dict.fromkeys([*(a.label for a in amended), *repriced])),
        source=described,
        duplicates=sum(f.rows for f in findings if f.reason == DUPLICATE),
        cut=sum(f.rows for f in findings if f.reason == CUT),
        findings=tuple(f for f in findings if f.unexplained),
        warnings=tuple(
            dict.fromkeys(
                [
                    *config.warnings,
                    *getattr(client, "warnings", ()),
                    *([changed] if changed else []),
                    *local,
                    *retention_notes(described, kept, expired, copies[0], config),
                    *(advice for _, advice in expiring),
                    *(
                        [f"source {name} is now bound to {gw.base_url or 'the configured database'}"]
                        if moved is not None
                        else []
                    ),
                ]
            )
        ),
        name=name,
        reread=len(late) - len(again),
        looked_back=len(again),
        expiring=expiring,
    )


def _copies(pages: Iterable[Sequence[UsageRecord]], count: list[int]) -> Iterator[Sequence[UsageRecord]]:
    """``pages``, the rows each batch says repeat the row before them whole added to ``count[0]``."""
    for page in pages:
        count[0] += getattr(page, "copies", 0)
        yield page


def _reported(pages: Iterator[RowBatch], progress: SyncProgress) -> Iterator[RowBatch]:
    """``pages`` read by the reading process, each reported as the request it was."""
    for page in pages:
        progress.request("logs")
        yield page
