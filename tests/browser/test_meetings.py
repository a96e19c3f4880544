"""Meetings in Chromium (issue 21): planning one with the people picker and the document search,
the meeting room with a frozen set where a newer version exists, pages turned by keyboard,
private and shared notes (the chair sees the shared one only), axe, screenshots."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import axe_violations, screenshot
from tests.browser.setup import client, in_thread, submitted, task_of


@in_thread
def _new_version(document_id: int) -> None:
    """A real second version: suzuki sends it back, tanaka edits it."""
    task = task_of.__wrapped__("suzuki", document_id)  # type: ignore[attr-defined]
    sent = client("suzuki").post(
        f"/api/v1/tasks/{task}/send-back", {"reason": "見積書を差し替えてください。"}, format="json"
    )
    assert sent.status_code == 200, sent.content
    edited = client("tanaka").patch(
        f"/api/v1/documents/{document_id}", {"amount": 520_000}, format="json"
    )
    assert edited.status_code == 200, edited.content


def _room_ready(page: Any) -> None:
    page.wait_for_function("() => document.getElementById('page-number').textContent.includes('/')")


def test_plan_a_meeting_then_meet(open_page: Any) -> None:
    cleaning = submitted("庁舎清掃業務委託契約の締結について")
    vehicles = submitted("公用車の購入について", files=("pdflatex-4-pages.pdf",))

    # sato plans the meeting: title, date, an attendee through the picker, two documents.
    page = open_page("sato", width=1366, height=900)
    page.goto("/meetings/")
    page.get_by_role("link", name="会議を登録").click()
    page.fill("#m-title", "総務課 課内打合せ")
    page.select_option("#m-kind", "consultation")
    page.fill("#m-date", "2026-12-10")
    page.fill("#m-start", "10:00")
    page.fill("#m-end", "11:00")
    page.fill("#m-place", "第1会議室")
    page.fill("#pick-attendees", "鈴木")
    page.wait_for_selector("#pick-attendees-list [role=option]")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector("#pick-attendees-chosen li")
    for title in ("庁舎清掃", "公用車"):
        page.fill("#doc-search", title)
        page.wait_for_selector(f"#doc-results [data-add-doc]:has-text('{title}')")
        page.locator(f"#doc-results [data-add-doc]:has-text('{title}')").first.click()
        page.wait_for_selector(f"#chosen-documents li:has-text('{title}')")
    assert axe_violations(page) == []
    screenshot(page, "meetings-form")
    page.get_by_role("button", name="会議を登録する").click()
    page.wait_for_url(re.compile(r"/meetings/\d+/$"))
    _room_ready(page)
    meeting_url = page.url

    # A newer version of the cleaning contract after it was frozen.
    _new_version(cleaning)
    assert vehicles

    # suzuki in the meeting room: the badge, the pages, notes of both kinds.
    room = open_page("suzuki", width=1366, height=900)
    room.goto(meeting_url)
    _room_ready(room)
    assert room.locator(".item-button").count() == 2
    first = room.locator(".item-button").first
    assert "新しい版があります" in first.inner_text()
    assert room.locator("#viewer-newer").is_visible()
    assert room.locator("#briefing-controls").get_attribute("data-meeting-id")
    before = room.locator("#page-number").inner_text()
    room.focus("#page-stage")
    room.keyboard.press("PageDown")
    room.wait_for_function(
        "(before) => document.getElementById('page-number').textContent !== before", arg=before
    )
    assert room.locator("#page-number").inner_text().startswith("2 /")
    room.fill("#note-text", "鈴木の個人メモ：金額の根拠を確認")
    room.get_by_role("button", name="メモを追加").click()
    room.wait_for_selector(".note-private")
    room.fill("#note-text", "見積書は次回までに差し替える")
    room.check("input[name=layer][value=shared]")
    room.get_by_role("button", name="メモを追加").click()
    room.wait_for_selector(".note-shared")
    assert "資料1・2ページ" in room.locator(".note-shared").inner_text()
    assert axe_violations(room) == []
    screenshot(room, "meetings-room-attendee")

    # The chair sees the shared note and never suzuki's private one.
    page.goto(meeting_url)
    _room_ready(page)
    page.wait_for_selector(".note-shared")
    notes = page.locator("#note-list").inner_text()
    assert "見積書は次回までに差し替える" in notes and "鈴木の個人メモ" not in notes
    page.get_by_role("button", name="会議を開始").click()
    page.wait_for_selector("#room-state.state-in_progress")
    _room_ready(page)
    screenshot(page, "meetings-room-chair")
    # The list shows it in progress. Leaving the rooms says so (attendance), before teardown.
    room.goto("/meetings/")
    room.wait_for_load_state("networkidle")
    page.goto("/meetings/")
    page.wait_for_load_state("networkidle")
    assert "開催中" in page.locator(".meetings-table").inner_text()
    screenshot(page, "meetings-list")


@in_thread
def _meeting(*documents: int) -> int:
    response = client("sato").post(
        "/api/v1/meetings",
        {
            "title": "庁議",
            "kind": "executive",
            "starts_at": "2026-12-11T09:30:00+09:00",
            "attendees": ["suzuki"],
            "documents": list(documents),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def test_change_a_meeting_and_draw_ink(open_page: Any) -> None:
    first = submitted("第一の議題")
    second = submitted("第二の議題", files=("pdflatex-4-pages.pdf",))
    meeting = _meeting(first, second)
    page = open_page("sato", width=1366, height=900)
    page.goto(f"/meetings/{meeting}/edit/")
    assert page.locator("#m-title").input_value() == "庁議"
    # ito (財政課) may not read 総務課's documents: the refusal names him and the documents.
    page.fill("#pick-attendees", "伊藤")
    page.wait_for_selector("#pick-attendees-list [role=option]")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    open_page.console.expect("422")  # the refusal the page shows
    page.get_by_role("button", name="保存").click()
    status = page.locator("#form-status")
    page.wait_for_function("() => document.getElementById('form-status').textContent.length > 0")
    assert "伊藤" in status.inner_text() and "第一の議題" in status.inner_text()
    assert "error" in (status.get_attribute("class") or "")
    screenshot(page, "meetings-edit-refused")
    page.locator("#pick-attendees-chosen [data-unpick]").click()
    # The second document first, with the keyboard.
    page.locator("#chosen-documents li").nth(1).locator("[data-move]").focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#chosen-documents li').textContent.includes('第二')"
    )
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(rf"/meetings/{meeting}/$"))
    _room_ready(page)
    titles = page.locator(".item-button .item-title").all_inner_texts()
    assert titles == ["第二の議題", "第一の議題"]

    # The chair's pen: a stroke on the page, kept as ink in PDF points, seen by the attendee.
    page.get_by_role("button", name="ペン").click()
    box = page.locator("#ink-layer").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(
            box["x"] + box["width"] * (0.2 + step * 0.05), box["y"] + box["height"] * 0.3
        )
    page.mouse.up()
    page.wait_for_selector(".note-ink")
    assert page.locator("#ink-layer polyline").count() == 1
    suzuki = open_page("suzuki", width=1366, height=900)
    suzuki.goto(f"/meetings/{meeting}/")
    _room_ready(suzuki)
    # A straight stroke has no height: attached, not "visible" to Playwright.
    suzuki.wait_for_selector("#ink-layer polyline", state="attached")
    assert suzuki.locator("#briefing-controls").count() == 1
    screenshot(suzuki, "meetings-room-ink")
    for each in (page, suzuki):
        each.goto("/meetings/")
        each.wait_for_load_state("networkidle")
