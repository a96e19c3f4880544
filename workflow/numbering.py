"""Document numbers (文書番号): department prefix + serial per fiscal year, e.g. 総総第12号.

The fiscal year (年度) runs April to March. The counter row is locked and incremented inside the
deciding transaction: two decisions in the same second wait for each other and get consecutive
numbers, and a decision that rolls back takes its number with it, so none is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction

from org.models import Department
from workflow.models import NumberCounter


def fiscal_year(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


@dataclass(frozen=True)
class DocumentNumber:
    text: str
    fiscal_year: int
    serial: int


def _counter(department: Department, year: int) -> NumberCounter:
    try:
        # A savepoint, so that losing the creation race does not break the outer transaction.
        with transaction.atomic():
            NumberCounter.objects.get_or_create(department=department, fiscal_year=year)
    except IntegrityError:
        pass
    return NumberCounter.objects.select_for_update().get(department=department, fiscal_year=year)


def next_number(department: Department, on: date) -> DocumentNumber:
    """Must run inside the transaction that records the decision."""
    year = fiscal_year(on)
    counter = _counter(department, year)
    counter.last += 1
    counter.save(update_fields=["last"])
    prefix = department.number_prefix or department.code
    return DocumentNumber(f"{prefix}第{counter.last}号", year, counter.last)
