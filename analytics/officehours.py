"""Office hours: how long something waited in the time people mean by "it waited".

The office is open 8:30–17:15 (the standard hours of Japan's national and local government
offices) on working days. A day is closed on Saturdays and Sundays, on the national holidays (国民の
祝日, substitute and "sandwiched" holidays included, from the `holidays` library, which follows the
law for the coming years), and over the year-end closure of 12/29–1/3 (行政機関の休日); an
administrator's `OfficeDay` row closes or opens any single day beyond that.

A task opened on Friday at 18:00 and approved on Monday at 9:30 waited 60 office minutes, not 62
hours. The sum is O(1) per pair of times: `Calendar` keeps, for every day of its span, the office
minutes of all days before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone

from analytics.models import OfficeDay

# The office's own time zone (settings.TIME_ZONE, Asia/Tokyo), not the request's: an office day is
# the same day whoever asks. Converting directly is also what makes a rebuild fast.
ZONE = ZoneInfo(settings.TIME_ZONE)
OPENS = time(8, 30)
CLOSES = time(17, 15)
_OPEN_MINUTE = OPENS.hour * 60 + OPENS.minute
_CLOSE_MINUTE = CLOSES.hour * 60 + CLOSES.minute
DAY_MINUTES = _CLOSE_MINUTE - _OPEN_MINUTE  # 525

# The span a calendar covers at first; it grows when a time outside it is asked about.
_FIRST_YEAR = 2010
_YEARS_AHEAD = 3


@cache
def national_holidays(year: int) -> dict[date, str]:
    """The national holidays of a year, with their Japanese names."""
    return dict(holidays.country_holidays("JP", years=year, language="ja"))


def year_end_closure(day: date) -> bool:
    """12/29–1/3, when government offices are closed by law."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def built_in_closure(day: date) -> str:
    """Why the built-in calendar closes this day ("" if it is a working day)."""
    if day.weekday() >= 5:
        return "土曜日" if day.weekday() == 5 else "日曜日"
    name = national_holidays(day.year).get(day)
    if name:
        return name
    if year_end_closure(day):
        return "年末年始"
    return ""


@dataclass
class Calendar:
    """Working days of a span and the office minutes before each of them."""

    exceptions: dict[date, bool]  # date → open?
    first: date = date(_FIRST_YEAR, 1, 1)
    last: date = field(
        default_factory=lambda: date(timezone.localdate().year + _YEARS_AHEAD, 12, 31)
    )
    _before: list[int] = field(default_factory=list)  # office minutes before each day
    _open: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._build()

    def _build(self) -> None:
        days = (self.last - self.first).days + 1
        self._before, self._open = [0] * (days + 1), [False] * days
        total = 0
        for i in range(days):
            day = self.first + timedelta(days=i)
            self._before[i] = total
            self._open[i] = self.is_open(day)
            total += DAY_MINUTES if self._open[i] else 0
        self._before[days] = total

    def is_open(self, day: date) -> bool:
        if day in self.exceptions:
            return self.exceptions[day]
        return not built_in_closure(day)

    def _cover(self, day: date) -> None:
        if day < self.first or day > self.last:
            self.first = min(self.first, day.replace(month=1, day=1))
            self.last = max(self.last, day.replace(month=12, day=31))
            self._build()

    def position(self, moment: datetime) -> int:
        """Office minutes from the start of the span to `moment`."""
        local = moment.astimezone(ZONE)
        day = local.date()
        self._cover(day)
        i = (day - self.first).days
        if not self._open[i]:
            return self._before[i]
        minute = local.hour * 60 + local.minute + local.second / 60
        within = min(max(minute - _OPEN_MINUTE, 0), DAY_MINUTES)
        return self._before[i] + int(within)

    def minutes(self, start: datetime, end: datetime) -> int:
        """Office minutes between two moments (0 if `end` is not after `start`)."""
        return max(0, self.position(end) - self.position(start))

    def working_days(self, start: date, end: date) -> int:
        """Working days from `start` to `end`, both included."""
        self._cover(start)
        self._cover(end)
        i, j = (start - self.first).days, (end - self.first).days
        return sum(self._open[i : j + 1])


_cached: tuple[tuple[int, datetime | None], Calendar] | None = None


def current() -> Calendar:
    """The calendar with the administrators' exceptions as they are now (one small query to see
    whether they changed since this process last built it)."""
    global _cached
    state = OfficeDay.objects.aggregate(n=Count("pk"), at=Max("updated_at"))
    key = (state["n"], state["at"])
    if _cached is None or _cached[0] != key:
        exceptions = dict(OfficeDay.objects.values_list("date", "is_open"))
        _cached = (key, Calendar(exceptions))
    return _cached[1]


def closed_days(year: int) -> list[tuple[date, str, str]]:
    """The closed days of a year and why (built in or the administrators'), for the admin."""
    exceptions = {d.date: d for d in OfficeDay.objects.filter(date__year=year)}
    rows = []
    day = date(year, 1, 1)
    while day.year == year:
        reason = built_in_closure(day)
        exception = exceptions.get(day)
        if exception is not None:
            if not exception.is_open:
                rows.append((day, exception.name, "office"))
        elif reason and day.weekday() < 5:
            rows.append((day, reason, "built_in"))
        day += timedelta(days=1)
    return rows
