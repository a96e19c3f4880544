"""A table as CSV that Excel in Japanese opens as it is: UTF-8 with a byte-order mark, and every
cell that a spreadsheet would take for a formula (= + - @, tab, carriage return) quoted with a
leading apostrophe, so that a title like "=HYPERLINK(...)" stays text (CSV injection)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

from analytics.tables import Table
from storage import content_disposition

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    # Numbers are written as they are: a negative number is no formula to quote.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return text
    return "'" + text if text[:1] in FORMULA_STARTS else text


def render(table: Table, data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(label) for _, label in table.columns])
    for row in table.rows(data):
        writer.writerow([cell(row.get(key)) for key, _ in table.columns])
    return "\ufeff" + out.getvalue()


def response(figure: str, table: Table, data: dict[str, Any]) -> HttpResponse:
    body = render(table, data).encode("utf-8")
    stamp = timezone.localdate().isoformat()
    reply = HttpResponse(body, content_type="text/csv; charset=utf-8")
    reply["Content-Disposition"] = content_disposition(
        f"analytics-{figure}-{table.name}-{stamp}.csv"
    )
    return reply
