"""The browser test harness itself: the ASGI server, login, the inbox, no console errors."""

from __future__ import annotations

from tests.browser.conftest import axe_violations, screenshot


def test_login_and_inbox(open_page):
    page = open_page("tanaka")
    assert page.locator("h1").inner_text().startswith("ようこそ") or "田中" in page.inner_text("h1")
    screenshot(page, "smoke-inbox")
    assert axe_violations(page) == []
