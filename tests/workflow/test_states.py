"""workflow.states: the transitions are declared once, and every caller gets its answers there."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient
from viewflow.fsm import chart
from viewflow.utils import DEFAULT

from documents.models import Document, DocumentType
from documents.services import create_document
from tests.workflow.support import draft, user
from tests.workflow.test_scenarios import template
from workflow import services, states
from workflow.models import Route, Slot, SlotStatus, StageMode

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _unsigned(settings: Any) -> None:
    settings.SIGN_APPROVALS = False


def open_slot(document: Document, name: str) -> Slot:
    return Slot.objects.select_related("stage__route").get(
        stage__route__document=document, assignee__username=name, status=SlotStatus.OPEN
    )


def running(document: Document) -> Route | None:
    return Route.objects.filter(document=document, finished_at__isnull=True).first()


def test_every_transition_says_who_may_take_it():
    for flow in (states.DocumentFlow, states.StageFlow, states.SlotFlow):
        for method, transitions in flow.status.get_transitions().items():
            for transition in transitions:
                assert transition.permission is not DEFAULT, (flow.__name__, method.slug)
        # viewflow draws the machine (docs/architecture.md points at it).
        assert "digraph" in chart(flow.status)


def test_what_each_task_allows(demo_org):
    document = draft()
    services.submit(user("tanaka"), document.pk, approvers=[], readers=[user("watanabe")])
    suzuki = open_slot(document, "suzuki")
    assert states.task_actions(user("suzuki"), suzuki) == {
        "approve",
        "send_back",
        "reject",
        "annotate",
        "ask",
    }
    assert states.task_actions(user("sato"), suzuki) == frozenset()  # not his task
    services.approve(user("suzuki"), suzuki.pk)
    services.approve(user("sato"), open_slot(document, "sato").pk)
    # 供覧 after the decision: read (and mark), never send back or reject.
    reader = open_slot(document, "watanabe")
    assert states.task_actions(user("watanabe"), reader) == {"approve", "annotate"}
    suzuki.refresh_from_db()
    assert states.task_actions(user("suzuki"), suzuki) == frozenset()  # closed


def test_the_drafters_revision_is_resubmitted_not_approved(demo_org):
    document = draft()
    services.submit(user("tanaka"), document.pk)
    services.send_back(user("suzuki"), open_slot(document, "suzuki").pk, "やり直し")
    revise = Slot.objects.select_related("stage__route").get(
        stage__route__document=document, kind="revise"
    )
    assert states.task_actions(user("tanaka"), revise) == {"resubmit"}
    document.refresh_from_db()
    with pytest.raises(services.WorkflowError) as refused:
        services.approve(user("tanaka"), revise.pk)
    assert refused.value.get_codes() == "revise_task"
    assert states.document_actions(user("tanaka"), document, running(document)) == {
        "resubmit",
        "withdraw",
    }


def test_withdrawal_is_offered_only_until_the_current_approver_acts(demo_org):
    """The rule the workspace's button used to ignore: one place answers the page and the API."""
    template("all-of", StageMode.ALL_OF, ["suzuki", "yamamoto"])
    document = draft()
    services.submit(user("tanaka"), document.pk, template_code="all-of")
    document.refresh_from_db()
    tanaka = user("tanaka")
    assert states.document_actions(tanaka, document, running(document)) == {"withdraw"}
    assert states.document_actions(user("suzuki"), document, running(document)) == frozenset()
    services.approve(user("suzuki"), open_slot(document, "suzuki").pk)
    document.refresh_from_db()
    assert states.document_actions(tanaka, document, running(document)) == frozenset()
    browser = Client()
    browser.force_login(tanaka)
    page = browser.get(f"/documents/{document.pk}/route-panel/")
    client = APIClient()
    client.force_authenticate(tanaka)
    assert page.status_code == 200 and 'data-action="withdraw"' not in page.content.decode()
    routes = client.get(f"/api/v1/documents/{document.pk}/route").json()
    assert routes["actions"] == []
    refused = client.post(f"/api/v1/documents/{document.pk}/withdraw", {}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "already_acted"
    # The stage is done once yamamoto agrees too; sato has not acted: withdrawal is back.
    services.approve(user("yamamoto"), open_slot(document, "yamamoto").pk)
    document.refresh_from_db()
    assert states.document_actions(tanaka, document, running(document)) == {"withdraw"}
    page = browser.get(f"/documents/{document.pk}/route-panel/")
    assert 'data-action="withdraw"' in page.content.decode()


def test_the_inbox_api_lists_what_may_be_done(demo_org):
    document = draft()
    services.submit(user("tanaka"), document.pk)
    client = APIClient()
    client.force_authenticate(user("suzuki"))
    (task,) = client.get("/api/v1/tasks").json()["results"]
    assert task["actions"] == ["annotate", "approve", "ask", "reject", "send_back"]


def test_only_an_administrator_skips_and_only_a_skippable_stage(demo_org):
    document = draft(3_200_000)
    services.submit(user("tanaka"), document.pk)
    route = running(document)
    assert route is not None
    stages = list(route.stages.all())
    assert states.skippable_stages(user("admin"), stages) == frozenset()  # none is skippable
    route.stages.filter(index=2).update(skippable=True)
    stages = list(route.stages.all())
    assert states.skippable_stages(user("admin"), stages) == {2}
    assert states.skippable_stages(user("sato"), stages) == frozenset()
    client = APIClient()
    client.force_authenticate(user("admin"))
    assert client.get(f"/api/v1/documents/{document.pk}/route").json()["skippable_stages"] == [2]
    with pytest.raises(services.WorkflowError) as refused:
        services.skip_stage(user("admin"), route.pk, 99, "なし")
    assert refused.value.status_code == 404


def test_a_notice_without_an_amount_has_a_route(demo_org):
    """Every document has a route: the demo's rules catch documents without an amount."""
    for code in ("notice", "inquiry"):
        document = create_document(
            user("tanaka"),
            {
                "title": "通知（金額なし）",
                "doc_type": DocumentType.objects.get(code=code),
                "retention_years": 1,
            },
        )
        route = services.submit(user("tanaka"), document.pk)
        assert route.template_code == "kacho-senketsu"
    # An amount still follows the bands.
    document = draft(50_000_000)
    assert services.submit(user("tanaka"), document.pk).template_code == "fukushicho-kessai"


def test_the_drafter_cannot_add_themself(demo_org):
    """Separation of duties: the drafter added himself as an approver (issue 15's finding)."""
    document = draft()
    client = APIClient()
    client.force_authenticate(user("tanaka"))
    refused = client.post(
        f"/api/v1/documents/{document.pk}/submit", {"add_approvers": ["tanaka"]}, format="json"
    )
    assert refused.status_code == 422, refused.content
    assert refused.json()["error"]["code"] == "own_draft"
    document.refresh_from_db()
    assert document.status == "draft" and not Route.objects.filter(document=document).exists()
