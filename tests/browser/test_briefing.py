"""説明モード in two browsers (issue 21): the presenter on a laptop (1366×768), a follower on a 4K
monitor (3840×2160). The follower follows page turns and the pointer, leaves to browse and comes
back; someone who may not read the document cannot join; the presenter ends it."""

from __future__ import annotations

from typing import Any

from tests.browser import setup
from tests.browser.conftest import axe_violations, screenshot


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None
    return box


def _drawn(page: Any, number: int) -> None:
    page.locator(f"#bf-page[data-page='{number}']").wait_for()
    page.locator(f"#bf-page[data-drawn='{number}'] canvas").wait_for()


def test_a_follower_on_a_large_monitor_follows_the_presenter(open_page):
    document_id = setup.submitted("庁舎清掃業務の委託について（説明）")
    presenter = open_page("tanaka", width=1366, height=768)
    presenter.goto(f"/documents/{document_id}/")
    start = presenter.locator("#start-briefing")
    assert start.inner_text() == "説明を開始"
    start.click()
    presenter.wait_for_url("**/briefings/*/")
    presenter.locator(".bf[data-role=presenter]").wait_for()
    code = presenter.locator("#bf-code").inner_text()
    assert len(code) == 6
    _drawn(presenter, 1)

    follower = open_page("suzuki", width=3840, height=2160)
    follower.goto(f"/briefings/?code={code.lower()}")
    follower.wait_for_url("**/briefings/*/")
    follower.locator(".bf[data-role=follower]").wait_for()
    _drawn(follower, 1)
    presenter.locator("#bf-followers", has_text="1").wait_for()
    # On the 4K monitor the page fills the height of the screen.
    assert _box(follower, "#bf-page")["height"] > 1800

    # Page turns: a clicker's PageDown on the presenter's screen.
    presenter.locator("#bf-stage").focus()
    presenter.keyboard.press("PageDown")
    presenter.keyboard.press("PageDown")
    _drawn(follower, 3)
    assert follower.locator("#bf-status").inner_text().endswith("1ページ")
    assert presenter.locator("#bf-page").get_attribute("data-page") == "3"

    # The pointer: where the presenter's mouse is on the page, as a share of the page.
    page_box = _box(presenter, "#bf-page")
    presenter.mouse.move(
        page_box["x"] + page_box["width"] * 0.3, page_box["y"] + page_box["height"] * 0.6
    )
    presenter.mouse.move(
        page_box["x"] + page_box["width"] * 0.25, page_box["y"] + page_box["height"] * 0.5, steps=5
    )
    dot = follower.locator("#bf-pointer:not([hidden])")
    dot.wait_for()
    follower.wait_for_timeout(300)  # the dot glides (50 ms transition)
    big = _box(follower, "#bf-page")
    point = _box(follower, "#bf-pointer")
    centre = (
        point["x"] + point["width"] / 2 - big["x"],
        point["y"] + point["height"] / 2 - big["y"],
    )
    assert abs(centre[0] / big["width"] - 0.25) < 0.01, centre
    assert abs(centre[1] / big["height"] - 0.5) < 0.01, centre
    assert point["width"] >= 40  # readable across a room
    screenshot(presenter, "briefing-1-presenter-1366x768")
    screenshot(follower, "briefing-2-follower-3840x2160-pointer")

    # The follower browses on their own, and the presenter moves on meanwhile.
    follower.locator("#bf-stage").focus()
    follower.keyboard.press("PageDown")
    _drawn(follower, 4)
    back = follower.locator("#bf-return")
    assert back.is_visible() and back.inner_text() == "説明者に戻る"
    presenter.keyboard.press("PageUp")
    follower.wait_for_timeout(500)
    assert follower.locator("#bf-page").get_attribute("data-page") == "4"
    screenshot(follower, "briefing-3-follower-browsing")
    assert axe_violations(follower) == []
    back.click()
    _drawn(follower, 2)
    assert back.is_hidden()
    presenter.keyboard.press("ArrowRight")
    _drawn(follower, 3)

    # Someone who may not read the document: refused by code, and the page is not found.
    outsider = open_page("ito", width=1366, height=768)
    open_page.console.expect("403")
    outsider.goto(f"/briefings/?code={code}")
    outsider.locator("#join-status", has_text="閲覧する権限がありません").wait_for()
    assert "/briefings/?" in outsider.url
    screenshot(outsider, "briefing-4-outsider-refused")
    briefing_id = presenter.url.rstrip("/").rsplit("/", 1)[-1]
    open_page.console.expect("404")
    response = outsider.goto(f"/briefings/{briefing_id}/")
    assert response is not None and response.status == 404

    # The presenter ends it: the follower's screen says so.
    presenter.once("dialog", lambda dialog: dialog.accept())
    presenter.locator("#bf-end").click()
    follower.locator("#bf-alert", has_text="説明は終了しました").wait_for()
    assert follower.locator(".bf[data-role=ended]").count() == 1
    screenshot(follower, "briefing-5-follower-ended")
