"""Import of the organisation from the CSV files personnel systems export.

Three files, imported in this order (each all-or-nothing; every bad line is reported, not just the
first). Headers may be English or the Japanese names personnel systems use; the encoding may be
UTF-8 (with or without BOM) or Shift_JIS (cp932), which is what Japanese Excel still writes.

- departments: code, name, parent_code, number_prefix, sort_order
  (所属コード, 所属名, 上位所属コード, 文書番号略称, 表示順)
- positions: code, name, rank  (職名コード, 職名, 職位)
- staff (one row per post; a person with 兼務 has several rows):
  employee_id, username, family_name, given_name, email, department_code, position_code, primary
  (職員番号, ユーザー名, 姓, 名, メール, 所属コード, 職名コード, 本務)

For every person in a staff file, the file is the truth: posts it does not list are ended
(ends_on = yesterday), not deleted, so past routes and audit entries still name them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from org import changes
from org.models import Department, Position, Post, User

HEADER_ALIASES = {
    "所属コード": "code",
    "所属名": "name",
    "上位所属コード": "parent_code",
    "文書番号略称": "number_prefix",
    "表示順": "sort_order",
    "職名コード": "position_code",
    "職名": "name",
    "職位": "rank",
    "職員番号": "employee_id",
    "ユーザー名": "username",
    "姓": "family_name",
    "名": "given_name",
    "メール": "email",
    "本務": "primary",
}
# In a staff file 所属コード is the department of the post, not a department's own code.
STAFF_ALIASES = {**HEADER_ALIASES, "所属コード": "department_code"}
POSITION_ALIASES = {**HEADER_ALIASES, "職名コード": "code"}

KINDS = ("departments", "positions", "staff")
REQUIRED = {
    "departments": {"code", "name"},
    "positions": {"code", "name", "rank"},
    "staff": {"username", "family_name", "department_code", "position_code"},
}
TRUE_WORDS = {"1", "true", "yes", "y", "本務", "○", "〇"}


class OrgImportError(Exception):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    ended_posts: int = 0
    notes: list[str] = field(default_factory=list)


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise OrgImportError(["The file is neither UTF-8 nor Shift_JIS (cp932); save it as UTF-8."])


def read_rows(text: str, kind: str) -> Iterator[tuple[int, dict[str, str]]]:
    aliases = {"staff": STAFF_ALIASES, "positions": POSITION_ALIASES}.get(kind, HEADER_ALIASES)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise OrgImportError(["The file is empty."]) from None
    names = [aliases.get(h.strip(), h.strip().lower()) for h in header]
    missing = REQUIRED[kind] - set(names)
    if missing:
        raise OrgImportError([f"Line 1: missing column(s) {', '.join(sorted(missing))}."])
    for line_no, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(names):
            raise OrgImportError(
                [f"Line {line_no}: {len(values)} fields, but the header has {len(names)}."]
            )
        yield line_no, {n: v.strip() for n, v in zip(names, values, strict=True)}


def import_csv(data: bytes, kind: str) -> ImportResult:
    if kind not in KINDS:
        raise OrgImportError([f"Unknown kind {kind!r}; expected one of {', '.join(KINDS)}."])
    rows = list(read_rows(decode(data), kind))
    importer = {"departments": _departments, "positions": _positions, "staff": _staff}[kind]
    with transaction.atomic():
        result = importer(rows)
        changes.changed()  # posts may have new holders: their open tasks follow (org.changes)
        return result


def _int(value: str, line_no: int, column: str, errors: list[str]) -> int:
    try:
        return int(value) if value else 0
    except ValueError:
        errors.append(f"Line {line_no}: {column} must be a whole number, not {value!r}.")
        return 0


def _departments(rows: list[tuple[int, dict[str, str]]]) -> ImportResult:
    result, errors = ImportResult(), list[str]()
    by_code: dict[str, Department] = {d.code: d for d in Department.objects.all()}
    for line_no, row in rows:
        if not row["code"] or not row["name"]:
            errors.append(f"Line {line_no}: code and name are required.")
            continue
        dept = by_code.get(row["code"]) or Department(code=row["code"])
        result.created += dept.pk is None
        result.updated += dept.pk is not None
        dept.name = row["name"]
        dept.number_prefix = row.get("number_prefix", dept.number_prefix)
        dept.sort_order = _int(row.get("sort_order", ""), line_no, "sort_order", errors)
        dept.save()
        by_code[dept.code] = dept
    # Parents second, so a file may list children before their parents.
    for line_no, row in rows:
        child = by_code.get(row["code"])
        parent_code = row.get("parent_code", "")
        if child is None:
            continue
        if parent_code and parent_code not in by_code:
            errors.append(f"Line {line_no}: parent department {parent_code!r} does not exist.")
            continue
        child.parent = by_code[parent_code] if parent_code else None
        child.save(update_fields=["parent"])
    for line_no, row in rows:
        node = by_code.get(row["code"])
        if node is not None and node.parent is not None and node in _chain(node.parent):
            errors.append(f"Line {line_no}: department {node.code!r} would be its own ancestor.")
    _raise_if(errors)
    return result


def _chain(dept: Department) -> Iterable[Department]:
    return [dept, *dept.ancestors()]


def _positions(rows: list[tuple[int, dict[str, str]]]) -> ImportResult:
    result, errors = ImportResult(), list[str]()
    for line_no, row in rows:
        rank = _int(row["rank"], line_no, "rank", errors)
        if not row["code"] or not row["name"]:
            errors.append(f"Line {line_no}: code and name are required.")
            continue
        _, created = Position.objects.update_or_create(
            code=row["code"], defaults={"name": row["name"], "rank": rank}
        )
        result.created += created
        result.updated += not created
    _raise_if(errors)
    return result


def _staff(rows: list[tuple[int, dict[str, str]]]) -> ImportResult:
    result, errors = ImportResult(), list[str]()
    departments = {d.code: d for d in Department.objects.all()}
    positions = {p.code: p for p in Position.objects.all()}
    listed: dict[int, set[int]] = {}  # user pk -> post pks the file lists
    primary_post: dict[int, int] = {}  # user pk -> the post pk marked primary
    primaries: dict[str, int] = {}  # username -> line of its primary post
    for line_no, row in rows:
        username = row["username"]
        dept = departments.get(row["department_code"])
        position = positions.get(row["position_code"])
        if not username:
            errors.append(f"Line {line_no}: username is required.")
        if dept is None:
            errors.append(f"Line {line_no}: department {row['department_code']!r} does not exist.")
        if position is None:
            errors.append(f"Line {line_no}: position {row['position_code']!r} does not exist.")
        is_primary = row.get("primary", "1").lower() in TRUE_WORDS
        if is_primary and primaries.setdefault(username, line_no) != line_no:
            errors.append(
                f"Line {line_no}: {username} already has a primary post on line "
                f"{primaries[username]}."
            )
        if not username or dept is None or position is None:
            continue
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
        result.created += created
        user.last_name = row["family_name"]
        user.first_name = row.get("given_name", "")
        user.display_name = user.get_full_name()
        user.email = row.get("email", user.email)
        user.employee_id = row.get("employee_id") or user.employee_id
        user.save()
        # Primary flags are settled after the loop: clearing first avoids a transient second
        # primary post tripping the one-primary constraint.
        post, post_created = Post.objects.get_or_create(
            user=user, department=dept, position=position, defaults={"is_primary": False}
        )
        if not post_created and post.ends_on is not None:
            post.ends_on = None
            post.save(update_fields=["ends_on"])
        result.updated += not post_created
        listed.setdefault(user.pk, set()).add(post.pk)
        if is_primary:
            primary_post[user.pk] = post.pk
    _raise_if(errors)
    yesterday = timezone.localdate() - timedelta(days=1)
    for user_pk, keep in listed.items():
        stale = Post.objects.filter(user_id=user_pk, ends_on__isnull=True).exclude(pk__in=keep)
        result.ended_posts += stale.update(ends_on=yesterday, is_primary=False)
        Post.objects.filter(user_id=user_pk).update(is_primary=False)
        if user_pk in primary_post:
            Post.objects.filter(pk=primary_post[user_pk]).update(is_primary=True)
    return result


def _raise_if(errors: list[str]) -> None:
    if errors:
        # Raising inside transaction.atomic() rolls back every row of the file.
        raise OrgImportError(errors)
