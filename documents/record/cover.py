"""The cover sheet (起案用紙) of a decision record, laid out for A4 portrait with fpdf2.

Top to bottom: the sheet title and version; the approval boxes (決裁欄), square and empty so that
the signing step can draw each approver's seal into its box; the metadata table; the route; the
body (which may run over several pages, never clipped); the list of attachments. The layout is
in millimetres, top-left origin (fpdf2's); stamp rectangles are returned in PDF points.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from fontTools import ttLib
from fpdf import FPDF, FontFace
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import SubsetMap, TTFFont

from documents.record import jawrap
from documents.record.types import CoverInfo, StampRect

DEFAULT_LABELS: dict[str, str] = {
    "cover_title": "起 案 用 紙",
    "cover_outline": "起案用紙",
    "stamps": "決裁欄",
    "title": "件名",
    "document_number": "文書番号",
    "corrects": "訂正元文書",
    "undecided": "未定",
    "drafter": "起案者",
    "department": "所属",
    "drafted_on": "起案日",
    "decided_on": "決裁日",
    "doc_type": "文書種別",
    "amount": "金額",
    "amount_value": "{amount}円",
    "counterparty": "相手方",
    "transaction_date": "取引日",
    "retention": "保存期間",
    "classification": "公開区分",
    "version": "版",
    "version_value": "第{version}版",
    "route": "決裁ルート",
    "body": "内容",
    "attachments": "添付ファイル",
    "attachments_count": "添付ファイル（{count}件）",
    "attachment_number": "番号",
    "attachment_name": "ファイル名",
    "attachment_size": "サイズ",
    "attachment_sha256": "SHA-256（先頭16桁）",
    "attachment_treatment": "収録",
    "pages_from": "{first}ページ〜（{count}ページ）",
    "embedded": "PDF添付ファイルとして埋め込み",
    "converted": "PDFに変換して収録・原本を埋め込み",
    "note_no_converter": "PDFに変換できません（LibreOfficeなし）",
    "note_conversion_failed": "PDFへの変換に失敗（{reason}）",
    "none": "なし",
    "blank": "—",
    "footer": "{cover}　{page}/{pages}",
}

MM_TO_PT = 72.0 / 25.4
PAGE_W, PAGE_H = 210.0, 297.0
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 15.0, 12.0, 16.0
CONTENT_W = PAGE_W - 2 * MARGIN_X
STAMP_W = 22.5  # 8 boxes fill the 180 mm line; a 22.5 mm square takes a 21 mm round seal
STAMP_LABEL_H, STAMP_NAME_H = 7.0, 5.0
STAMPS_PER_ROW = int(CONTENT_W // STAMP_W)
LABEL_FILL = (236, 236, 236)
FONT_FAMILY = "notosansjp"
# fpdf2 stamps the creation time into its output; a fixed one keeps the cover reproducible.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def labels_for(overrides: Mapping[str, str] | None) -> dict[str, str]:
    labels = dict(DEFAULT_LABELS)
    if overrides:
        unknown = sorted(set(overrides) - set(DEFAULT_LABELS))
        if unknown:
            raise ValueError(f"Unknown cover label keys: {', '.join(unknown)}")
        labels.update(overrides)
    return labels


def japanese_date(value: date | None, blank: str) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else blank


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


# fontTools reports each table it subsets at INFO: ~20 lines per cover under the project's INFO
# root logger. Quietened unless someone configured that logger on purpose.
if logging.getLogger("fontTools.subset").level == logging.NOTSET:
    logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

# --- the font, parsed once per process -----------------------------------------------------------

_font_lock = threading.Lock()
_font_template: tuple[TTFFont, bytes] | None = None


def font_path() -> str:
    import pylopdf_fonts_jp  # data only: imported where its path is needed

    return os.path.join(os.path.dirname(pylopdf_fonts_jp.__file__), "NotoSansJP-Regular.otf")


def _template() -> tuple[TTFFont, bytes]:
    global _font_template  # a process-wide cache of a template that is never modified
    with _font_lock:
        if _font_template is None:
            path = font_path()
            with open(path, "rb") as handle:
                data = handle.read()
            _font_template = (TTFFont(FPDF(), path, FONT_FAMILY, ""), data)  # type: ignore[arg-type]
        return _font_template


# Glyphs are chosen through the cmap (fpdf2 shapes no text here) and PDF viewers never apply
# OpenType layout, so the layout tables are dead weight in the embedded subset; dropping them
# also spares the subsetter its glyph closure over this font's large GSUB.
_UNUSED_TABLES = ("GSUB", "GPOS", "BASE", "JSTF")


def add_japanese_font(pdf: FPDF) -> None:
    """Give `pdf` the Noto Sans JP font without parsing its 4.5 MB again.

    fpdf2 (2.8.9) builds the width and glyph tables of a font in `add_font` (~0.15 s for this
    one) and, when writing, subsets the font object *in place*, so a font object cannot be
    shared between documents. The tables are shared here and each document gets a fresh
    fontTools object over the cached bytes and a fresh subset. The subset keeps the font's own
    bounding boxes instead of recomputing them from every glyph outline (the slowest step of
    writing; the font's box holds every glyph, so it holds the subset's), and leaves out the
    layout tables: a cover is written in about a third of the time `add_font` would take, and
    renders the same (checked in the tests).
    """
    template, data = _template()
    font = copy.copy(template)
    font.ttfont = ttLib.TTFont(
        io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False, lazy=True
    )
    for table in _UNUSED_TABLES:
        if table in font.ttfont:
            del font.ttfont[table]
    font.i = len(pdf.fonts) + 1
    font.subset = SubsetMap(font)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    pdf.fonts[FONT_FAMILY] = font
    if font.is_cff and font.is_cid_keyed:
        pdf._set_min_pdf_version("1.6")


# --- layout ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedAttachment:
    """One row of the attachment list. `first_page` counts from the first page after the cover."""

    number: int
    filename: str
    size: int
    sha256: str
    first_page: int | None
    page_count: int
    embedded: bool
    note: str


@dataclass(frozen=True)
class Cover:
    pdf: bytes
    pages: int
    stamp_rects: list[StampRect]
    attachments_page: int  # the cover page (1-based) where the attachment list starts
    # the value cells the decision fills: "document_number", "decided_on"
    cells: dict[str, StampRect] = field(default_factory=dict)


class Sheet(FPDF):
    """An A4 sheet with a grey footer line on every page ({page}: its number); the signature
    report (retention.report_pdf) uses it too."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FONT_FAMILY, size=7.5)
        self.set_text_color(90)
        self.cell(0, 4, self.footer_text.replace("{page}", str(self.page_no())), align="R")
        self.set_text_color(0)


def render_cover(info: CoverInfo, attachments: Sequence[ListedAttachment]) -> Cover:
    """The cover as a PDF of its own. The list gives record page numbers, which depend on how
    many pages the cover itself takes: lay it out until that number is stable (twice at most in
    practice: a page number is a few digits), then write it once.
    """
    labels = labels_for(info.labels)
    pages = 1
    for _ in range(5):
        sheet, rects, list_page, cells = _layout(info, attachments, labels, pages)
        if sheet.page_no() == pages:
            break
        pages = sheet.page_no()
    return Cover(bytes(sheet.output()), sheet.page_no(), rects, list_page, cells)


def _layout(
    info: CoverInfo, attachments: Sequence[ListedAttachment], labels: dict[str, str], pages: int
) -> tuple[Sheet, list[StampRect], int, dict[str, StampRect]]:
    pdf = Sheet(unit="mm", format="A4")
    pdf.set_creation_date(_EPOCH)
    pdf.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
    pdf.set_auto_page_break(True, MARGIN_BOTTOM)
    pdf.set_line_width(0.25)
    add_japanese_font(pdf)
    pdf.footer_text = labels["footer"].format(
        cover=labels["cover_outline"], page="{page}", pages="{nb}"
    )
    pdf.add_page()
    _header(pdf, info, labels)
    rects = _stamp_boxes(pdf, info, labels)
    cells = _metadata(pdf, info, labels)
    _route(pdf, info, labels)
    _body(pdf, info, labels)
    list_page = _attachment_list(pdf, attachments, labels, pages)
    return pdf, rects, list_page, cells


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.will_page_break(14):
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(FONT_FAMILY, size=10.5)
    pdf.cell(0, 6, "■ " + text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _header(pdf: FPDF, info: CoverInfo, labels: dict[str, str]) -> None:
    pdf.set_font(FONT_FAMILY, size=20)
    pdf.cell(CONTENT_W, 11, labels["cover_title"], align="C")
    pdf.set_font(FONT_FAMILY, size=9)
    pdf.set_xy(MARGIN_X, MARGIN_TOP + 4)
    pdf.cell(CONTENT_W, 5, labels["version_value"].format(version=info.version), align="R")
    pdf.set_xy(MARGIN_X, MARGIN_TOP + 13)
    pdf.set_line_width(0.6)
    pdf.line(MARGIN_X, pdf.get_y(), PAGE_W - MARGIN_X, pdf.get_y())
    pdf.set_line_width(0.25)
    pdf.ln(1)


def _centered(
    pdf: FPDF, x: float, y: float, w: float, h: float, text: str, sizes: Sequence[float]
) -> None:
    """Text centred in a box: one line if it fits, else two (split before a parenthesis, as in
    課長 / （決裁）), the font shrinking until it fits."""
    if not text:
        return
    inner = w - 1.2
    lines = [text]
    size = sizes[0]
    for size in sizes:
        pdf.set_font_size(size)
        if pdf.get_string_width(text) <= inner:
            lines = [text]
            break
        lines = _two_lines(pdf, text, inner)
        if len(lines) <= 2 and all(pdf.get_string_width(line) <= inner for line in lines):
            break
    else:
        # Still too long at the smallest size: wrap it into as many lines as it takes.
        lines = jawrap.wrap(text, inner, pdf.get_string_width)
    line_h = size * 0.3528 * 1.2
    top = y + (h - line_h * len(lines)) / 2
    for i, line in enumerate(lines):
        pdf.set_xy(x + 0.6, top + i * line_h)
        pdf.cell(inner, line_h, line, align="C")


def _two_lines(pdf: FPDF, text: str, width: float) -> list[str]:
    for opener in ("（", "("):
        cut = text.find(opener)
        if cut > 0:
            return [text[:cut], text[cut:]]
    return jawrap.wrap(text, width, pdf.get_string_width)


def _note_in_box(pdf: FPDF, x: float, top: float, note: str) -> None:
    """An earlier version's approval, printed where the seal would go: 第1版で承認 / （鈴木）."""
    _centered(pdf, x, top, STAMP_W, STAMP_W, note, (7, 6.5, 6, 5.5, 5))


def _stamp_boxes(pdf: FPDF, info: CoverInfo, labels: dict[str, str]) -> list[StampRect]:
    if not info.stamp_boxes:
        return []
    _heading(pdf, labels["stamps"])
    rects = []
    row_h = STAMP_LABEL_H + STAMP_W + STAMP_NAME_H
    for start in range(0, len(info.stamp_boxes), STAMPS_PER_ROW):
        if pdf.will_page_break(row_h + 2):
            pdf.add_page()
        top = pdf.get_y()
        for column, box in enumerate(info.stamp_boxes[start : start + STAMPS_PER_ROW]):
            x = MARGIN_X + column * STAMP_W
            pdf.set_fill_color(*LABEL_FILL)
            pdf.rect(x, top, STAMP_W, STAMP_LABEL_H, style="DF")
            pdf.rect(x, top + STAMP_LABEL_H, STAMP_W, STAMP_W)
            pdf.rect(x, top + STAMP_LABEL_H + STAMP_W, STAMP_W, STAMP_NAME_H)
            pdf.set_font(FONT_FAMILY, size=8)
            _centered(pdf, x, top, STAMP_W, STAMP_LABEL_H, box.label, (8, 7, 6.5, 6, 5.5, 5))
            _centered(
                pdf, x, top + STAMP_LABEL_H + STAMP_W, STAMP_W, STAMP_NAME_H, box.name, (7, 6, 5)
            )
            square_top = top + STAMP_LABEL_H
            if box.note:
                _note_in_box(pdf, x, square_top, box.note)
            rects.append(
                StampRect(
                    index=start + column,
                    page=pdf.page_no(),
                    x=round(x * MM_TO_PT, 2),
                    y=round((PAGE_H - square_top - STAMP_W) * MM_TO_PT, 2),
                    width=round(STAMP_W * MM_TO_PT, 2),
                    height=round(STAMP_W * MM_TO_PT, 2),
                )
            )
        pdf.set_xy(MARGIN_X, top + row_h + 1.5)
    return rects


def _table(
    pdf: FPDF,
    widths: Sequence[float],
    rows: Sequence[Sequence[tuple[str, int]]],
    *,
    heading: bool = False,
    size: float = 9,
) -> None:
    """A bordered table; each cell is (text, colspan). Odd columns are labels, shaded."""
    pdf.set_font(FONT_FAMILY, size=size)
    # fpdf2 takes the table's background from the current fill colour.
    pdf.set_fill_color(255)
    label_style = FontFace(fill_color=LABEL_FILL)
    with pdf.table(
        col_widths=tuple(widths),
        width=CONTENT_W,
        first_row_as_headings=heading,
        headings_style=FontFace(fill_color=LABEL_FILL, size_pt=size),
        line_height=size * 0.3528 * 1.45,
        text_align="LEFT",
        v_align="MIDDLE",
        wrapmode=WrapMode.CHAR,
        padding=(1.0, 1.5),
        repeat_headings=1,
    ) as table:
        for index, cells in enumerate(rows):
            row = table.row()
            column = 0
            for text, span in cells:
                shaded = not heading and column % 2 == 0 and len(widths) == 4
                row.cell(text, colspan=span, style=label_style if shaded else None)
                column += span
            del index


def _metadata(pdf: FPDF, info: CoverInfo, labels: dict[str, str]) -> dict[str, StampRect]:
    blank = labels["blank"]
    amount = (
        labels["amount_value"].format(amount=f"{info.amount:,}")
        if info.amount is not None
        else blank
    )
    pdf.ln(2)
    pdf.set_font(FONT_FAMILY, size=9)
    pairs = [
        (labels["document_number"], info.document_number or labels["undecided"]),
        (labels["drafted_on"], japanese_date(info.drafted_on, blank)),
        (labels["department"], info.department or blank),
        (labels["decided_on"], japanese_date(info.decided_on, labels["undecided"])),
        (labels["drafter"], info.drafter or blank),
        (labels["doc_type"], info.doc_type or blank),
        (labels["amount"], amount),
        (labels["counterparty"], info.counterparty or blank),
        (labels["transaction_date"], japanese_date(info.transaction_date, blank)),
        (labels["retention"], info.retention or blank),
        (labels["classification"], info.classification or blank),
        (labels["version"], labels["version_value"].format(version=info.version)),
    ]
    rows: list[list[tuple[str, int]]] = [[(labels["title"], 1), (info.title or blank, 3)]]
    if info.corrects:
        rows.append([(labels["corrects"], 1), (info.corrects, 3)])
    widths = (20, 70, 20, 70)
    _table(pdf, widths, rows, size=9.5)
    # The rows with the number and the decision date are tables of their own, one row each,
    # so that their cells' places are known: the decision sets the number and the date into
    # them (workflow.sealing), exactly over 未定.
    cells: dict[str, StampRect] = {}
    for i in range(0, len(pairs), 2):
        row = [(pairs[i][0], 1), (pairs[i][1], 1), (pairs[i + 1][0], 1), (pairs[i + 1][1], 1)]
        if i >= 4:
            rows = [row] if i == 4 else [*rows, row]
            continue
        if pdf.will_page_break(8):
            pdf.add_page()
        top = pdf.get_y()
        _table(pdf, widths, [row], size=9.5)
        bottom, page = pdf.get_y(), pdf.page_no()
        for column, key in ((1, CELL_KEYS.get(i)), (3, CELL_KEYS.get(i + 1))):
            if key is None:
                continue
            left = MARGIN_X + sum(widths[:column])
            cells[key] = _cell_rect(page, left, top, widths[column], bottom - top)
    _table(pdf, widths, rows, size=9.5)
    return cells


# which of the metadata pairs (by index) are set at the decision
CELL_KEYS = {0: "document_number", 3: "decided_on"}
CELL_INSET = 0.3  # mm inside the cell's border lines


def _cell_rect(page: int, left: float, top: float, width: float, height: float) -> StampRect:
    """A table cell (mm, top-left origin) in PDF points, just inside its border."""
    x, y = left + CELL_INSET, top + CELL_INSET
    w, h = width - 2 * CELL_INSET, height - 2 * CELL_INSET
    return StampRect(
        index=0,
        page=page,
        x=round(x * MM_TO_PT, 2),
        y=round((PAGE_H - y - h) * MM_TO_PT, 2),
        width=round(w * MM_TO_PT, 2),
        height=round(h * MM_TO_PT, 2),
    )


def _lines(pdf: FPDF, text: str, width: float) -> list[str]:
    """`text` wrapped at the current font size, leaving room for a hanging 、。."""
    hang = pdf.get_string_width("。")
    return jawrap.wrap(_clean(text), width - hang, pdf.get_string_width)


def _route(pdf: FPDF, info: CoverInfo, labels: dict[str, str]) -> None:
    if not info.route:
        return
    _heading(pdf, labels["route"])
    pdf.set_font(FONT_FAMILY, size=9)
    for entry in info.route:
        for i, line in enumerate(_lines(pdf, entry, CONTENT_W - 6)):
            pdf.set_x(MARGIN_X + (3 if i == 0 else 6))
            pdf.cell(CONTENT_W - 6, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _body(pdf: FPDF, info: CoverInfo, labels: dict[str, str]) -> None:
    """The body in a frame that continues, page after page, for as long as the text does."""
    _heading(pdf, labels["body"])
    pdf.set_font(FONT_FAMILY, size=10)
    pad, line_h = 2.5, 5.6
    lines = _lines(pdf, info.body, CONTENT_W - 2 * pad) if _clean(info.body) else [labels["blank"]]
    done = 0
    while done < len(lines):
        top = pdf.get_y()
        room = int((pdf.page_break_trigger - top - 2 * pad) // line_h)
        if room < 2 and len(lines) - done > room:
            pdf.add_page()
            continue
        chunk = lines[done : done + room]
        pdf.rect(MARGIN_X, top, CONTENT_W, len(chunk) * line_h + 2 * pad)
        for i, line in enumerate(chunk):
            pdf.set_xy(MARGIN_X + pad, top + pad + i * line_h)
            pdf.cell(CONTENT_W - 2 * pad, line_h, line)
        done += len(chunk)
        pdf.set_xy(MARGIN_X, top + len(chunk) * line_h + 2 * pad)
        if done < len(lines):
            pdf.add_page()


def _attachment_list(
    pdf: FPDF, attachments: Sequence[ListedAttachment], labels: dict[str, str], cover_pages: int
) -> int:
    _heading(pdf, labels["attachments_count"].format(count=len(attachments)))
    page = pdf.page_no()
    if not attachments:
        pdf.set_font(FONT_FAMILY, size=9)
        pdf.cell(0, 6, labels["none"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return page
    rows: list[list[tuple[str, int]]] = [
        [
            (labels["attachment_number"], 1),
            (labels["attachment_name"], 1),
            (labels["attachment_size"], 1),
            (labels["attachment_sha256"], 1),
            (labels["attachment_treatment"], 1),
        ]
    ]
    for item in attachments:
        rows.append(
            [
                (str(item.number), 1),
                (_clean(item.filename), 1),
                (human_size(item.size), 1),
                (item.sha256[:16] or labels["blank"], 1),
                (_treatment(item, labels, cover_pages), 1),
            ]
        )
    _table(pdf, (10, 62, 17, 33, 58), rows, heading=True, size=8)
    return page


def _treatment(item: ListedAttachment, labels: dict[str, str], cover_pages: int) -> str:
    lines = []
    if item.first_page is not None:
        first = cover_pages + item.first_page
        lines.append(labels["pages_from"].format(first=first, count=item.page_count))
        if item.embedded:
            lines.append(labels["converted"])
    elif item.embedded:
        lines.append(labels["embedded"])
    if item.note:
        lines.append(item.note)
    return "\n".join(lines)


def _clean(text: str) -> str:
    """Line ends normalised and tabs widened; other control characters have no glyph."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return "".join(ch for ch in text if ch == "\n" or ch >= " ").strip("\n")
