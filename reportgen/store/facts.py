"""Gateway facts: ``meta``, the account each source is bound to, ``/api/status`` snapshots, keys, sync runs."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ..core.records import GatewayStatus, KeyInfo
from ..errors import StoreError
from .connection import DEFAULT_SOURCE, KEY_SQL, Connected
from .dialect import upsert

#: The ``keys`` table's columns, in the order :meth:`FactWrites.save_keys` writes them.
_KEY_COLUMNS = (
    "id", "name", "status", "used_quota", "remain_quota", "unlimited_quota", "grp", "created_time",
    "accessed_time", "expired_time", "seen_at", "source",
)  # fmt: skip


def one_status(found: Sequence[tuple[str, GatewayStatus]]) -> GatewayStatus | None:
    """Of several sources' statuses (by name), the first that states an exchange rate, else the
    first; sources that count quota per USD differently cannot be summed: that is refused."""
    if not found:
        return None
    units = {st.quota_per_unit for _, st in found}
    if len(units) > 1:
        shown = ", ".join(f"{n} {st.quota_per_unit}" for n, st in found)
        raise StoreError(
            f"the sources count quota per USD differently ({shown}): their quota cannot be summed; "
            "report each with --source NAME"
        )
    return next((st for _, st in found if st.usd_exchange_rate is not None), found[0][1])


class FactReads(Connected):
    """What the store knows about the gateways it read: accounts, status, keys, syncs."""

    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def account(self) -> tuple[str, int | None]:
        """The gateway base URL and user id of the logs read (several sources: each named, joined)."""
        accounts = self.source_accounts()
        if len(accounts) == 1:
            text = next(iter(accounts.values()))
        elif accounts:
            return " + ".join(f"{name}={acc}" for name, acc in sorted(accounts.items())), None
        else:
            text = self.get_meta("account") or "#"
        base_url, _, user = text.partition("#")
        return base_url, int(user) if user.isdigit() else None

    def source_accounts(self) -> dict[str, str]:
        """``{source name: "URL#USER"}`` of the sources read, as each was bound by its first sync."""
        if not self.has_table("sources"):
            known = self.get_meta("account")
            wanted = self._sources is None or DEFAULT_SOURCE in self._sources
            return {DEFAULT_SOURCE: known} if known and wanted else {}
        where, args = self._src("name")
        rows = self._conn.execute(f"SELECT name, account FROM sources WHERE TRUE{where} ORDER BY name", args)
        return {str(n): str(a) for n, a in rows}

    def source_names(self) -> tuple[str, ...]:
        """The sources read: the chosen ones, else every source the store holds rows or facts of."""
        if self._sources is not None:
            return self._sources
        if not self._multi:
            return (DEFAULT_SOURCE,)
        rows = self._conn.execute(
            "SELECT name FROM sources UNION SELECT DISTINCT source FROM coverage ORDER BY 1"
        )
        return tuple(str(r[0]) for r in rows) or (DEFAULT_SOURCE,)

    def latest_status(self, before: int | None = None) -> GatewayStatus | None:
        """The newest ``/api/status`` snapshot (read at or before ``before`` if given).

        With several sources: each source's newest, and of those the first source's (by name)
        that states an exchange rate, so the rate does not depend on which source synced last.
        Sources that count quota per USD differently cannot be summed: that is refused.
        """
        if not self._multi:
            return self._status_of(None, before)
        return one_status(
            [(n, st) for n in self.source_names() if (st := self._status_of(n, before)) is not None]
        )

    def source_statuses(self) -> dict[str, GatewayStatus | None]:
        """Each source read and its newest ``/api/status`` (None: never read), by name."""
        return {n: self._status_of(n if self._multi else None, None) for n in self.source_names()}

    def _status_of(self, source: str | None, before: int | None) -> GatewayStatus | None:
        sql = "SELECT read_at, quota_per_unit, usd_exchange_rate, quota_display_type, version FROM status_snapshots WHERE TRUE"
        args: list[Any] = []
        if source is not None:
            sql += " AND source = ?"
            args.append(source)
        if before is not None:
            sql += " AND read_at <= ?"
            args.append(before)
        row = self._conn.execute(sql + " ORDER BY read_at DESC, rowid DESC LIMIT 1", args).fetchone()
        if row is None:
            return None
        return GatewayStatus(
            quota_per_unit=Decimal(row[1]),
            read_at=int(row[0]),
            usd_exchange_rate=None if row[2] is None else Decimal(row[2]),
            quota_display_type=row[3],
            version=row[4],
        )

    def current_keys(self) -> list[KeyInfo]:
        """The keys the gateway listed at the last sync (deleted keys drop out)."""
        if not self._multi:
            seen = self.get_meta("keys_seen_at")
            if seen is None:
                return []
            rows = self._conn.execute(
                "SELECT id, name, status, used_quota, remain_quota, unlimited_quota, grp, created_time, "
                "accessed_time, expired_time FROM keys WHERE seen_at = ? ORDER BY name, id",
                (int(seen),),
            ).fetchall()
        else:
            where, args = self._src("k.source")
            rows = self._conn.execute(
                f"SELECT k.id, {KEY_SQL.replace('source', 'k.source').replace('token_name', 'k.name')}, "
                "k.status, k.used_quota, k.remain_quota, k.unlimited_quota, k.grp, k.created_time, "
                "k.accessed_time, k.expired_time FROM keys k WHERE k.seen_at = "
                f"(SELECT MAX(seen_at) FROM keys l WHERE l.source = k.source){where} ORDER BY 2, 1",
                args,
            ).fetchall()
        return [KeyInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8], r[9]) for r in rows]

    def last_sync(self) -> dict[str, Any] | None:
        """The newest sync that finished, as a dict (None before the first one)."""
        where, args = self._src() if self._multi else ("", [])
        cur = self._conn.execute(
            f"SELECT * FROM syncs WHERE finished_at IS NOT NULL{where} ORDER BY id DESC LIMIT 1", args
        )
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))


class FactWrites(FactReads):
    """Recording what a sync learnt of its gateway."""

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute(upsert("meta", ("key", "value"), ("key",)), (key, value))

    def bind_account(
        self,
        base_url: str,
        user_id: int | None,
        source: str = DEFAULT_SOURCE,
        at: int = 0,
        rebind: bool = False,
    ) -> str | None:
        """Tie a source of the store to one gateway account; refuse to mix two accounts' logs in it.

        ``rebind``: the account is the one the source holds, at a new address (the gateway moved):
        the source is bound to it; returns the account it was bound to before (None: unchanged).
        """
        account = f"{base_url}#{user_id}"
        row = self._conn.execute("SELECT account FROM sources WHERE name = ?", (source,)).fetchone()
        known = (
            row[0] if row is not None else (self.get_meta("account") if source == DEFAULT_SOURCE else None)
        )
        if known is None:
            self._conn.execute("INSERT INTO sources VALUES (?, ?, ?)", (source, account, at))
            if source == DEFAULT_SOURCE:
                self.set_meta("account", account)
        elif known != account and rebind:
            self._conn.execute(
                upsert("sources", ("name", "account", "bound_at"), ("name",)), (source, account, at)
            )
            if source == DEFAULT_SOURCE:
                self.set_meta("account", account)
            return known
        elif known != account:
            raise StoreError(
                f"{self.name} holds the logs of {known.replace('#', ' user ')} as source {source!r}, "
                f"not {base_url} user {user_id}; if the gateway only moved to this address (the same "
                "account), run `reportgen sync --rebind` once; if it is another account, give it its own "
                "[gateways.NAME] table, or set [store] path to another folder"
            )
        elif row is None:
            self._conn.execute("INSERT INTO sources VALUES (?, ?, ?)", (source, account, at))
        return None

    def save_status(self, status: GatewayStatus, source: str = DEFAULT_SOURCE) -> None:
        self._conn.execute(
            "INSERT INTO status_snapshots VALUES (?, ?, ?, ?, ?, ?)",
            (
                status.read_at,
                str(status.quota_per_unit),
                None if status.usd_exchange_rate is None else str(status.usd_exchange_rate),
                status.quota_display_type,
                status.version,
                source,
            ),
        )

    def save_keys(self, keys: Sequence[KeyInfo], seen_at: int, source: str = DEFAULT_SOURCE) -> None:
        with self._transaction() as cur:
            cur.executemany(
                upsert("keys", _KEY_COLUMNS, ("source", "id")),
                [
                    (
                        k.id,
                        k.name,
                        k.status,
                        k.used_quota,
                        k.remain_quota,
                        int(k.unlimited_quota),
                        k.group,
                        k.created_time,
                        k.accessed_time,
                        k.expired_time,
                        seen_at,
                        source,
                    )
                    for k in keys
                ],
            )
            if source == DEFAULT_SOURCE:
                cur.execute(upsert("meta", ("key", "value"), ("key",)), ("keys_seen_at", str(seen_at)))

    def start_sync(
        self, started_at: int, flavor: str, target: tuple[int, int], source: str = DEFAULT_SOURCE
    ) -> int:
        rows = self._conn.execute(
            "INSERT INTO syncs (started_at, state, flavor, target_start, target_end, source) "
            "VALUES (?, 'running', ?, ?, ?, ?) RETURNING id",
            (started_at, flavor, target[0], target[1], source),
        ).fetchall()  # read to the end: the statement is done
        return int(rows[0][0])

    def finish_sync(
        self,
        sync_id: int,
        finished_at: int,
        state: str,
        windows: int,
        rows: int,
        pages: int,
        message: str = "",
        flavor: str | None = None,
    ) -> None:
        self._conn.execute(
            "UPDATE syncs SET finished_at = ?, state = ?, windows = ?, rows = ?, pages = ?, message = ?, "
            "flavor = COALESCE(?, flavor) WHERE id = ?",
            (finished_at, state, windows, rows, pages, message, flavor, sync_id),
        )
