"""The verification report to read: 電子署名検証報告書 (Japanese, then English).

The same facts as ``verification.json`` (`signing.api.report_json`): for each signature the
signer, position, reason, the time the signer claimed and the trusted timestamp with its TSA,
whether the signed bytes are intact, whether the certificate is trusted, and what changed after
it, in plain words. A4 portrait, fpdf2 with the Noto Sans JP font of the decision record's cover
(`documents.record.cover.add_japanese_font`), Japanese line breaking by `jawrap`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from documents.record import jawrap
from documents.record.cover import FONT_FAMILY, Sheet, add_japanese_font

PAGE_W = 210.0
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 15.0, 14.0, 16.0
CONTENT_W = PAGE_W - 2 * MARGIN_X
LABEL_W = 42.0
VALUE_W = CONTENT_W - LABEL_W
PADDING = 1.6
LABEL_FILL = (236, 236, 236)
GOOD = (27, 110, 50)
BAD = (190, 30, 30)
TEXT_SIZE = 9.0
# fpdf2 stamps the creation time into its output; the report's own time is printed instead.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

KIND = {
    "signature": "署名 / Signature",
    "document_timestamp": "文書タイムスタンプ / Document timestamp",
}

CHANGES = {
    "none": (
        "変更なし。この署名の後には、後続の署名、検証情報（証明書・失効情報）、"
        "タイムスタンプが追加されただけです。",
        "None. After this signature only later signatures, validation data and timestamps "
        "were added.",
    ),
    "annotations": (
        "注釈の追加のみ。この署名の後に、承認者のマーカー・付箋・コメント・手書きなどの"
        "注釈と、後続の署名が追加されました。ページの内容は変わっていません。",
        "Annotations only. Approvers' highlights, notes, comments or ink and later signatures "
        "were added after this signature; the page content is unchanged.",
    ),
    "other": (
        "注釈以外の変更あり。この署名の後に、ページの内容・ページ構成・フォームの値・"
        "アクションなど、許されない変更が加えられています。",
        "Changed. After this signature the document was changed in a way that is not allowed "
        "(page content, pages, form values or actions).",
    ),
}


def local_time(value: str | None) -> str:
    """An ISO 8601 time as local time with its zone, e.g. 2026-05-01 14:03:22 JST."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = timezone.localtime(moment)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or ''}".strip()


def _yes_no(value: bool | None, yes: str, no: str, unknown: str = "—") -> str:
    if value is None:
        return unknown
    return yes if value else no


# Glyph widths of the one font, by size: measuring a character through fpdf2 costs ~50 µs, and
# Japanese line breaking measures every character.
_WIDTHS: dict[tuple[float, str], float] = {}


def _wrap(pdf: FPDF, text: str, width: float) -> str:
    size = pdf.font_size_pt

    def measure(chars: str) -> float:
        total = 0.0
        for ch in chars:
            key = (size, ch)
            w = _WIDTHS.get(key)
            if w is None:
                w = _WIDTHS[key] = pdf.get_string_width(ch)
            total += w
        return total

    hang = measure("。")
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        lines.extend(jawrap.wrap(paragraph, width - hang, measure) or [""])
    return "\n".join(lines)


def _heading(pdf: FPDF, text: str, *, size: float = 11.0) -> None:
    if pdf.will_page_break(22):
        pdf.add_page()
    pdf.ln(3.5)
    pdf.set_font(FONT_FAMILY, size=size)
    pdf.cell(0, 6.5, "■ " + text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(0.8)


LINE_H = TEXT_SIZE * 0.3528 * 1.45
PAD_Y = 1.0
LABEL_INNER = LABEL_W - 2 * PADDING - 0.5
VALUE_INNER = VALUE_W - 2 * PADDING - 0.5

Row = tuple[list[str], list[str], float]


def _layout(pdf: FPDF, rows: Sequence[tuple[str, str]]) -> list[Row]:
    """Each row's label lines, value lines and height, wrapped with the Japanese rules."""
    pdf.set_font(FONT_FAMILY, size=TEXT_SIZE)
    out = []
    for label, value in rows:
        left = _wrap(pdf, label, LABEL_INNER).split("\n")
        right = _wrap(pdf, value, VALUE_INNER).split("\n")
        out.append((left, right, max(len(left), len(right)) * LINE_H + 2 * PAD_Y))
    return out


def _height(pdf: FPDF, rows: Sequence[tuple[str, str]]) -> float:
    return sum(height for _, _, height in _layout(pdf, rows))


def _text_lines(
    pdf: FPDF, x: float, y: float, height: float, lines: list[str], *, line_h: float = LINE_H
) -> None:
    top = y + (height - len(lines) * line_h) / 2
    for i, line in enumerate(lines):
        pdf.set_xy(x, top + i * line_h)
        pdf.cell(text=line, h=line_h)


def _rows(
    pdf: FPDF, rows: Sequence[tuple[str, str]], *, colors: Mapping[int, Any] | None = None
) -> None:
    """A two-column table, label and value, drawn directly (fpdf2's table would break every
    cell's lines again, at several times the cost)."""
    colors = colors or {}
    pdf.set_fill_color(*LABEL_FILL)
    for index, (left, right, height) in enumerate(_layout(pdf, rows)):
        if pdf.will_page_break(height):
            pdf.add_page()
        y = pdf.get_y()
        pdf.rect(MARGIN_X, y, LABEL_W, height, style="DF")
        pdf.rect(MARGIN_X + LABEL_W, y, VALUE_W, height)
        _text_lines(pdf, MARGIN_X + PADDING, y, height, left)
        color = colors.get(index)
        if color is not None:
            pdf.set_text_color(*color)
        _text_lines(pdf, MARGIN_X + LABEL_W + PADDING, y, height, right)
        pdf.set_text_color(0)
        pdf.set_xy(MARGIN_X, y + height)


SUMMARY_W = (9.0, 42.0, 50.0, 51.0, 28.0)
SUMMARY_HEAD = (
    "No.",
    "署名者\nSigner",
    "理由\nReason",
    "タイムスタンプ\nTimestamp",
    "判定\nResult",
)


def _summary(pdf: FPDF, signatures: Sequence[Mapping[str, Any]]) -> None:
    """One line per signature, for the page where the verdict is."""
    pdf.set_font(FONT_FAMILY, size=8.5)
    table: list[tuple[list[str], ...]] = []
    results: list[bool] = []
    for number, sig in enumerate(signatures, start=1):
        stamp = sig.get("timestamp") or {}
        is_sig = sig.get("kind") == "signature"
        signer = (
            str(sig.get("signer") or "—") if is_sig else "文書タイムスタンプ\nDocument timestamp"
        )
        reason = str(sig.get("reason") or "—") if is_sig else str(stamp.get("tsa") or "—")
        ok = bool(sig.get("valid"))
        results.append(ok)
        texts = (str(number), signer, reason, local_time(stamp.get("time")), _ok(ok))
        table.append(
            tuple(
                _wrap(pdf, text, width - 2 * PADDING - 0.5).split("\n")
                for text, width in zip(texts, SUMMARY_W, strict=True)
            )
        )
    head = tuple(h.split("\n") for h in SUMMARY_HEAD)
    for index, cells in enumerate([head, *table]):
        height = max(len(c) for c in cells) * LINE_H * 0.95 + 2 * PAD_Y
        if pdf.will_page_break(height):
            pdf.add_page()
        y = pdf.get_y()
        x = MARGIN_X
        for column, (lines, width) in enumerate(zip(cells, SUMMARY_W, strict=True)):
            pdf.set_fill_color(*LABEL_FILL)
            pdf.rect(x, y, width, height, style="DF" if index == 0 else "D")
            if index and column == len(SUMMARY_W) - 1:
                pdf.set_text_color(*(GOOD if results[index - 1] else BAD))
            _text_lines(pdf, x + PADDING, y, height, lines, line_h=LINE_H * 0.95)
            pdf.set_text_color(0)
            x += width
        pdf.set_xy(MARGIN_X, y + height)


def _ok(valid: bool) -> str:
    return "有効 / valid" if valid else "無効 / NOT valid"


def _verdict(pdf: FPDF, valid: bool, problem: str | None) -> None:
    color = GOOD if valid else BAD
    pdf.set_draw_color(*color)
    pdf.set_line_width(0.6)
    top = pdf.get_y()
    pdf.set_font(FONT_FAMILY, size=15)
    pdf.set_text_color(*color)
    title = "有効　VALID" if valid else "無効　NOT VALID"
    pdf.set_xy(MARGIN_X + 3, top + 2.5)
    pdf.cell(CONTENT_W - 6, 8, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, size=TEXT_SIZE)
    pdf.set_text_color(0)
    if valid:
        text = (
            "すべての署名とタイムスタンプについて、署名されたデータは改ざんされておらず、"
            "証明書は本システムのルート認証局に連なり失効していません。署名の後の変更は"
            "注釈の追加と後続の署名・検証情報のみです。\n"
            "Every signature and timestamp is intact and trusted, and nothing but annotations, "
            "later signatures and validation data was added after it."
        )
    else:
        text = (
            "問題のある署名があります。各署名の「判定」を確認してください。\n"
            "At least one signature has a problem; see the result of each signature below.\n"
            + (problem or "")
        )
    for line in _wrap(pdf, text, CONTENT_W - 8).split("\n"):
        pdf.set_x(MARGIN_X + 3)
        pdf.cell(CONTENT_W - 6, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = pdf.get_y() + 2
    pdf.rect(MARGIN_X, top, CONTENT_W, bottom - top)
    pdf.set_draw_color(0)
    pdf.set_line_width(0.25)
    pdf.set_y(bottom + 1)


def _changes(signature: Mapping[str, Any], revisions: int | None) -> str:
    ja, en = CHANGES.get(str(signature.get("modification")), CHANGES["other"])
    last = revisions is not None and signature.get("revision") == revisions - 1
    if last and signature.get("modification") == "none":
        ja, en = "変更なし。この署名の後に加えられたものはありません。", "None: nothing follows it."
    text = f"{ja}\n{en}"
    details = [str(c) for c in signature.get("changes") or []]
    if details and signature.get("modification") != "annotations":
        text += "\n" + "\n".join(f"・{c}" for c in details[:12])
        if len(details) > 12:
            text += f"\n・… ほか {len(details) - 12} 件 / {len(details) - 12} more"
    return text


def _certificate_of(field: str, certificates: Sequence[Mapping[str, Any]]) -> str:
    for cert in certificates:
        if field in cert.get("fields", []):
            return f"{cert['path']}\nserial {cert['serial']}"
    return "—"


def _signature(
    pdf: FPDF,
    number: int,
    signature: Mapping[str, Any],
    certificates: Sequence[Mapping[str, Any]],
    revisions: int | None,
) -> None:
    kind = str(signature.get("kind") or "signature")
    reason = signature.get("reason") or ""
    title = f"{number}. {KIND.get(kind, kind)}" + (f" — {reason}" if reason else "")
    timestamp = signature.get("timestamp") or {}
    ts_state = _yes_no(timestamp.get("valid"), "有効 / valid", "無効 / NOT valid", "")
    ts_text = local_time(timestamp.get("time"))
    if timestamp.get("tsa"):
        ts_text += f"\nTSA: {timestamp['tsa']}"
    if ts_state:
        ts_text += f"（{ts_state}）"
    intact = _yes_no(
        signature.get("intact"),
        "改ざんなし：署名の時から変わっていません。\nIntact: unchanged since signing.",
        "改ざんあり：署名された範囲のデータが変更されています。\n"
        "ALTERED: the signed bytes were changed.",
    )
    if signature.get("revoked"):
        trusted = "信頼できない：証明書は失効しています。\nNOT trusted: the certificate is revoked."
    else:
        trusted = _yes_no(
            signature.get("trusted"),
            "信頼できる：ルート認証局（certificates/root.pem）に連なり、失効していません。\n"
            "Trusted: chains to our root (certificates/root.pem), not revoked.",
            "信頼できない：信頼できるルート認証局に連なりません。\n"
            "NOT trusted: does not chain to a trusted root.",
        )
    valid = bool(signature.get("valid"))
    result = "有効 / valid" if valid else f"無効 / NOT valid\n{signature.get('problem') or ''}"
    rows: list[tuple[str, str]] = []
    if kind == "signature":
        position = signature.get("role") or "—"
        where = "、".join(
            str(x) for x in (signature.get("section"), signature.get("organisation")) if x
        )
        rows += [
            ("署名者\nSigner", str(signature.get("signer") or "—")),
            ("職名・所属\nPosition", f"{position}" + (f"（{where}）" if where else "")),
            ("理由\nReason", str(reason or "—")),
            (
                "署名日時\nSigned at",
                f"{local_time(signature.get('signed_at'))}\n"
                "（署名者の申告による時刻 / as claimed by the signer）",
            ),
            ("タイムスタンプ\nTimestamp", ts_text),
        ]
    else:
        rows += [
            ("時刻\nTime", local_time(timestamp.get("time"))),
            ("タイムスタンプ局\nTSA", str(timestamp.get("tsa") or signature.get("signer") or "—")),
        ]
    rows += [
        ("改ざんの有無\nIntact", intact),
        ("信頼性\nTrusted", trusted),
        ("その後の変更\nLater changes", _changes(signature, revisions)),
        ("証明書\nCertificate", _certificate_of(str(signature.get("field")), certificates)),
        ("判定\nResult", result),
    ]
    color = GOOD if valid else BAD
    # A signature's block stays on one page (when it fits on one at all).
    if pdf.will_page_break(_height(pdf, rows) + 11):
        pdf.add_page()
    _heading(pdf, title, size=10.5)
    _rows(pdf, rows, colors={len(rows) - 1: color})


def render_report(
    document: Mapping[str, Any],
    report: Mapping[str, Any],
    *,
    certificates: Sequence[Mapping[str, Any]],
    generated: Mapping[str, Any],
) -> bytes:
    """The report as PDF bytes. `document` is the manifest's document, `report` the JSON one."""
    pdf = Sheet(unit="mm", format="A4")
    pdf.set_creation_date(_EPOCH)
    pdf.set_title("電子署名検証報告書 / Signature verification report")
    pdf.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
    pdf.set_auto_page_break(True, MARGIN_BOTTOM)
    pdf.set_line_width(0.25)
    add_japanese_font(pdf)
    number = document.get("number") or f"#{document.get('id')}"
    pdf.footer_text = f"電子署名検証報告書 {number}　{{page}}/{{nb}}"
    pdf.add_page()

    pdf.set_font(FONT_FAMILY, size=19)
    pdf.cell(CONTENT_W, 10, "電子署名検証報告書", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, size=10)
    pdf.set_text_color(80)
    pdf.cell(
        CONTENT_W,
        5,
        "Signature verification report",
        align="C",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(0)
    pdf.ln(2)
    pdf.set_line_width(0.6)
    pdf.line(MARGIN_X, pdf.get_y(), PAGE_W - MARGIN_X, pdf.get_y())
    pdf.set_line_width(0.25)
    pdf.ln(1)

    by = generated.get("by") or {}
    _heading(pdf, "対象文書 / Document")
    _rows(
        pdf,
        [
            ("文書番号\nDocument number", str(document.get("number") or "未定 / not yet numbered")),
            ("件名\nTitle", str(document.get("title") or "—")),
            ("所属\nDepartment", str(document.get("department") or "—")),
            ("決裁日時\nDecided at", local_time(document.get("decided_at"))),
            ("版\nVersion", f"第{report.get('version')}版 / version {report.get('version')}"),
            ("決裁記録\nRecord", f"record.pdf\nSHA-256 {report.get('sha256')}"),
            (
                "検証日時・作成者\nChecked at, by",
                f"{local_time(generated.get('at'))}\n"
                f"{by.get('name', '')}（{by.get('username', '')}）",
            ),
        ],
    )

    _heading(pdf, "総合判定 / Overall result")
    _verdict(pdf, bool(report.get("valid")), report.get("problem"))

    signatures = list(report.get("signatures") or [])
    if signatures:
        _heading(pdf, "署名の一覧 / Signatures")
        _summary(pdf, signatures)
    else:
        _heading(pdf, "署名 / Signatures")
        _rows(
            pdf, [("署名\nSignatures", "この記録には署名がありません。/ The record is not signed.")]
        )
    for number_, signature in enumerate(signatures, start=1):
        _signature(pdf, number_, signature, certificates, report.get("revisions"))

    earlier = list(report.get("earlier_versions") or [])
    if earlier:
        _heading(pdf, "以前の版の決裁記録 / Records of earlier versions")
        _rows(
            pdf,
            [
                (
                    f"第{e.get('version')}版\nversion {e.get('version')}",
                    f"{e.get('path')}（署名 {len(e.get('signatures') or [])} 件）："
                    + (
                        "有効 / valid"
                        if e.get("valid")
                        else f"無効 / NOT valid\n{e.get('problem') or ''}"
                    ),
                )
                for e in earlier
            ],
        )

    pdf.set_font(FONT_FAMILY, size=8.5)
    note = (
        "この報告書は、証拠パッケージの作成時に本システムが record.pdf の電子署名"
        "（PAdES）を検証した結果です。承認者の注釈（マーカー・付箋等）の追加は許容し、それ以外の"
        "変更は不正として扱います。同じ結果は verification.json にあります。README.txt の手順に"
        "従い、pdfsig や pyHanko など本システム以外のツールで、オフラインで確かめることが"
        "できます。\n"
        "This report is the result of this system's check of the signatures (PAdES) of "
        "record.pdf when the evidence package was made. Approvers' annotations added after a "
        "signature are accepted; any other change is not. verification.json holds the same "
        "result. README.txt explains how to confirm it offline with tools other than this "
        "system, such as pdfsig and pyHanko."
    )
    lines = _wrap(pdf, note, CONTENT_W).split("\n")
    if pdf.will_page_break(len(lines) * 4.4 + 12):
        pdf.add_page()
    _heading(pdf, "この報告書について / About this report")
    pdf.set_font(FONT_FAMILY, size=8.5)
    for line in lines:
        pdf.cell(CONTENT_W, 4.4, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
