"""Drafting with the options the API offers (issue: route choice, added people, passwords): the
drafter uploads an encrypted PDF and gives its password on the page (a wrong one first), picks
another route, adds an approver with the keyboard and a reader with the pointer, sees them in
the preview, and submits; the route then has the extra approver and the reader may read it.
Desktop and a 390×844 phone; axe-core on both; no console errors beyond the refusals provoked.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from documents.models import Document, Status
from tests.browser.conftest import TESTDATA, axe_violations, screenshot
from tests.browser.setup import client, in_thread
from workflow.models import Route, SlotKind

TITLE = "公用車リース契約の締結について"
LOCKED = "libreoffice-writer-password.pdf"


def _no_horizontal_scroll(page: Any) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"horizontal scrolling: {widths}"


def _wait_until(locator: Any, predicate: str, timeout: float = 15) -> None:
    """Polls a predicate on an element (wait_for_function would need 'unsafe-eval' under CSP)."""
    deadline = time.monotonic() + timeout
    while not locator.evaluate(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        time.sleep(0.1)


def _focused(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement && document.activeElement.id"))


def _fill_draft(page: Any) -> None:
    page.fill("#f-title", TITLE)
    page.select_option("#f-doc_type", "contract")
    page.fill("#f-amount", "480000")
    page.fill("#f-counterparty", "株式会社サンプルリース")
    page.fill("#f-transaction_date", "2026-05-01")
    page.fill("#f-body", "公用車のリース契約を締結したいので、伺います。")


def _unlock_the_pdf(page: Any, console: Any) -> None:
    item = page.locator("#file-list .file", has_text=LOCKED)
    password = item.locator("input[type=password]")
    password.wait_for()
    # Asked in words, next to the file, with the focus on the field (the save button had it).
    assert item.locator(".file-status[role=alert]").inner_text()
    assert password.evaluate("(node) => node === document.activeElement")
    label = item.locator("label").inner_text()
    assert LOCKED in label
    # A wrong password: said so, the field marked and focused again.
    console.expect("status of 422")
    password.fill("wrong-password")
    item.locator("button.unlock").click()
    item.locator("input[aria-invalid=true]").wait_for()
    assert password.evaluate("(node) => node === document.activeElement")
    item.scroll_into_view_if_needed()
    screenshot(page, "drafting-options-password")
    # The right one, sent with Enter.
    password.fill("openpassword")
    password.press("Enter")
    page.locator("#file-list .file.done", has_text=LOCKED).wait_for()
    assert page.locator("#file-list input[type=password]").count() == 0


def _pick_route_and_people(page: Any) -> None:
    preview = page.locator("#route-preview")
    preview.locator(".route-steps").wait_for()
    assert "鈴木 花子" in preview.inner_text() and "伊藤" not in preview.inner_text()
    # The rules' choice is named on the default option once the preview has come.
    assert "課長専決" in page.locator("#route-auto").inner_text()
    page.select_option("#f-route", "bucho-senketsu")
    preview.locator(".route-steps ul li", has_text="伊藤 直子").wait_for()
    assert "部長専決" in preview.inner_text()
    # An approver, with the keyboard only.
    page.focus("#pick-approvers")
    page.keyboard.type("山本")
    option = page.locator("#pick-approvers-list [role=option]", has_text="山本 健")
    option.wait_for()
    assert page.get_attribute("#pick-approvers", "aria-expanded") == "true"
    live = page.locator("#pick-approvers-live")
    assert re.search(r"\d", live.inner_text())  # "1 人見つかりました…"
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#pick-approvers", "aria-activedescendant") == option.get_attribute(
        "id"
    )
    page.keyboard.press("Enter")
    chosen = page.locator("#pick-approvers-chosen li", has_text="山本 健")
    chosen.wait_for()
    assert "課長補佐" in chosen.inner_text()
    assert _focused(page) == "pick-approvers" and page.input_value("#pick-approvers") == ""
    assert "山本 健" in live.inner_text()
    # A reader, with the pointer; the drafter is never offered.
    page.fill("#pick-readers", "監査")
    page.locator("#pick-readers-list [role=option]", has_text="渡辺 恵").click()
    page.locator("#pick-readers-chosen li", has_text="渡辺 恵").wait_for()
    live = page.locator("#pick-readers-live")
    said = live.inner_text()
    page.fill("#pick-readers", "tanaka")
    _wait_until(live, f"(node) => node.textContent !== {json.dumps(said)}")
    assert page.locator("#pick-readers-list [role=option]").count() == 0
    assert page.get_attribute("#pick-readers", "aria-expanded") == "false"
    page.keyboard.press("Escape")
    assert page.input_value("#pick-readers") == ""
    # The preview shows both, marked as added by the drafter.
    preview.locator("li.added", has_text="渡辺 恵").wait_for()
    added = preview.locator("li.added")
    assert added.count() == 2
    assert "山本 健" in added.nth(0).inner_text() and "渡辺 恵" in added.nth(1).inner_text()
    # The approver comes before the deciding stage.
    steps = preview.locator(".route-steps > li").all_inner_texts()
    assert [i for i, s in enumerate(steps) if "山本 健" in s] == [len(steps) - 3]
    assert "高橋 明" in steps[-2]


@in_thread
def _reader_may_read(document_id: int) -> tuple[int, int]:
    reader = client("watanabe").get(f"/api/v1/documents/{document_id}").status_code
    stranger = client("kobayashi").get(f"/api/v1/documents/{document_id}").status_code
    return reader, stranger


def test_draft_with_a_password_a_chosen_route_and_added_people(open_page):
    page = open_page("tanaka")
    page.goto("/documents/new/")
    _fill_draft(page)
    open_page.console.expect("status of 422")
    page.set_input_files("#f-files", [str(TESTDATA / "crazyones-pdfa.pdf"), str(TESTDATA / LOCKED)])
    page.click("#save")
    page.wait_for_url(re.compile(r"/documents/\d+/edit/$"))
    _unlock_the_pdf(page, open_page.console)
    _pick_route_and_people(page)
    # The listbox open, for axe and the screenshot.
    page.fill("#pick-readers", "課長")
    page.locator("#pick-readers-list [role=option]").first.wait_for()
    assert axe_violations(page) == []
    screenshot(page, "drafting-options-desktop", full_page=True)
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")

    page.click("#submit-doc")
    dialog = page.locator("dialog.confirm[open]")
    dialog.locator("button[value=ok]").click()
    page.wait_for_url(re.compile(r"/documents/\d+/$"))
    document_id = int(re.search(r"/documents/(\d+)/", page.url).group(1))

    document = Document.objects.get(pk=document_id)
    assert document.status == Status.IN_REVIEW
    names = [a.filename for a in document.versions.get(number=1).attachments.all()]
    assert names == ["crazyones-pdfa.pdf", LOCKED]
    route = Route.objects.get(document=document)
    assert route.template_code == "bucho-senketsu"
    stages = [
        (s.role, [(x.assignee.username, x.added_by_drafter) for x in s.slots.all()])
        for s in route.stages.order_by("index")
    ]
    assert stages == [
        ("approve", [("suzuki", False)]),
        ("approve", [("sato", False)]),
        ("consult", [("ito", False)]),
        ("approve", [("yamamoto", True)]),
        ("decide", [("takahashi", False)]),
        ("circulate", [("watanabe", True)]),
    ]
    assert route.stages.get(role="circulate").slots.get().kind == SlotKind.CIRCULATE
    assert _reader_may_read(document_id) == (200, 404)


def test_the_options_on_a_phone(open_page):
    page = open_page("tanaka", width=390, height=844, mobile=True)
    page.goto("/documents/new/")
    _fill_draft(page)
    page.click("#save")
    page.wait_for_url(re.compile(r"/documents/\d+/edit/$"))
    page.locator("#route-preview .route-steps").wait_for()
    page.select_option("#f-route", "fukushicho-kessai")
    page.locator("#route-preview .route-steps ul li", has_text="小林 茂").wait_for()
    page.fill("#pick-approvers", "yamamoto")
    page.locator("#pick-approvers-list [role=option]").first.click()
    page.locator("#route-preview li.added", has_text="山本 健").wait_for()
    page.fill("#pick-readers", "渡辺")
    page.locator("#pick-readers-list [role=option]").first.wait_for()
    page.locator("#route-options").scroll_into_view_if_needed()
    _no_horizontal_scroll(page)
    assert axe_violations(page) == []
    screenshot(page, "drafting-options-phone-picker")
    page.keyboard.press("Escape")
    page.locator("#route-preview").scroll_into_view_if_needed()
    screenshot(page, "drafting-options-phone-preview")
    _no_horizontal_scroll(page)
