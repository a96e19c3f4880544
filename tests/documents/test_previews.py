"""documents.previews: page images rendered with PDFium, checked by decoding them with Pillow.

A few images are kept under tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import io
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from django.utils import translation
from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader

from documents.previews import (
    MAX_WIDTH,
    MIN_WIDTH,
    PreviewError,
    page_count,
    render_page,
    render_thumbnails,
)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # The assertions read the English messages; the UI's default language is Japanese.
    with translation.override("en"):
        yield


PDFS = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "pdfs"
if not PDFS.is_dir():
    PDFS = Path("/work/shared/testdata/pdfs")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORD_PDF = PDFS / "libreoffice-writer-password.pdf"
READABLE = sorted(p for p in PDFS.glob("*.pdf") if p != PASSWORD_PDF)


def numbered_pdf(pages: int, size: tuple[float, float] = (210, 297)) -> bytes:
    """What the record builder makes: fpdf2 pages, each with a large page number."""
    pdf = FPDF(unit="mm", format=size)
    pdf.set_font("helvetica", size=48)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.rect(10, 10, size[0] - 20, size[1] - 20)
        pdf.cell(text=f"Page {number} of {pages}")
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def long_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdfs") / "200-pages.pdf"
    path.write_bytes(numbered_pdf(200))
    return path


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def shown_aspect(path: Path, page: int = 1) -> float:
    """Width / height of the page as a viewer shows it, from pypdf, independently of PDFium."""
    pdf_page = PdfReader(path).pages[page - 1]
    width, height = float(pdf_page.cropbox.width), float(pdf_page.cropbox.height)
    return height / width if pdf_page.rotation % 180 else width / height


def keep(name: str, data: bytes) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(data)


# ---------------------------------------------------------------- page counts


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_page_count_matches_pypdf(path: Path) -> None:
    assert page_count(path) == len(PdfReader(path).pages)


def test_page_count_of_bytes_and_of_a_long_pdf(long_pdf: Path) -> None:
    assert page_count(long_pdf.read_bytes()) == 200
    assert page_count(str(long_pdf)) == 200


# ---------------------------------------------------------------- rendering


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_every_readable_sample_renders_page_one_at_the_asked_width(path: Path) -> None:
    image = decode(render_page(path, 1, width=400))
    assert image.format == "WEBP"
    assert image.width == 400
    assert image.height == pytest.approx(400 / shown_aspect(path), abs=1.5)


def test_rotated_page_comes_out_as_shown() -> None:
    path = PDFS / "habibi-rotated.pdf"
    first = PdfReader(path).pages[0]
    assert first.rotation % 180 == 90 and first.mediabox.width < first.mediabox.height
    data = render_page(path, 1, width=800, fmt="png")
    keep("habibi-rotated-p1.png", data)
    image = decode(data)
    assert image.size[0] == 800
    assert image.width > image.height  # stored portrait, shown landscape
    assert image.height == pytest.approx(800 * 595.28 / 841.89, abs=1.5)


def test_every_page_of_the_rotated_sample_keeps_its_shape() -> None:
    path = PDFS / "habibi-rotated.pdf"
    for number, data in render_thumbnails(path, width=200):
        image = decode(data)
        landscape = shown_aspect(path, number) > 1
        assert (image.width > image.height) == landscape, number


def test_page_shows_content_not_a_blank() -> None:
    image = decode(render_page(PDFS / "pdflatex-image.pdf", 1, width=600, fmt="png"))
    darkest, lightest = cast(tuple[int, int], image.convert("L").getextrema())
    assert darkest < 100 < lightest  # dark ink on a light page


def test_form_fields_and_annotations_are_drawn() -> None:
    keep("libreoffice-form-p1.png", render_page(PDFS / "libreoffice-form.pdf", 1, width=800,
                                                fmt="png"))  # fmt: skip
    keep("annotated-p1.png", render_page(PDFS / "annotated_pdf.pdf", 1, width=800, fmt="png"))


@pytest.mark.parametrize(("fmt", "pil_format"), [("webp", "WEBP"), ("png", "PNG"),
                                                  ("jpeg", "JPEG")])  # fmt: skip
def test_formats(fmt: str, pil_format: str) -> None:
    image = decode(render_page(PDFS / "minimal-document.pdf", 1, width=300, fmt=fmt))
    assert (image.format, image.mode, image.width) == (pil_format, "RGB", 300)


def test_quality_changes_the_size() -> None:
    path = PDFS / "pdflatex-image.pdf"
    low = render_page(path, 1, width=800, quality=20)
    high = render_page(path, 1, width=800, quality=95)
    assert len(low) < len(high)


def test_width_is_clamped() -> None:
    path = PDFS / "minimal-document.pdf"
    assert decode(render_page(path, 1, width=1)).width == MIN_WIDTH
    assert decode(render_page(path, 1, width=100_000)).width == MAX_WIDTH


def test_very_tall_page_is_drawn_narrower_with_its_shape() -> None:
    data = render_page(numbered_pdf(1, size=(50, 5000)), 1, width=2400)
    image = decode(data)
    assert image.width < 2400
    assert image.width * image.height <= 2400 * 2400 * 2
    assert image.height <= 16383  # the longest side WebP can hold
    assert image.height / image.width == pytest.approx(100, rel=0.02)


def test_encrypted_pdf_needs_its_password() -> None:
    with pytest.raises(PreviewError, match="password"):
        render_page(PASSWORD_PDF, 1, width=300)
    with pytest.raises(PreviewError, match="password"):
        page_count(PASSWORD_PDF, password="wrong")
    image = decode(render_page(PASSWORD_PDF, 1, width=300, password="openpassword"))
    assert image.width == 300


@pytest.mark.parametrize("page", [0, -1, 5, 10**9])
def test_pages_that_do_not_exist(page: int) -> None:
    with pytest.raises(PreviewError, match="has 4 pages"):
        render_page(PDFS / "pdflatex-4-pages.pdf", page, width=300)


@pytest.mark.parametrize(
    "source",
    [b"<!DOCTYPE html><html>not a pdf</html>", b"%PDF-1.7\n garbage", b""],
)
def test_unreadable_input(source: bytes) -> None:
    with pytest.raises(PreviewError, match="cannot be read"):
        render_page(source, 1, width=300)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PreviewError):
        page_count(tmp_path / "nothing.pdf")


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="fmt"):
        render_page(PDFS / "minimal-document.pdf", 1, width=300, fmt="gif")


# ---------------------------------------------------------------- thumbnails


def test_thumbnails_of_every_page() -> None:
    thumbnails = list(render_thumbnails(PDFS / "pdflatex-4-pages.pdf"))
    assert [number for number, _ in thumbnails] == [1, 2, 3, 4]
    assert {decode(data).width for _, data in thumbnails} == {160}


def test_thumbnails_of_chosen_pages(long_pdf: Path) -> None:
    thumbnails = dict(render_thumbnails(long_pdf, pages=[200, 1, 100], width=120, fmt="png"))
    assert list(thumbnails) == [200, 1, 100]
    keep("200-pages-thumb-p200.png", thumbnails[200])
    with pytest.raises(PreviewError):
        list(render_thumbnails(long_pdf, pages=[201]))


def test_abandoned_thumbnail_generator_releases_the_document(long_pdf: Path) -> None:
    thumbnails = render_thumbnails(long_pdf)
    next(thumbnails)
    thumbnails.close()
    assert render_page(long_pdf, 2, width=100)  # the lock was released


# ---------------------------------------------------------------- speed and threads


def test_first_page_of_a_long_pdf_costs_about_what_a_short_one_does(
    long_pdf: Path, tmp_path: Path
) -> None:
    short = tmp_path / "1-page.pdf"
    short.write_bytes(numbered_pdf(1))

    render_page(short, 1, width=800)  # warm up fonts and codecs
    keep("200-pages-p1.webp", render_page(long_pdf, 1, width=800))
    # Taken in turns, so that a busy moment on the machine hits both alike.
    times: dict[Path, list[float]] = {short: [], long_pdf: []}
    for _ in range(7):
        for path, spent in times.items():
            started = time.perf_counter()
            render_page(path, 1, width=800)
            spent.append(time.perf_counter() - started)
    one, two_hundred = (statistics.median(times[p]) for p in (short, long_pdf))
    assert two_hundred < one * 2 + 0.02, (one, two_hundred)


def test_renders_from_many_threads_at_once(long_pdf: Path) -> None:
    errors: list[BaseException] = []
    sizes: list[tuple[int, int]] = []

    def work(page: int) -> None:
        try:
            for source, number in [
                (long_pdf, 1 + page * 20),
                (PDFS / "habibi-rotated.pdf", 1 + page % 4),
                (PDFS / "cmyk-image.pdf", 1),
            ]:
                sizes.append(decode(render_page(source, number, width=240)).size)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(sizes) == 24
    assert all(width == 240 for width, _ in sizes)
