"""The decision record (documents.record): real-world PDFs, images, office files and others in,
one PDF out, checked with tools nobody here wrote (qpdf, pdftoppm) and by reading it back.

No database: the record package works on streams.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from documents.record import (
    ConversionError,
    CoverInfo,
    OfficeConverter,
    RecordError,
    RecordInput,
    RecordResult,
    StampBox,
    build_record,
)
from documents.record import cover as cover_module
from documents.record.jawrap import wrap

PDF_DIR = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "pdfs"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORDS = {"libreoffice-writer-password.pdf": "openpassword"}
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain",
    ".csv": "text/csv",
}
TITLE = "令和8年度 庁舎清掃業務委託契約の締結について"
A4 = (595.28, 841.89)

pytestmark = pytest.mark.skipif(not PDF_DIR.is_dir(), reason=f"{PDF_DIR} is missing")


# --- inputs ---------------------------------------------------------------------------------------


def make_input(
    attachment_id: int, filename: str, data: bytes, kind: str, password: str | None = None
) -> RecordInput:
    suffix = Path(filename).suffix.lower()
    return RecordInput(
        attachment_id=attachment_id,
        filename=filename,
        content_type=CONTENT_TYPES.get(suffix, "application/octet-stream"),
        kind=kind,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        open=lambda: io.BytesIO(data),
        password=password,
    )


def make_cover(**changes: Any) -> CoverInfo:
    cover = CoverInfo(
        title=TITLE,
        department="総務部 総務課",
        drafter="田中 一郎",
        drafted_on=date(2026, 11, 22),
        doc_type="契約",
        amount=3_200_000,
        counterparty="株式会社サンプル清掃",
        transaction_date=date(2026, 12, 1),
        retention="5年",
        classification="公開",
        body=(
            "標記の件について、下記のとおり契約を締結してよろしいか伺います。\n\n"
            "1. 契約期間　令和8年12月1日から令和9年3月31日まで\n"
            "2. 契約金額　3,200,000円（消費税及び地方消費税を含む。）\n"
            "3. 契約方法　指名競争入札（見積合わせ）の結果、最低価格を提示した者と随意契約する。"
        ),
        version=1,
        route=["1. 係長 鈴木 花子", "2. 課長 佐藤 誠", "3. 合議 財政課長 伊藤 直子", "4. 部長 高橋 明（決裁）"],
        stamp_boxes=[
            StampBox("係長", "鈴木 花子"),
            StampBox("課長", "佐藤 誠"),
            StampBox("財政課長（合議）", "伊藤 直子"),
            StampBox("部長（決裁）", "高橋 明"),
        ],
    )
    return replace(cover, **changes)


def png_bytes(size: tuple[int, int] = (640, 400), alpha: bool = True) -> bytes:
    image = Image.new("RGBA" if alpha else "RGB", size, (30, 120, 200, 180) if alpha else (30, 120, 200))
    for x in range(0, size[0], 8):
        image.putpixel((x, size[1] // 2), (255, 0, 0, 255) if alpha else (255, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(96, 96))
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (800, 600), orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, (250, 250, 250))
    for x in range(size[0] // 2):
        for y in range(40):
            image.putpixel((x, y), (200, 0, 0))  # a red band at the top left of the stored pixels
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()


def docx_bytes(text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        )
        z.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>",
        )
    return out.getvalue()


def xlsx_bytes(cells: list[str]) -> bytes:
    row = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{value}</t></is></c>' for i, value in enumerate(cells)
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="見積" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        z.writestr(
            "xl/worksheets/sheet1.xml",
            '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<sheetData><row r="1">{row}</row></sheetData></worksheet>',
        )
    return out.getvalue()


def javascript_pdf() -> bytes:
    """A PDF that tries everything: open action, document JavaScript, page and field scripts,
    a launch link, a JavaScript link, a javascript: URI, and one honest web link."""
    writer = PdfWriter()
    writer.add_blank_page(A4[0], A4[1])
    writer.add_js("app.alert('document script');")
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    page = writer.pages[0]
    page[NameObject("/AA")] = DictionaryObject(
        {NameObject("/O"): DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("x()")})}
    )

    def link(y: float, action: dict[str, Any]) -> DictionaryObject:
        return DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject([FloatObject(50), FloatObject(y), FloatObject(200), FloatObject(y + 20)]),
                NameObject("/Border"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(0)]),
                NameObject("/A"): DictionaryObject({NameObject(k): v for k, v in action.items()}),
            }
        )

    js = {"/S": NameObject("/JavaScript"), "/JS": TextStringObject("app.launchURL('x')")}
    launch = {"/S": NameObject("/Launch"), "/F": TextStringObject("calc.exe")}
    js_uri = {"/S": NameObject("/URI"), "/URI": TextStringObject("javascript:alert(1)")}
    web = {"/S": NameObject("/URI"), "/URI": TextStringObject("https://example.org/")}
    chained = {**web, "/Next": DictionaryObject({NameObject(k): v for k, v in js.items()})}
    field = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Tx"),
            NameObject("/T"): TextStringObject("amount"),
            NameObject("/Rect"): ArrayObject([FloatObject(50), FloatObject(400), FloatObject(200), FloatObject(420)]),
            NameObject("/AA"): DictionaryObject(
                {NameObject("/K"): DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("k()")})}
            ),
        }
    )
    annots = ArrayObject(
        writer._add_object(obj) for obj in (link(700, js), link(650, launch), link(600, js_uri), link(550, chained), field)
    )
    page[NameObject("/Annots")] = annots
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([annots[-1]]), NameObject("/XFA"): TextStringObject("<xdp/>")}
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class AbsentConverter:
    """A converter on a machine without LibreOffice."""

    def available(self) -> bool:
        return False

    def unavailable_reason(self) -> str:
        return "LibreOffice is not installed"

    def convert(self, source: Path, workdir: Path) -> Path:
        raise AssertionError("convert must not be called when unavailable")


class FailingConverter(AbsentConverter):
    def available(self) -> bool:
        return True

    def convert(self, source: Path, workdir: Path) -> Path:
        raise ConversionError("LibreOffice produced no PDF (source file could not be loaded)")


def real_pdf_inputs(start: int = 1) -> list[RecordInput]:
    paths = sorted(PDF_DIR.glob("*.pdf"))
    return [
        make_input(start + i, path.name, path.read_bytes(), "pdf", PASSWORDS.get(path.name))
        for i, path in enumerate(paths)
    ]


def all_inputs() -> list[RecordInput]:
    inputs = real_pdf_inputs()
    n = len(inputs)
    inputs += [
        make_input(n + 1, "現場写真.jpg", jpeg_bytes(), "image"),
        make_input(n + 2, "配置図.png", png_bytes(), "image"),
        make_input(n + 3, "見積書.xlsx", xlsx_bytes(["品名", "金額", "3200000"]), "office"),
        make_input(n + 4, "仕様書.docx", docx_bytes("仕様書 本文"), "office"),
        make_input(n + 5, "業者一覧.csv", "業者名,電話\n株式会社サンプル清掃,000-0000\n".encode(), "other"),
    ]
    return inputs


def build(cover: CoverInfo, inputs: list[RecordInput], **kwargs: Any) -> tuple[bytes, RecordResult]:
    out = io.BytesIO()
    result = build_record(cover, inputs, out, **kwargs)
    return out.getvalue(), result


@pytest.fixture(scope="module")
def record_full() -> tuple[bytes, RecordResult, list[RecordInput]]:
    inputs = all_inputs()
    data, result = build(make_cover(), inputs, office_converter=AbsentConverter())
    return data, result, inputs


# --- checks with other tools ----------------------------------------------------------------------


def qpdf_check(data: bytes, tmp_path: Path) -> None:
    if shutil.which("qpdf") is None:
        pytest.skip("qpdf is not installed (apt-get install qpdf)")
    path = tmp_path / "check.pdf"
    path.write_bytes(data)
    run = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def render(data: bytes, out_prefix: Path, *, first: int | None = None, last: int | None = None,
           dpi: int = 20) -> list[Path]:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed (apt-get install poppler-utils)")
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    source = out_prefix.with_suffix(".pdf")
    source.write_bytes(data)
    command = ["pdftoppm", "-png", "-r", str(dpi)]
    if first:
        command += ["-f", str(first)]
    if last:
        command += ["-l", str(last)]
    run = subprocess.run([*command, str(source), str(out_prefix)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "Error" not in run.stderr, run.stderr
    return sorted(out_prefix.parent.glob(out_prefix.name + "-*.png"))


def outline_titles(reader: PdfReader) -> list[tuple[int, str, int]]:
    """(depth, title, 1-based page) of every outline item."""
    found: list[tuple[int, str, int]] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((depth, item.title, reader.get_destination_page_number(item) + 1))

    walk(reader.outline, 0)
    return found


def active_content(reader: PdfReader) -> list[str]:
    """Every script, launch or automatic action anywhere in the file."""
    bad: list[str] = []
    seen: set[int] = set()

    def visit(obj: Any, path: str) -> None:
        if isinstance(obj, IndirectObject):
            if obj.idnum in seen:
                return
            seen.add(obj.idnum)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            for key in ("/JS", "/JavaScript", "/OpenAction", "/AA", "/XFA"):
                if key in obj:
                    bad.append(f"{path}{key}")
            if obj.get("/S") in ("/JavaScript", "/Launch", "/SubmitForm", "/ImportData"):
                bad.append(f"{path}/S {obj.get('/S')}")
            if obj.get("/S") == "/URI" and str(obj.get("/URI", "")).lower().startswith("javascript:"):
                bad.append(f"{path}/URI javascript:")
            for key, value in obj.items():
                if key not in ("/Parent", "/P"):
                    visit(value, f"{path}{key}")
        elif isinstance(obj, ArrayObject):
            for i, value in enumerate(obj):
                visit(value, f"{path}[{i}]")

    visit(reader.trailer["/Root"], "")
    return bad


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
        assert grey.crop((0, 0, image.width, image.height // 10)).getextrema()[0] < 100


def test_cover_text_is_japanese_and_complete(record_full) -> None:
    data, result, inputs = record_full
    reader = PdfReader(io.BytesIO(data))
    text = "".join(reader.pages[i].extract_text() for i in range(result.cover_pages))
    compact = text.replace(" ", "").replace("\n", "")
    for expected in (
        "起案用紙", "件名", TITLE.replace(" ", ""), "文書番号", "未定", "起案者", "田中一郎",
        "所属", "総務部総務課", "起案日", "2026年11月22日", "決裁日", "文書種別", "契約",
        "金額", "3,200,000円", "相手方", "株式会社サンプル清掃", "取引日", "2026年12月1日",
        "保存期間", "5年", "公開区分", "公開", "決裁ルート", "伊藤直子", "内容", "随意契約する。",
        "決裁欄", "財政課長", "添付ファイル", "PDF添付ファイルとして埋め込み", "LibreOffice",
    ):
        assert expected in compact, expected
    for item in inputs:
        assert item.sha256[:16] in compact, item.filename
    first = next(p for p in result.parts if p.treatment == "pages")
    assert f"{first.first_page}ページ〜" in compact


def test_outline_names_every_file_under_attachments(record_full) -> None:
    data, result, inputs = record_full
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
    names = reader.root_object["/Names"]["/EmbeddedFiles"]["/Names"]
    keys = [names[i] for i in range(0, len(names), 2)]
    assert keys == sorted(keys, key=lambda k: k.get_encoded_bytes())  # a valid name tree
    for i in range(1, len(names), 2):
        spec = names[i].get_object()
        stream = spec["/EF"]["/F"].get_object()
        embedded[spec["/UF"]] = stream.get_data()
        if "/Params" in stream and spec["/UF"] != "image.png":
            assert stream["/Params"]["/Size"] == len(stream.get_data())
    wanted = [i for i in inputs if i.kind in ("office", "other")]
    assert wanted
    for item in wanted:
        content = embedded[item.filename]
        assert hashlib.sha256(content).hexdigest() == item.sha256
    xlsx = next(names[i].get_object() for i in range(1, len(names), 2) if names[i].get_object()["/UF"] == "見積書.xlsx")
    assert xlsx["/EF"]["/F"].get_object()["/Subtype"] == "/application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert xlsx["/AFRelationship"] == "/Source"
    # with-attachment.pdf carried a file of its own: it stays.
    assert "image.png" in embedded
    office = [p for p in result.parts if p.filename.endswith((".xlsx", ".docx"))]
    assert all(p.treatment == "embedded" and "LibreOffice" in p.note for p in office)


def test_stamp_rects_are_inside_page_one_and_apart(record_full) -> None:
    data, result, _ = record_full
    assert [r.index for r in result.stamp_rects] == [0, 1, 2, 3]
    assert_stamp_rects(result, data)


def assert_stamp_rects(result: RecordResult, data: bytes) -> None:
    reader = PdfReader(io.BytesIO(data))
    for rect in result.stamp_rects:
        box = reader.pages[rect.page - 1].mediabox
        assert rect.page <= result.cover_pages
        assert float(box.left) <= rect.x and rect.x + rect.width <= float(box.right)
        assert float(box.bottom) <= rect.y and rect.y + rect.height <= float(box.top)
        assert 60 <= rect.width <= 66 and rect.width == rect.height  # ~22 mm squares
    for a in result.stamp_rects:
        for b in result.stamp_rects:
            if a.index < b.index and a.page == b.page:
                overlap_w = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
                overlap_h = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
                assert overlap_w <= 0.01 or overlap_h <= 0.01, (a, b)


def test_stamp_boxes_are_empty(record_full) -> None:
    """The signing step draws the seals: nothing may be printed inside a box yet."""
    data, result, _ = record_full
    pages = render(data, ARTIFACTS / "record-stamps", first=1, last=1, dpi=72)
    with Image.open(pages[0]) as image:
        grey = image.convert("L")
        for rect in result.stamp_rects:
            scale = 72 / 72
            left = rect.x * scale + 3
            top = (A4[1] - rect.y - rect.height) * scale + 3
            inside = grey.crop((int(left), int(top), int(left + rect.width - 6), int(top + rect.height - 6)))
            assert inside.getextrema()[0] > 200, rect
    for old in ARTIFACTS.glob("record-stamps-*.png"):
        old.unlink()


def test_annotations_and_forms_of_originals_stay(record_full) -> None:
    data, result, _ = record_full
    reader = PdfReader(io.BytesIO(data))
    source = PdfReader(PDF_DIR / "annotated_pdf.pdf")
    part = next(p for p in result.parts if p.filename == "annotated_pdf.pdf")
    copied = reader.pages[part.first_page - 1].get("/Annots", [])
    assert len(copied) == len(source.pages[0]["/Annots"])
    fields = reader.get_fields() or {}
    assert {"First Name", "Name"} <= set(fields)
    # pdflatex-forms.pdf has a Submit button: its submit action is gone, the button stays.
    assert "Submit" in fields


def test_encrypted_pdf_is_included_with_its_password(record_full) -> None:
    data, result, _ = record_full
    part = next(p for p in result.parts if p.filename == "libreoffice-writer-password.pdf")
    reader = PdfReader(io.BytesIO(data))
    assert not reader.is_encrypted
    assert reader.pages[part.first_page - 1].extract_text().strip()


def test_record_is_reproducible(record_full) -> None:
    data, _, inputs = record_full
    again, _ = build(make_cover(), inputs, office_converter=AbsentConverter())
    assert again == data
    other, _ = build(make_cover(version=2), inputs, office_converter=AbsentConverter())
    assert PdfReader(io.BytesIO(other)).trailer["/ID"] != PdfReader(io.BytesIO(data)).trailer["/ID"]
