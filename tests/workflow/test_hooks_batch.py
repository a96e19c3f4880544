"""workflow.hooks delivers the events of one committed transaction together, and never those of
work that was rolled back; an approval's after-commit work is a handful of queries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from jobs import queue
from jobs.models import Job
from notifications.models import Notification
from org.models import User
from tests.workflow.test_query_budget import submitted_notice
from workflow import hooks, services
from workflow.events import DocumentWithdrawn, WorkflowEvent
from workflow.models import Slot, SlotStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def batches() -> Iterator[list[list[str]]]:
    seen: list[list[str]] = []

    def listener(events: Sequence[WorkflowEvent]) -> None:
        seen.append([e.reason for e in events if isinstance(e, DocumentWithdrawn)])

    hooks.listen(listener)
    yield seen
    hooks._listeners.remove(listener)


def _event(name: str) -> None:
    hooks._emit(DocumentWithdrawn(document_id=1, user_ids=(1,), reason=name))


def test_one_batch_per_transaction_without_rolled_back_savepoints(batches) -> None:
    with transaction.atomic():
        _event("a")
        try:
            with transaction.atomic():
                _event("undone")
                raise RuntimeError
        except RuntimeError:
            pass
        with transaction.atomic():
            _event("kept in a savepoint")
        _event("b")
        assert batches == []  # nothing before the commit
    assert sorted(map(tuple, batches)) == [("a", "b"), ("kept in a savepoint",)]


def test_rolled_back_transaction_tells_nobody(batches) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        _event("a")
        raise RuntimeError
    _event("outside a transaction")
    assert batches == [["outside a transaction"]]


def test_an_approval_notifies_in_a_few_queries_after_commit(demo_org) -> None:
    suzuki = User.objects.get(username="suzuki")
    document = submitted_notice()
    slot = Slot.objects.get(
        stage__route__document=document, assignee=suzuki, status=SlotStatus.OPEN
    )
    before = Notification.objects.count()
    with (
        CaptureQueriesContext(connection) as queries,
        mock.patch("jobs.queue.send") as queued,
    ):
        services.approve(suzuki, slot.pk)
    sql = [q["sql"] for q in queries.captured_queries]
    after_commit = sql[sql.index("COMMIT") + 1 :]
    # task.completed to the drafter and task.assigned to the next approver: both rows written.
    assert Notification.objects.count() == before + 2
    # Documents, users, three of access, the INSERT of the rows and of the e-mail job (in their
    # own BEGIN/COMMIT): not a round of queries per event. The e-mail goes to the queue.
    assert len(after_commit) <= 10, "\n".join(after_commit)
    # The e-mail job, among the jobs the listeners queued (analytics queues one of its own).
    (job_id,) = (
        args[0]
        for args, _kwargs in queued.call_args_list
        if Job.objects.get(pk=args[0]).kind == "notifications.email"
    )
    # The e-mail job, where it runs (a worker; in process without a broker): the job claimed, the
    # rows, access again, who is connected and wants mail, the mark, the job deleted.
    with CaptureQueriesContext(connection) as queries:
        assert queue.run(job_id).ran
    assert len(queries.captured_queries) <= 8, "\n".join(q["sql"] for q in queries.captured_queries)


def test_a_failing_participant_lookup_still_delivers_to_the_drafter(batches, monkeypatch) -> None:
    def broken(events: object) -> object:
        raise ConnectionError("database gone after the commit")

    monkeypatch.setattr(hooks, "_with_participants", broken)
    with transaction.atomic():
        _event("after commit")
    assert batches == [["after commit"]]
