"""The workflow and route designer operations answer exactly what the OpenAPI schema says.

The fuzz of tests/test_api_contract.py reaches few successful answers of these operations (its
callers hold no task, and its inputs are random). Here every one of them answers, on real routes
with questions, deputies, additions by the drafter, bulk results that failed, simulations with
problems and versions by date, and each body is checked against its documented schema with no
key left undocumented (additionalProperties: false added to every object schema here).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from org.models import Absence, Post, User
from tests.workflow.test_approval_flow import client, draft, submit, task_for
from workflow.models import StageTemplate

pytestmark = pytest.mark.django_db

OURS = {
    "GET /api/v1/routes",
    "GET /api/v1/routes/check",
    "GET /api/v1/routes/{code}",
    "PUT /api/v1/routes/{code}/draft",
    "POST /api/v1/routes/{code}/publish",
    "POST /api/v1/routes/simulate",
    "GET /api/v1/rules",
    "GET /api/v1/rules.csv",
    "POST /api/v1/rules/import",
    "GET /api/v1/documents/{document_id}/route",
    "GET /api/v1/documents/{document_id}/route-preview",
    "POST /api/v1/documents/{document_id}/skip-stage",
    "POST /api/v1/documents/{document_id}/submit",
    "POST /api/v1/documents/{document_id}/withdraw",
    "GET /api/v1/tasks",
    "POST /api/v1/tasks/{task_id}/answer",
    "POST /api/v1/tasks/{task_id}/approve",
    "POST /api/v1/tasks/{task_id}/ask",
    "POST /api/v1/tasks/{task_id}/reassign",
    "POST /api/v1/tasks/{task_id}/reject",
    "POST /api/v1/tasks/{task_id}/send-back",
    "POST /api/v1/tasks/bulk-approve",
}


def _closed(schema: Any) -> Any:
    """Every object schema with properties refuses keys it does not name."""
    if isinstance(schema, dict):
        found = {key: _closed(value) for key, value in schema.items()}
        if "properties" in found and "additionalProperties" not in found:
            found["additionalProperties"] = False
        return found
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


class Contract:
    """The schema's operations, and which of ours answered with a documented body."""

    def __init__(self) -> None:
        generated = SchemaGenerator().get_schema(request=None, public=True)
        self.document = _closed(json.loads(json.dumps(generated, default=str)))
        self.registry = Registry().with_resource(
            "urn:contract", DRAFT202012.create_resource(self.document)
        )
        self.answered: set[str] = set()

    def check(self, operation: str, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, (operation, response.content[:2000])
        method, path = operation.split(" ", 1)
        documented = self.document["paths"][path][method.lower()]["responses"]
        assert str(status) in documented, f"{operation}: {status} not documented"
        content = documented[str(status)]["content"]
        media = response["Content-Type"].split(";")[0]
        assert media in content, (operation, media, list(content))
        if media == "application/json":
            body = response.json()
            schema = content[media]["schema"]
            validator = Draft202012Validator(
                _rebase(schema), registry=self.registry, format_checker=FORMATS
            )
            errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
            assert not errors, (
                operation,
                [f"{list(e.absolute_path)}: {e.message}" for e in errors],
            )
        else:
            body = response.content
        if 200 <= status < 300:
            self.answered.add(operation)
        return body


FORMATS = Draft202012Validator.FORMAT_CHECKER


def _rebase(schema: Any) -> Any:
    """References in the schema point into the document held in the registry."""
    if isinstance(schema, dict):
        return {
            key: (f"urn:contract{value}" if key == "$ref" else _rebase(value))
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(item) for item in schema]
    return schema


@pytest.fixture
def contract(demo_org: None) -> Contract:
    return Contract()


def test_the_workflow_operations_answer_what_the_schema_says(contract: Contract) -> None:
    check = contract.check
    tanaka, admin = client("tanaka"), client("admin")

    # The preview with a reader the drafter added; refusals are documented errors.
    document = draft(3_200_000)
    preview = f"/api/v1/documents/{document}/route-preview"
    check("GET /api/v1/documents/{document_id}/route-preview", tanaka.get(preview))
    added = tanaka.get(preview, {"add_readers": "watanabe", "route": "fukushicho-kessai"})
    body = check("GET /api/v1/documents/{document_id}/route-preview", added)
    assert body["rules"]["deviation"] == "higher"
    assert any(slot["added"] for stage in body["stages"] for slot in stage["slots"])
    own = tanaka.get(preview, {"add_approvers": "tanaka"})
    check("GET /api/v1/documents/{document_id}/route-preview", own, 422)
    check(
        "GET /api/v1/documents/{document_id}/route-preview",
        tanaka.get(preview, {"add_approvers": "nobody"}),
        400,
    )

    # Submitted, with a reader; suzuki is away, so yamamoto acts for him (代決).
    Absence.objects.create(
        user=User.objects.get(username="suzuki"),
        deputy=User.objects.get(username="yamamoto"),
        starts_at=timezone.now() - dt.timedelta(hours=1),
        ends_at=timezone.now() + dt.timedelta(days=1),
    )
    submitted = tanaka.post(
        f"/api/v1/documents/{document}/submit", {"add_readers": ["watanabe"]}, format="json"
    )
    body = check("POST /api/v1/documents/{document_id}/submit", submitted)
    assert any(slot["on_behalf_of"] for stage in body["stages"] for slot in stage["slots"])
    check("GET /api/v1/tasks", client("yamamoto").get("/api/v1/tasks"))
    task = task_for("yamamoto", document)

    # 質疑: asked and answered.
    asked = client("yamamoto").post(
        f"/api/v1/tasks/{task}/ask", {"to": "tanaka", "text": "見積は何社からですか"}, format="json"
    )
    question = check("POST /api/v1/tasks/{task_id}/ask", asked, 201)
    answered = tanaka.post(
        f"/api/v1/tasks/{question['answer_task']}/answer", {"text": "3社です"}, format="json"
    )
    assert check("POST /api/v1/tasks/{task_id}/answer", answered)["answered_at"]
    approved = client("yamamoto").post(f"/api/v1/tasks/{task}/approve", {}, format="json")
    assert check("POST /api/v1/tasks/{task_id}/approve", approved)["status"] == "approved"

    # Sent back to the drafter; elsewhere, a task reassigned by the administrator.
    back = client("sato").post(
        f"/api/v1/tasks/{task_for('sato', document)}/send-back",
        {"reason": "金額の根拠を"},
        format="json",
    )
    check("POST /api/v1/tasks/{task_id}/send-back", back)
    Absence.objects.all().delete()
    small = draft(500_000)
    submit(small)
    moved = admin.post(
        f"/api/v1/tasks/{task_for('suzuki', small)}/reassign",
        {"to": "yamamoto", "reason": "出張"},
        format="json",
    )
    assert check("POST /api/v1/tasks/{task_id}/reassign", moved)["previous_assignee"]
    route = check(
        "GET /api/v1/documents/{document_id}/route",
        tanaka.get(f"/api/v1/documents/{document}/route"),
    )
    assert route["routes"][0]["questions"] and route["history"]
    assert "resubmit" in route["actions"] or "submit" in route["actions"]

    # Withdrawn; rejected; a skipped stage (administrators).
    other = draft(3_200_000)
    submit(other)
    withdrawn = tanaka.post(f"/api/v1/documents/{other}/withdraw", {"reason": "添付漏れ"})
    check("POST /api/v1/documents/{document_id}/withdraw", withdrawn)
    third = draft(500_000)
    submit(third)
    rejected = client("suzuki").post(
        f"/api/v1/tasks/{task_for('suzuki', third)}/reject", {"reason": "不要"}, format="json"
    )
    assert check("POST /api/v1/tasks/{task_id}/reject", rejected)["status"] == "rejected"
    StageTemplate.objects.filter(template__code="bucho-senketsu", role="consult").update(
        skippable=True
    )
    fourth = draft(3_200_000)
    submit(fourth)
    skipped = admin.post(
        f"/api/v1/documents/{fourth}/skip-stage", {"stage": 2, "reason": "省略"}, format="json"
    )
    body = check("POST /api/v1/documents/{document_id}/skip-stage", skipped)
    assert body["stages"][2]["status"] == "skipped"
    listed = check(
        "GET /api/v1/documents/{document_id}/route",
        admin.get(f"/api/v1/documents/{fourth}/route"),
    )
    assert listed["actions"] == [] and listed["routes"]

    # Bulk approval: one approved, one refused with its error.
    fifth = draft(500_000)
    submit(fifth)
    bulk = client("suzuki").post(
        "/api/v1/tasks/bulk-approve",
        {"task_ids": [task_for("suzuki", fifth), 2**40]},
        format="json",
    )
    body = check("POST /api/v1/tasks/bulk-approve", bulk)
    assert body["not_approved"] == [2**40] and "error" in body["results"][1]

    # --- The route designer ---
    check("GET /api/v1/routes", admin.get("/api/v1/routes"))
    detail = check("GET /api/v1/routes/{code}", admin.get("/api/v1/routes/kacho-senketsu"))
    definition = detail["definition"]
    definition["stages"][0]["name"] = "係長審査"
    saved = admin.put(
        "/api/v1/routes/kacho-senketsu/draft", {"definition": definition}, format="json"
    )
    check("PUT /api/v1/routes/{code}/draft", saved)
    later = timezone.localdate() + dt.timedelta(days=10)
    published = admin.post(
        "/api/v1/routes/kacho-senketsu/publish",
        {"valid_from": later.isoformat(), "note": "名称変更"},
        format="json",
    )
    assert not check("POST /api/v1/routes/{code}/publish", published, 201)["in_force"]
    admin.put("/api/v1/routes/kacho-senketsu/draft", {"definition": definition}, format="json")
    detail = check("GET /api/v1/routes/{code}", admin.get("/api/v1/routes/kacho-senketsu"))
    assert detail["draft"] and detail["draft_edited_by"] and detail["versions"]

    simulate = "POST /api/v1/routes/simulate"
    ok = admin.post(
        "/api/v1/routes/simulate",
        {
            "doc_type": "contract",
            "amount": 500_000,
            "department": "somu-somu",
            "date": later.isoformat(),
        },
        format="json",
    )
    assert check(simulate, ok)["valid_from"] == later.isoformat()
    # ito's post (財政課長) ends yesterday: what resolves and what runs are left without him.
    submit(draft(3_200_000))
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Post.objects.filter(user__username="ito").update(ends_on=yesterday)
    broken = admin.post(
        "/api/v1/routes/simulate",
        {"doc_type": "contract", "amount": 3_200_000, "department": "somu-somu"},
        format="json",
    )
    body = check(simulate, broken)
    assert not body["ok"] and body["route"] is None and body["problems"]
    lines = check("GET /api/v1/routes/check", admin.get("/api/v1/routes/check", {"all": "true"}))
    assert lines["results"] and lines["running"]

    rules = check("GET /api/v1/rules", admin.get("/api/v1/rules"))
    assert rules["rules"] and rules["versions"]
    # As a client generated from the schema asks for it (this was a 406 before), and refused
    # with a JSON error whatever Accept says.
    exported = check(
        "GET /api/v1/rules.csv", admin.get("/api/v1/rules.csv", HTTP_ACCEPT="text/csv")
    )
    refused = admin.get("/api/v1/rules.csv", {"date": "x"}, HTTP_ACCEPT="text/csv")
    check("GET /api/v1/rules.csv", refused, 400)
    imported = admin.post(
        "/api/v1/rules/import",
        {"file": SimpleUploadedFile("rules.csv", exported), "valid_from": later.isoformat()},
        format="multipart",
    )
    check("POST /api/v1/rules/import", imported, 201)

    assert contract.answered == OURS, sorted(OURS - contract.answered)


def test_a_draft_names_a_level_only_from_the_documented_choices(demo_org: None) -> None:
    """A rule's level is one of RelativeLevel or empty, for every kind: before, a user rule took
    any text as its level, which the route then showed and publishing wrote into a 16-character
    column (a 500 on PostgreSQL)."""
    admin = client("admin")
    definition = admin.get("/api/v1/routes/kacho-senketsu").json()["definition"]
    definition["stages"][0]["rules"] = [{"kind": "user", "user": "yamamoto", "level": "x" * 40}]
    url = "/api/v1/routes/kacho-senketsu/draft"
    refused = admin.put(url, {"definition": definition}, format="json")
    assert refused.status_code == 422, refused.content
    assert "x" * 40 in " ".join(refused.json()["error"]["problems"])
    definition["stages"][0]["rules"][0]["level"] = ""
    assert admin.put(url, {"definition": definition}, format="json").status_code == 200
    published = admin.post(
        "/api/v1/routes/kacho-senketsu/publish",
        {"valid_from": timezone.localdate().isoformat()},
        format="json",
    )
    assert published.status_code == 201, published.content


def test_a_version_valid_from_today_answers_that_it_is_in_force(demo_org: None) -> None:
    """Published for today, a route or the 専決規程 is written into the rows at once; the answer
    said in_force: false all the same (the object read before it was applied)."""
    admin = client("admin")
    today = timezone.localdate().isoformat()
    url = "/api/v1/routes/kacho-senketsu"
    definition = admin.get(url).json()["definition"]
    assert admin.put(f"{url}/draft", {"definition": definition}, format="json").status_code == 200
    published = admin.post(f"{url}/publish", {"valid_from": today}, format="json")
    assert published.status_code == 201, published.content
    assert published.json()["in_force"]
    exported = admin.get("/api/v1/rules.csv").content
    imported = admin.post(
        "/api/v1/rules/import",
        {"file": SimpleUploadedFile("rules.csv", exported), "valid_from": today},
        format="multipart",
    )
    assert imported.status_code == 201, imported.content
    assert imported.json()["in_force"]
