"""Every admin page an administrator uses opens (and so its configuration is valid)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.utils import timezone

from org.demo import DEMO_PASSWORD
from org.models import User

pytestmark = pytest.mark.django_db


def test_every_admin_changelist_and_add_page_opens(demo_org):
    client = Client()
    assert client.login(username="admin", password=DEMO_PASSWORD)
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(username="admin")
    opened = 0
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        assert client.get(base).status_code == 200, base
        if model_admin.has_add_permission(request):
            assert client.get(f"{base}add/").status_code == 200, base
            opened += 1
    assert opened >= 8  # users, departments, positions, posts, absences, routes, stages, rules…


def test_a_drafter_cannot_open_the_admin(demo_org):
    client = Client()
    assert client.login(username="tanaka", password=DEMO_PASSWORD)
    assert client.get("/admin/documents/document/").status_code == 302


def test_routes_and_rules_change_only_through_the_designer(demo_org):
    """An edit in the admin would change tomorrow's routes with no version and no audit entry:
    the admin shows them read-only and only starts a new, empty route."""
    from workflow.models import RouteSelectionRule, RouteTemplate, StageTemplate

    client = Client()
    assert client.login(username="admin", password=DEMO_PASSWORD)
    template = RouteTemplate.objects.get(code="kacho-senketsu")
    stage = StageTemplate.objects.filter(template=template).first()
    rule = RouteSelectionRule.objects.first()
    assert stage is not None and rule is not None
    before = (template.name, stage.name, rule.amount_min)

    page = client.get(f"/admin/workflow/routetemplate/{template.pk}/change/")
    assert page.status_code == 200 and "/routes/" in page.content.decode()
    client.post(f"/admin/workflow/routetemplate/{template.pk}/change/", {"name": "改ざん"})
    assert client.post(f"/admin/workflow/stagetemplate/{stage.pk}/change/", {}).status_code == 403
    assert client.get("/admin/workflow/stagetemplate/add/").status_code == 403
    assert client.get("/admin/workflow/routeselectionrule/add/").status_code == 403
    assert client.post(f"/admin/workflow/routeselectionrule/{rule.pk}/delete/").status_code == 403
    template.refresh_from_db()
    stage.refresh_from_db()
    rule.refresh_from_db()
    assert (template.name, stage.name, rule.amount_min) == before

    # a new route starts here, empty; the designer gives it stages
    response = client.post(
        "/admin/workflow/routetemplate/add/",
        {
            "code": "new-route",
            "name": "新しい経路",
            "after_send_back": "restart",
            "is_active": "on",
            "stages-TOTAL_FORMS": "0",
            "stages-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert RouteTemplate.objects.get(code="new-route").stages.count() == 0
    # …and the designer gives it its stages, published for today
    from tests.workflow.test_approval_flow import client as api_client
    from workflow import designer

    definition, _draft = designer.draft_of(RouteTemplate.objects.get(code="new-route"))
    definition["stages"] = [
        {
            "name": "課長（決裁）",
            "mode": "sequential",
            "role": "decide",
            "rules": [{"kind": "user", "user": "sato"}],
        }
    ]
    api = api_client("admin")
    saved = api.put("/api/v1/routes/new-route/draft", {"definition": definition}, format="json")
    assert saved.status_code == 200, saved.content
    published = api.post(
        "/api/v1/routes/new-route/publish",
        {"note": "新設", "valid_from": timezone.localdate().isoformat()},
        format="json",
    )
    assert published.status_code == 201, published.content
    assert list(
        RouteTemplate.objects.get(code="new-route").stages.values_list("name", flat=True)
    ) == ["課長（決裁）"]
