"""Dates as finance writes them: ``2026年4月1日至4月30日`` in zh, ISO dates in en.

The patterns are labels (``date_day``, ``date_day_in_year``: YYYY, MM/M, DD/D as in a
spreadsheet's date format; ``date_range``), so an organisation's template may change them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from ..core.periods import Period
from ..templating import wording

_TOKEN = re.compile(r"YYYY|MM|DD|M|D")


def _pattern(pattern: str, day: date) -> str:
    values = {"YYYY": f"{day.year:04d}", "MM": f"{day.month:02d}", "DD": f"{day.day:02d}"}
    values |= {"M": str(day.month), "D": str(day.day)}
    return _TOKEN.sub(lambda m: values[m.group()], pattern)


def day_text(day: date, lang: str) -> str:
    """``2026年4月1日`` (zh) or ``2026-04-01``."""
    return _pattern(wording(lang)("date_day"), day)


def date_range_text(first: date, last: date, lang: str) -> str:
    """Inclusive days: ``2026年4月1日至4月30日`` (the year once when both share it), ``2026-04-01 – 2026-04-30``."""
    return days_in_words(first, last, wording(lang))


def days_in_words(first: date, last: date, words: Callable[..., str]) -> str:
    """:func:`date_range_text` in the words of ``words(key, **values)`` (a template's labels)."""
    start = _pattern(words("date_day"), first)
    if first == last:
        return start
    end = _pattern(words("date_day_in_year" if last.year == first.year else "date_day"), last)
    return words("date_range", first=start, last=end)


def period_days_text(period: Period, lang: str) -> str:
    """A period's days, its end inclusive: ``2026年4月1日至4月30日``, ``2026-04-01 – 2026-04-30``."""
    return date_range_text(period.start.date(), (period.end - timedelta(days=1)).date(), lang)


def period_in_zone_text(period: Period, lang: str) -> str:
    """``2026年4月1日至4月30日（Asia/Shanghai）``: the days and the zone they are cut in."""
    return wording(lang)("dates_in_zone", range=period_days_text(period, lang), tz=period.timezone)
