"""Approvers' marks written into the signed record: checked by rendering the page with poppler,
by pdfsig and qpdf, and by our verifier's difference policy."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import time
from dataclasses import fields, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from PIL import Image, ImageChops, ImageStat
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.keystore import KeyStore
from signing.markup import Mark, MarkupFailed, add_marks
from signing.signer import sign_approval
from signing.verify import verify_pdf

from .conftest import ARTIFACTS, TESTDATA, make_pdf
from .test_sign_verify import pdfsig

OUT = ARTIFACTS / "markup"
JST = ZoneInfo("Asia/Tokyo")
PAGE_H = 841.89  # A4, as make_pdf writes it
FREETEXT = "第3条の「速やかに」は「7日以内に」と修正願います。予算額も要再確認。"
AUTHOR = "鈴木 花子（係長）"

HIGHLIGHT_RECTS = [(56.0, 776.0, 300.0, 790.0), (56.0, 762.0, 200.0, 776.0)]
NOTE_BOX = (400.0, 600.0, 422.0, 622.0)
FREETEXT_BOX = (300.0, 420.0, 540.0, 490.0)
INK = [[(100.0, 300.0), (150.0, 350.0), (200.0, 300.0)], [(230.0, 320.0)]]
INK_RED = (220, 30, 30)


def all_kinds(page: int = 0) -> list[Mark]:
    when = dt.datetime(2026, 11, 22, 14, 5, tzinfo=JST)
    base = Mark(page, "note", [], author=AUTHOR, subject="課長決裁", created=when)
    return [
        replace(base, kind="highlight", rects=HIGHLIGHT_RECTS, text="ここ要確認", name="a-1"),
        replace(base, kind="note", rects=[NOTE_BOX], text="日付を確認してください。", name="a-2"),
        replace(base, kind="freetext", rects=[FREETEXT_BOX], text=FREETEXT, name="a-3"),
        replace(base, kind="ink", strokes=INK, color=INK_RED, name="a-4"),
    ]


def sign(pki: KeyStore, data: bytes, key: str, field: str, x: float) -> bytes:
    out = io.BytesIO()
    sign_approval(
        data,
        out,
        position_key_id=key,
        reason=f"承認 {field}",
        signer_name="佐藤 太郎",
        field_name=field,
        box=(0, x, 700, x + 70, 770),
    )
    return out.getvalue()


def mark(data: bytes, marks: list[Mark]) -> bytes:
    out = io.BytesIO()
    written = add_marks(data, out, marks)
    result = out.getvalue()
    assert written == len(result)
    return result


def annots_of(data: bytes, page: int = 0) -> list[generic.DictionaryObject]:
    reader = PdfFileReader(io.BytesIO(data))
    page_obj = reader.root["/Pages"]["/Kids"][page].get_object()
    return [a.get_object() for a in page_obj.get("/Annots", [])]


def render(data: bytes, name: str, page: int = 1) -> Image.Image:
    OUT.mkdir(parents=True, exist_ok=True)
    pdf = OUT / f"{name}.pdf"
    pdf.write_bytes(data)
    pages = ["-f", str(page), "-l", str(page)]
    command = ["pdftoppm", "-r", "72", "-png", *pages, "-singlefile", str(pdf), str(OUT / name)]
    subprocess.run(command, check=True)
    return Image.open(OUT / f"{name}.png").convert("RGB")


def crop(
    img: Image.Image, rect: tuple[float, float, float, float], inset: float = 2
) -> Image.Image:
    """The pixels of a PDF rectangle (points, origin bottom left) at 72 dpi."""
    x1, y1, x2, y2 = rect
    height = img.height
    return img.crop(
        (
            round(x1 + inset),
            round(height - y2 + inset),
            round(x2 - inset),
            round(height - y1 - inset),
        )
    )


def dark_pixels(img: Image.Image, below: int = 100) -> int:
    gray = img.convert("L")
    return sum(count for value, count in enumerate(gray.histogram()) if value < below)


# --- signatures around the marks ---------------------------------------------------------------


def test_marks_between_two_signatures_keep_both_valid(pki: KeyStore, tmp_path: Path) -> None:
    first = sign(pki, make_pdf(2), "somu-hosa", "stamp-1", 380)
    marked = mark(first, all_kinds())
    assert marked.startswith(first)  # an incremental update: earlier bytes untouched
    revisions = PdfFileReader(io.BytesIO(first)).xrefs.total_revisions
    assert PdfFileReader(io.BytesIO(marked)).xrefs.total_revisions == revisions + 1

    # marks nobody has signed yet: acceptable to the first signature, but not a valid record
    with translation.override("en"):
        report = verify_pdf(marked)
    assert not report.valid and report.signatures[0].modification == "annotations"
    assert "signed by nobody" in (report.problem or "")
    assert any("/Highlight added on page 1" in c for c in report.unsigned_changes)

    final = sign(pki, marked, "somu-kacho", "stamp-2", 460)
    report = verify_pdf(final)
    assert report.valid, report.as_dict()
    assert [s.modification for s in report.signatures] == ["annotations", "none"]
    assert all(s.intact for s in report.signatures)

    path = tmp_path / "final.pdf"
    path.write_bytes(final)
    sigs = pdfsig(path)
    assert len(sigs) == 2
    assert all(s["Signature Validation"].startswith("Signature is Valid") for s in sigs), sigs
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    # marks and both seals on one page: tests/artifacts/markup/signed.png
    assert dark_pixels(crop(render(final, "signed"), FREETEXT_BOX, inset=3)) > 300

    annots = {a["/NM"]: a for a in annots_of(final) if a["/Subtype"] != "/Widget"}
    assert {k: a["/Subtype"] for k, a in annots.items()} == {
        "a-1": "/Highlight",
        "a-2": "/Text",
        "a-3": "/FreeText",
        "a-4": "/Ink",
    }
    page_ref = PdfFileReader(io.BytesIO(final)).root["/Pages"]["/Kids"].raw_get(0).reference
    for a in annots.values():
        assert "/A" not in a and "/AA" not in a
        assert isinstance(a["/AP"]["/N"], generic.StreamObject)
        assert a["/F"] & 4  # printed
        assert a.raw_get("/P").reference == page_ref
        assert a["/T"] == AUTHOR and a["/Subj"] == "課長決裁"
        assert a["/M"] == a["/CreationDate"] == "D:20261122140500+09'00'"
    assert annots["a-3"]["/Contents"] == FREETEXT and "/DA" in annots["a-3"]
    assert annots["a-2"]["/Open"] is False or annots["a-2"]["/Open"] == generic.BooleanObject(False)
    assert len(annots["a-1"]["/QuadPoints"]) == 8 * len(HIGHLIGHT_RECTS)
    assert [len(s) for s in annots["a-4"]["/InkList"]] == [6, 2]
    assert [float(c) for c in annots["a-4"]["/C"]] == pytest.approx(
        [c / 255 for c in INK_RED], abs=1e-3
    )
    gs = annots["a-1"]["/AP"]["/N"]["/Resources"]["/ExtGState"]["/GS0"]
    assert gs["/BM"] == "/Multiply" and 0.2 <= gs["/ca"] <= 0.6


def test_marks_on_a_page_with_an_indirect_annots_array(pki: KeyStore) -> None:
    """A page whose /Annots is an object of its own: that object is updated, and the policy
    still sees only annotations."""
    w = IncrementalPdfFileWriter(io.BytesIO(make_pdf(1)))
    page_ref, _ = w.find_page_for_modification(0)
    square = w.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Square"),
                pdf_name("/Rect"): generic.ArrayObject(
                    [generic.FloatObject(v) for v in (50, 50, 90, 90)]
                ),
            }
        )
    )
    array_ref = w.add_object(generic.ArrayObject([square]))
    page_ref.get_object()[pdf_name("/Annots")] = array_ref
    w.mark_update(page_ref)
    buf = io.BytesIO()
    w.write(buf)
    signed = sign(pki, buf.getvalue(), "somu-hosa", "stamp-1", 380)

    marked = mark(signed, all_kinds())
    reader = PdfFileReader(io.BytesIO(marked))
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    assert page.raw_get("/Annots").reference == array_ref.reference
    subtypes = [a.get_object()["/Subtype"] for a in page["/Annots"]]
    assert subtypes[0] == "/Square" and subtypes.count("/Widget") == 1
    assert {"/Highlight", "/Text", "/FreeText", "/Ink"} <= set(subtypes)
    report = verify_pdf(sign(pki, marked, "somu-kacho", "stamp-2", 460))
    assert report.valid and report.signatures[0].modification == "annotations", report.as_dict()
    assert len(report.signatures[1].covers) == 4, report.signatures[1].covers


# --- what a reader sees ------------------------------------------------------------------------


def test_rendered_marks() -> None:
    source = make_pdf(1)
    before = render(source, "unmarked")
    after = render(mark(source, all_kinds()), "marked")  # look at tests/artifacts/markup/marked.png

    for rect in HIGHLIGHT_RECTS:
        r, g, b = ImageStat.Stat(crop(after, rect)).mean
        assert r > 150 and b < r - 25, (rect, r, g, b)  # tinted yellow, text still visible
        assert ImageStat.Stat(crop(before, rect)).mean[2] > b + 20

    box = crop(after, FREETEXT_BOX, inset=3)
    assert dark_pixels(crop(before, FREETEXT_BOX)) == 0
    assert dark_pixels(box) > 300  # the Japanese text, drawn
    text_bbox = Image.eval(box.convert("L"), lambda v: 255 if v < 100 else 0).getbbox()
    assert text_bbox is not None and text_bbox[2] - text_bbox[0] > 150  # wrapped to the box
    r, g, b = ImageStat.Stat(crop(after, (FREETEXT_BOX[0], 425, FREETEXT_BOX[2], 430))).mean
    assert b < 150 < r  # the slip's yellow fill

    note = crop(after, NOTE_BOX)
    assert ImageStat.Stat(note).mean[2] < 200 and dark_pixels(note, 160) > 0

    (x1, y1), (x2, y2) = INK[0][:2]
    mid = after.getpixel((round((x1 + x2) / 2), round(PAGE_H - (y1 + y2) / 2)))
    assert isinstance(mid, tuple) and mid[0] > 150 and mid[1] < 120 and mid[2] < 120, mid
    dot = after.getpixel((round(INK[1][0][0]), round(PAGE_H - INK[1][0][1])))
    assert isinstance(dot, tuple) and dot[1] < 200, dot  # a single tap is a dot


def test_free_text_reads_upright_on_rotated_pages() -> None:
    source = (TESTDATA / "habibi-rotated.pdf").read_bytes()
    reader = PdfFileReader(io.BytesIO(source))
    pages = [reader.find_page_for_modification(i)[0].get_object() for i in range(4)]
    rotations = [int(p.get("/Rotate", 0)) % 360 for p in pages]
    assert sorted(rotations) == [0, 90, 180, 270]
    # a box wide as the reader sees the page: tall in the page's own space when turned 90°
    wide, tall = (150.0, 300.0, 450.0, 340.0), (300.0, 150.0, 340.0, 450.0)
    marks = [
        Mark(
            page=p,
            kind="freetext",
            rects=[tall if r in (90, 270) else wide],
            text="回転した頁の付箋",
        )
        for p, r in enumerate(rotations)
    ]
    marked = mark(source, marks)
    for page in range(4):
        img = render(marked, f"rotated-{page + 1}", page + 1)
        ink = Image.eval(img.convert("L"), lambda v: 255 if v < 100 else 0)
        red, _, blue = img.split()
        yellow = ImageChops.darker(
            Image.eval(red, lambda v: 255 if v > 200 else 0),
            Image.eval(blue, lambda v: 255 if v < 120 else 0),
        ).getbbox()
        assert yellow is not None
        text = ink.crop(yellow).getbbox()
        assert text is not None, page
        # one line of text, as the reader holds the page: much wider than tall
        assert text[2] - text[0] > 3 * (text[3] - text[1]), (page, text)


# --- the revision itself -----------------------------------------------------------------------


def test_one_incremental_revision_for_marks_on_several_pages() -> None:
    source = make_pdf(3)
    marked = mark(source, all_kinds(0) + all_kinds(2))
    assert marked.startswith(source)
    assert PdfFileReader(io.BytesIO(marked)).xrefs.total_revisions == 2
    assert len(annots_of(marked, 0)) == 4 and len(annots_of(marked, 2)) == 4
    assert annots_of(marked, 1) == []


def test_no_marks_writes_nothing() -> None:
    out = io.BytesIO()
    assert add_marks(make_pdf(1), out, []) == 0
    assert out.getvalue() == b""


def test_stream_input_and_default_fields() -> None:
    source = make_pdf(1)
    note = Mark(page=0, kind="note", rects=[NOTE_BOX], text="確認")
    # an ink mark's box may be left empty: the strokes give it
    ink = Mark(page=0, kind="ink", rects=[(0, 0, 0, 0)], strokes=[[(10, 10), (40, 30)]])
    out = io.BytesIO()
    add_marks(io.BytesIO(source), out, [note, note, ink])
    annots = annots_of(out.getvalue())
    names = [a["/NM"] for a in annots]
    assert len(set(names)) == 3 and all(n.startswith("ekessai-annot-") for n in names)
    assert all("/T" not in a and "/M" in a for a in annots)
    assert [float(v) for v in annots[2]["/Rect"]] == [8, 8, 42, 32]


def test_marks_cannot_carry_actions() -> None:
    assert {f.name for f in fields(Mark)} == {
        "page",
        "kind",
        "rects",
        "strokes",
        "text",
        "color",
        "author",
        "subject",
        "created",
        "name",
        "border",
        "font_size",
    }
    with pytest.raises(TypeError):
        Mark(page=0, kind="note", rects=[NOTE_BOX], text="x", action="/URI")  # type: ignore[call-arg]
    url = "https://example.org/ javascript:app.alert(1)"
    marked = mark(
        make_pdf(1),
        [
            Mark(page=0, kind="freetext", rects=[FREETEXT_BOX], text=url),
            Mark(page=0, kind="highlight", rects=HIGHLIGHT_RECTS, text=url),
        ],
    )
    for a in annots_of(marked):
        assert "/A" not in a and "/AA" not in a and a["/Contents"] == url
    assert b"/JavaScript" not in marked and b"/URI" not in marked


# --- refusals ----------------------------------------------------------------------------------


def _refused(pdf: bytes, marks: list[Mark], message: str) -> None:
    out = io.BytesIO()
    with pytest.raises(MarkupFailed, match=message):
        add_marks(pdf, out, marks)
    assert out.getvalue() == b""


def test_encrypted_pdfs_are_refused(tmp_path: Path) -> None:
    note = [Mark(page=0, kind="note", rects=[NOTE_BOX], text="x")]
    _refused((TESTDATA / "libreoffice-writer-password.pdf").read_bytes(), note, "encrypted")
    plain, locked = tmp_path / "plain.pdf", tmp_path / "locked.pdf"
    plain.write_bytes(make_pdf(1))
    # an empty user password: anyone can open it, and it is still encrypted
    subprocess.run(
        ["qpdf", "--encrypt", "", "owner", "256", "--", str(plain), str(locked)], check=True
    )
    _refused(locked.read_bytes(), note, "encrypted")


def test_unreadable_input_is_refused() -> None:
    note = [Mark(page=0, kind="note", rects=[NOTE_BOX], text="x")]
    _refused(b"this is not a PDF at all", note, "cannot read the PDF")
    _refused(b"", note, "cannot read the PDF")
    _refused(make_pdf(1)[:200], note, "cannot read")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"page": 3}, "page 3 out of range: the PDF has 2 page"),
        ({"page": -1}, "page must be an index from 0"),
        ({"kind": "link"}, "unknown kind"),
        ({"text": "  "}, "needs text"),
        ({"rects": []}, "exactly one box"),
        ({"rects": [(10, 10, 10, 50)]}, "empty rectangle"),
        ({"rects": [(0, 0, float("nan"), 5)]}, "four finite numbers"),
        ({"color": (300, 0, 0)}, "colour"),
        ({"kind": "ink", "strokes": []}, "needs strokes"),
        ({"kind": "highlight", "rects": []}, "at least one rectangle"),
    ],
)
def test_invalid_marks_are_refused(change: dict[str, object], message: str) -> None:
    good = Mark(page=1, kind="freetext", rects=[FREETEXT_BOX], text="修正願います")
    _refused(make_pdf(2), [good, replace(good, **change)], message)  # type: ignore[arg-type]


# --- speed -------------------------------------------------------------------------------------


def test_speed_on_a_fifty_page_record(capsys: pytest.CaptureFixture[str]) -> None:
    source = make_pdf(50)
    marks = [m for page in (0, 10, 25, 49) for m in all_kinds(page)]
    mark(source, marks)  # warms the font cache, as a running server has it
    start = time.perf_counter()
    for _ in range(5):
        mark(source, marks)
    per_call = (time.perf_counter() - start) / 5
    with capsys.disabled():
        print(f"\nadd_marks, 50 pages, {len(marks)} marks: {per_call * 1000:.1f} ms")
    assert per_call < 1.0
