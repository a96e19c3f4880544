"""The workspace beyond the main journey: four panes, thumbnails, keyboard, tabs on a laptop, lazy
pages of a long record, sending back, rejecting, withdrawing, bulk approval, the signature report
and the verification page, the English switch, and who may see what.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from documents.models import Document, Status
from org.demo import DEMO_PASSWORD
from tests.browser import setup
from tests.browser.conftest import TESTDATA, axe_violations, screenshot
from workflow.models import Annotation


def _confirm(page: Any, fields: dict[str, str] | None = None) -> None:
    dialog = page.locator("dialog.confirm[open]")
    dialog.wait_for()
    for name, value in (fields or {}).items():
        field = dialog.locator(f"[name={name}]")
        if field.evaluate("n => n.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    dialog.locator("button[value=ok]").click()
    dialog.wait_for(state="detached")


def test_four_panes_thumbnails_keyboard_and_tabs_on_a_laptop(open_page):
    document_id = setup.submitted("会議室改修工事の設計委託について")
    page = open_page("suzuki", width=1920, height=1080)
    page.goto(f"/documents/{document_id}/")
    page.keyboard.press("4")
    assert page.locator(".pane").count() == 4
    assert page.locator("#part-tabs").is_hidden()
    # Pane 3 holds the four-page attachment; thumbnails jump, j/k step, f changes the file.
    pane = page.locator(".pane").nth(2)
    assert pane.locator("select[data-part] option:checked").inner_text() == "pdflatex-4-pages.pdf"
    pane.locator("[data-thumbs]").click()
    pane.locator(".thumbs img").nth(3).wait_for()
    pane.locator(".thumbs button").nth(2).click()
    assert pane.locator("[data-page-input]").input_value() == "3"
    page.keyboard.press("j")
    assert pane.locator("[data-page-input]").input_value() == "4"
    page.keyboard.press("k")
    page.keyboard.press("k")
    assert pane.locator("[data-page-input]").input_value() == "2"
    pane.locator(".page canvas").first.wait_for()
    screenshot(page, "8-workspace-four-panes-thumbnails")
    page.keyboard.press("f")
    assert pane.locator("select[data-part] option:checked").inner_text() == "起案用紙"
    page.keyboard.press("?")
    page.locator("dialog#shortcuts[open]").wait_for()
    screenshot(page, "9-keyboard-shortcuts")
    assert axe_violations(page) == []
    page.keyboard.press("Escape")
    # A laptop: too narrow for panes side by side, the files become tabs.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.locator("#part-tabs [role=tab]").nth(2).wait_for()
    assert page.locator(".pane").count() == 1
    page.locator("#part-tabs [role=tab]").nth(2).click()
    assert page.locator("#part-tabs [aria-selected=true]").inner_text() == "pdflatex-4-pages.pdf"
    page.locator(".pane .page canvas").first.wait_for()
    screenshot(page, "10-laptop-tabs")
    assert axe_violations(page) == []


def test_a_long_record_draws_only_the_pages_in_view(open_page, tmp_path):
    big = setup.long_pdf(tmp_path / "資料編.pdf", 200)
    document_id = setup.submitted("長い資料の確認", files=(big,))
    page = open_page("suzuki", width=1600, height=1000)
    page.goto(f"/documents/{document_id}/")
    page.locator("#part-tabs [role=tab]", has_text="資料編.pdf").click()
    pane = page.locator(".pane").first
    assert pane.locator(".page").count() == 200
    pane.locator(".page canvas").first.wait_for()
    drawn = pane.locator(".page canvas, .page img.page-image").count()
    assert 1 <= drawn <= 6, drawn
    pane.locator("[data-page-input]").fill("150")
    pane.locator("[data-page-input]").press("Enter")
    first = int(pane.locator(".page").first.get_attribute("data-page"))
    target = pane.locator(f'.page[data-page="{first + 149}"]')
    target.locator("canvas, img.page-image").first.wait_for()
    drawn_pages = pane.locator(".page:has(canvas), .page:has(img.page-image)")
    numbers = [
        int(n) - first + 1 for n in drawn_pages.evaluate_all("ps => ps.map(p => p.dataset.page)")
    ]
    assert numbers and all(140 <= n <= 160 for n in numbers) and len(numbers) <= 8, numbers
    screenshot(page, "11-long-record-page-150")


def test_send_back_reject_and_withdraw(open_page):
    sent_back = setup.submitted("差し戻しの確認")
    rejected = setup.submitted("却下の確認")
    withdrawn = setup.submitted("引き戻しの確認")
    page = open_page("suzuki")
    page.goto(f"/documents/{sent_back}/")
    page.click('[data-action="send-back"]')
    _confirm(page, {"to": "drafter", "reason": "見積書の日付を確認してください。"})
    page.locator(".done-banner").wait_for()
    assert "差し戻し" in page.inner_text("#doc-head")
    page.goto(f"/documents/{rejected}/")
    page.click('[data-action="reject"]')
    dialog = page.locator("dialog.confirm[open]")
    dialog.wait_for()
    # A reason is required: the dialog does not close without one.
    dialog.locator("button[value=ok]").click()
    assert dialog.is_visible()
    dialog.locator("[name=reason]").fill("予算の範囲を超えています。")
    dialog.locator("button[value=ok]").click()
    page.locator(".done-banner").wait_for()
    screenshot(page, "12-rejected")
    assert Document.objects.get(pk=sent_back).status == Status.SENT_BACK
    assert Document.objects.get(pk=rejected).status == Status.REJECTED

    drafter = open_page("tanaka")
    revise = drafter.locator("tr[data-task]", has_text="差し戻しの確認")
    revise.wait_for()
    revise.locator("a").click()
    drafter.wait_for_url(f"**/documents/{sent_back}/edit/")
    assert drafter.locator(".notice").is_visible()
    drafter.goto(f"/documents/{withdrawn}/")
    drafter.click('[data-action="withdraw"]')
    _confirm(drafter, {"reason": "金額を見直します。"})
    drafter.locator(".done-banner").wait_for()
    assert Document.objects.get(pk=withdrawn).status == Status.WITHDRAWN
    # An action the API refuses shows its message: suzuki's task on it is gone.
    page.goto(f"/documents/{withdrawn}/")
    assert page.locator('[data-action="approve"]').count() == 0


def test_bulk_approval_gives_a_result_per_task(open_page):
    for n in range(3):
        setup.submitted(f"定例の支出 {n + 1}")
    page = open_page("suzuki")
    page.check("#select-all")
    assert page.locator("#bulk-approve").inner_text() == "選択した 3 件を承認"
    page.fill("#bulk-comment", "定例分につき一括承認")
    page.click("#bulk-approve")
    _confirm(page)
    page.locator("#bulk-status.ok").wait_for()
    assert page.locator("td.result.ok").count() == 3
    screenshot(page, "13-bulk-approved")


def test_signature_report_and_the_verification_page(open_page, tmp_path):
    document_id = setup.submitted("署名の検証")
    setup.approve("suzuki", document_id)
    page = open_page("suzuki")
    page.goto(f"/documents/{document_id}/")
    page.locator("#verification summary").click()
    page.locator("#verification-report .signatures li").first.wait_for()
    report = page.inner_text("#verification-report")
    assert "鈴木 花子" in report or "係長" in report
    page.locator("#verification").scroll_into_view_if_needed()
    screenshot(page, "14-signature-report")
    path = tmp_path / "record.pdf"
    path.write_bytes(setup.record_pdf("suzuki", document_id))
    page.goto("/verify/")
    assert axe_violations(page) == []
    page.set_input_files("#verify-file", str(path))
    page.click("#verify-form button[type=submit]")
    page.locator("#verify-report .signatures li").first.wait_for()
    assert page.locator("#verify-report .verdict.good").count() >= 1
    screenshot(page, "15-verify-page", full_page=True)
    page.set_input_files("#verify-file", str(TESTDATA / "minimal-document.pdf"))
    page.click("#verify-form button[type=submit]")
    page.locator("#verify-report .summary.bad").wait_for()
    assert "署名がありません" in page.inner_text("#verify-report")


def test_english_switch(open_page):
    page = open_page("tanaka")
    assert page.get_attribute("html", "lang") == "ja"
    page.click(".lang-switch button[value=en]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "en"
    assert "My tasks" in page.inner_text("main")
    page.goto("/documents/new/")
    assert page.locator("label[for=f-title]").inner_text().startswith("Title")
    document_id = setup.submitted("English check")
    page.goto(f"/documents/{document_id}/")
    page.locator(".pane .page canvas").first.wait_for()
    assert page.locator("#route-title").inner_text() == "Route"
    screenshot(page, "18-workspace-english")


@pytest.mark.django_db(transaction=True)
def test_pages_need_login_and_hide_what_you_may_not_see(demo_org):
    document_id = setup.draft("秘密ではないが下書き")
    anonymous = Client()
    for url in ("/documents/new/", f"/documents/{document_id}/", "/verify/"):
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    other = Client()
    other.login(username="ito", password=DEMO_PASSWORD)  # finance: not on a draft's route
    for url in (
        f"/documents/{document_id}/",
        f"/documents/{document_id}/edit/",
        f"/documents/{document_id}/route-panel/",
    ):
        assert other.get(url).status_code == 404
    owner = Client()
    owner.login(username="tanaka", password=DEMO_PASSWORD)
    assert owner.get(f"/documents/{document_id}/").status_code == 200
    assert owner.get(f"/documents/{document_id}/edit/").status_code == 200
    setup.submit(document_id)
    # Once submitted, the draft page sends the drafter to the workspace.
    response = owner.get(f"/documents/{document_id}/edit/")
    assert response.status_code == 302
    assert re.match(rf"^/documents/{document_id}/$", response["Location"])


def test_the_inbox_says_when_a_task_arrives(open_page):
    page = open_page("suzuki")
    # The badge gets its count from the socket's "ready" frame: the socket is open.
    badge = page.locator("#notification-badge", has_text=re.compile(r"\d"))
    badge.wait_for()
    before = int(re.sub(r"\D", "", badge.inner_text()) or 0)
    setup.submitted("新着の確認")
    page.locator("#inbox-news").wait_for(state="visible", timeout=10_000)
    assert page.locator("#inbox-news a").count() == 1
    # The unread count in the header goes up live, without a reload.
    page.locator("#notification-badge", has_text=str(before + 1)).wait_for(timeout=10_000)


def test_area_highlight_comment_box_pen_removal_and_people_filter(open_page):
    document_id = setup.submitted("書き込みの確認")
    page = open_page("suzuki", width=1600, height=1000)
    page.goto(f"/documents/{document_id}/")
    target = page.locator(".pane .page").first
    target.locator("canvas, img.page-image").first.wait_for()
    box = target.bounding_box()
    x, y = box["x"], box["y"]

    page.click('[data-tool="box"]')
    page.click('[data-colour="#8bc34a"]')
    page.mouse.move(x + 100, y + 300)
    page.mouse.down()
    page.mouse.move(x + 400, y + 360, steps=6)
    page.mouse.up()
    page.locator("#comment-list li.kind-highlight").wait_for()

    page.click('[data-tool="freetext"]')
    page.mouse.click(x + 450, y + 500)
    _confirm(page, {"text": "この金額で妥当か、財政課に確認済みですか。"})
    page.locator("#comment-list li.kind-freetext").wait_for()

    page.click('[data-tool="ink"]')
    page.mouse.move(x + 120, y + 620)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(x + 120 + step * 25, y + 620 + (15 if step % 2 else -15))
    page.mouse.up()
    page.locator("#comment-list li.kind-ink").wait_for()
    page.keyboard.press("Escape")
    assert page.locator(".pane svg.marks .mark").count() == 3
    screenshot(page, "16-marks-area-comment-pen")

    marks = {a.kind: a for a in Annotation.objects.filter(document_id=document_id)}
    assert marks["highlight"].color == "#8bc34a"
    assert len(marks["ink"].strokes[0]) >= 10
    assert marks["freetext"].text.startswith("この金額")

    # Remove one's own mark; hide a person's marks.
    page.locator("#comment-list li.kind-ink [data-delete]").click()
    page.locator("#comment-list li.kind-ink").wait_for(state="detached")
    assert not Annotation.objects.filter(document_id=document_id, kind="ink").exists()
    page.uncheck("#person-suzuki")
    assert page.locator(".pane svg.marks .mark").count() == 0
    assert page.locator("#comment-list li").count() == 0
    page.check("#person-suzuki")
    assert page.locator(".pane svg.marks .mark").count() == 2


def test_a_refused_action_shows_the_api_message(open_page):
    document_id = setup.submitted("二重承認の確認")
    page = open_page("suzuki")
    page.goto(f"/documents/{document_id}/")
    setup.approve("suzuki", document_id)  # from another device, meanwhile
    open_page.console.expect("status of 409")
    page.click('[data-action="approve"]')
    _confirm(page)
    status = page.locator("#action-done.error")
    status.wait_for()
    assert len(status.inner_text()) > 5
    # The panel now shows the document as it is: approved, nothing left to do.
    assert page.locator('[data-action="approve"]').count() == 0
    screenshot(page, "17-refused-action")


def test_a_question_is_asked_and_answered_and_a_superior_reassigns(open_page):
    """質疑 and 振替 on the page (issue 15): suzuki asks the drafter, tanaka answers on the
    document's page, the thread shows both; sato gives suzuki's task to yamamoto."""
    asked = setup.submitted("質疑の確認")
    page = open_page("suzuki")
    page.goto(f"/documents/{asked}/")
    page.click('[data-action="ask"]')
    _confirm(page, {"to": "tanaka", "text": "見積は何社から取りましたか。"})
    page.locator(".done-banner").wait_for()
    assert "見積は何社から取りましたか。" in page.inner_text("#route-panel")
    assert page.locator('[data-action="approve"]').count() == 1  # the task stays his

    drafter = open_page("tanaka")
    drafter.goto(f"/documents/{asked}/")
    drafter.locator("#answer-text").fill("3社から取りました。")
    drafter.click('[data-action="answer"]')
    drafter.locator(".done-banner").wait_for()
    screenshot(drafter, "17-question-answered")
    assert "3社から取りました。" in drafter.inner_text("#route-panel")
    assert axe_violations(drafter) == []

    superior = open_page("sato")
    superior.goto(f"/documents/{asked}/")
    superior.click('[data-action="reassign"]')
    _confirm(superior, {"to": "yamamoto", "reason": "出張のため"})
    superior.locator(".done-banner").wait_for()
    screenshot(superior, "18-task-reassigned")
    assert "鈴木" in superior.inner_text("#route-panel")  # (moved from 鈴木 花子)
    assert axe_violations(superior) == []
