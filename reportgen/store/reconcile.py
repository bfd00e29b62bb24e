"""Reconciliation: the sums the store's rows give per key, to hold against the gateway's own, and saved results."""

from __future__ import annotations

from .connection import Connected
from .dialect import upsert


class ReconcileReads(Connected):
    """Lifetime and per-key sums of the rows read, and the last saved reconciliation of a range."""

    def key_lifetime(self, key_id: int, name: str) -> tuple[int, int]:
        """Consumed and refunded quota of one key over every stored row (by id where rows carry it)."""
        where, args = self._filter(None)
        by_id = self._conn.execute(
            f"SELECT COUNT(*) FROM logs WHERE token_id = ?{where}", (key_id, *args)
        ).fetchone()[0]
        column, value = ("token_id", key_id) if by_id else (self._key, name)
        row = self._conn.execute(
            "SELECT COALESCE(SUM(CASE WHEN type = 2 THEN quota END), 0), "
            f"COALESCE(SUM(CASE WHEN type = 6 THEN quota END), 0) FROM logs WHERE {column} = ?{where}",
            (value, *args),
        ).fetchone()
        return int(row[0]), int(row[1])

    def sums_by_key(self, lo: int, hi: int, username: str) -> dict[str, tuple[int, int, int]]:
        """Per key of ``[lo, hi]``: consumed, refunded, and consumed by ``username`` (or unnamed)."""
        where, args = self._filter(None)
        rows = self._conn.execute(
            f"SELECT {self._key} AS tk, "
            "COALESCE(SUM(CASE WHEN type = 2 THEN quota END), 0), "
            "COALESCE(SUM(CASE WHEN type = 6 THEN quota END), 0), "
            "COALESCE(SUM(CASE WHEN type = 2 AND (username = ? OR username = '') THEN quota END), 0) "
            f"FROM logs WHERE created_at BETWEEN ? AND ? AND type IN (2, 6){where} GROUP BY tk",
            (username, lo, hi, *args),
        )
        return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}

    def other_usernames(self, lo: int, hi: int, username: str) -> list[str]:
        where, args = self._filter(None)
        rows = self._conn.execute(
            "SELECT DISTINCT username FROM logs WHERE created_at BETWEEN ? AND ? AND type = 2 "
            f"AND username != ? AND username != ''{where} ORDER BY 1",
            (lo, hi, username, *args),
        )
        return [str(r[0]) for r in rows]

    def reconciliation_json(self, start_ts: int, end_ts: int) -> str | None:
        """The last saved reconciliation of exactly ``[start_ts, end_ts)``, as JSON text."""
        if not self.has_table("reconciliations"):  # a closed snapshot of a period never reconciled
            return None
        row = self._conn.execute(
            "SELECT result FROM reconciliations WHERE start_ts = ? AND end_ts = ?", (start_ts, end_ts)
        ).fetchone()
        return None if row is None else str(row[0])


class ReconcileWrites(Connected):
    """Keeping a reconciliation's result."""

    def save_reconciliation(
        self, start_ts: int, end_ts: int, label: str, checked_at: int, result: str
    ) -> None:
        self._conn.execute(
            upsert(
                "reconciliations",
                ("start_ts", "end_ts", "label", "checked_at", "result"),
                ("start_ts", "end_ts"),
            ),
            (start_ts, end_ts, label, checked_at, result),
        )
