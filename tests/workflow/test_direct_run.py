"""workflow.nodes.run_on leaves the same rows as viewflow's own activations.

Every scenario runs twice on fresh documents: once with the services as they are (run_on: the flow's
nodes walked directly, viewflow's Task rows written in bulk) and once with viewflow completing the
task node by node (flows.run_with_viewflow). The Task rows of the process (node, status, token,
owner, seed, data, which timestamps are set, `previous` links), the process, the route, its slots
and the history must come out the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Q
from django.utils import timezone
from viewflow.workflow.models import Task

from audit.models import AuditEntry
from documents.models import Document, DocumentType
from documents.services import create_document
from org.models import Absence, User
from workflow import flows, nodes, services
from workflow.models import (
    ApproverRule,
    HistoryEntry,
    Route,
    RouteTemplate,
    RuleKind,
    Slot,
    SlotStatus,
    StageMode,
    StageRole,
    StageTemplate,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _unsigned(settings: Any) -> None:
    settings.SIGN_APPROVALS = False  # signing is tested elsewhere; here only the flow counts


def user(name: str) -> User:
    return User.objects.get(username=name)


def new_document(amount: int = 500_000) -> Document:
    return create_document(
        user("tanaka"),
        {
            "title": "実行方式の比較",
            "doc_type": DocumentType.objects.get(code="notice"),
            "amount": amount,
            "retention_years": 1,
        },
    )


def template(code: str, mode: str, names: list[str], quorum: int | None = None) -> str:
    """A first stage of `names` in `mode`, then sato decides."""
    route = RouteTemplate.objects.create(code=code, name=code)
    stage = StageTemplate.objects.create(
        template=route, order=1, name="合議", mode=mode, role=StageRole.APPROVE, quorum=quorum
    )
    for order, name in enumerate(names):
        ApproverRule.objects.create(stage=stage, order=order, kind=RuleKind.USER, user=user(name))
    decide = StageTemplate.objects.create(
        template=route, order=2, name="課長", mode=StageMode.SEQUENTIAL, role=StageRole.DECIDE
    )
    ApproverRule.objects.create(stage=decide, kind=RuleKind.USER, user=user("sato"))
    return code


def slot_of(document: Document, name: str) -> int:
    return Slot.objects.get(
        Q(stage__route__document=document, assignee__username=name, status=SlotStatus.OPEN)
        & ~Q(kind="post_review")
    ).pk


def approve(document: Document, *names: str) -> None:
    for name in names:
        services.approve(user(name), slot_of(document, name))


def submit(document: Document, **options: Any) -> None:
    services.submit(user("tanaka"), document.pk, **options)


def two_step(document: Document) -> None:
    submit(document)
    approve(document, "suzuki", "sato")


def four_stages(document: Document) -> None:
    submit(document)
    approve(document, "suzuki", "sato", "ito", "takahashi")


def sent_back_to_the_drafter(document: Document) -> None:
    submit(document)
    approve(document, "suzuki")
    services.send_back(user("sato"), slot_of(document, "sato"), "根拠を添付してください")
    submit(document)
    approve(document, "sato", "ito", "takahashi")


def sent_back_to_an_earlier_stage(document: Document) -> None:
    submit(document)
    approve(document, "suzuki", "sato")
    services.send_back(user("ito"), slot_of(document, "ito"), "係長の確認を再度", to=0)
    approve(document, "suzuki", "sato", "ito", "takahashi")


def rejected(document: Document) -> None:
    submit(document)
    approve(document, "suzuki")
    services.reject(user("sato"), slot_of(document, "sato"), "予算がありません")


def any_of(document: Document) -> None:
    submit(document, template_code=template("any-of", StageMode.ANY_OF, ["suzuki", "yamamoto"]))
    approve(document, "yamamoto", "sato")


def all_of(document: Document) -> None:
    submit(document, template_code=template("all-of", StageMode.ALL_OF, ["suzuki", "yamamoto"]))
    approve(document, "yamamoto", "suzuki", "sato")


def quorum(document: Document) -> None:
    code = template("quorum", StageMode.QUORUM, ["suzuki", "yamamoto", "ito"], quorum=2)
    submit(document, template_code=code)
    approve(document, "ito", "suzuki", "sato")


def rejected_in_an_all_of_stage(document: Document) -> None:
    submit(document, template_code=template("all-of", StageMode.ALL_OF, ["suzuki", "yamamoto"]))
    approve(document, "suzuki")
    services.reject(user("yamamoto"), slot_of(document, "yamamoto"), "反対です")


def skipped(document: Document) -> None:
    StageTemplate.objects.filter(template__code="bucho-senketsu", role="consult").update(
        skippable=True
    )
    submit(document)
    approve(document, "suzuki", "sato")
    route = Route.objects.get(document=document)
    services.skip_stage(user("admin"), route.pk, 2, "不要")
    approve(document, "takahashi")


def deputy(document: Document) -> None:
    now = timezone.now()
    Absence.objects.create(
        user=user("sato"), starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1)
    )
    submit(document)
    approve(document, "suzuki", "yamamoto")
    review = Slot.objects.get(stage__route__document=document, kind="post_review")
    services.approve(user("sato"), review.pk)


def with_a_reader(document: Document) -> None:
    submit(document, approvers=[user("yamamoto")], readers=[user("watanabe")])
    approve(document, "suzuki", "yamamoto", "sato")
    services.approve(user("watanabe"), slot_of(document, "watanabe"))


def withdrawn(document: Document) -> None:
    submit(document)
    approve(document, "suzuki")
    services.withdraw(user("tanaka"), document.pk, "添付漏れ")


SCENARIOS: dict[str, tuple[int, Callable[[Document], None]]] = {
    "two_step": (500_000, two_step),
    "four_stages": (3_200_000, four_stages),
    "sent_back_to_the_drafter": (3_200_000, sent_back_to_the_drafter),
    "sent_back_to_an_earlier_stage": (3_200_000, sent_back_to_an_earlier_stage),
    "rejected": (3_200_000, rejected),
    "any_of": (500_000, any_of),
    "all_of": (500_000, all_of),
    "quorum": (500_000, quorum),
    "rejected_in_an_all_of_stage": (500_000, rejected_in_an_all_of_stage),
    "skipped": (3_200_000, skipped),
    "deputy": (500_000, deputy),
    "with_a_reader": (500_000, with_a_reader),
    "withdrawn": (500_000, withdrawn),
}


def state(document: Document) -> dict[str, Any]:
    """Everything the run leaves, with ids replaced by their order."""
    document.refresh_from_db()
    routes = list(Route.objects.filter(document=document).order_by("pk"))
    tasks = list(
        Task.objects.filter(process__in=[r.process_id for r in routes])
        .prefetch_related("previous")
        .order_by("pk")
    )
    index = {task.pk: n for n, task in enumerate(tasks)}
    slots = list(Slot.objects.filter(stage__route__in=routes).order_by("pk"))
    slot_index = {slot.pk: n for n, slot in enumerate(slots)}

    def token(text: str) -> str:
        return re.sub(r"/(\d+)_", lambda m: f"/#{index[int(m.group(1))]}_", text)

    return {
        "document": (document.status, document.number is not None, document.decided_at is not None),
        "routes": [(r.status, r.current_stage, r.finished_at is not None) for r in routes],
        "processes": [
            (r.process.status, r.process.finished is not None) for r in routes if r.process
        ],
        "tasks": [
            (
                task.flow_task.name,
                task.flow_task_type,
                task.status,
                token(str(task.token)),
                task.owner_id,
                slot_index.get(task.seed_object_id) if task.seed_object_id else None,
                {k: v for k, v in task.data.items() if k != "slot"},
                task.assigned is not None,
                task.started is not None,
                task.finished is not None,
                sorted(index[p.pk] for p in task.previous.all()),
            )
            for task in tasks
        ],
        "slots": [
            (s.stage.index, s.round, s.kind, s.assignee_id, s.on_behalf_of_id, s.status)
            for s in slots
        ],
        "history": list(
            HistoryEntry.objects.filter(document=document)
            .order_by("pk")
            .values_list("action", "actor_id", "on_behalf_of_id", "document_version")
        ),
        "audit": list(
            AuditEntry.objects.filter(document_id=document.pk)
            .order_by("seq")
            .values_list("action", "actor_id")
        ),
    }


def viewflow_completes(
    route: Route, task: Any, tasks: list[Any], actor: User
) -> None:  # flows.complete_task's signature
    flows.run_with_viewflow(task)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_direct_run_leaves_what_viewflow_leaves(demo_org, monkeypatch, name):
    amount, scenario = SCENARIOS[name]
    direct = new_document(amount)
    scenario(direct)
    RouteTemplate.objects.filter(code__in=["any-of", "all-of", "quorum"]).delete()
    Absence.objects.all().delete()
    with monkeypatch.context() as patch:
        patch.setattr(services, "complete_task", viewflow_completes)
        reference = new_document(amount)
        scenario(reference)
    assert state(direct) == state(reference)


def test_run_on_knows_every_node_after_the_start():
    for name, node in flows.ApprovalFlow._nodes_by_name.items():
        assert name == "start" or isinstance(node, nodes.SUPPORTED), name
