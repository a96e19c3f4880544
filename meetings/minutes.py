"""議事メモ (the minutes) as PDF: the meeting, who attended and when, the documents with their
frozen version and number, and the shared notes. Never a private note: the notes printed come
from meetings.access.shared_notes, which reads the shared layer only, and the presenter's ink is
left out too (strokes do not read as minutes). A4 portrait in Japanese with English beside it,
fpdf2 with the Noto Sans JP font of the decision record's cover, Japanese line breaking by
documents.record.jawrap. An item whose document the reader may no longer read is listed by its
number in the set only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from django.utils import timezone
from fpdf.enums import XPos, YPos

from documents.record import jawrap
from documents.record.cover import FONT_FAMILY, Sheet, add_japanese_font
from meetings import access
from meetings.freezing import newer_version
from meetings.models import Meeting, MeetingState
from org.models import User

PAGE_W = 210.0
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 15.0, 14.0, 16.0
CONTENT_W = PAGE_W - 2 * MARGIN_X
LABEL_W = 40.0
TEXT_SIZE = 9.5
LINE_H = TEXT_SIZE * 0.3528 * 1.5
PAD = 1.6
LABEL_FILL = (236, 236, 236)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

KIND = {"executive": "庁議", "consultation": "打合せ", "other": "その他の会議"}
STATE = {"planned": "予定", "in_progress": "開催中", "closed": "終了"}


def _local(value: datetime | None) -> str:
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _time(value: datetime | None) -> str:
    return f"{timezone.localtime(value):%H:%M}" if value else ""


class _Minutes:
    def __init__(self, title: str) -> None:
        pdf = Sheet(unit="mm", format="A4")
        pdf.set_creation_date(_EPOCH)
        pdf.set_title(f"議事メモ {title}")
        pdf.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
        pdf.set_auto_page_break(True, MARGIN_BOTTOM)
        pdf.set_line_width(0.25)
        add_japanese_font(pdf)
        pdf.footer_text = "議事メモ / Minutes　{page}/{nb}"
        self.pdf = pdf
        self.widths: dict[tuple[float, str], float] = {}

    def wrap(self, text: str, width: float) -> list[str]:
        pdf = self.pdf
        size = pdf.font_size_pt

        def measure(chars: str) -> float:
            total = 0.0
            for ch in chars:
                w = self.widths.get((size, ch))
                if w is None:
                    w = self.widths[(size, ch)] = pdf.get_string_width(ch)
                total += w
            return total

        hang = measure("。")
        lines: list[str] = []
        for paragraph in str(text).split("\n"):
            lines.extend(jawrap.wrap(paragraph, width - hang, measure) or [""])
        return lines

    def heading(self, text: str) -> None:
        pdf = self.pdf
        if pdf.will_page_break(20):
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font(FONT_FAMILY, size=11)
        pdf.cell(0, 6.5, "■ " + text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(0.8)

    def table(self, widths: Sequence[float], rows: Sequence[Sequence[str]], head: bool) -> None:
        """Rows of cells; the first row shaded when `head`, the first column shaded otherwise."""
        pdf = self.pdf
        pdf.set_font(FONT_FAMILY, size=TEXT_SIZE)
        for index, row in enumerate(rows):
            cells = [
                self.wrap(text, width - 2 * PAD - 0.5)
                for text, width in zip(row, widths, strict=True)
            ]
            height = max(len(c) for c in cells) * LINE_H + 2 * PAD * 0.7
            if pdf.will_page_break(height):
                pdf.add_page()
            y = pdf.get_y()
            x = MARGIN_X
            for column, (lines, width) in enumerate(zip(cells, widths, strict=True)):
                shaded = (head and index == 0) or (not head and column == 0)
                pdf.set_fill_color(*LABEL_FILL)
                pdf.rect(x, y, width, height, style="DF" if shaded else "D")
                for n, line in enumerate(lines):
                    if not line:
                        continue  # fpdf2 refuses an empty cell
                    pdf.set_xy(x + PAD, y + PAD * 0.7 + n * LINE_H)
                    pdf.cell(text=line, h=LINE_H)
                x += width
            pdf.set_xy(MARGIN_X, y + height)


def build(meeting: Meeting, reader: User) -> bytes:
    """The minutes of `meeting` as `reader` (a person of the meeting) may read them."""
    doc = _Minutes(meeting.title)
    pdf = doc.pdf
    pdf.add_page()
    pdf.set_font(FONT_FAMILY, size=19)
    pdf.cell(CONTENT_W, 10, "議事メモ", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, size=10)
    pdf.set_text_color(80)
    pdf.cell(CONTENT_W, 5, "Minutes", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.ln(2)
    pdf.set_font(FONT_FAMILY, size=14)
    for line in doc.wrap(meeting.title, CONTENT_W):
        pdf.cell(CONTENT_W, 7.5, line, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_line_width(0.6)
    pdf.line(MARGIN_X, pdf.get_y(), PAGE_W - MARGIN_X, pdf.get_y())
    pdf.set_line_width(0.25)

    doc.heading("会議 / Meeting")
    when = _local(meeting.starts_at)
    if meeting.ends_at:
        when += f" 〜 {_time(meeting.ends_at)}"
    rows = [
        ("種別\nKind", KIND.get(meeting.kind, meeting.kind)),
        ("日時\nDate and time", when),
        ("場所\nPlace", meeting.place or "—"),
    ]
    if meeting.web_meeting:
        rows.append(("Web会議\nWeb meeting", meeting.web_meeting))
    rows += [
        ("議長\nChair", str(meeting.chair)),
        ("主催者\nOrganiser", str(meeting.organiser)),
        ("状態\nState", STATE.get(meeting.state, meeting.state)),
    ]
    if meeting.started_at:
        rows.append(("開始\nStarted", _local(meeting.started_at)))
    if meeting.closed_at:
        rows.append(("終了\nClosed", _local(meeting.closed_at)))
    doc.table((LABEL_W, CONTENT_W - LABEL_W), rows, head=False)

    doc.heading("出席者 / Attendees and attendance")
    seats = meeting.attendees.select_related("user").order_by("id")
    attendance = [("氏名 / Name", "役割 / Role", "出欠 / Attendance")]
    for seat in seats:
        roles = [
            label
            for label, pk in (("議長", meeting.chair_id), ("主催者", meeting.organiser_id))
            if pk == seat.user_id
        ]
        if seat.joined_at is None:
            present = "欠席 / absent" if meeting.state == MeetingState.CLOSED else "未入室"
        else:
            present = f"出席 {_time(seat.joined_at)}〜{_time(seat.left_at)}"
        attendance.append((str(seat.user), "・".join(roles) or "出席者", present))
    doc.table((70.0, 40.0, CONTENT_W - 110.0), attendance, head=True)

    doc.heading("資料 / Documents (frozen for the meeting)")
    items = list(meeting.items.select_related("document").order_by("position"))
    readable = access.readable_documents(reader, items)
    listed = [("No.", "件名 / Title", "文書番号 / Number", "版 / Version")]
    for item in items:
        if item.document_id not in readable:
            listed.append((str(item.position), "（閲覧権限がありません / not readable）", "—", "—"))
            continue
        version = f"第{item.version_number}版"
        if newer_version(item):
            version += "（新しい版あり / newer version exists）"
        listed.append((str(item.position), item.title, item.document_number or "未定", version))
    if not items:
        listed.append(("—", "なし / none", "", ""))
    doc.table((12.0, 88.0, 38.0, CONTENT_W - 138.0), listed, head=True)

    doc.heading("共有メモ / Shared notes")
    positions = {i.pk: i.position for i in items}
    shared = (
        access.shared_notes(meeting, reader).select_related("author").order_by("created_at", "id")
    )
    notes = [("記入者・時刻 / By, at", "メモ / Note")]
    for note in shared:
        where = ""
        if note.item_id in positions and note.item_id is not None:
            where = f"資料{positions[note.item_id]}"
            if note.page:
                where += f" {note.page}頁"
            where = f"［{where}］ "
        notes.append((f"{note.author}\n{_local(note.created_at)}", where + note.text))
    if len(notes) == 1:
        notes.append(("—", "なし / none"))
    doc.table((48.0, CONTENT_W - 48.0), notes, head=True)

    pdf.ln(3)
    pdf.set_font(FONT_FAMILY, size=8)
    pdf.set_text_color(90)
    for line in doc.wrap(
        f"作成 {_local(timezone.now())}（{reader}）。個人メモは含まれません。"
        "このメモは決裁文書を変更しません。\n"
        "Private notes are never included. These minutes change no decision record.",
        CONTENT_W,
    ):
        pdf.cell(CONTENT_W, 4, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
