"""The cover sheet (起案用紙) of the decision record."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader

from documents.record import (
    StampBox,
)
from documents.record import cover as cover_module
from documents.record.jawrap import wrap
from tests.documents.record_support import *  # noqa: F403  (the shared builders and checks)

# --- the cover ------------------------------------------------------------------------------------


def test_long_body_continues_on_more_cover_pages(tmp_path: Path) -> None:
    paragraphs = [
        f"第{i}項　この契約の履行に当たっては、仕様書に定めるところにより業務を行うこと。" * 3
        for i in range(1, 80)
    ]
    body = "\n".join(paragraphs) + "\n以上、最後の行。"
    data, result = build(
        make_cover(body=body),
        [make_input(1, "a.pdf", (PDF_DIR / "minimal-document.pdf").read_bytes(), "pdf")],
    )
    assert result.cover_pages >= 3
    assert result.parts[0].first_page == result.cover_pages + 1
    reader = PdfReader(io.BytesIO(data))
    text = "".join(reader.pages[i].extract_text() for i in range(result.cover_pages)).replace(
        "\x00", ""
    )
    compact = text.replace(" ", "").replace("\n", "")
    assert "第79項" in compact and "以上、最後の行。" in compact
    assert all(r.page == 1 for r in result.stamp_rects)
    qpdf_check(data, tmp_path)
    render(data, ARTIFACTS / "record-long", first=1, last=result.cover_pages, dpi=50)


def test_ten_stamp_boxes_wrap_to_a_second_row() -> None:
    boxes = [
        StampBox(label, name)
        for label, name in [
            ("主事", "田中 一郎"),
            ("係長", "鈴木 花子"),
            ("課長補佐", "山本 健"),
            ("課長", "佐藤 誠"),
            ("財政課長（合議）", "伊藤 直子"),
            ("法務課長（合議）", ""),
            ("部長", "高橋 明"),
            ("総務部長（合議）", ""),
            ("副市長（決裁）", "小林 茂"),
            ("市長", ""),
        ]
    ]
    data, result = build(
        make_cover(stamp_boxes=boxes, document_number="企財第123号", decided_on=date(2026, 12, 3)),
        [],
    )
    assert len(result.stamp_rects) == 10
    assert len({round(r.y) for r in result.stamp_rects}) == 2
    assert_stamp_rects(result, data)
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text().replace("\x00", "").replace(" ", "")
    assert "企財第123号" in text and "2026年12月3日" in text and "副市長" in text
    render(data, ARTIFACTS / "record-ten-stamps", first=1, last=1, dpi=80)


def test_record_without_attachments_is_the_cover_alone(tmp_path: Path) -> None:
    data, result = build(make_cover(stamp_boxes=[], route=[], amount=None, body=""), [])
    assert result.page_count == result.cover_pages == 1 and result.parts == []
    qpdf_check(data, tmp_path)
    reader = PdfReader(io.BytesIO(data))
    assert [t for _, t, _ in outline_titles(reader)] == ["起案用紙"]


def test_labels_can_be_overridden_and_typos_are_caught() -> None:
    data, _ = build(make_cover(labels={"title": "表題", "cover_title": "起 案 書"}), [])
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text().replace("\x00", "")
    assert "表題" in text and "案" in text
    with pytest.raises(ValueError, match="titel"):
        build(make_cover(labels={"titel": "x"}), [])


def test_cached_font_renders_like_add_font(tmp_path: Path) -> None:
    def sheet(use_cache: bool) -> bytes:
        pdf = FPDF()
        pdf.set_creation_date(cover_module._EPOCH)
        if use_cache:
            cover_module.add_japanese_font(pdf)
        else:
            pdf.add_font(cover_module.FONT_FAMILY, "", cover_module.font_path())
        pdf.add_page()
        pdf.set_font(cover_module.FONT_FAMILY, size=14)
        pdf.multi_cell(0, 8, "起案用紙 決裁欄 ¥3,200,000（消費税込み）。\n" + TITLE)
        return bytes(pdf.output())

    cached, plain = sheet(True), sheet(False)
    assert cached == sheet(True)  # reproducible across documents in one process
    [a] = render(cached, tmp_path / "cached", dpi=60)
    [b] = render(plain, tmp_path / "plain", dpi=60)
    with Image.open(a) as first, Image.open(b) as second:
        assert first.tobytes() == second.tobytes()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("あいうえお。かきく", ["あいうえお。", "かきく"]),  # 。hangs rather than start a line
        ("あいうえお」かき", ["あいうえ", "お」かき"]),  # a closer never starts a line
        ("あいうえ「おかき", ["あいうえ", "「おかき"]),  # an opener never ends a line
        ("あいう abcdefg", ["あいう", "abcdefg"]),  # a Latin word moves whole
    ],
)
def test_japanese_line_breaking(text: str, expected: list[str]) -> None:
    # Five characters of width 1 fit a line of width 5.
    assert wrap(text, 5.0 if "abc" not in text else 8.0, lambda ch: 1.0)[:2] == expected[:2]
