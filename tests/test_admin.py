"""Every admin page an administrator uses opens (and so its configuration is valid)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

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
