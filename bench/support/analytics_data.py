"""The data of bench/analytics.py: decided documents with their routes, slots, history and first
views as workflow writes them, generated deterministically and loaded with COPY (see its
docstring for the mix)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
OPEN_DOCUMENTS = 5_000
LEDGER = 20_000


class _Ids:
    def __init__(self, start: int) -> None:
        self.value = start

    def next(self) -> int:
        self.value += 1
        return self.value


def _after(rng: random.Random, moment: datetime, mean_hours: float) -> datetime:
    return moment + timedelta(hours=rng.expovariate(1 / mean_hours))


def _working_moment(rng: random.Random, day: date) -> datetime:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=TOKYO) + timedelta(
        minutes=rng.randrange(8 * 60)
    )


# (username, kind, stage name, role, mode) for each route of the demo's rules.
ROUTES = {
    "kacho": ("課長専決", [("suzuki", "approve"), ("sato", "approve")]),
    "bucho": (
        "部長専決",
        [("suzuki", "approve"), ("sato", "approve"), ("ito", "consult"), ("takahashi", "approve")],
    ),
    "fukushicho": (
        "副市長決裁",
        [
            ("suzuki", "approve"),
            ("sato", "approve"),
            ("ito", "consult"),
            ("takahashi", "approve"),
            ("kobayashi", "approve"),
        ],
    ),
}
STAGE_NAMES = {
    "suzuki": "係長",
    "sato": "課長",
    "ito": "財政課合議",
    "takahashi": "部長",
    "kobayashi": "副市長",
}


def _defaults(model: Any, columns: list[str]) -> dict[str, Any]:
    """The model's other NOT NULL columns with their defaults: Django keeps defaults in Python,
    not in the table, so a column added to a workflow model later would otherwise fail the COPY."""
    return {
        f.column: f.get_default()
        for f in model._meta.concrete_fields
        if f.column not in columns and not f.null and f.has_default()
    }


def load(total: int, chunk: int = 20_000) -> None:
    """Generate and COPY `total` decided documents (and the open ones and the ledger)."""
    from django.db import connection

    from analytics.models import PaperDecision, SlotView
    from documents.models import Document, DocumentType
    from org.models import Department, User
    from workflow.models import HistoryEntry, Route, RouteStage, Slot

    rng = random.Random(20261207)
    users = {u.username: u for u in User.objects.all()}
    posts = {name: users[name].primary_post for name in STAGE_NAMES}
    types = list(DocumentType.objects.values_list("pk", flat=True))
    drafters = [
        (users[n].pk, users[n].primary_post.department_id)
        for n in ("tanaka", "yamamoto", "tanaka", "ito", "kobayashi")
    ]
    tables = {
        "documents": (
            Document,
            [
                "id",
                "title",
                "doc_type_id",
                "body",
                "amount",
                "counterparty",
                "department_id",
                "drafter_id",
                "disclosure",
                "secrecy",
                "retention_years",
                "status",
                "version",
                "number",
                "fiscal_year",
                "serial",
                "decided_at",
                "submitted_at",
                "created_at",
                "updated_at",
                "search_text",
                "counterparty_key",
            ],
        ),
        "routes": (
            Route,
            [
                "id",
                "document_id",
                "document_version",
                "template_code",
                "rule_name",
                "rule_template_code",
                "rule_template_name",
                "template_name",
                "deviation",
                "deviation_reason",
                "after_send_back",
                "status",
                "current_stage",
                "created_at",
                "finished_at",
            ],
        ),
        "stages": (
            RouteStage,
            [
                "id",
                "route_id",
                "index",
                "name",
                "mode",
                "role",
                "skippable",
                "status",
                "skip_reason",
                "round",
            ],
        ),
        "slots": (
            Slot,
            [
                "id",
                "stage_id",
                "order",
                "round",
                "kind",
                "assignee_id",
                "on_behalf_of_id",
                "post_department_id",
                "post_position_id",
                "position_name",
                "department_name",
                "clock_from",
                "status",
                "added_by_drafter",
                "opened_at",
                "acted_at",
                "acted_by_id",
                "comment",
            ],
        ),
        "history": (
            HistoryEntry,
            [
                "id",
                "document_id",
                "document_version",
                "action",
                "actor_id",
                "on_behalf_of_id",
                "slot_id",
                "stage_name",
                "comment",
                "at",
                "details",
            ],
        ),
        "views": (SlotView, ["slot_id", "user_id", "at"]),
    }
    ids = {
        name: _Ids(model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
        for name, (model, _c) in tables.items()
        if name != "views"
    }
    last_month = date.today().replace(day=1) - timedelta(days=1)
    start = last_month - timedelta(days=5 * 365)
    span = (last_month - start).days
    serials: dict[int, int] = {}
    have = Document.objects.count()
    target = total + OPEN_DOCUMENTS
    with connection.cursor() as cursor:
        raw = cursor.cursor
        while have < target:
            n = min(chunk, target - have)
            rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in tables}
            for i in range(n):
                serial_no = have + i
                still_open = serial_no >= total
                drafter, department = rng.choice(drafters)
                day = start + timedelta(days=span * serial_no // max(total, 1))
                if still_open:
                    day = last_month - timedelta(days=rng.randrange(60))
                submitted = _working_moment(rng, day)
                band = rng.random()
                code = "kacho" if band < 0.70 else "bucho" if band < 0.95 else "fukushicho"
                route_name, steps = ROUTES[code]
                sent_back = rng.random() < 0.10
                deputy = code == "kacho" and rng.random() < 0.03
                doc_id, route_id = ids["documents"].next(), ids["routes"].next()
                history = rows["history"]
                history.append(
                    (
                        ids["history"].next(),
                        doc_id,
                        1,
                        "submit",
                        drafter,
                        None,
                        None,
                        "",
                        "",
                        submitted,
                        "{}",
                    )
                )
                moment = submitted
                version = 1
                stage_ids = [ids["stages"].next() for _ in steps]
                if sent_back:
                    # Round 1: suzuki approves, sato sends it back, the drafter resubmits.
                    for index, (name, kind) in enumerate(steps[:2]):
                        stage_id = stage_ids[index]
                        opened = moment
                        seen = _after(rng, opened, 6)
                        acted = _after(rng, seen, 3)
                        slot_id = ids["slots"].next()
                        status = "sent_back" if name == "sato" else "approved"
                        post = posts[name]
                        rows["slots"].append(
                            (
                                slot_id,
                                stage_id,
                                0,
                                1,
                                kind,
                                users[name].pk,
                                None,
                                post.department_id,
                                post.position_id,
                                post.position.name,
                                post.department.full_name,
                                None,
                                status,
                                False,
                                opened,
                                acted,
                                users[name].pk,
                                "",
                            )
                        )
                        rows["views"].append((slot_id, users[name].pk, seen))
                        history.append(
                            (
                                ids["history"].next(),
                                doc_id,
                                1,
                                "send_back" if status == "sent_back" else "approve",
                                users[name].pk,
                                None,
                                slot_id,
                                STAGE_NAMES[name],
                                "",
                                acted,
                                "{}",
                            )
                        )
                        moment = acted
                    moment = _after(rng, moment, 20)
                    version = 2
                    history.append(
                        (
                            ids["history"].next(),
                            doc_id,
                            2,
                            "resubmit",
                            drafter,
                            None,
                            None,
                            "",
                            "",
                            moment,
                            "{}",
                        )
                    )
                round_no = 2 if sent_back else 1
                decided = None
                for index, (name, kind) in enumerate(steps):
                    stage_id = stage_ids[index]
                    last = index == len(steps) - 1
                    acting = "yamamoto" if deputy and name == "sato" else name
                    opened = moment
                    seen = _after(rng, opened, 6)
                    acted = _after(rng, seen, 3)
                    open_now = still_open and last
                    rows["stages"].append(
                        (
                            stage_id,
                            route_id,
                            index,
                            STAGE_NAMES[name],
                            "all_of" if kind == "consult" else "sequential",
                            "consult" if kind == "consult" else ("decide" if last else "approve"),
                            False,
                            "active" if open_now else "done",
                            "",
                            round_no if index < 2 else 1,
                        )
                    )
                    slot_id = ids["slots"].next()
                    post = posts[name]
                    rows["slots"].append(
                        (
                            slot_id,
                            stage_id,
                            0,
                            round_no,
                            kind,
                            users[acting].pk,
                            users["sato"].pk if acting == "yamamoto" else None,
                            post.department_id,
                            post.position_id,
                            post.position.name,
                            post.department.full_name,
                            None,
                            "open" if open_now else "approved",
                            False,
                            opened,
                            None if open_now else acted,
                            None if open_now else users[acting].pk,
                            "",
                        )
                    )
                    if open_now:
                        break
                    if rng.random() < 0.8:  # a fifth are approved from the inbox unopened
                        rows["views"].append((slot_id, users[acting].pk, seen))
                    history.append(
                        (
                            ids["history"].next(),
                            doc_id,
                            version,
                            "consult" if kind == "consult" else "approve",
                            users[acting].pk,
                            users["sato"].pk if acting == "yamamoto" else None,
                            slot_id,
                            STAGE_NAMES[name],
                            "",
                            acted,
                            "{}",
                        )
                    )
                    moment = acted
                    if last:
                        decided = acted
                if decided is not None:
                    history.append(
                        (
                            ids["history"].next(),
                            doc_id,
                            version,
                            "decide",
                            users[steps[-1][0] if not deputy else "yamamoto"].pk,
                            None,
                            None,
                            "",
                            "",
                            decided,
                            "{}",
                        )
                    )
                    if deputy:
                        review_stage = ids["stages"].next()
                        rows["stages"].append(
                            (
                                review_stage,
                                route_id,
                                len(steps),
                                "後閲",
                                "circulation",
                                "circulate",
                                False,
                                "done",
                                "",
                                1,
                            )
                        )
                        review = ids["slots"].next()
                        reviewed = _after(rng, decided, 24)
                        post = posts["sato"]
                        rows["slots"].append(
                            (
                                review,
                                review_stage,
                                0,
                                1,
                                "post_review",
                                users["sato"].pk,
                                None,
                                post.department_id,
                                post.position_id,
                                post.position.name,
                                post.department.full_name,
                                None,
                                "approved",
                                False,
                                decided,
                                reviewed,
                                users["sato"].pk,
                                "",
                            )
                        )
                        history.append(
                            (
                                ids["history"].next(),
                                doc_id,
                                version,
                                "post_review",
                                users["sato"].pk,
                                None,
                                review,
                                "後閲",
                                "",
                                reviewed,
                                "{}",
                            )
                        )
                fiscal = (
                    (decided.year if decided.month >= 4 else decided.year - 1) if decided else None
                )
                number = None
                if decided is not None:
                    serials[fiscal] = serials.get(fiscal, 0) + 1
                    number = f"B{fiscal}-{serials[fiscal]}号"
                rows["documents"].append(
                    (
                        doc_id,
                        f"分析ベンチ文書{serial_no}",
                        rng.choice(types),
                        "",
                        None,
                        "",
                        department,
                        drafter,
                        "public",
                        "normal",
                        5,
                        "decided" if decided else "in_review",
                        version,
                        number,
                        fiscal,
                        serials.get(fiscal) if decided else None,
                        decided,
                        submitted,
                        submitted,
                        decided or moment,
                        "",
                        "",
                    )
                )
                rows["routes"].append(
                    (
                        route_id,
                        doc_id,
                        version,
                        code,
                        "",
                        "",
                        "",
                        route_name,
                        "",
                        "",
                        "restart",
                        "decided" if decided else "in_progress",
                        len(steps) - 1,
                        submitted,
                        decided,
                    )
                )
            for name in ("documents", "routes", "stages", "slots", "history", "views"):
                model, columns = tables[name]
                table = model._meta.db_table
                extra = _defaults(model, columns)
                quoted = ", ".join(f'"{c}"' for c in [*columns, *extra])
                tail = tuple(extra.values())
                with raw.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    for row in rows[name]:
                        copy.write_row(row + tail)
            have += n
            print(f"  loaded {have:,} documents", flush=True)
        for name, (model, _c) in tables.items():
            if name != "views":
                table = model._meta.db_table
                # The table names are the models' own, not input.
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"
                )
        departments = list(Department.objects.values_list("pk", flat=True))
        paper = [
            PaperDecision(
                decided_on=start + timedelta(days=rng.randrange(span)),
                department_id=rng.choice(departments),
                doc_type_id=rng.choice(types),
                reason="相手方の求めにより紙で決裁",
            )
            for _ in range(LEDGER)
        ]
        PaperDecision.objects.bulk_create(paper, batch_size=5000)
        for model, _c in tables.values():
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
