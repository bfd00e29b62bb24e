from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from reportgen.core.periods import local_days, parse_date, parse_period, previous_month, resolve_period
from reportgen.errors import UsageError

SH = ZoneInfo("Asia/Shanghai")


def test_month_is_cut_in_the_report_timezone():
    p = parse_period("2026-04", SH)
    assert p.start.isoformat() == "2026-04-01T00:00:00+08:00"
    assert p.end.isoformat() == "2026-05-01T00:00:00+08:00"
    assert p.start_ts == 1774972800  # 2026-03-31T16:00:00Z
    assert p.end_ts - p.start_ts == 30 * 86400


@pytest.mark.parametrize(
    "text,label,start,end",
    [
        ("2026-Q2", "2026-Q2", date(2026, 4, 1), date(2026, 7, 1)),
        ("2026-q4", "2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026", "2026", date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-12", "2026-12", date(2026, 12, 1), date(2027, 1, 1)),
    ],
)
def test_quarters_years_and_december(text, label, start, end):
    p = parse_period(text, SH)
    assert (p.label, p.start.date(), p.end.date()) == (label, start, end)


@pytest.mark.parametrize("text", ["April", "26-04", ""])
def test_bad_periods_are_one_clear_error(text):
    with pytest.raises(UsageError, match="2026-04"):
        parse_period(text, SH)


def test_a_fifth_quarter_and_a_day_that_does_not_exist_say_what_is_wrong():
    with pytest.raises(UsageError, match="a quarter is Q1, Q2, Q3 or Q4"):
        parse_period("2026-Q5", SH)
    with pytest.raises(UsageError, match="'2026-02-30' does not exist"):
        parse_date("2026-02-30")


def test_month_out_of_range():
    with pytest.raises(UsageError, match="01-12"):
        parse_period("2026-13", SH)


def test_date_range_is_inclusive_of_both_days():
    p = resolve_period(SH, start="2026-04-01", end="2026-04-15")
    assert p is not None
    assert p.end == datetime(2026, 4, 16, tzinfo=SH)
    with pytest.raises(UsageError):
        resolve_period(SH, start="2026-04-15", end="2026-04-01")
    with pytest.raises(UsageError):
        resolve_period(SH, period="2026-04", start="2026-04-01", end="2026-04-02")
    with pytest.raises(UsageError):
        resolve_period(SH, start="2026-04-01")


def test_dst_days_are_23_and_25_hours():
    ny = ZoneInfo("America/New_York")
    days = local_days(parse_period("2026-03", ny))
    lengths = {d.day: end - start for d, start, end in days}
    assert lengths[8] == 23 * 3600  # 2026-03-08 spring forward
    assert sum(lengths.values()) == parse_period("2026-03", ny).end_ts - parse_period("2026-03", ny).start_ts
    days = local_days(parse_period("2026-11", ny))
    assert {d.day: e - s for d, s, e in days}[1] == 25 * 3600


def test_previous_month_wraps_the_year():
    p = previous_month(datetime(2026, 1, 15, tzinfo=SH), SH)
    assert p.label == "2025-12"
