"""Issue 15's races, on PostgreSQL: a reassignment against an approval of the same task, and an
organisation change applied while approvals run."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from org.models import Post
from tests.conftest import postgres_only
from tests.workflow.support import draft, user
from tests.workflow.test_concurrency import code, race
from workflow import personnel, services
from workflow.models import HistoryEntry, Slot, SlotKind, SlotStatus

pytestmark = [postgres_only(), pytest.mark.django_db(transaction=True)]


def open_task(document_id: int, username: str) -> int:
    return Slot.objects.get(
        stage__route__document_id=document_id,
        assignee__username=username,
        status=SlotStatus.OPEN,
        kind__in=(SlotKind.APPROVE, SlotKind.CONSULT),
    ).pk


def test_a_reassignment_racing_an_approval_one_wins_the_other_gets_409(demo_org):
    for _ in range(5):
        document = draft(500_000, "振替と承認の競合")
        services.submit(user("tanaka"), document.pk)
        task = open_task(document.pk, "suzuki")
        results = race(
            partial(services.approve, user("suzuki"), task),
            partial(personnel.reassign, user("sato"), task, user("yamamoto"), "出張"),
        )
        outcomes = [code(r) for r in results]
        assert outcomes.count("ok") == 1, outcomes
        loser = next(r for r in results if isinstance(r, Exception))
        assert getattr(loser, "status_code", None) == 409, repr(loser)
        slot = Slot.objects.get(pk=task)
        actions = set(HistoryEntry.objects.filter(slot_id=task).values_list("action", flat=True))
        # Exactly one of them happened, and the history says which.
        if slot.status == SlotStatus.APPROVED:
            assert slot.assignee == user("suzuki") and "reassign" not in actions
        else:
            assert slot.assignee == user("yamamoto") and actions == {"reassign"}


def test_an_org_change_applied_while_approvals_run_loses_and_doubles_nothing(demo_org):
    documents = [draft(500_000, f"人事異動の競合 {i}").pk for i in range(6)]
    for pk in documents:
        services.submit(user("tanaka"), pk)
        services.approve(user("suzuki"), open_task(pk, "suzuki"))
    # sato's 課長 post goes to yamamoto today, while sato works through his tasks.
    today = timezone.localdate()
    held = Post.objects.get(user__username="sato", is_primary=True)
    Post.objects.filter(user__username="yamamoto").update(is_primary=False)

    def change() -> object:
        held.ends_on = today - timedelta(days=1)
        held.save()
        Post.objects.create(
            user=user("yamamoto"),
            department=held.department,
            position=held.position,
            is_primary=True,
            starts_on=today,
        )
        return personnel.apply_personnel_changes()

    def sato_approves_all() -> list[str]:
        outcomes = []
        for pk in documents:
            try:
                services.approve(user("sato"), open_task(pk, "sato"))
                outcomes.append("ok")
            except Slot.DoesNotExist:
                outcomes.append("moved")
            except Exception as exc:  # the task moved between the read and the approval: 409
                outcomes.append(code(exc))
        return outcomes

    results = race(change, sato_approves_all)
    assert not any(isinstance(r, Exception) for r in results), results
    # Each document is either decided by sato, or waits for yamamoto: never both, never lost.
    for pk in documents:
        open_slots = Slot.objects.filter(
            stage__route__document_id=pk, status=SlotStatus.OPEN, kind=SlotKind.APPROVE
        )
        decided = HistoryEntry.objects.filter(document_id=pk, action="decide").count()
        assert decided + open_slots.count() == 1, (pk, decided, list(open_slots))
        if open_slots:
            assert open_slots.get().assignee == user("yamamoto")
    personnel.apply_personnel_changes()  # idempotent: nothing more moves
    assert personnel.apply_personnel_changes().moved_to_holder == 0
