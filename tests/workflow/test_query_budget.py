"""The statements of one approval's own transaction, pinned so that they cannot creep back.

Every statement in the action's transaction costs the approval ~0.5 ms of CPU (bench/workflow.py).
An approval on the demo's 課長専決 route (suzuki → sato) is counted as the benchmark counts it: the
first step opens the next person's task, the second decides and takes the document number. The
test runs inside pytest-django's transaction, so the action's own transaction is a savepoint and
its after-commit listeners (counted separately by the benchmark) do not run.

If a change needs more statements, say why in the commit and raise the number here; if it needs
fewer, lower it.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit import services as audit_services
from documents.models import Document, DocumentType
from documents.services import create_document
from org.models import User
from workflow import services
from workflow.models import Slot, SlotStatus

pytestmark = pytest.mark.django_db


# The audit entries: on PostgreSQL the head read without a lock, then one statement that moves it
# and inserts the entries (audit.services.append; a prepared statement on psycopg's own cursor,
# which Django's log does not see: counted here); elsewhere the head locked, the entries, the head
# moved.
def audit_statements() -> int:
    return 2 if connection.vendor == "postgresql" else 3


# The route and its document, locked; the route's stages and slots; the slot closed; the stage
# done, the route moved, the next stage active, the holder of its post today and whether they are
# absent (人事異動, 代決: one query) and the next slot opened;
# the history entry; the audit entry.
APPROVAL = 9
# The route and document locked; stages and slots; the slot closed; the stage done; the route
# ended; the number counter; the document (number, status, decision date); the history entries of
# the approval and the decision in one INSERT; the two audit entries.
# (Who takes part in the document, for the decided event, is read after the commit.)
DECISION = 8
# The goal (issue 14): no approval step above this.
GOAL = 12


@pytest.fixture(autouse=True)
def _unsigned(settings: Any) -> None:
    settings.SIGN_APPROVALS = False  # a seal is several statements of its own, tested elsewhere


def _statements(name: str, document: Document) -> list[str]:
    user = User.objects.get(username=name)
    slot = Slot.objects.get(
        stage__route__document=document, assignee=user, status=SlotStatus.OPEN
    ).pk
    unlogged: list[str] = []
    append = audit_services._move_head_and_insert

    def counted(statement: str, params: list[Any]) -> list[int]:
        unlogged.append(statement)
        return append(statement, params)

    with (
        CaptureQueriesContext(connection) as captured,
        mock.patch.object(audit_services, "_move_head_and_insert", counted),
    ):
        services.approve(user, slot)
    transaction_control = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT")
    return [
        q["sql"] for q in captured.captured_queries if not q["sql"].startswith(transaction_control)
    ] + unlogged


def submitted_notice() -> Document:
    """A notice for ¥100,000 by tanaka, submitted on the 課長専決 route (suzuki → sato)."""
    tanaka = User.objects.get(username="tanaka")
    document = create_document(
        tanaka,
        {
            "title": "通知文の発出について",
            "doc_type": DocumentType.objects.get(code="notice"),
            "amount": 100_000,
            "retention_years": 1,
        },
    )
    services.submit(tanaka, document.pk)
    return document


def test_an_approval_and_a_decision_take_a_fixed_number_of_statements(demo_org):
    # The first decision of the year creates the department's number counter: not counted.
    first = submitted_notice()
    _statements("suzuki", first)
    _statements("sato", first)
    document = submitted_notice()
    approval = _statements("suzuki", document)
    decision = _statements("sato", document)
    document.refresh_from_db()
    assert document.number  # the second step decided
    assert len(approval) == APPROVAL + audit_statements(), "\n".join(approval)
    assert len(decision) == DECISION + audit_statements(), "\n".join(decision)
    assert max(APPROVAL, DECISION) + audit_statements() <= GOAL
