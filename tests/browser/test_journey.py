"""The life of a document in the browser (issue 6): a drafter drafts and submits with two PDFs,
the section's 係長 reviews it at 2560×1440 with two panes, highlights a sentence, adds a sticky
note and approves; the 課長 decides it on a phone. Every page: no console errors; the inbox, the
workspace and the drafting form: no serious or critical axe-core violations.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from documents.models import Document, Status
from tests.browser.conftest import TESTDATA, axe_violations, screenshot
from workflow.models import Annotation

TITLE = "庁舎清掃業務委託契約の締結について"
SENTENCE = "Heres to the crazy ones."


def _drop_file(page: Any, selector: str, path: Any) -> None:
    """Drops a file on an element the way a browser does for a drag from the desktop."""
    data = base64.b64encode(path.read_bytes()).decode()
    transfer = page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, {type: "application/pdf"}));
            return dt;
        }""",
        [path.name, data],
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def _wait_until(locator: Any, predicate: str, timeout: float = 15) -> None:
    """Polls a predicate on an element (wait_for_function would need 'unsafe-eval' under CSP)."""
    deadline = time.monotonic() + timeout
    while not locator.evaluate(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        time.sleep(0.1)


def _no_horizontal_scroll(page: Any) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"horizontal scrolling: {widths}"


def _confirm(page: Any, fields: dict[str, str] | None = None) -> None:
    dialog = page.locator("dialog.confirm[open]")
    dialog.wait_for()
    for name, value in (fields or {}).items():
        dialog.locator(f"[name={name}]").fill(value)
    dialog.locator("button[value=ok]").click()
    dialog.wait_for(state="detached")


def _draft_and_submit(open_page: Any) -> int:
    page = open_page("tanaka")
    page.goto("/documents/new/")
    assert axe_violations(page) == []
    page.fill("#f-title", TITLE)
    page.select_option("#f-doc_type", "contract")
    page.fill("#f-amount", "480000")
    page.fill("#f-counterparty", "株式会社サンプル清掃")
    page.fill("#f-transaction_date", "2026-04-01")
    page.fill("#f-body", "本庁舎の清掃業務を委託したいので、伺います。")
    # One file dropped on the drop zone, one chosen with the file dialog, one refused.
    _drop_file(page, "#dropzone", TESTDATA / "crazyones-pdfa.pdf")
    page.set_input_files("#f-files", [str(TESTDATA / "pdflatex-4-pages.pdf")])
    # The browser logs the refusal (422) of the encrypted PDF as a console error: expected.
    open_page.console.expect("status of 422")
    page.set_input_files("#f-files", [str(TESTDATA / "libreoffice-writer-password.pdf")])
    assert page.locator("#file-list .file.pending").count() == 3
    page.click("#save")
    page.wait_for_url(re.compile(r"/documents/\d+/edit/$"))
    page.locator("#file-list .file.done").nth(1).wait_for()
    failed = page.locator("#file-list .file.failed")
    failed.wait_for()
    # The refusal is in words, next to the file it concerns.
    assert "libreoffice-writer-password.pdf" in failed.inner_text()
    assert len(failed.locator(".file-status").inner_text()) > 10
    page.locator("#route-preview .route-steps").wait_for()
    preview = page.inner_text("#route-preview")
    assert "鈴木 花子" in preview and "佐藤 誠" in preview
    screenshot(page, "1-drafting-form", full_page=True)
    failed.locator(".remove").click()
    page.click("#submit-doc")
    _confirm(page)
    page.wait_for_url(re.compile(r"/documents/\d+/$"))
    document_id = int(re.search(r"/documents/(\d+)/", page.url).group(1))
    document = Document.objects.get(pk=document_id)
    assert document.status == Status.IN_REVIEW
    assert [a.filename for a in document.versions.get(number=1).attachments.all()] == [
        "crazyones-pdfa.pdf",
        "pdflatex-4-pages.pdf",
    ]
    return document_id


def _select_text(page: Any, pane: Any, text: str) -> None:
    """Drags the mouse across `text` in the pane's pdf.js text layer, as a reader would."""
    span = pane.locator(".textLayer span", has_text=text).first
    span.wait_for()
    box = span.evaluate(
        """(node, text) => {
            const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
            const textNode = walker.nextNode();
            const start = textNode.data.indexOf(text);
            const range = document.createRange();
            range.setStart(textNode, start);
            range.setEnd(textNode, start + text.length);
            const r = range.getBoundingClientRect();
            return {left: r.left, right: r.right, y: r.top + r.height / 2};
        }""",
        text,
    )
    page.mouse.move(box["left"] + 1, box["y"])
    page.mouse.down()
    page.mouse.move((box["left"] + box["right"]) / 2, box["y"], steps=5)
    page.mouse.move(box["right"] - 1, box["y"], steps=5)
    page.mouse.up()


def _review_on_large_monitor(open_page: Any, document_id: int) -> None:
    page = open_page("suzuki", width=2560, height=1440)
    row = page.locator("tr[data-task]", has_text=TITLE)
    row.wait_for()
    assert "田中 一郎" in row.inner_text()
    assert axe_violations(page) == []
    screenshot(page, "2-inbox-suzuki")
    row.locator("a").click()
    page.wait_for_url(f"**/documents/{document_id}/")
    page.click('[data-layout="2"]')
    panes = page.locator(".pane")
    assert panes.count() == 2
    second = panes.nth(1)
    assert second.locator("select[data-part] option:checked").inner_text() == "crazyones-pdfa.pdf"
    # pdf.js takes over from the server's images: a canvas and a text layer.
    second.locator(".page canvas").first.wait_for()
    page.click('[data-tool="highlight"]')
    _select_text(page, second, SENTENCE)
    page.locator("#comment-list li.kind-highlight").wait_for()
    page.click('[data-tool="note"]')
    first_page = panes.nth(0).locator(".page").first
    first_page.click(position={"x": 420, "y": 160})
    _confirm(page, {"text": "金額の根拠（見積書）を添付してください。"})
    page.locator("#comment-list li.kind-note").wait_for()
    page.keyboard.press("Escape")
    marks = {a.kind: a for a in Annotation.objects.filter(document_id=document_id)}
    assert set(marks) == {"highlight", "note"}
    assert marks["highlight"].text == SENTENCE
    # The sentence's box, in PDF points on the record page that holds the attachment's page 1.
    x1, y1, x2, y2 = marks["highlight"].rects[0]
    assert 0 < x1 < x2 < 612 and 0 < y1 < y2 < 800 and 5 < y2 - y1 < 30
    assert page.locator(".pane svg.marks .mark-highlight").count() >= 1
    screenshot(page, "3-workspace-2560-two-panes")
    assert axe_violations(page) == []
    # The choice of two panes is remembered.
    page.reload()
    page.locator(".pane").nth(1).wait_for()
    assert page.locator(".pane").count() == 2
    page.keyboard.press("a")
    _confirm(page)
    page.locator(".done-banner").wait_for()
    assert page.locator('#route-panel [data-action="approve"]').count() == 0
    screenshot(page, "4-workspace-after-approval")


def _decide_on_phone(open_page: Any, document_id: int) -> None:
    page = open_page("sato", width=390, height=844, mobile=True)
    row = page.locator("tr[data-task]", has_text=TITLE)
    row.wait_for()
    _no_horizontal_scroll(page)
    screenshot(page, "5-phone-inbox", full_page=True)
    row.locator("a").click()
    page.wait_for_url(f"**/documents/{document_id}/")
    page.locator(".pane").scroll_into_view_if_needed()
    page.locator(".page img.page-image").first.wait_for()
    _wait_until(page.locator(".page img.page-image").first, "i => i.complete && i.naturalWidth > 0")
    assert page.locator(".page canvas").count() == 0  # phones get server images only
    _no_horizontal_scroll(page)
    # The earlier approver's marks are there.
    page.locator("#comment-list li.kind-note").wait_for()
    page.locator(".pane [data-page-note]").click()
    _confirm(page, {"text": "了解しました。"})
    page.locator("#comment-list li.kind-note").nth(1).wait_for()
    screenshot(page, "6-phone-workspace")
    page.locator('[data-action="approve"]').click()
    _confirm(page)
    page.locator(".done-banner").wait_for()
    _no_horizontal_scroll(page)
    screenshot(page, "7-phone-decided", full_page=True)
    document = Document.objects.get(pk=document_id)
    assert document.status == Status.DECIDED
    assert document.number


def test_draft_review_on_a_large_monitor_and_decide_on_a_phone(open_page):
    document_id = _draft_and_submit(open_page)
    _review_on_large_monitor(open_page, document_id)
    _decide_on_phone(open_page, document_id)
