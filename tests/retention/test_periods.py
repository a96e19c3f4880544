"""Retention period arithmetic: fiscal years (April–March), whole years, 永年 (permanent)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.utils import timezone, translation

from documents.models import Document, Retention
from retention import periods

TOKYO = timezone.get_default_timezone()


def decided(on: datetime, years: int, *, fiscal_year: int | None = None) -> Document:
    return Document(retention_years=years, decided_at=on, fiscal_year=fiscal_year)


def at(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("decided_on", "years", "end"),
    [
        # FY2025 runs 2025-04-01 … 2026-03-31; the period starts on 2026-04-01.
        (at(2025, 4, 1, 0, 0), 1, date(2027, 3, 31)),
        (at(2025, 6, 15), 1, date(2027, 3, 31)),
        (at(2026, 3, 31, 23, 59), 1, date(2027, 3, 31)),
        # One minute later is FY2026: a year later.
        (at(2026, 4, 1, 0, 0), 1, date(2028, 3, 31)),
        (at(2026, 1, 10), 3, date(2029, 3, 31)),
        (at(2025, 10, 1), 5, date(2031, 3, 31)),
        (at(2026, 5, 1), 10, date(2037, 3, 31)),
        (at(2025, 12, 31), 30, date(2056, 3, 31)),
    ],
)
def test_the_period_starts_on_the_april_1_after_the_fiscal_year_of_the_decision(
    decided_on, years, end
):
    assert periods.retention_end(decided(decided_on, years)) == end
    assert periods.retention_start(decided(decided_on, years)).isoformat().endswith("-04-01")


def test_the_fiscal_year_is_counted_in_tokyo_not_utc():
    # 2026-03-31 20:00 UTC is already April 1 in Tokyo: FY2026.
    late = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)
    assert periods.retention_end(decided(late, 1)) == date(2028, 3, 31)


def test_the_fiscal_year_fixed_with_the_number_wins():
    # The number's fiscal year (workflow.numbering) is the one the record carries.
    document = decided(at(2026, 3, 31, 23, 59), 1, fiscal_year=2025)
    assert periods.retention_end(document) == date(2027, 3, 31)


def test_permanent_records_never_end():
    document = decided(at(2025, 6, 1), Retention.PERMANENT)
    assert periods.retention_end(document) is None
    assert not periods.is_expired(None, date(9999, 12, 31))


def test_an_undecided_document_has_no_period():
    with pytest.raises(periods.NotDecided):
        periods.retention_end(Document(retention_years=5))


def test_expired_only_from_the_day_after_the_last_day():
    end = date(2027, 3, 31)
    assert not periods.is_expired(end, date(2027, 3, 31))
    assert periods.is_expired(end, date(2027, 4, 1))


def test_the_lock_runs_out_at_midnight_tokyo_after_the_last_day():
    end = date(2027, 3, 31)
    until = periods.lock_until(end, date(2026, 1, 1))
    assert until == datetime(2027, 4, 1, 0, 0, tzinfo=TOKYO)
    assert until is not None and until.astimezone(UTC) == datetime(2027, 3, 31, 15, 0, tzinfo=UTC)
    # Nothing to lock once the period is over.
    assert periods.lock_until(end, date(2027, 4, 1)) is None


def test_permanent_records_get_a_rolling_lock_that_moves_once_a_fiscal_year():
    horizon = periods.PERMANENT_LOCK_YEARS
    first = periods.lock_until(None, date(2026, 4, 1))
    assert first == datetime(2026 + horizon + 1, 4, 1, tzinfo=TOKYO)
    assert periods.lock_until(None, date(2027, 3, 31)) == first
    later = periods.lock_until(None, date(2027, 4, 1))
    assert later is not None and first is not None and later > first


def test_records_are_named_with_their_end_in_japanese():
    with translation.override("ja"):
        assert periods.describe_record("総総第3号", date(2037, 3, 31)) == (
            "総総第3号（2037年3月31日まで）"
        )
        assert periods.describe_record("総総第4号", None) == "総総第4号（永年保存）"
