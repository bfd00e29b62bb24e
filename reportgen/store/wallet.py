"""The wallet's stored facts: balances read at sync, credit rows, spend, the gateway's own records.

The bridge computed from them is :func:`reportgen.read.wallet.bridge_of` (it needs the
flavour's wording of credit rows, which the store does not choose).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ..core.wallet import Balance, CreditRow, WalletRecord
from .connection import Connected
from .dialect import upsert
from .migrations import CREDIT_TYPES_SQL
from .partials import RollupReads


class WalletReads(RollupReads):
    """What a source's wallet bridge is computed from."""

    def balances(self, source: str) -> list[Balance]:
        """Every wallet balance recorded for ``source``, oldest first."""
        if not self.has_table("balances"):
            return []
        rows = self._conn.execute(
            "SELECT read_at, quota, used_quota, request_count, origin FROM balances WHERE source = ? "
            "ORDER BY read_at, rowid",
            (source,),
        )
        return [Balance(source, r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def spend_sums(self, source: str, lo: int, hi: int) -> tuple[int, int, int]:
        """Wallet-billed consumption, subscription-billed consumption and refunds of ``[lo, hi)``.

        Whole rolled-up days are summed from the rollups, the rest from rows.
        """
        sums = [0, 0, 0]
        for a, b, from_rollups in self.rolled_spans(lo, hi):
            if from_rollups:
                sql = (
                    "SELECT COALESCE(SUM(CASE WHEN type = 2 AND sub = 0 THEN quota END), 0), "
                    "COALESCE(SUM(CASE WHEN type = 2 AND sub <> 0 THEN quota END), 0), "
                    "COALESCE(SUM(CASE WHEN type = 6 THEN quota END), 0) FROM rollups "
                    "WHERE day >= ? AND day < ? AND type IN (2, 6) AND source = ?"
                )
                args: tuple[Any, ...] = (a, b, source)
            else:
                sql = (
                    "SELECT COALESCE(SUM(CASE WHEN type = 2 AND COALESCE(billing_source, '') != 'subscription' "
                    "THEN quota END), 0), COALESCE(SUM(CASE WHEN type = 2 AND billing_source = 'subscription' "
                    "THEN quota END), 0), COALESCE(SUM(CASE WHEN type = 6 THEN quota END), 0) FROM logs "
                    f"WHERE created_at >= ? AND created_at < ? AND type IN (2, 6){' AND source = ?' if self._multi else ''}"
                )
                args = (a, b, *([source] if self._multi else []))
            row = self._conn.execute(sql, args).fetchone()
            sums = [x + int(y) for x, y in zip(sums, row, strict=True)]
        return sums[0], sums[1], sums[2]

    def credit_rows(self, source: str, lo: int, hi: int) -> list[CreditRow]:
        """The top-up, admin and system rows (types 1, 3, 4) of ``[lo, hi)``, with their text."""
        src = " AND source = ?" if self._multi else ""
        rows = self._conn.execute(  # the text kept beside the row at sync (schema 11), never its raw blob
            "SELECT created_at, type, quota, COALESCE(c.content, '') FROM logs LEFT JOIN credit_texts c USING (id) "
            f"WHERE created_at >= ? AND created_at < ? AND {CREDIT_TYPES_SQL}{src} ORDER BY created_at, id",
            (lo, hi, *([source] if self._multi else [])),
        ).fetchall()
        return [CreditRow(source, int(a), int(t), int(q), str(text)) for a, t, q, text in rows]

    def display_rates(self, source: str) -> list[tuple[int, Decimal]]:
        """``(read_at, CNY per USD)`` of every ``/api/status`` read of ``source`` that stated a
        ``usd_exchange_rate`` (the rate new-api prints ``¥`` amounts at), oldest first."""
        by_source = " AND source = ?" if self._multi else ""
        rows = self._conn.execute(
            "SELECT read_at, usd_exchange_rate FROM status_snapshots "
            f"WHERE usd_exchange_rate IS NOT NULL{by_source} ORDER BY read_at, rowid",
            (source,) if self._multi else (),
        )
        return [(int(r[0]), Decimal(r[1])) for r in rows]

    def source_flavor(self, source: str) -> str | None:
        """The flavour the newest finished sync of ``source`` recorded (None: none recorded): its
        credit rows are worded that flavour's way."""
        if not self.has_table("syncs"):
            return None
        by_source = " AND source = ?" if self._multi else ""
        row = self._conn.execute(
            f"SELECT flavor FROM syncs WHERE finished_at IS NOT NULL{by_source} ORDER BY id DESC LIMIT 1",
            (source,) if self._multi else (),
        ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def wallet_records(self, source: str, lo: int, hi: int) -> list[WalletRecord]:
        """The gateway's own top-up and redemption records of ``[lo, hi)`` kept for ``source``."""
        if not self.has_table("wallet_records"):
            return []
        rows = self._conn.execute(
            "SELECT kind, ref, at, quota, money, detail FROM wallet_records "
            "WHERE source = ? AND at >= ? AND at < ? ORDER BY at, kind, ref",
            (source, lo, hi),
        )
        return [WalletRecord(*r) for r in rows]


class WalletWrites(Connected):
    """Recording balances and the gateway's own wallet records."""

    def save_balance(self, balance: Balance) -> None:
        """Record a wallet balance read from the gateway (``/api/user/self`` or its users table)."""
        self._conn.execute(
            "INSERT INTO balances (source, read_at, quota, used_quota, request_count, origin) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (balance.source, balance.read_at, balance.quota, balance.used_quota, balance.request_count,
             balance.origin),
        )  # fmt: skip

    def save_wallet_records(self, source: str, records: Sequence[WalletRecord]) -> None:
        """Keep the gateway's own top-up and redemption records (the database source reads them)."""
        with self._transaction() as cur:
            cur.executemany(
                upsert(
                    "wallet_records",
                    ("source", "kind", "ref", "at", "quota", "money", "detail"),
                    ("source", "kind", "ref"),
                ),
                [(source, r.kind, r.ref, r.at, r.quota, r.money, r.detail) for r in records],
            )
