"""Revision-1 packets of every kind (team, member, project) verify against the store after reopens."""

from __future__ import annotations

from reportgen.app.closing import close_period
from reportgen.app.documents import write_packet
from reportgen.app.sync import run_sync
from reportgen.app.verify import verify_packet
from tests.conftest import fast_client, make_config
from tests.test_evidence import april
from tests.test_packet import late_row

PROJECT = (
    '\n[projects.alpha]\ntitle = "Alpha"\ncode = "A-1"\nbudget = 50\nstart = 2026-03-15\nend = 2026-12-31\n'
    'charges = [{ key = "key-alice" }, { key = "key-bob", share = 60, from = 2026-04-10 }]\n'
)


def test_revision_1_packets_of_every_kind_verify_after_two_reopens(tmp_path, team, gateway):
    config = make_config(tmp_path, gateway.url, team, extra=PROJECT)
    period = april(config)
    run_sync(config, period, client_factory=fast_client)
    close_period(config, period)
    first = [
        write_packet(config, period, tmp_path / "team"),
        write_packet(config, period, tmp_path / "member", member="Alice Smith"),
        write_packet(config, period, tmp_path / "project", project="alpha"),
    ]
    for path in first:
        assert verify_packet(path, config.store_dir).ok, (
            path,
            verify_packet(path, config.store_dir).differences,
        )
    for n in (1, 2):
        gateway.insert_rows([late_row(team, created_at=team.start_ts + (10 + n) * 86400)])
        run_sync(config, period, refetch=True, client_factory=fast_client)
        assert close_period(config, period, reopen=True).closure.revision == n + 1
    for path in first:
        result = verify_packet(path, config.store_dir)
        assert result.ok, (path.name, result.differences)
        assert any("revision 1 then, 3 now" in note for note in result.notes), result.notes
    latest = write_packet(config, period, tmp_path / "project3", project="alpha")
    assert verify_packet(latest, config.store_dir).ok
