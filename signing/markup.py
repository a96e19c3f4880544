"""Approvers' marks (highlights, sticky notes, free-text comments, pen drawings) written into
the record as PDF annotations, in one incremental revision that holds nothing but new markup
annotations on existing pages: earlier signatures stay intact, and
:data:`signing.diffpolicy.ANNOTATION_DIFF_POLICY` reports the revision as ``"annotations"``. The API
has no way to express an action (``/A``, ``/AA``), which that policy would reject.

Every annotation has an appearance stream: without one pdf.js, poppler and printers draw
nothing, or their own idea of it. Free text is an image rasterised with Noto Sans JP, not text
in a PDF font (DESIGN.md §4: wrong glyph widths; a viewer rebuilding it from ``/DA`` has no
Japanese glyphs); ``/Contents`` keeps the text for search, copy and other tools.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, BinaryIO

from PIL import Image, ImageDraw, ImageFont
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from .seal import font_path

Rect = tuple[float, float, float, float]
Point = tuple[float, float]
KINDS = frozenset({"highlight", "note", "freetext", "ink"})
HIGHLIGHT_OPACITY = 0.4
INK_WIDTH = 2.0
PRINT, NO_ROTATE = 4, 16  # annotation flags (/F)
FONT_SIZE = 10.5  # pt, the usual size of Japanese official documents
MIN_FONT_SIZE = 6.0
PADDING = 3.0  # pt between the free-text border and the text
MAX_TEXT_PIXELS = 4_000_000  # caps the raster of a page-sized comment box
# characters that must not begin a line (行頭禁則): pushed down with the character before them
NO_LINE_START = frozenset(
    "、。，．,.)）」』】〉》〕]｝}!！?？・:：;；ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮ々"
)


@dataclass(frozen=True)
class Mark:
    page: int  # 0-based page index in the record
    kind: str  # "highlight" | "note" | "freetext" | "ink"
    # (x1, y1, x2, y2) in PDF points, origin bottom left. highlight: one per line;
    # note / freetext: one box; ink: may be empty (the bounding box of the strokes is used)
    rects: Sequence[Rect]
    strokes: Sequence[Sequence[Point]] = ()  # ink only: polylines in PDF points
    text: str = ""  # note / freetext content; a highlight may carry a comment
    color: tuple[int, int, int] = (255, 235, 59)  # RGB 0-255
    author: str = ""  # /T, e.g. "鈴木 花子（係長）"
    subject: str = ""  # /Subj, e.g. the stage "課長決裁"
    created: dt.datetime | None = None  # /M and /CreationDate; None: now
    name: str = ""  # /NM, a stable unique id; empty: a random one
    # freetext: a border in a darker shade of the colour (a slip); False for text set into a
    # printed cell (the document number in the cover's table), which has its own border
    border: bool = True
    font_size: float = 0.0  # freetext: the largest size tried (0: FONT_SIZE), shrunk to fit


class MarkupFailed(Exception):
    """The marks could not be written (unreadable or encrypted PDF, invalid mark)."""


# --- checking the marks ------------------------------------------------------------------------


def _finite(*values: float) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


def _rects(mark: Mark, where: str) -> list[Rect]:
    """The rectangles normalised; an ink mark's empty box is dropped (its strokes decide)."""
    out = []
    for r in mark.rects:
        if len(r) != 4 or not _finite(*r):
            raise MarkupFailed(f"{where}: a rectangle needs four finite numbers, got {r!r}")
        x1, y1, x2, y2 = (float(v) for v in r)
        x1, x2, y1, y2 = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
        if x2 - x1 < 0.5 or y2 - y1 < 0.5:
            if mark.kind == "ink":
                continue
            raise MarkupFailed(f"{where}: empty rectangle {r!r}")
        out.append((x1, y1, x2, y2))
    return out


def _check(mark: Mark, index: int) -> None:
    where = f"mark {index} ({mark.kind!r})"
    if mark.kind not in KINDS:
        raise MarkupFailed(f"{where}: unknown kind; use one of {sorted(KINDS)}")
    if not isinstance(mark.page, int) or mark.page < 0:
        raise MarkupFailed(f"{where}: page must be an index from 0, got {mark.page!r}")
    if len(mark.color) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in mark.color):
        raise MarkupFailed(f"{where}: colour must be three integers 0-255, got {mark.color!r}")
    rects = _rects(mark, where)
    if mark.kind == "highlight" and not rects:
        raise MarkupFailed(f"{where}: a highlight needs at least one rectangle")
    if mark.kind in ("note", "freetext") and len(rects) != 1:
        raise MarkupFailed(f"{where}: needs exactly one box, got {len(rects)}")
    if mark.kind in ("note", "freetext") and not mark.text.strip():
        raise MarkupFailed(f"{where}: needs text")
    if mark.kind == "ink" and (not mark.strokes or not all(mark.strokes)):
        raise MarkupFailed(f"{where}: needs strokes of at least one point each")
    if not all(len(p) == 2 and _finite(*p) for stroke in mark.strokes for p in stroke):
        raise MarkupFailed(f"{where}: stroke points must be pairs of finite numbers")


# --- PDF helpers -------------------------------------------------------------------------------


def _n(v: float) -> str:
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _ops(*parts: str) -> bytes:
    return "\n".join(parts).encode("ascii")


def _pdf(value: Any) -> Any:
    """Plain Python to PDF objects; a str here is always a name (text goes in as pdf_string)."""
    if isinstance(value, generic.PdfObject):
        return value
    if isinstance(value, bool):
        return generic.BooleanObject(value)
    if isinstance(value, int):
        return generic.NumberObject(value)
    if isinstance(value, float):
        return generic.FloatObject(round(value, 3))
    if isinstance(value, str):
        return pdf_name(value)
    if isinstance(value, dict):
        return generic.DictionaryObject({pdf_name(k): _pdf(v) for k, v in value.items()})
    return generic.ArrayObject([_pdf(v) for v in value])


def _rgb(color: tuple[int, int, int], factor: float = 1.0) -> tuple[float, ...]:
    return tuple(round(c * factor / 255, 3) for c in color)


def _paint(color: tuple[int, int, int], op: str, factor: float = 1.0) -> str:
    return " ".join(_n(c) for c in _rgb(color, factor)) + f" {op}"


def _union(rects: Sequence[Rect], pad: float = 0.0) -> Rect:
    x1, y1, x2, y2 = zip(*rects, strict=True)
    return min(x1) - pad, min(y1) - pad, max(x2) + pad, max(y2) + pad


def _form(
    writer: IncrementalPdfFileWriter, bbox: Rect, ops: bytes, resources: dict[str, Any]
) -> generic.IndirectObject:
    """A form XObject whose BBox is the annotation's Rect in page space: with no /Matrix the
    viewer maps it onto the Rect unchanged, so the ops draw in page coordinates."""
    head = {"/Type": "/XObject", "/Subtype": "/Form", "/BBox": bbox, "/Resources": resources}
    stream = generic.StreamObject(_pdf(head), stream_data=ops)
    stream.compress()
    return writer.add_object(stream)


def _inherited(node: Any, key: str) -> Any:
    for _ in range(32):  # a bound: page trees can be circular
        if key in node or "/Parent" not in node:
            return node.get(key)
        node = node["/Parent"]
    return None


def _frame(box: Rect, rotate: int) -> tuple[float, float, tuple[float, ...]]:
    """(width, height, matrix) of ``box`` as the reader sees it on a page shown turned by
    ``rotate`` degrees: drawing in 0..width × 0..height under the matrix comes out upright."""
    x1, y1, x2, y2 = box
    turns = {90: (0, 1, -1, 0, x2, y1), 180: (-1, 0, 0, -1, x2, y2), 270: (0, -1, 1, 0, x1, y2)}
    m = turns.get(rotate, (1, 0, 0, 1, x1, y1))
    return (y2 - y1, x2 - x1, m) if rotate in (90, 270) else (x2 - x1, y2 - y1, m)


# --- the four kinds ----------------------------------------------------------------------------


def _highlight(w: IncrementalPdfFileWriter, mark: Mark, rotate: int) -> dict[str, Any]:
    rects = _rects(mark, "highlight")
    bbox = _union(rects)
    quads: list[float] = []
    fills = []
    for x1, y1, x2, y2 in rects:
        # the order every viewer expects (not the spec's): top left, top right, bottom left, …
        quads += [x1, y2, x2, y2, x1, y1, x2, y1]
        fills.append(f"{_n(x1)} {_n(y1)} {_n(x2 - x1)} {_n(y2 - y1)} re")
    # Multiply keeps the text under the highlight black instead of painting over it
    gs = {"/Type": "/ExtGState", "/BM": "/Multiply", "/ca": HIGHLIGHT_OPACITY}
    gs["/CA"] = HIGHLIGHT_OPACITY
    ops = _ops("/GS0 gs", _paint(mark.color, "rg"), *fills, "f")
    ap = _form(w, bbox, ops, {"/ExtGState": {"/GS0": gs}})
    return {"/Subtype": "/Highlight", "/Rect": bbox, "/QuadPoints": quads, "/AP": ap}


def _note(w: IncrementalPdfFileWriter, mark: Mark, rotate: int) -> dict[str, Any]:
    (box,) = _rects(mark, "note")
    # drawn unturned, with NoRotate: poppler and pdf.js keep sticky notes upright on turned
    # pages by themselves (and so turned our own turning back), pdfium only when /F says so
    width, height, m = _frame(box, 0)
    # a speech bubble with three text lines, in the frame of the reader's view
    body = height * 0.28
    lines = [
        f"{_n(width * 0.2)} {_n(body + (height - body) * f)} m "
        f"{_n(width * (0.8 if f < 0.7 else 0.65))} {_n(body + (height - body) * f)} l"
        for f in (0.3, 0.52, 0.74)
    ]
    ops = _ops(
        "q",
        " ".join(_n(v) for v in m) + " cm",
        f"{_paint(mark.color, 'rg')} {_paint(mark.color, 'RG', 0.45)} 1 w 1 j",
        f"0.5 {_n(body)} m 0.5 {_n(height - 0.5)} l {_n(width - 0.5)} {_n(height - 0.5)} l",
        f"{_n(width - 0.5)} {_n(body)} l {_n(width * 0.45)} {_n(body)} l",
        f"{_n(width * 0.2)} 0.5 l {_n(width * 0.25)} {_n(body)} l h B",
        f"{_n(max(0.8, height / 16))} w 1 J",
        *lines,
        "S Q",
    )
    return {
        "/Subtype": "/Text",
        "/Rect": box,
        "/F": PRINT | NO_ROTATE,
        "/Name": "/Comment",
        "/Open": False,
        "/AP": _form(w, box, ops, {}),
    }


def _ink(w: IncrementalPdfFileWriter, mark: Mark, rotate: int) -> dict[str, Any]:
    strokes = [[(float(x), float(y)) for x, y in s] for s in mark.strokes]
    points = [p for s in strokes for p in s]
    bbox = _union([(*p, *p) for p in points], pad=INK_WIDTH)
    given = _rects(mark, "ink")
    if given:
        bbox = _union([bbox, *given])
    paths = []
    for s in strokes:
        if len(s) == 1:  # a tap: a dot, drawn by the round cap of a zero-length line
            s = [s[0], s[0]]
        paths.append(
            f"{_n(s[0][0])} {_n(s[0][1])} m " + " ".join(f"{_n(x)} {_n(y)} l" for x, y in s[1:])
        )
    ops = _ops(f"{_paint(mark.color, 'RG')} {_n(INK_WIDTH)} w 1 J 1 j", *paths, "S")
    return {
        "/Subtype": "/Ink",
        "/Rect": bbox,
        "/InkList": [[c for p in s for c in p] for s in strokes],
        "/BS": {"/W": INK_WIDTH},
        "/AP": _form(w, bbox, ops, {}),
    }


@lru_cache(maxsize=32)
def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(), px)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Break at any character (Japanese has no spaces), at the last space inside Latin words,
    and never before a closing mark (the character before it moves down with it)."""
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        line = ""
        for ch in para:
            if not line or font.getlength(line + ch) <= width:
                line += ch
                continue
            cut = line.rfind(" ")
            if ch == " ":
                head, line = line, ""
            elif ch in NO_LINE_START and len(line) > 1:
                head, line = line[:-1], line[-1] + ch
            elif ch.isascii() and ch.isalnum() and cut > 0 and line[cut + 1 :].isascii():
                head, line = line[:cut], line[cut + 1 :] + ch
            else:
                head, line = line, ch
            lines.append(head)
        lines.append(line)
    return lines


def _text_mask(
    text: str, width: float, height: float, start: float = FONT_SIZE, *, middle: bool = False
) -> Image.Image:
    """The text as an 8-bit coverage mask of the box (``width`` × ``height`` points), wrapped,
    shrunk down to MIN_FONT_SIZE to fit, cut with an ellipsis below that."""
    scale = min(4.0, math.sqrt(MAX_TEXT_PIXELS / max(width * height, 1.0)))
    px_w, px_h = max(1, round(width * scale)), max(1, round(height * scale))
    inner_w = (width - 2 * PADDING) * scale
    inner_h = (height - 2 * PADDING) * scale
    size = start
    while True:
        font = _font(max(1, round(size * scale)))
        line_h = size * 1.35 * scale
        lines = _wrap(text, font, inner_w)
        fits = len(lines) * line_h <= inner_h + size * 0.35 * scale
        if fits or size <= MIN_FONT_SIZE:
            break
        size -= 0.5
    if not fits:
        keep = max(1, int((inner_h + size * 0.35 * scale) // line_h))
        if keep < len(lines):
            last = lines[keep - 1]
            while last and font.getlength(last + "…") > inner_w:
                last = last[:-1]
            lines = [*lines[: keep - 1], last + "…"]
    mask = Image.new("L", (px_w, px_h), 0)
    draw = ImageDraw.Draw(mask)
    y = PADDING * scale
    if middle:  # set into a table cell: the lines centred on the cell's middle, as its text is
        for i, line in enumerate(lines):
            # fpdf2 sets the table's text a little above the middle of the row
            centre = px_h / 2 + (i - (len(lines) - 1) / 2) * line_h - size * 0.15 * scale
            draw.text((PADDING * scale, centre), line, font=font, fill=255, anchor="lm")
        return mask
    for line in lines:
        draw.text((PADDING * scale, y), line, font=font, fill=255)
        y += line_h
    return mask


def _image(w: IncrementalPdfFileWriter, mask: Image.Image, gray: int) -> generic.IndirectObject:
    """A flat ``gray`` image with ``mask`` as its soft mask: only the glyphs show, anti-aliased.
    The flat base compresses to almost nothing."""

    def xobject(data: bytes, **extra: Any) -> generic.IndirectObject:
        head = {"/Type": "/XObject", "/Subtype": "/Image", "/Width": mask.width}
        head |= {"/Height": mask.height, "/ColorSpace": "/DeviceGray", "/BitsPerComponent": 8}
        head |= {"/Filter": "/FlateDecode", **extra}
        return w.add_object(generic.StreamObject(_pdf(head), encoded_data=zlib.compress(data)))

    base = bytes([gray]) * (mask.width * mask.height)
    return xobject(base, **{"/SMask": xobject(mask.tobytes())})


def _freetext(w: IncrementalPdfFileWriter, mark: Mark, rotate: int) -> dict[str, Any]:
    (box,) = _rects(mark, "freetext")
    x1, y1, x2, y2 = box
    width, height, m = _frame(box, rotate)
    r, g, b = _rgb(mark.color)
    # the box is filled with the mark's colour, like a paper slip; the text is black or white,
    # whichever reads better on it
    gray = 0 if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else 255
    mask = _text_mask(mark.text, width, height, mark.font_size or FONT_SIZE, middle=not mark.border)
    image = _image(w, mask, gray)
    a, bb, c, d, e, f = m
    ops = _ops(
        f"{_paint(mark.color, 'rg')} {_paint(mark.color, 'RG', 0.55)} 1 w",
        f"{_n(x1 + 0.5)} {_n(y1 + 0.5)} {_n(x2 - x1 - 1)} {_n(y2 - y1 - 1)} re "
        + ("B" if mark.border else "f"),
        # the image fills the unit square: scale it to the reader's frame, then turn it
        f"q {_n(a * width)} {_n(bb * width)} {_n(c * height)} {_n(d * height)} {_n(e)} {_n(f)} cm",
        "/Im0 Do Q",
    )
    return {
        "/Subtype": "/FreeText",
        "/Rect": box,
        # for tools that rebuild the appearance; ours is what viewers draw
        "/DA": generic.pdf_string(f"/Helv {_n(FONT_SIZE)} Tf {gray // 255} g"),
        "/Q": 0,
        "/BS": {"/W": 1 if mark.border else 0},
        "/AP": _form(w, box, ops, {"/XObject": {"/Im0": image}}),
    }


_BUILDERS = {"highlight": _highlight, "note": _note, "freetext": _freetext, "ink": _ink}


# --- the revision ------------------------------------------------------------------------------


def _annotation(
    w: IncrementalPdfFileWriter, mark: Mark, page_ref: Any, rotate: int, now: dt.datetime
) -> generic.DictionaryObject:
    entries = _BUILDERS[mark.kind](w, mark, rotate)
    entries["/AP"] = {"/N": entries["/AP"]}
    when = mark.created or now
    if when.tzinfo is None:
        when = when.astimezone()  # naive: the server's local time
    date = generic.pdf_date(when.replace(microsecond=0))
    entries |= {"/Type": "/Annot", "/F": entries.get("/F", PRINT), "/P": page_ref}
    entries |= {"/C": _rgb(mark.color), "/M": date, "/CreationDate": date}
    entries["/NM"] = generic.pdf_string(mark.name or f"ekessai-annot-{uuid.uuid4()}")
    for key, value in (("/T", mark.author), ("/Subj", mark.subject), ("/Contents", mark.text)):
        if value:
            entries[key] = generic.pdf_string(value)
    return _pdf(entries)


def add_marks(pdf: bytes | BinaryIO, out: BinaryIO, marks: Sequence[Mark]) -> int:
    """Append one incremental revision with ``marks`` to ``pdf``, writing the whole new file to
    ``out`` (seekable, empty: the cross-reference offsets count from its start). Returns the
    bytes written; no marks → nothing is written and 0 returned.

    Raises :class:`MarkupFailed` for an unreadable or encrypted PDF, a page out of range or an
    invalid mark, before anything is written."""
    if not marks:
        return 0
    for i, mark in enumerate(marks):
        _check(mark, i)
    stream = io.BytesIO(bytes(pdf)) if isinstance(pdf, bytes | bytearray | memoryview) else pdf
    try:
        writer = IncrementalPdfFileWriter(stream, strict=False)
    except Exception as e:
        raise MarkupFailed(f"cannot read the PDF: {type(e).__name__}: {e}") from e
    write_marks(writer, marks)
    start = out.tell()
    writer.write(out)
    return out.tell() - start


def write_marks(writer: IncrementalPdfFileWriter, marks: Sequence[Mark]) -> None:
    """Add ``marks`` to the pending revision of ``writer``: the approval signature writes them
    in its own revision (`signing.signer.sign_approval`), so that no mark is ever left in a
    revision nobody signed. Raises :class:`MarkupFailed` as :func:`add_marks` does."""
    for i, mark in enumerate(marks):
        _check(mark, i)
    if writer.prev.encrypted:
        raise MarkupFailed("the PDF is encrypted; signed records must not be")
    try:
        count = int(writer.root["/Pages"]["/Count"])
    except Exception as e:
        raise MarkupFailed(f"cannot read the page tree: {e}") from e
    pages: dict[int, tuple[Any, int]] = {}
    now = dt.datetime.now(dt.UTC)
    for mark in marks:
        if mark.page >= count:
            raise MarkupFailed(f"page {mark.page} out of range: the PDF has {count} page(s)")
        try:  # a malformed page (say, /Annots not an array) must not escape as a random error
            if mark.page not in pages:
                ref, _ = writer.find_page_for_modification(mark.page)
                pages[mark.page] = ref, int(_inherited(ref.get_object(), "/Rotate") or 0) % 360
            page_ref, rotate = pages[mark.page]
            annot = writer.add_object(_annotation(writer, mark, page_ref, rotate, now))
            writer.register_annotation(page_ref, annot)
        except Exception as e:
            raise MarkupFailed(f"cannot mark page {mark.page}: {type(e).__name__}: {e}") from e
