"""Two people acting at the same instant, on PostgreSQL (SQLite ignores row locks)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q

from documents.models import Document
from org.models import Department
from tests.conftest import postgres_only
from tests.workflow.support import draft, user
from workflow import services
from workflow.models import (
    ApproverRule,
    HistoryEntry,
    RouteTemplate,
    RuleKind,
    Slot,
    SlotStatus,
    StageMode,
    StageRole,
    StageTemplate,
)

pytestmark = [postgres_only(), pytest.mark.django_db(transaction=True)]


def new_document(amount: int = 500_000) -> Document:
    return draft(amount, "同時操作の試験")


def any_of_template() -> RouteTemplate:
    template = RouteTemplate.objects.create(code="any-of-test", name="いずれか一人")
    stage = StageTemplate.objects.create(
        template=template,
        order=1,
        name="係長・課長補佐",
        mode=StageMode.ANY_OF,
        role=StageRole.APPROVE,
    )
    for order, name in enumerate(["suzuki", "yamamoto"]):
        ApproverRule.objects.create(stage=stage, order=order, kind=RuleKind.USER, user=user(name))
    decide = StageTemplate.objects.create(
        template=template, order=2, name="課長", mode=StageMode.SEQUENTIAL, role=StageRole.DECIDE
    )
    ApproverRule.objects.create(stage=decide, kind=RuleKind.USER, user=user("sato"))
    return template


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same instant, each on its own connection; results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def code(result: Any) -> str:
    if not isinstance(result, Exception):
        return "ok"
    get_codes = getattr(result, "get_codes", None)
    return str(get_codes()) if get_codes else type(result).__name__


def codes(results: list[Any]) -> list[str]:
    return sorted(code(r) for r in results)


def test_two_approvers_of_an_any_of_stage_at_once(demo_org):
    any_of_template()
    for _ in range(5):
        document = new_document()
        services.submit(user("tanaka"), document.pk, template_code="any-of-test")
        suzuki = Slot.objects.get(stage__route__document=document, assignee__username="suzuki")
        yamamoto = Slot.objects.get(stage__route__document=document, assignee__username="yamamoto")
        results = race(
            partial(services.approve, user("suzuki"), suzuki.pk),
            partial(services.approve, user("yamamoto"), yamamoto.pk),
        )
        assert codes(results) == ["ok", "task_closed"], results
        approvals = HistoryEntry.objects.filter(document=document, action="approve")
        assert approvals.count() == 1
        assert (
            Slot.objects.filter(stage__route__document=document, status=SlotStatus.APPROVED).count()
            == 1
        )
        assert (
            Slot.objects.get(stage__route__document=document, assignee__username="sato").status
            == SlotStatus.OPEN
        )


def test_a_double_click_on_approve_is_one_action(demo_org):
    document = new_document()
    services.submit(user("tanaka"), document.pk)
    slot = Slot.objects.get(stage__route__document=document, assignee__username="suzuki")
    results = race(
        lambda: services.approve(user("suzuki"), slot.pk),
        lambda: services.approve(user("suzuki"), slot.pk),
    )
    assert codes(results) == ["ok", "task_closed"], results
    assert HistoryEntry.objects.filter(document=document, action="approve").count() == 1
    assert (
        Slot.objects.filter(
            stage__route__document=document, assignee__username="sato", status=SlotStatus.OPEN
        ).count()
        == 1
    )


def test_twenty_decisions_in_the_same_second_get_twenty_consecutive_numbers(demo_org):
    documents = [new_document() for _ in range(20)]
    for document in documents:
        services.submit(user("tanaka"), document.pk)
        slot = Slot.objects.get(stage__route__document=document, assignee__username="suzuki")
        services.approve(user("suzuki"), slot.pk)
    decisions = [
        Slot.objects.get(stage__route__document=d, assignee__username="sato").pk for d in documents
    ]
    sato = user("sato")
    results = race(*[partial(services.approve, sato, pk) for pk in decisions])
    assert codes(results) == ["ok"] * 20, results
    numbers = sorted(
        s
        for s in Document.objects.filter(pk__in=[d.pk for d in documents]).values_list(
            "serial", flat=True
        )
        if s is not None
    )
    assert numbers == list(range(1, 21))
    section = Department.objects.get(code="somu-somu")
    assert (
        Document.objects.filter(Q(department=section) & Q(number__startswith="総総第")).count()
        == 20
    )


def test_withdrawal_racing_an_approval_leaves_one_outcome(demo_org):
    document = new_document()
    services.submit(user("tanaka"), document.pk)
    slot = Slot.objects.get(stage__route__document=document, assignee__username="suzuki")
    results = race(
        lambda: services.approve(user("suzuki"), slot.pk),
        lambda: services.withdraw(user("tanaka"), document.pk),
    )
    document.refresh_from_db()
    outcome = codes(results)
    # Either the approval came first (then the withdrawal still may proceed: the new current
    # approver has not acted), or the withdrawal came first and the approval is refused.
    assert outcome in (["ok", "ok"], ["ok", "withdrawn"]), results
    assert document.status == "withdrawn"
    assert (
        not Slot.objects.filter(stage__route__document=document, status=SlotStatus.OPEN)
        .exclude(kind="post_review")
        .exists()
    )
