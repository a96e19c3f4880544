"""Page images of PDFs, rendered on the server with PDFium.

An approver on a phone over a slow line sees page 1 as a small WebP long before a 20 MB PDF
would have downloaded. PDFium reads a document lazily (cross-reference table, then only the page
asked for), so the time to the first image does not grow with the number of pages.
"""

from __future__ import annotations

import io
import math
import os
import threading
from collections.abc import Generator, Iterable

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from PIL import Image

MIN_WIDTH = 64
MAX_WIDTH = 2400
# A very tall page (a long receipt, a strip map) at full width would need hundreds of MB of
# pixels; past this it is drawn narrower, keeping its aspect ratio.
MAX_PIXELS = MAX_WIDTH * MAX_WIDTH * 2
MAX_SIDE = 16383  # WebP cannot encode a longer side
FORMATS = {"webp": "WEBP", "png": "PNG", "jpeg": "JPEG"}

# PDFium is not thread-safe: it keeps process-wide state (font caches, the last error code, which
# is read after a failed call) with no locking of its own, and two threads inside it at once can
# corrupt memory. Every call into it, including closing what was opened, is made under this lock;
# objects are closed explicitly because pypdfium2 would otherwise close them from the garbage
# collector, in any thread, without the lock. It is re-entrant because an abandoned thumbnail
# generator is closed by the garbage collector, which may run while this thread holds the lock.
# Encoding the image (Pillow, which releases the GIL) happens outside it.
_PDFIUM_LOCK = threading.RLock()

Source = str | os.PathLike[str] | bytes


class PreviewError(Exception):
    """The page cannot be shown: it does not exist, or the file cannot be read as a PDF."""


_UNREADABLE = _("This file cannot be read as a PDF; it may be damaged.")
_PASSWORD = _("This PDF is protected by a password, and the password is missing or wrong.")


def _input(source: Source) -> str | bytes:
    return source if isinstance(source, bytes) else os.fspath(source)


def _open(source: Source, password: str | None) -> pdfium.PdfDocument:
    """Called with the lock held; the caller closes the document under it too."""
    try:
        document = pdfium.PdfDocument(_input(source), password=password)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise PreviewError(_PASSWORD) from exc
        raise PreviewError(_UNREADABLE) from exc
    except (OSError, ValueError) as exc:
        raise PreviewError(_UNREADABLE) from exc
    try:
        # Form fields are drawn only if the form environment exists before pages are loaded.
        document.init_forms()
    except Exception:
        document.close()
        raise
    return document


def _render(document: pdfium.PdfDocument, page: int, width: int) -> Image.Image:
    count = len(document)
    if not isinstance(page, int) or not 1 <= page <= count:
        message = _("Page %(page)s does not exist; this PDF has %(count)s pages.")
        raise PreviewError(lazy(lambda: str(message) % {"page": page, "count": count}, str)())
    pdf_page = document[page - 1]
    try:
        # In points, with the page's /Rotate already applied: a page stored portrait and shown
        # landscape comes out landscape.
        page_width, page_height = pdf_page.get_size()
        if page_width <= 0 or page_height <= 0:
            raise PreviewError(_("This page has no size and cannot be shown."))
        area = page_width * page_height
        scale = min(width / page_width, math.sqrt(MAX_PIXELS / area), MAX_SIDE / page_height)
        # pypdfium2 rounds the bitmap size up; a hair less keeps 800.0000001 from becoming 801.
        bitmap = pdf_page.render(scale=scale * (1 - 1e-9), may_draw_forms=True)
        try:
            image = bitmap.to_pil()
            # BGR → RGB conversion already copies, but an RGBX bitmap would be shared memory.
            return image if image.mode == "RGB" else image.convert("RGB")
        finally:
            bitmap.close()
    finally:
        pdf_page.close()


def _encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt == "webp":
        # Encoding, not PDFium (~10 ms a page), is most of the time to the first image. Measured
        # on A4 pages at width 800: method 2 is within 2-3% of the default 4's size in half the
        # time or less; 0 and 1 are 15-25% larger, which a slow line pays on every view.
        image.save(out, "WEBP", quality=quality, method=2)
    elif fmt == "jpeg":
        # Progressive, so that a slow line shows the whole page blurred first.
        image.save(out, "JPEG", quality=quality, progressive=True, optimize=True)
    else:
        image.save(out, "PNG", compress_level=6)
    return out.getvalue()


def _check(fmt: str, width: int) -> int:
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {sorted(FORMATS)}, not {fmt!r}")
    return min(max(int(width), MIN_WIDTH), MAX_WIDTH)


def page_count(source: Source, *, password: str | None = None) -> int:
    with _PDFIUM_LOCK:
        document = _open(source, password)
        try:
            return len(document)
        finally:
            document.close()


def render_page(
    source: Source,
    page: int,
    *,
    width: int,
    fmt: str = "webp",
    quality: int = 80,
    password: str | None = None,
) -> bytes:
    """Page `page` (1-based) as an image `width` pixels wide (clamped to 64..2400)."""
    width = _check(fmt, width)
    with _PDFIUM_LOCK:
        document = _open(source, password)
        try:
            image = _render(document, page, width)
        finally:
            document.close()
    return _encode(image, fmt, quality)


def render_thumbnails(
    source: Source,
    *,
    width: int = 160,
    pages: Iterable[int] | None = None,
    fmt: str = "webp",
    quality: int = 70,
    password: str | None = None,
) -> Generator[tuple[int, bytes], None, None]:
    """(page number, image) for every page, or for `pages`, opening the document once.

    Close the generator (or exhaust it) to release the document at once.

    The lock is taken per page, not for the whole iteration, so a slow consumer does not stall
    every other preview in the process.
    """
    width = _check(fmt, width)
    with _PDFIUM_LOCK:
        document = _open(source, password)
        count = len(document)
    try:
        for number in range(1, count + 1) if pages is None else pages:
            with _PDFIUM_LOCK:
                image = _render(document, number, width)
            yield number, _encode(image, fmt, quality)
    finally:
        with _PDFIUM_LOCK:
            document.close()
