"""Retention periods (保存期間) in fiscal years (年度, April–March).

A decided record's period starts on April 1 after the fiscal year of its decision (起算日: the
first day of the next fiscal year, as the public records rules count it) and lasts
`retention_years` whole fiscal years, so it ends on a March 31. 常用 / permanent (0 years) never
ends. The period is counted in the organisation's time zone (settings.TIME_ZONE, Asia/Tokyo):
a record whose period ends on 2031-03-31 may be disposed of from 2031-04-01 00:00 JST, which is
also the instant its Object Lock runs out.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from documents.models import Document, Retention
from workflow.numbering import fiscal_year

# Permanent records cannot be locked "forever" (S3 Object Lock needs a date): they are locked
# for a rolling horizon of this many fiscal years, extended once a fiscal year by apply_retention.
PERMANENT_LOCK_YEARS = 30


class NotDecided(ValueError):
    """A retention period only exists for a decided record."""


def today() -> date:
    """The date in the organisation's time zone (tests replace this)."""
    return timezone.localdate()


def decision_fiscal_year(document: Document) -> int:
    if document.fiscal_year is not None:
        return int(document.fiscal_year)  # fixed with the number, at decision
    if document.decided_at is None:
        raise NotDecided(f"document {document.pk} is not decided")
    return fiscal_year(timezone.localdate(document.decided_at))


def fiscal_year_end(year: int) -> date:
    """March 31 that ends fiscal year `year` (FY2025 ends on 2026-03-31)."""
    return date(year + 1, 3, 31)


def retention_start(document: Document) -> date:
    return date(decision_fiscal_year(document) + 1, 4, 1)


def retention_end(document: Document) -> date | None:
    """The last day of the record's retention period; None for 常用 (permanent).

    Decided in FY2025 (2025-04-01 … 2026-03-31) with 5 years: 2026-04-01 … 2031-03-31.
    `NotDecided` for a document without a decision.
    """
    years = int(document.retention_years)
    start_year = decision_fiscal_year(document) + 1
    if years == Retention.PERMANENT:
        return None
    return fiscal_year_end(start_year + years - 1)


def is_expired(end: date | None, on: date | None = None) -> bool:
    """Whether a period ending on `end` has ended by `on` (default: today)."""
    return end is not None and (on or today()) > end


def end_instant(end: date) -> datetime:
    """The first instant after the period: 00:00 of the next day, local time, timezone-aware."""
    return datetime.combine(
        end + timedelta(days=1), time.min, tzinfo=timezone.get_default_timezone()
    )


def lock_until(end: date | None, on: date | None = None) -> datetime | None:
    """How long the store must keep the record's objects, asked on `on` (default: today).

    A fixed period: until it has ended (None once it has). Permanent: the end of the fiscal year
    PERMANENT_LOCK_YEARS ahead, which moves once a fiscal year.
    """
    on = on or today()
    if end is None:
        return end_instant(fiscal_year_end(fiscal_year(on) + PERMANENT_LOCK_YEARS))
    if is_expired(end, on):
        return None
    return end_instant(end)


def describe_end(end: date | None) -> str:
    """「2037年3月31日」 (in the active language's date format); 「永年保存」 for permanent."""
    if end is None:
        return _("kept permanently")
    return formats.date_format(end, "DATE_FORMAT")


def describe_record(number: str, end: date | None) -> str:
    """How a refusal names a record.

    「総総第3号（2037年3月31日まで）」, or 「総総第3号（永年保存）」 for a permanent one.
    """
    if end is None:
        return _("%(number)s (kept permanently)") % {"number": number}
    return _("%(number)s (until %(end)s)") % {"number": number, "end": describe_end(end)}
