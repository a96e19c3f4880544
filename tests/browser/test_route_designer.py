"""The route designer in Chromium (issue 19): an administrator builds a route with a quorum stage,
publishes it from next month, simulates a document dated next month and sees it, and today's
simulation still shows the old one. Screenshots at 2560×1440 and 1366×768; axe."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tests.browser.conftest import axe_violations, screenshot
from tests.browser.setup import in_thread
from workflow.models import RouteVersion


@in_thread
def _versions() -> list[tuple[Any, Any]]:
    return list(
        RouteVersion.objects.filter(template__code="kacho-senketsu", published_at__isnull=False)
        .order_by("valid_from")
        .values_list("valid_from", "applied_at")
    )


def _simulate(page: Any, date: str = "") -> str:
    form = page.locator("#simulate-form")
    form.locator("[name=doc_type]").select_option("contract")
    form.locator("[name=amount]").fill("500000")
    form.locator("[name=department]").select_option("somu-somu")
    form.locator("[name=date]").fill(date)
    page.locator("#simulation").evaluate("n => n.replaceChildren()")  # wait for the new answer
    form.locator("button[type=submit]").click()
    page.locator("#simulation ol.simulated, #simulation .problems").first.wait_for()
    return str(page.inner_text("#simulation"))


def test_an_administrator_builds_publishes_and_simulates_a_route(open_page):
    today = timezone.localdate()
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    page = open_page("admin", width=2560, height=1440)
    page.goto("/routes/")
    assert page.locator(".route-card").count() >= 3
    page.locator(".route-card a", has_text="課長専決").click()
    page.wait_for_url("**/routes/kacho-senketsu/")
    stages = page.locator("#stages > li")
    assert stages.count() == 2
    # A quorum stage, added at the end and moved before the decision with the keyboard.
    page.click("#add-stage")
    new = stages.nth(2)
    new.locator("[data-s=name]").fill("審査（2人中1人）")
    new.locator("[data-s=mode]").select_option("quorum")
    new.locator("[data-s=quorum]").fill("1")
    rule = new.locator(".rule").first
    rule.locator("[data-k=kind]").select_option("user")
    rule.locator("[data-k=user]").fill("yamamoto")
    new.locator("[data-add-rule]").click()  # a second person
    second = new.locator(".rule").nth(1)
    second.locator("[data-k=kind]").select_option("user")
    second.locator("[data-k=user]").fill("watanabe")
    new.locator("[data-move='-1']").focus()
    page.keyboard.press("Enter")
    assert stages.nth(1).locator("[data-s=name]").input_value() == "審査（2人中1人）"
    page.click("#save-draft")
    page.locator("#designer-status.ok").wait_for()
    screenshot(page, "19-route-designer-2560", full_page=True)
    assert axe_violations(page) == []
    page.fill("#publish-from", next_month.isoformat())
    page.fill("#publish-note", "審査段の追加")
    page.click("#publish-form button[type=submit]")
    page.locator("#publish-status.ok").wait_for()
    assert [v for v, _applied in _versions()][-1] == next_month

    later = _simulate(page, next_month.isoformat())
    assert "審査（2人中1人）" in later and "山本" in later
    now = _simulate(page)
    assert "審査（2人中1人）" not in now and "鈴木" in now and "佐藤" in now
    # The versions say what each changed.
    page.reload()
    changed = page.locator("table tbody tr").first.inner_text()
    assert "審査（2人中1人）" in changed, changed
    page.locator("h3", has_text="版").first.scroll_into_view_if_needed()
    screenshot(page, "19b-route-versions-2560")

    laptop = open_page("admin", width=1366, height=768)
    laptop.goto("/routes/")
    _simulate(laptop, next_month.isoformat())
    laptop.click("#check-form button[type=submit]")
    laptop.locator("#check-report table").wait_for(timeout=60_000)
    screenshot(laptop, "20-routes-1366", full_page=True)
    assert axe_violations(laptop) == []
    # Not for others.
    open_page.console.expect("403 (Forbidden)")
    other = open_page("sato")
    response = other.goto("/routes/")
    assert response is not None and response.status == 403
