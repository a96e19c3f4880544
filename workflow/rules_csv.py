"""The 専決規程 as a CSV table: document type × amount band × department → route (and its decider).

Export: UTF-8 with a BOM (Excel opens it with Japanese intact) and Japanese headers; cells that a
spreadsheet would run as a formula are quoted with a leading apostrophe. Import: UTF-8 or
Shift_JIS (cp932), Japanese or English headers; the file becomes a new version of the rules valid
from a date (workflow.designer.publish_rules), whole or not at all, every bad line named.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils.translation import gettext as _

from workflow.definitions import DefinitionError, SelectionDef, rules_from_json

# column: (Japanese header, English header)
COLUMNS: dict[str, tuple[str, str]] = {
    "priority": ("優先順位", "priority"),
    "name": ("規程", "name"),
    "doc_types": ("文書種別", "document types"),
    "amount_min": ("金額以上", "amount from"),
    "amount_max": ("金額未満", "amount below"),
    "departments": ("起案課", "departments"),
    "template": ("経路", "route"),
    "decider": ("決裁権者", "decider"),
    "exceptions": ("例外", "exceptions"),
}
_HEADERS = {name: key for key, names in COLUMNS.items() for name in names}
REQUIRED = {"priority", "name", "template"}
MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 5000


class RulesCsvError(DefinitionError):
    pass


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting like a formula would run in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export(rules: list[SelectionDef], deciders: dict[str, str]) -> bytes:
    """The rules as CSV (UTF-8 with BOM, Japanese headers). `deciders`: route code → the
    position that decides on it, for the reader (import ignores that column)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([names[0] for names in COLUMNS.values()])
    from workflow.definitions import Codes

    codes = Codes()
    for rule in rules:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    rule.priority,
                    rule.name,
                    " ".join(sorted(codes.doc_type(pk) for pk in rule.doc_types)),
                    rule.amount_min,
                    rule.amount_max,
                    " ".join(sorted(codes.department(pk) for pk in rule.departments)),
                    rule.template.code,
                    deciders.get(rule.template.code, ""),
                    " ".join(f"{code}:{reason}" for code, reason in rule.exceptions),
                )
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RulesCsvError([_("The file is neither UTF-8 nor Shift_JIS; save it as UTF-8.")])


def _amount(text: str) -> str | None:
    cleaned = text.replace(",", "").replace("円", "").replace("¥", "").strip()
    return cleaned or None


def parse(data: bytes) -> list[SelectionDef]:
    """The rules of a CSV file; RulesCsvError naming every bad line."""
    if len(data) > MAX_BYTES:
        raise RulesCsvError([_("The file is larger than 2 MB.")])
    reader = csv.reader(io.StringIO(_decode(data)))
    try:
        header = next(reader)
    except StopIteration:
        raise RulesCsvError([_("The file is empty.")]) from None
    keys = [_HEADERS.get(h.strip().lstrip("\ufeff"), h.strip().lower()) for h in header]
    missing = REQUIRED - set(keys)
    if missing:
        raise RulesCsvError(
            [_("Line 1: missing column(s) %(names)s.") % {"names": ", ".join(sorted(missing))}]
        )
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for line_no, values in enumerate(reader, start=2):
        if line_no > MAX_LINES:
            raise RulesCsvError([_("At most %(n)d lines.") % {"n": MAX_LINES}])
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(keys):
            problems.append(
                _("Line %(line)d: %(got)d fields, but the header has %(want)d.")
                % {"line": line_no, "got": len(values), "want": len(keys)}
            )
            continue
        cell = {k: v.strip().lstrip("'") for k, v in zip(keys, values, strict=True)}
        exceptions = []
        for item in cell.get("exceptions", "").split():
            code, _sep, reason = item.partition(":")
            exceptions.append({"template": code, "reason": reason})
        rows.append(
            {
                "priority": cell.get("priority"),
                "name": cell.get("name"),
                "template": cell.get("template"),
                "amount_min": _amount(cell.get("amount_min", "")),
                "amount_max": _amount(cell.get("amount_max", "")),
                "doc_types": cell.get("doc_types", "").split(),
                "departments": cell.get("departments", "").split(),
                "exceptions": exceptions,
                "_line": line_no,
            }
        )
    for row in rows:
        try:
            rules_from_json([{k: v for k, v in row.items() if k != "_line"}])
        except DefinitionError as exc:
            problems += [
                _("Line %(line)d: %(problem)s") % {"line": row["_line"], "problem": p}
                for p in exc.problems
            ]
    if problems:
        raise RulesCsvError(problems)
    if not rows:
        raise RulesCsvError([_("The file has no rules.")])
    return rules_from_json([{k: v for k, v in row.items() if k != "_line"} for row in rows])
