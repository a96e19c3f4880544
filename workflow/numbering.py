"""Document numbers (文書番号): department prefix + serial per fiscal year, e.g. 総総第12号.

The fiscal year (年度) runs April to March. The counter row is incremented, and so locked, inside
the deciding transaction: two decisions in the same second wait for each other and get consecutive
numbers, and a decision that rolls back takes its number with it, so none is skipped. The lock is
held until the commit and every decision of the department needs it, so the approval services take
the number as late as they can (workflow.progression.action).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, connection, transaction

from org.models import Department
from workflow.models import NumberCounter


def fiscal_year(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


@dataclass(frozen=True)
class DocumentNumber:
    text: str
    fiscal_year: int
    serial: int


_INCREMENT = (
    "UPDATE {table} SET {last} = {last} + 1 WHERE {department} = %s AND {year} = %s "
    "RETURNING {last}"
)


def _increment(department_id: int, year: int) -> int | None:
    """One statement that locks, increments and reads the counter (UPDATE … RETURNING: both
    PostgreSQL and SQLite ≥ 3.35); None if the counter does not exist yet."""
    quote = connection.ops.quote_name
    meta = NumberCounter._meta
    sql = _INCREMENT.format(
        table=quote(meta.db_table),
        last=quote(meta.get_field("last").column),
        department=quote(meta.get_field("department").column),
        year=quote(meta.get_field("fiscal_year").column),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [department_id, year])
        row = cursor.fetchone()
    return int(row[0]) if row else None


def next_number(department: Department, on: date) -> DocumentNumber:
    """Must run inside the transaction that records the decision."""
    year = fiscal_year(on)
    serial = _increment(department.pk, year)
    if serial is None:
        try:
            # A savepoint, so that losing the creation race does not break the outer transaction.
            with transaction.atomic():
                NumberCounter.objects.get_or_create(department=department, fiscal_year=year)
        except IntegrityError:
            pass
        serial = _increment(department.pk, year)
        if serial is None:
            raise NumberCounter.DoesNotExist(f"no number counter for {department} FY{year}")
    prefix = department.number_prefix or department.code
    return DocumentNumber(f"{prefix}第{serial}号", year, serial)
