"""The decision analytics page in Chromium: charts drawn from the tables beside them, filters,
CSV links, a department head's view, axe, and on a phone's width."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from analytics import facts
from analytics.models import PaperDecision
from documents.models import Document, DocumentType
from org.models import Department
from tests.analytics.test_figures import act, client, draft
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.setup import in_thread
from workflow.models import HistoryEntry


@in_thread
def _demo() -> list[int]:
    """Two decisions (one after a send-back), a paper decision and a task left waiting."""
    plain = draft(500_000, "庁舎清掃業務委託契約の締結について")
    act("suzuki", plain)
    act("sato", plain)
    reworked = draft(3_200_000, "公用車の購入について")
    act("suzuki", reworked)
    act("sato", reworked, "send-back", reason="見積書を添付してください。")
    assert client("tanaka").post(f"/api/v1/documents/{reworked}/submit", {}, format="json")
    for name in ("suzuki", "sato", "ito", "takahashi"):
        act(name, reworked)
    # Submitted some office days before they were decided, so that the charts have something
    # to show (the API's figures are checked to the minute in tests/analytics).
    for document_id, days in ((plain, 2), (reworked, 9)):
        decided = Document.objects.get(pk=document_id).decided_at
        assert decided is not None
        HistoryEntry.objects.filter(document_id=document_id, action="submit").update(
            at=decided - timedelta(days=days, hours=3)
        )
    facts.refresh([plain, reworked])
    waiting = draft(300_000, "会議室の備品購入について")
    PaperDecision.objects.create(
        decided_on=timezone.localdate() - timedelta(days=3),
        department=Department.objects.get(code="somu-somu"),
        doc_type=DocumentType.objects.get(code="contract"),
        reason="相手方が紙の契約書を求めたため",
    )
    return [plain, reworked, waiting]


def test_the_analytics_page_draws_every_chart_with_its_table(open_page):
    plain, reworked, _waiting = _demo()
    page = open_page("sato")
    page.goto("/analytics/")
    page.wait_for_selector("body[data-charts-drawn='4']")
    assert page.locator("h1").inner_text() == "決裁の分析"
    # Every chart is a picture of a table, which is there for screen readers and for copying.
    for chart in ("chart-rate", "chart-lead", "chart-stages"):
        canvas = page.locator(f"#{chart}")
        assert canvas.get_attribute("role") == "img"
        box = canvas.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100
        # Chart.js painted something: the canvas is not blank.
        painted = page.evaluate(
            """(id) => { const c = document.getElementById(id);
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                for (let i = 3; i < d.length; i += 4) { if (d[i]) return true; } return false; }""",
            chart,
        )
        assert painted, chart
    rate = page.locator("#rate-by_month tbody tr").first.inner_text()
    assert "2" in rate and "1" in rate  # two decided here, one on paper
    slowest = page.locator("#lead-times-slowest")
    assert "公用車の購入について" in slowest.inner_text()
    assert slowest.locator(f'a[href="/documents/{reworked}/"]').count() == 1
    stages = page.locator("#stages-stages").inner_text()
    assert (
        "課長" in stages
        or "sato" in stages
        or "佐藤" in page.locator("#stages-approvers").inner_text()
    )
    assert page.locator("a[href*='analytics/stages.csv?']").count() == 3
    screenshot(page, "20-analytics", full_page=True)
    assert axe_violations(page) == []

    # The CSV link answers a file with a BOM.
    href = page.locator("#lead-times-slowest ~ .csv-link a, .csv-link a").first.get_attribute(
        "href"
    )
    response = page.request.get(href)
    assert response.status == 200 and response.body().startswith(b"\xef\xbb\xbf")

    # Filters: a document type with nothing in it empties the tables, not the page.
    page.select_option("#f-type", "notice")
    page.click(".analytics-filters button[type=submit]")
    page.wait_for_url("**doc_type=notice**")
    assert "この期間には該当がありません" in page.locator("#lead-times-slowest").inner_text()

    # A section chief of another department sees only theirs: 財政課 has no decisions.
    other = open_page("ito")
    other.goto("/analytics/")
    assert "公用車" not in other.locator("#lead-times-slowest").inner_text()
    options = other.locator("#f-department option").all_inner_texts()
    assert options == ["財務部 財政課"]

    # On a phone: the tables scroll inside their card, the page does not.
    phone = open_page("takahashi", width=390, height=844, mobile=True)
    phone.goto("/analytics/")
    phone.wait_for_selector("body[data-charts-drawn='4']")
    overflow = phone.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert overflow
    screenshot(phone, "20-analytics-phone")
    assert axe_violations(phone) == []
    assert plain
