"""The decision record as a whole, and what must never get into it."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    TextStringObject,
)

from documents.record import (
    RecordError,
)
from tests.documents.record_support import *  # noqa: F403  (the shared builders and checks)

# --- the whole record -----------------------------------------------------------------------------


def test_record_passes_qpdf_and_counts_every_page(record_full, tmp_path: Path) -> None:
    data, result, inputs = record_full
    qpdf_check(data, tmp_path)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == result.page_count
    assert result.page_count == result.cover_pages + sum(p.page_count for p in result.parts)
    assert [p.attachment_id for p in result.parts] == [i.attachment_id for i in inputs]
    by_name = {p.filename: p for p in result.parts}
    assert by_name["pdflatex-4-pages.pdf"].page_count == 4
    assert by_name["habibi-rotated.pdf"].page_count == 4
    # Parts follow each other without gaps, right after the cover.
    expected = result.cover_pages + 1
    for part in result.parts:
        if part.treatment == "pages":
            assert part.first_page == expected
            expected += part.page_count
        else:
            assert part.first_page is None and part.page_count == 0


def test_every_page_renders(record_full, tmp_path: Path) -> None:
    data, result, _ = record_full
    pages = render(data, tmp_path / "pages" / "record")
    assert len(pages) == result.page_count


def test_cover_page_looks_like_a_kian_yoshi(record_full) -> None:
    """Writes tests/artifacts/record-cover-*.png: look at it after a layout change."""
    data, result, _ = record_full
    for old in ARTIFACTS.glob("record-cover-*.png"):
        old.unlink()
    pages = render(data, ARTIFACTS / "record-cover", first=1, last=result.cover_pages, dpi=80)
    assert len(pages) == result.cover_pages
    with Image.open(pages[0]) as image:
        assert image.width < image.height  # A4 portrait
        grey = image.convert("L")
        # Ink near the top (the sheet title) and in the stamp box row; not a blank page.
        assert darkest(grey.crop((0, 0, image.width, image.height // 10))) < 100


def test_cover_text_is_japanese_and_complete(record_full) -> None:
    data, result, inputs = record_full
    reader = PdfReader(io.BytesIO(data))
    text = "".join(reader.pages[i].extract_text() for i in range(result.cover_pages))
    # pypdf 7.1 decodes fpdf2's embedded code→CID CMap (used for CID-keyed OpenType fonts) into
    # a NUL after each character; poppler and viewers use the ToUnicode map and get clean text.
    compact = text.replace("\x00", "").replace(" ", "").replace("\n", "")
    for expected in (
        "起案用紙",
        "件名",
        TITLE.replace(" ", ""),
        "文書番号",
        "未定",
        "起案者",
        "田中一郎",
        "所属",
        "総務部総務課",
        "起案日",
        "2026年11月22日",
        "決裁日",
        "文書種別",
        "契約",
        "金額",
        "3,200,000円",
        "相手方",
        "株式会社サンプル清掃",
        "取引日",
        "2026年12月1日",
        "保存期間",
        "5年",
        "公開区分",
        "公開",
        "決裁ルート",
        "伊藤直子",
        "内容",
        "随意契約する。",
        "決裁欄",
        "財政課長",
        "添付ファイル",
        "PDF添付ファイルとして埋め込み",
        "LibreOffice",
    ):
        assert expected in compact, expected
    for item in inputs:
        assert item.sha256[:16] in compact, item.filename
    first = next(p for p in result.parts if p.treatment == "pages")
    assert f"{first.first_page}ページ〜" in compact
    if shutil.which("pdftotext"):
        run = subprocess.run(
            [tool("pdftotext", "poppler-utils"), "-l", str(result.cover_pages), "-", "-"],
            input=data,
            capture_output=True,
            check=True,
        )
        poppler = run.stdout.decode().replace(" ", "").replace("\n", "")
        assert TITLE.replace(" ", "") in poppler and "文書番号" in poppler and "\x00" not in poppler


def test_outline_names_every_file_under_attachments(record_full) -> None:
    data, result, _ = record_full
    reader = PdfReader(io.BytesIO(data))
    items = outline_titles(reader)
    assert items[0] == (0, "起案用紙", 1)
    assert items[1][:2] == (0, "添付ファイル")
    files = {title: page for depth, title, page in items if depth == 1}
    for part in result.parts:
        assert part.filename in files
        if part.treatment == "pages":
            assert files[part.filename] == part.first_page
        else:
            assert files[part.filename] <= result.cover_pages  # the cover lists it
    # The outline of pdflatex-outline.pdf is kept, nested under its file, on its own pages.
    nested = [(title, page) for depth, title, page in items if depth == 2]
    outline_part = next(p for p in result.parts if p.filename == "pdflatex-outline.pdf")
    assert {"Foo", "Bar", "Baz"} <= {title for title, _ in nested}
    assert all(outline_part.first_page <= page < outline_part.first_page + 4 for _, page in nested)
    assert reader.root_object["/PageMode"] == "/UseOutlines"


def test_originals_are_embedded_byte_for_byte(record_full) -> None:
    data, result, inputs = record_full
    reader = PdfReader(io.BytesIO(data))
    embedded: dict[str, bytes] = {}
    root: Any = reader.root_object
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    keys = [names[i] for i in range(0, len(names), 2)]
    assert keys == sorted(keys, key=lambda k: k.get_encoded_bytes())  # a valid name tree
    for i in range(1, len(names), 2):
        spec = names[i].get_object()
        stream = spec["/EF"]["/F"].get_object()
        embedded[spec.get("/UF", spec["/F"])] = stream.get_data()
        if "/Params" in stream:
            assert stream["/Params"]["/Size"] == len(stream.get_data())
    wanted = [i for i in inputs if i.kind in ("office", "other")]
    assert wanted
    for item in wanted:
        content = embedded[item.filename]
        assert hashlib.sha256(content).hexdigest() == item.sha256
    xlsx = next(
        names[i].get_object()
        for i in range(1, len(names), 2)
        if names[i].get_object().get("/UF") == "見積書.xlsx"
    )
    assert (
        xlsx["/EF"]["/F"].get_object()["/Subtype"]
        == "/application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert xlsx["/AFRelationship"] == "/Source"
    # with-attachment.pdf carried a file of its own: it stays.
    assert "image.png" in embedded
    office = [p for p in result.parts if p.filename.endswith((".xlsx", ".docx"))]
    assert all(p.treatment == "embedded" and "LibreOffice" in p.note for p in office)


def test_stamp_rects_are_inside_page_one_and_apart(record_full) -> None:
    data, result, _ = record_full
    assert [r.index for r in result.stamp_rects] == [0, 1, 2, 3]
    assert_stamp_rects(result, data)


def test_stamp_boxes_are_empty_and_framed_where_the_rects_say(record_full) -> None:
    """The signing step draws the seals: nothing may be printed inside a box yet, and the
    printed frame must be exactly at the returned rectangle (PDF points, origin bottom-left)."""
    data, result, _ = record_full
    dpi = 144
    scale = dpi / 72
    pages = render(data, ARTIFACTS / "record-stamps", first=1, last=1, dpi=dpi)
    try:
        with Image.open(pages[0]) as image:
            grey = image.convert("L")
            for rect in result.stamp_rects:
                left = rect.x * scale
                right = (rect.x + rect.width) * scale
                top = (A4[1] - rect.y - rect.height) * scale
                bottom = (A4[1] - rect.y) * scale
                inside = grey.crop((int(left) + 3, int(top) + 3, int(right) - 3, int(bottom) - 3))
                assert darkest(inside) > 200, rect
                middle_y, middle_x = int((top + bottom) / 2), int((left + right) / 2)
                for x, y in (
                    (left, middle_y),
                    (right, middle_y),
                    (middle_x, top),
                    (middle_x, bottom),
                ):
                    edge = grey.crop((int(x) - 2, int(y) - 2, int(x) + 3, int(y) + 3))
                    assert darkest(edge) < 150, (rect, x, y)
    finally:
        for old in ARTIFACTS.glob("record-stamps-*.png"):
            old.unlink()


def test_annotations_and_forms_of_originals_stay(record_full) -> None:
    data, result, _ = record_full
    reader = PdfReader(io.BytesIO(data))
    source = PdfReader(PDF_DIR / "annotated_pdf.pdf")
    part = next(p for p in result.parts if p.filename == "annotated_pdf.pdf")
    copied = page_at(reader, start(part)).get("/Annots", [])
    original: Any = source.pages[0]["/Annots"]
    assert len(copied) == len(original)
    fields = reader.get_fields() or {}
    assert {"First Name", "Name"} <= set(fields)
    # pdflatex-forms.pdf has a Submit button: its submit action is gone, the button stays.
    assert "Submit" in fields


def test_encrypted_pdf_is_included_with_its_password(record_full) -> None:
    data, result, _ = record_full
    part = next(p for p in result.parts if p.filename == "libreoffice-writer-password.pdf")
    reader = PdfReader(io.BytesIO(data))
    assert not reader.is_encrypted
    assert page_at(reader, start(part)).extract_text().strip()


def test_record_is_reproducible(record_full) -> None:
    data, _, inputs = record_full
    again, _ = build(make_cover(), inputs, office_converter=AbsentConverter())
    assert again == data
    other, _ = build(make_cover(version=2), inputs, office_converter=AbsentConverter())
    assert PdfReader(io.BytesIO(other)).trailer["/ID"] != PdfReader(io.BytesIO(data)).trailer["/ID"]


# --- what must not get in -------------------------------------------------------------------------


def test_encrypted_pdf_without_password_is_refused_clearly() -> None:
    path = PDF_DIR / "libreoffice-writer-password.pdf"
    inputs = [make_input(7, "予算書.pdf", path.read_bytes(), "pdf")]
    with pytest.raises(RecordError) as caught:
        build(make_cover(), inputs)
    assert caught.value.attachment_id == 7 and caught.value.code == "encrypted"
    assert "予算書.pdf" in str(caught.value) and "password" in str(caught.value)


def test_wrong_password_is_refused() -> None:
    path = PDF_DIR / "libreoffice-writer-password.pdf"
    inputs = [make_input(7, "予算書.pdf", path.read_bytes(), "pdf", password="guess")]
    with pytest.raises(RecordError) as caught:
        build(make_cover(), inputs)
    assert caught.value.code == "wrong_password" and "予算書.pdf" in str(caught.value)


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a PDF at all",
        (PDF_DIR / "pdflatex-4-pages.pdf").read_bytes()[:900] if PDF_DIR.is_dir() else b"",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF",
    ],
    ids=["garbage", "truncated", "no-pages"],
)
def test_broken_pdf_names_the_file(content: bytes) -> None:
    inputs = [
        make_input(
            1, "minimal-document.pdf", (PDF_DIR / "minimal-document.pdf").read_bytes(), "pdf"
        ),
        make_input(2, "壊れた契約書.pdf", content, "pdf"),
    ]
    with pytest.raises(RecordError) as caught:
        build(make_cover(), inputs)
    assert caught.value.attachment_id == 2 and caught.value.code == "unreadable"
    assert "壊れた契約書.pdf" in str(caught.value)


def test_broken_image_names_the_file() -> None:
    inputs = [make_input(3, "写真.jpg", b"\xff\xd8\xff\xe0 not really", "image")]
    with pytest.raises(RecordError) as caught:
        build(make_cover(), inputs)
    assert caught.value.code == "unreadable" and "写真.jpg" in str(caught.value)


def test_bytes_that_do_not_match_their_hash_are_refused() -> None:
    good = make_input(4, "memo.txt", b"original", "other")
    tampered = replace(good, open=lambda: io.BytesIO(b"tampered"))
    with pytest.raises(RecordError) as caught:
        build(make_cover(), [tampered])
    assert caught.value.code == "checksum" and "memo.txt" in str(caught.value)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(RecordError) as caught:
        build(make_cover(), [make_input(5, "x.bin", b"x", "video")])
    assert caught.value.code == "kind"


def test_javascript_and_launch_actions_are_stripped(tmp_path: Path) -> None:
    source = javascript_pdf()
    assert active_content(PdfReader(io.BytesIO(source)))  # the fixture does carry them
    data, result = build(make_cover(), [make_input(1, "script.pdf", source, "pdf")])
    qpdf_check(data, tmp_path)
    reader = PdfReader(io.BytesIO(data))
    assert active_content(reader) == []
    page = page_at(reader, start(result.parts[0]))
    annots = [a.get_object() for a in page["/Annots"]]
    # The annotations stay (inert), the honest web link keeps its action without the chained script.
    assert len(annots) == 5
    web = [a["/A"] for a in annots if "/A" in a]
    assert [a["/URI"] for a in web] == ["https://example.org/"] and "/Next" not in web[0]
    assert b"app.alert" not in data and b"calc.exe" not in data


def test_each_files_links_stay_in_that_file() -> None:
    """Two files using the same destination name (as every pdfLaTeX file does) must not mix."""

    def linked_pdf(marker: str) -> bytes:
        writer = PdfWriter()
        for _ in range(2):
            writer.add_blank_page(A4[0], A4[1])
        writer.add_named_destination(title="page.2", page_number=1)
        link = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject(
                    [FloatObject(0), FloatObject(0), FloatObject(99), FloatObject(99)]
                ),
                NameObject("/Dest"): TextStringObject("page.2"),
                NameObject("/Contents"): TextStringObject(marker),
            }
        )
        writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(link)])
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    inputs = [
        make_input(1, "a.pdf", linked_pdf("a"), "pdf"),
        make_input(2, "b.pdf", linked_pdf("b"), "pdf"),
    ]
    data, result = build(make_cover(), inputs)
    reader = PdfReader(io.BytesIO(data))
    for part in result.parts:
        link = page_at(reader, start(part))["/Annots"][0].get_object()
        target = link["/Dest"][0].get_object()
        assert reader.get_page_number(target) == part.first_page  # 0-based: its own second page
    assert "/Dests" not in reader.root_object.get("/Names", {})


def test_two_copies_of_one_form_keep_separate_fields(tmp_path: Path) -> None:
    form = (PDF_DIR / "libreoffice-form.pdf").read_bytes()
    inputs = [make_input(1, "申請書1.pdf", form, "pdf"), make_input(2, "申請書2.pdf", form, "pdf")]
    data, _ = build(make_cover(), inputs)
    qpdf_check(data, tmp_path)
    names = list(PdfReader(io.BytesIO(data)).get_fields() or {})
    assert len(names) == len(set(names)) == 16
    assert "First Name" in names and "First Name [2]" in names


def test_pyhanko_accepts_a_seal_field_in_each_stamp_box(record_full) -> None:
    """The signing step opens the record with pyHanko (strict) and puts a field in a box."""
    pytest.importorskip("pyhanko")
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.fields import SigFieldSpec, append_signature_field

    data, result, _ = record_full
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    for rect in result.stamp_rects:
        box = (rect.x, rect.y, rect.x + rect.width, rect.y + rect.height)
        spec = SigFieldSpec(f"Seal{rect.index}", box=box, on_page=rect.page - 1)
        append_signature_field(writer, spec)
    out = io.BytesIO()
    writer.write(out)
    fields = PdfReader(io.BytesIO(out.getvalue())).get_fields() or {}
    assert {f"Seal{r.index}" for r in result.stamp_rects} <= set(fields)
