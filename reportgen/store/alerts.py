"""The alerts ``watch`` raised and their deliveries: each raised and resolved once, each delivery
claimed in a transaction before it is sent and marked sent after (see migration 13).

A claim found still ``sending`` by the next run was cut off mid-send (the run was killed): it
is handed out again as ``in doubt``, and its message keeps the same id so a receiver can drop
the repeat.  A ``failed`` delivery is tried again by the next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .connection import KEY_SQL, Connected
from .facade import Store

#: What :func:`claim` found: a new delivery, one to try again, one cut off mid-send, one done.
NEW, RETRY, IN_DOUBT, SENT = "new", "retry", "in doubt", "sent"


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    identity: str
    episode: int
    rule: str
    kind: str
    raised_at: int
    resolved_at: int | None
    facts: str  # compact JSON object: what the messages print

    @property
    def key(self) -> str:
        """What its deliveries are recorded under: the identity and its episode."""
        return f"{self.identity}#{self.episode}"


def raised_alerts(reader: Connected) -> list[RaisedAlert]:
    """Every alert raised, each episode, oldest first."""
    if not reader.has_table("alerts"):
        return []
    rows = reader._conn.execute(
        "SELECT identity, episode, rule, kind, raised_at, resolved_at, facts FROM alerts "
        "ORDER BY raised_at, identity, episode"
    )
    return [RaisedAlert(r[0], int(r[1]), r[2], r[3], int(r[4]), r[5], r[6]) for r in rows]


def raise_alerts(store: Store, alerts: Iterable[tuple[str, str, str, str]], at: int) -> list[str]:
    """Record ``(identity, rule, kind, facts)`` not raised now: new ones, and those resolved since
    they were last raised (their next episode).  Return the identities raised now."""
    raised = []
    with store._transaction() as cur:
        for identity, rule, kind, facts in alerts:
            last = cur.execute(
                "SELECT episode, resolved_at FROM alerts WHERE identity = ? ORDER BY episode DESC LIMIT 1",
                (identity,),
            ).fetchone()
            if last is not None and last[1] is None:
                continue
            cur.execute(
                "INSERT INTO alerts (identity, episode, rule, kind, raised_at, facts) VALUES (?, ?, ?, ?, ?, ?)",
                (identity, 1 if last is None else int(last[0]) + 1, rule, kind, at, facts),
            )
            raised.append(identity)
    return raised


def resolve_alerts(store: Store, identities: Iterable[str], at: int) -> list[str]:
    """Mark raised, unresolved alerts resolved; return those resolved now."""
    done = []
    with store._transaction() as cur:
        for identity in identities:
            cur.execute(
                "UPDATE alerts SET resolved_at = ? WHERE identity = ? AND resolved_at IS NULL", (at, identity)
            )
            if cur.rowcount:
                done.append(identity)
    return done


def claim(store: Store, identity: str, phase: str, recipient: str, holder: str, at: int, digest: str) -> str:
    """Claim one delivery before sending it: :data:`NEW`, :data:`RETRY` (failed before),
    :data:`IN_DOUBT` (a run was cut off sending it) or :data:`SENT` (done: do not send)."""
    with store._transaction() as cur:
        row = cur.execute(
            "SELECT state FROM deliveries WHERE identity = ? AND phase = ? AND recipient = ?",
            (identity, phase, recipient),
        ).fetchone()
        if row is not None and row[0] == "sent":
            return SENT
        if row is None:
            cur.execute(
                "INSERT INTO deliveries (identity, phase, recipient, state, claimed_at, holder, digest) "
                "VALUES (?, ?, ?, 'sending', ?, ?, ?)",
                (identity, phase, recipient, at, holder, digest),
            )
            return NEW
        cur.execute(
            "UPDATE deliveries SET state = 'sending', claimed_at = ?, holder = ?, digest = ? "
            "WHERE identity = ? AND phase = ? AND recipient = ?",
            (at, holder, digest, identity, phase, recipient),
        )
        return IN_DOUBT if row[0] == "sending" else RETRY


def finish(
    store: Store, identity: str, phase: str, recipient: str, at: int, attempts: int, error: str = ""
) -> None:
    """Mark a claimed delivery sent (``error`` empty) or failed (the next run tries it again)."""
    with store._transaction() as cur:
        cur.execute(
            "UPDATE deliveries SET state = ?, sent_at = ?, attempts = attempts + ?, error = ? "
            "WHERE identity = ? AND phase = ? AND recipient = ?",
            (
                "failed" if error else "sent",
                None if error else at,
                attempts,
                error,
                identity,
                phase,
                recipient,
            ),
        )


def claimed(reader: Connected, identity: str, phase: str, recipient: str) -> bool:
    """Whether any run claimed this delivery (sent, failed or cut off)."""
    row = reader._conn.execute(
        "SELECT 1 FROM deliveries WHERE identity = ? AND phase = ? AND recipient = ?",
        (identity, phase, recipient),
    ).fetchone()
    return row is not None


def delivered(reader: Connected, identity: str, phase: str) -> dict[str, tuple[int, str]]:
    """Who received ``identity``'s ``phase``: recipient -> (sent at, digest)."""
    if not reader.has_table("deliveries"):
        return {}
    rows = reader._conn.execute(
        "SELECT recipient, sent_at, digest FROM deliveries WHERE identity = ? AND phase = ? AND state = 'sent'",
        (identity, phase),
    )
    return {r[0]: (int(r[1]), r[2]) for r in rows}


def key_use_spans(reader: Connected) -> dict[str, tuple[int, int]]:
    """Each key's first and last consumption row (Unix seconds), keys named as reports name them."""
    rows = reader._conn.execute(
        f"SELECT {KEY_SQL}, MIN(created_at), MAX(created_at) FROM logs WHERE type = 2 GROUP BY 1"
    )
    return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}


def sync_runs(reader: Connected) -> dict[str, tuple[int | None, int | None, str]]:
    """Per source: the last successful sync's end, the last finished sync's end and its state."""
    out: dict[str, tuple[int | None, int | None, str]] = {}
    rows = reader._conn.execute(
        "SELECT source, MAX(CASE WHEN state = 'ok' THEN finished_at END), MAX(finished_at) FROM syncs "
        "WHERE finished_at IS NOT NULL GROUP BY source"
    ).fetchall()
    for source, ok, last in rows:
        state = reader._conn.execute(
            "SELECT state FROM syncs WHERE source = ? AND finished_at = ? ORDER BY id DESC LIMIT 1",
            (source, last),
        ).fetchone()
        out[str(source)] = (ok, last, str(state[0]))
    return out
