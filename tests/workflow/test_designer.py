"""Issue 19: routes and the 専決規程 by effective date, simulation and the check of every route."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from org.models import Post
from tests.workflow.test_approval_flow import client, draft, submit
from workflow import designer
from workflow.models import Route, RouteTemplate, RouteVersion, RulesVersion

pytestmark = pytest.mark.django_db


def admin() -> Any:
    return client("admin")


def simulate(**body: Any) -> dict[str, Any]:
    response = admin().post("/api/v1/routes/simulate", body, format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def people(result: dict[str, Any]) -> list[str]:
    return [
        slot["assignee"]["username"]
        for stage in result["route"]["stages"]
        for slot in stage["slots"]
    ]


def test_the_demo_rules_are_a_table_with_an_effective_date(demo_org):
    response = admin().get("/api/v1/rules")
    assert response.status_code == 200
    data = response.json()
    bands = {(r["amount_min"], r["amount_max"]): r for r in data["rules"]}
    assert {(None, 1_000_000), (1_000_000, 10_000_000), (10_000_000, None)} <= set(bands)
    assert bands[(10_000_000, None)]["decider"] == "副市長"
    (version,) = data["versions"]
    assert version["in_force"] and version["valid_from"].endswith("-04-01")
    # Only administrators.
    assert client("sato").get("/api/v1/rules").status_code == 403


def test_a_simulation_of_a_contract_of_somu_writes_nothing(demo_org):
    routes = Route.objects.count()
    result = simulate(doc_type="contract", amount=3_200_000, department="somu-somu")
    assert result["ok"] and result["template"] == "bucho-senketsu"
    assert people(result) == ["suzuki", "sato", "ito", "takahashi"]
    assert [s["role"] for s in result["route"]["stages"]][2] == "consult"
    assert Route.objects.count() == routes


def test_a_published_change_takes_effect_on_its_date_and_not_before(demo_org):
    template = RouteTemplate.objects.get(code="kacho-senketsu")
    definition, _draft = designer.draft_of(template)
    # A quorum stage of 係長 and 課長補佐 before the 課長 decides, from next month.
    definition["stages"].insert(
        1,
        {
            "name": "審査（2人中1人）",
            "mode": "quorum",
            "quorum": 1,
            "role": "approve",
            "rules": [
                {"kind": "user", "user": "yamamoto"},
                {"kind": "user", "user": "watanabe"},
            ],
        },
    )
    saved = admin().put(
        "/api/v1/routes/kacho-senketsu/draft", {"definition": definition}, format="json"
    )
    assert saved.status_code == 200, saved.content
    today = timezone.localdate()
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    past = admin().post(
        "/api/v1/routes/kacho-senketsu/publish",
        {"valid_from": (today - dt.timedelta(days=1)).isoformat()},
        format="json",
    )
    assert past.status_code == 422 and past.json()["error"]["code"] == "past_date"
    published = admin().post(
        "/api/v1/routes/kacho-senketsu/publish",
        {"valid_from": next_month.isoformat(), "note": "審査段の追加"},
        format="json",
    )
    assert published.status_code == 201, published.content
    assert not published.json()["in_force"]
    now = simulate(doc_type="contract", amount=500_000, department="somu-somu")
    later = simulate(
        doc_type="contract", amount=500_000, department="somu-somu", date=next_month.isoformat()
    )
    assert [s["name"] for s in now["route"]["stages"]] == ["係長", "課長（決裁）"]
    assert [s["name"] for s in later["route"]["stages"]] == [
        "係長",
        "審査（2人中1人）",
        "課長（決裁）",
    ]
    # A document submitted today still gets today's version.
    document_id = draft(500_000)
    assert [s["name"] for s in submit(document_id)["stages"]] == ["係長", "課長（決裁）"]
    # On its day the job puts it in force.
    assert designer.apply_due_versions(next_month) == 1
    template.refresh_from_db()
    assert list(template.stages.values_list("name", flat=True)) == [
        "係長",
        "審査（2人中1人）",
        "課長（決裁）",
    ]
    assert template.stages.get(order=2).mode == "quorum"
    assert RouteVersion.objects.get(template=template, valid_from=next_month).applied_at
    entry = AuditEntry.objects.get(action="workflow.route_published")
    assert f'"valid_from":"{next_month.isoformat()}"' in entry.data


def test_a_draft_with_problems_is_refused_naming_each(demo_org):
    bad = {
        "stages": [
            {"name": "", "mode": "quorum", "rules": []},
            {"name": "x", "mode": "nonsense", "rules": [{"kind": "user", "user": "nobody"}]},
        ]
    }
    response = admin().put(
        "/api/v1/routes/kacho-senketsu/draft", {"definition": bad}, format="json"
    )
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert len(problems) >= 4, problems
    assert not RouteVersion.objects.filter(published_at__isnull=True).exists()


def somu_lines() -> list[dict[str, Any]]:
    results = admin().get("/api/v1/routes/check").json()["results"]
    return [line for line in results if line["department"]["code"] == "somu-somu"]


def test_the_check_names_running_documents_a_reorganisation_leaves_without_anyone(demo_org):
    document_id = draft(3_200_000)
    submit(document_id)
    april = timezone.localdate() + dt.timedelta(days=30)
    Post.objects.filter(user__username="ito").update(ends_on=april - dt.timedelta(days=1))
    assert admin().get("/api/v1/routes/check").json()["running"] == []
    later = admin().get("/api/v1/routes/check", {"date": april.isoformat()}).json()["running"]
    assert [(r["document"], r["post"]) for r in later] == [(document_id, "財務部 財政課 課長")]


def test_the_check_names_a_post_left_vacant(demo_org):
    # The demo staffs 総務課 fully (other sections have no 係長, which the check reports).
    assert somu_lines() == []
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Post.objects.filter(user__username="ito").update(ends_on=yesterday)
    lines = somu_lines()
    assert lines and {line["template"] for line in lines} == {"bucho-senketsu", "fukushicho-kessai"}
    messages = " ".join(p["message"] for line in lines for p in line["problems"])
    assert "財政課" in messages and "課長" in messages


def test_the_rules_export_and_import_as_csv(demo_org):
    exported = admin().get("/api/v1/rules.csv")
    assert exported.status_code == 200
    body = exported.content
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    assert "優先順位" in text and "副市長決裁" not in text.splitlines()[0]
    # Change a band and import it in Shift_JIS with English headers, valid from tomorrow.
    lines = text.splitlines()
    header = (
        "priority,name,document types,amount from,amount below,departments,route,decider,exceptions"
    )
    rows = [line.replace("1000000", "2000000") for line in lines[1:]]
    data = "\r\n".join([header, *rows]).encode("cp932")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = admin().post(
        "/api/v1/rules/import",
        {"file": SimpleUploadedFile("rules.csv", data), "valid_from": tomorrow.isoformat()},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    today_rule = simulate(doc_type="contract", amount=1_500_000, department="somu-somu")
    tomorrow_rule = simulate(
        doc_type="contract", amount=1_500_000, department="somu-somu", date=tomorrow.isoformat()
    )
    assert today_rule["template"] == "bucho-senketsu"
    assert tomorrow_rule["template"] == "kacho-senketsu"
    # The rules page says what the new version changes: the band moved.
    changes = designer.rules_versions()[0][1]
    assert changes and {c.field for c in changes} <= {"amount_min", "amount_max"}, changes
    assert any(c.before == 1000000 and c.after == 2000000 for c in changes)
    # A bad file changes nothing and names its lines.
    bad = (header + "\r\n10,x,,,,,no-such-route,,\r\n20,y,,abc,,,kacho-senketsu,,\r\n").encode()
    refused = admin().post(
        "/api/v1/rules/import",
        {"file": SimpleUploadedFile("bad.csv", bad), "valid_from": tomorrow.isoformat()},
        format="multipart",
    )
    assert refused.status_code == 422
    problems = refused.json()["error"]["problems"]
    assert any("Line 2" in p or "2 行" in p or "2行" in p for p in problems), problems
    assert any("3" in p for p in problems)
    assert RulesVersion.objects.filter(published_at__isnull=False).count() == 2


def test_a_quorum_in_percent_counts_the_people_named(demo_org):
    from org.models import User
    from workflow import services
    from workflow.models import Slot

    template = RouteTemplate.objects.create(code="quorum-pct", name="過半数")
    definition = {
        "stages": [
            {
                "name": "審査（50%）",
                "mode": "quorum",
                "quorum": 50,
                "quorum_percent": True,
                "rules": [
                    {"kind": "user", "user": "suzuki"},
                    {"kind": "user", "user": "yamamoto"},
                    {"kind": "user", "user": "takahashi"},
                ],
            },
            {"name": "課長（決裁）", "role": "decide", "rules": [{"kind": "user", "user": "sato"}]},
        ]
    }
    designer.save_draft(template, definition, User.objects.get(username="admin"))
    designer.publish_route(template, timezone.localdate(), User.objects.get(username="admin"))
    template.refresh_from_db()
    assert template.stages.get(order=1).quorum_percent
    document_id = draft(500_000)

    def open_for(name: str) -> int:
        return Slot.objects.get(
            stage__route__document_id=document_id, assignee__username=name, status="open"
        ).pk

    services.submit(User.objects.get(username="tanaka"), document_id, template_code="quorum-pct")
    services.approve(User.objects.get(username="suzuki"), open_for("suzuki"))
    assert not Slot.objects.filter(
        stage__route__document_id=document_id, assignee__username="sato", status="open"
    )  # 1 of 3 is not 50%
    services.approve(User.objects.get(username="yamamoto"), open_for("yamamoto"))
    assert open_for("sato")  # 2 of 3: the stage is done


def test_the_design_page_says_what_a_draft_and_each_version_change(demo_org):
    from django.test import Client

    from org.models import User

    template = RouteTemplate.objects.get(code="kacho-senketsu")
    definition, _draft = designer.draft_of(template)
    definition["stages"].insert(
        1,
        {
            "name": "審査",
            "mode": "sequential",
            "role": "approve",
            "rules": [{"kind": "user", "user": "watanabe"}],
        },
    )
    assert (
        admin()
        .put("/api/v1/routes/kacho-senketsu/draft", {"definition": definition}, format="json")
        .status_code
        == 200
    )
    page = Client()
    page.force_login(User.objects.get(username="admin"))
    html = page.get("/routes/kacho-senketsu/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "What the saved draft changes" in html and "審査: added" in html
    published = admin().post(
        "/api/v1/routes/kacho-senketsu/publish",
        {"valid_from": timezone.localdate().isoformat(), "note": "審査段"},
        format="json",
    )
    assert published.status_code == 201, published.content
    html = page.get("/routes/kacho-senketsu/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "What the saved draft changes" not in html
    assert html.count("審査: added") == 1  # in the new version's row


def test_a_version_naming_something_removed_since_is_a_clear_refusal(demo_org):
    """A version waits for its date as JSON with names; a group deleted meanwhile must not turn
    every submission on that route into a server error."""
    from django.contrib.auth.models import Group

    from org.models import User

    team = Group.objects.create(name="臨時審査班")
    team.user_set.add(User.objects.get(username="watanabe"))
    template = RouteTemplate.objects.get(code="kacho-senketsu")
    definition, _draft = designer.draft_of(template)
    definition["stages"].insert(
        1,
        {
            "name": "審査",
            "mode": "any_of",
            "role": "approve",
            "rules": [{"kind": "group", "group": "臨時審査班"}],
        },
    )
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert (
        admin()
        .put("/api/v1/routes/kacho-senketsu/draft", {"definition": definition}, format="json")
        .status_code
        == 200
    )
    assert (
        admin()
        .post(
            "/api/v1/routes/kacho-senketsu/publish",
            {"valid_from": tomorrow.isoformat()},
            format="json",
        )
        .status_code
        == 201
    )
    team.delete()
    response = admin().post(
        "/api/v1/routes/simulate",
        {
            "doc_type": "contract",
            "amount": 500_000,
            "department": "somu-somu",
            "date": tomorrow.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "route_version_broken" and "臨時審査班" in error["message"]
    # today's route is untouched
    assert simulate(doc_type="contract", amount=500_000, department="somu-somu")["route"]
