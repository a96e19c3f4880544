"""Images and office files in the decision record."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from documents.record import (
    ConversionError,
    OfficeConverter,
    RecordResult,
)
from tests.documents.record_support import *  # noqa: F403  (the shared builders and checks)

# --- images ---------------------------------------------------------------------------------------


def image_pages(data: bytes, result: RecordResult, filename: str) -> list[Any]:
    reader = PdfReader(io.BytesIO(data))
    part = next(p for p in result.parts if p.filename == filename)
    return [reader.pages[start(part) - 1 + i] for i in range(part.page_count)]


def test_jpeg_is_copied_losslessly_and_png_keeps_transparency(tmp_path: Path) -> None:
    jpeg, png = jpeg_bytes(), png_bytes(alpha=True)
    inputs = [make_input(1, "photo.jpg", jpeg, "image"), make_input(2, "plan.png", png, "image")]
    data, result = build(make_cover(), inputs)
    qpdf_check(data, tmp_path)
    [page] = image_pages(data, result, "photo.jpg")
    [xobject] = [x.get_object() for x in page["/Resources"]["/XObject"].values()]
    assert xobject["/Filter"] == "/DCTDecode" and xobject.get_data() == jpeg
    [page] = image_pages(data, result, "plan.png")
    [xobject] = [x.get_object() for x in page["/Resources"]["/XObject"].values()]
    assert "/SMask" in xobject


def test_image_pages_are_a4_landscape_when_wide() -> None:
    inputs = [
        make_input(1, "wide.png", png_bytes((1600, 600), alpha=False), "image"),
        make_input(2, "tall.png", png_bytes((600, 1600), alpha=False), "image"),
    ]
    data, result = build(make_cover(), inputs)
    [wide] = image_pages(data, result, "wide.png")
    [tall] = image_pages(data, result, "tall.png")
    assert (round(float(wide.mediabox.width)), round(float(wide.mediabox.height))) == (842, 595)
    assert (round(float(tall.mediabox.width)), round(float(tall.mediabox.height))) == (595, 842)


def test_exif_rotated_photo_is_upright(tmp_path: Path) -> None:
    """A phone photo stored landscape with orientation 6 (turn 90° clockwise) shows portrait;
    the red band at the stored top-left ends up at the top right."""
    jpeg = jpeg_bytes((800, 600), orientation=6)
    data, result = build(make_cover(), [make_input(1, "phone.jpg", jpeg, "image")])
    [page] = image_pages(data, result, "phone.jpg")
    assert float(page.mediabox.width) < float(page.mediabox.height)
    [png] = render(
        data,
        tmp_path / "rotated",
        first=result.parts[0].first_page,
        last=result.parts[0].first_page,
        dpi=30,
    )
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        w, h = rgb.size
        red = [
            (x, y)
            for x in range(w)
            for y in range(h)
            if pixel(rgb, x, y)[0] > 150 > pixel(rgb, x, y)[1]
        ]
    assert red
    # A vertical band along the right edge, in the upper half.
    assert min(x for x, _ in red) > 0.8 * w and max(y for _, y in red) < 0.6 * h
    assert max(y for _, y in red) - min(y for _, y in red) > 3 * (
        max(x for x, _ in red) - min(x for x, _ in red)
    )
    [xobject] = [x.get_object() for x in page["/Resources"]["/XObject"].values()]
    assert xobject.get_data() == jpeg  # turned by the page, not re-encoded


def test_multipage_tiff_gives_a_page_per_frame_and_gif_one() -> None:
    frames = [Image.new("L", (300, 400), shade) for shade in (40, 200)]
    tiff = io.BytesIO()
    frames[0].save(tiff, "TIFF", save_all=True, append_images=frames[1:])
    gif = io.BytesIO()
    frames[0].convert("P").save(gif, "GIF", save_all=True, append_images=[frames[1].convert("P")])
    inputs = [
        make_input(1, "fax.tiff", tiff.getvalue(), "image"),
        make_input(2, "anim.gif", gif.getvalue(), "image"),
    ]
    _, result = build(make_cover(), inputs)
    assert [p.page_count for p in result.parts] == [2, 1]


# --- office files ---------------------------------------------------------------------------------


def test_office_file_without_libreoffice_is_embedded_with_a_note() -> None:
    xlsx = xlsx_bytes(["a"])
    data, result = build(
        make_cover(),
        [make_input(1, "見積書.xlsx", xlsx, "office")],
        office_converter=AbsentConverter(),
    )
    [part] = result.parts
    assert part.treatment == "embedded" and part.first_page is None and part.page_count == 0
    assert "LibreOffice" in part.note
    assert PdfReader(io.BytesIO(data)).attachments["見積書.xlsx"] == [xlsx]


def test_failed_conversion_is_embedded_with_the_reason() -> None:
    _, result = build(
        make_cover(),
        [make_input(1, "壊れた.docx", b"PK\x03\x04junk", "office")],
        office_converter=FailingConverter(),
    )
    [part] = result.parts
    assert part.treatment == "embedded" and "source file could not be loaded" in part.note


def test_converter_reports_absence_and_times_out(tmp_path: Path) -> None:
    assert not OfficeConverter(binary=str(tmp_path / "no-such-soffice")).available()
    slow = tmp_path / "slow-soffice"
    slow.write_text("#!/bin/sh\nsleep 30 &\nwait\n")
    slow.chmod(0o755)
    converter = OfficeConverter(binary=str(slow), timeout=0.5)
    assert converter.available()
    source = tmp_path / "input.docx"
    source.write_bytes(docx_bytes("x"))
    with pytest.raises(ConversionError, match="timed out"):
        converter.convert(source, tmp_path)


@pytest.mark.skipif(
    not OfficeConverter().available(), reason="LibreOffice (soffice) is not installed"
)
def test_office_files_are_converted_and_kept(tmp_path: Path) -> None:
    docx = docx_bytes("仕様書テスト本文 ABC", font="ＭＳ 明朝")
    xlsx = xlsx_bytes(["品名", "清掃業務", "3200000"])
    inputs = [
        make_input(1, "仕様書.docx", docx, "office"),
        make_input(2, "見積書.xlsx", xlsx, "office"),
    ]
    data, result = build(make_cover(), inputs)
    qpdf_check(data, tmp_path)
    assert [p.treatment for p in result.parts] == ["pages", "pages"], result.parts
    reader = PdfReader(io.BytesIO(data))
    text = page_at(reader, start(result.parts[0])).extract_text()
    assert "仕様書テスト本文" in text
    assert "清掃業務" in page_at(reader, start(result.parts[1])).extract_text()
    assert reader.attachments["仕様書.docx"] == [docx] and reader.attachments["見積書.xlsx"] == [
        xlsx
    ]
    assert len(render(data, tmp_path / "office" / "page")) == result.page_count
    # ＭＳ 明朝 is on no Linux server: the converter maps it to the Noto Serif JP shipped with us,
    # so the kanji are printed rather than empty boxes.
    page = page_at(reader, start(result.parts[0]))
    fonts = [f.get_object()["/BaseFont"] for f in page["/Resources"]["/Font"].values()]
    assert any("NotoSerifJP" in name for name in fonts), fonts
