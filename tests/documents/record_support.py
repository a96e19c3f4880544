"""The decision record (documents.record): real-world PDFs, images, office files and others in,
one PDF out, checked with tools nobody here wrote (qpdf, pdftoppm) and by reading it back.

No database: the record package works on streams.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest
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
    PartResult,
    RecordInput,
    RecordResult,
    StampBox,
    build_record,
)

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
        route=[
            "1. 係長 鈴木 花子",
            "2. 課長 佐藤 誠",
            "3. 合議 財政課長 伊藤 直子",
            "4. 部長 高橋 明（決裁）",
        ],
        stamp_boxes=[
            StampBox("係長", "鈴木 花子"),
            StampBox("課長", "佐藤 誠"),
            StampBox("財政課長（合議）", "伊藤 直子"),
            StampBox("部長（決裁）", "高橋 明"),
        ],
    )
    return replace(cover, **changes)


def png_bytes(size: tuple[int, int] = (640, 400), alpha: bool = True) -> bytes:
    image = Image.new(
        "RGBA" if alpha else "RGB", size, (30, 120, 200, 180) if alpha else (30, 120, 200)
    )
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


OOXML = "http://schemas.openxmlformats.org"
XML = '<?xml version="1.0" encoding="UTF-8"?>'
OFFICE_DOC = f"{OOXML}/officeDocument/2006/relationships"
MAIN_TYPE = "application/vnd.openxmlformats-officedocument"


def ooxml(parts: dict[str, str], overrides: dict[str, str], main: str) -> bytes:
    """A minimal OOXML package: content types, the root relationship, and `parts`."""
    types = "".join(
        f'<Override PartName="/{name}" ContentType="{MAIN_TYPE}.{kind}"/>'
        for name, kind in overrides.items()
    )
    files = {
        "[Content_Types].xml": (
            f'{XML}<Types xmlns="{OOXML}/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>{types}</Types>'
        ),
        "_rels/.rels": relationships("officeDocument", main),
        **parts,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return out.getvalue()


def relationships(kind: str, target: str) -> str:
    return (
        f'{XML}<Relationships xmlns="{OOXML}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{OFFICE_DOC}/{kind}" Target="{target}"/></Relationships>'
    )


def docx_bytes(text: str, font: str | None = None) -> bytes:
    fonts = (
        f'<w:rPr><w:rFonts w:ascii="{font}" w:eastAsia="{font}" w:hAnsi="{font}"/></w:rPr>'
        if font
        else ""
    )
    document = (
        f'{XML}<w:document xmlns:w="{OOXML}/wordprocessingml/2006/main">'
        f"<w:body><w:p><w:r>{fonts}<w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
    )
    return ooxml(
        {"word/document.xml": document},
        {"word/document.xml": "wordprocessingml.document.main+xml"},
        "word/document.xml",
    )


def xlsx_bytes(cells: list[str]) -> bytes:
    row = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{value}</t></is></c>'
        for i, value in enumerate(cells)
    )
    main = f"{OOXML}/spreadsheetml/2006/main"
    workbook = (
        f'{XML}<workbook xmlns="{main}" xmlns:r="{OFFICE_DOC}">'
        '<sheets><sheet name="見積" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    sheet = (
        f'{XML}<worksheet xmlns="{main}"><sheetData><row r="1">{row}</row></sheetData></worksheet>'
    )
    return ooxml(
        {
            "xl/workbook.xml": workbook,
            "xl/_rels/workbook.xml.rels": relationships("worksheet", "worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml": sheet,
        },
        {
            "xl/workbook.xml": "spreadsheetml.sheet.main+xml",
            "xl/worksheets/sheet1.xml": "spreadsheetml.worksheet+xml",
        },
        "xl/workbook.xml",
    )


def javascript_pdf() -> bytes:
    """A PDF that tries everything: open action, document JavaScript, page and field scripts,
    a launch link, a JavaScript link, a javascript: URI, and one honest web link."""
    writer = PdfWriter()
    writer.add_blank_page(A4[0], A4[1])
    script = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('document script');"),
        }
    )
    writer.root_object[NameObject("/Names")] = DictionaryObject(
        {
            NameObject("/JavaScript"): DictionaryObject(
                {
                    NameObject("/Names"): ArrayObject(
                        [TextStringObject("init"), writer._add_object(script)]
                    )
                }
            )
        }
    )
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert(1)"),
        }
    )
    page = writer.pages[0]
    page[NameObject("/AA")] = DictionaryObject(
        {
            NameObject("/O"): DictionaryObject(
                {
                    NameObject("/S"): NameObject("/JavaScript"),
                    NameObject("/JS"): TextStringObject("x()"),
                }
            )
        }
    )

    def link(y: float, action: dict[str, Any]) -> DictionaryObject:
        return DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject(
                    [FloatObject(50), FloatObject(y), FloatObject(200), FloatObject(y + 20)]
                ),
                NameObject("/Border"): ArrayObject(
                    [NumberObject(0), NumberObject(0), NumberObject(0)]
                ),
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
            NameObject("/Rect"): ArrayObject(
                [FloatObject(50), FloatObject(400), FloatObject(200), FloatObject(420)]
            ),
            NameObject("/AA"): DictionaryObject(
                {
                    NameObject("/K"): DictionaryObject(
                        {
                            NameObject("/S"): NameObject("/JavaScript"),
                            NameObject("/JS"): TextStringObject("k()"),
                        }
                    )
                }
            ),
        }
    )
    annots = ArrayObject(
        writer._add_object(obj)
        for obj in (link(700, js), link(650, launch), link(600, js_uri), link(550, chained), field)
    )
    page[NameObject("/Annots")] = annots
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject(
        {
            NameObject("/Fields"): ArrayObject([annots[-1]]),
            NameObject("/XFA"): TextStringObject("<xdp/>"),
        }
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
        make_input(
            n + 5, "業者一覧.csv", "業者名,電話\n株式会社サンプル清掃,000-0000\n".encode(), "other"
        ),
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


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install {package})")
    return path


def qpdf_check(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "check.pdf"
    path.write_bytes(data)
    run = subprocess.run(
        [tool("qpdf", "qpdf"), "--check", str(path)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr


def render(
    data: bytes,
    out_prefix: Path,
    *,
    first: int | None = None,
    last: int | None = None,
    dpi: int = 20,
) -> list[Path]:
    binary = tool("pdftoppm", "poppler-utils")
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as source:
        source.write(data)
        source.flush()
        return _pdftoppm(binary, source.name, out_prefix, first, last, dpi)


def _pdftoppm(
    binary: str, source: str, out_prefix: Path, first: int | None, last: int | None, dpi: int
) -> list[Path]:
    command = [binary, "-png", "-r", str(dpi)]
    if first:
        command += ["-f", str(first)]
    if last:
        command += ["-l", str(last)]
    run = subprocess.run(
        [*command, source, str(out_prefix)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "Error" not in run.stderr, run.stderr
    return sorted(out_prefix.parent.glob(out_prefix.name + "-*.png"))


def start(part: PartResult) -> int:
    assert part.first_page is not None, part
    return part.first_page


def page_at(reader: PdfReader, number: int) -> Any:
    """Page `number` (1-based), typed loosely: tests index into its dictionaries freely."""
    return reader.pages[number - 1]


def darkest(image: Image.Image) -> int:
    low, _high = cast(tuple[int, int], image.getextrema())
    return low


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    return cast(tuple[int, ...], image.getpixel((x, y)))


def outline_titles(reader: PdfReader) -> list[tuple[int, str, int]]:
    """(depth, title, 1-based page) of every outline item."""
    found: list[tuple[int, str, int]] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                page = reader.get_destination_page_number(item)
                assert page is not None, item.title
                found.append((depth, item.title, page + 1))

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
            if obj.get("/S") == "/URI" and str(obj.get("/URI", "")).lower().startswith(
                "javascript:"
            ):
                bad.append(f"{path}/URI javascript:")
            for key, value in obj.items():
                if key not in ("/Parent", "/P"):
                    visit(value, f"{path}{key}")
        elif isinstance(obj, ArrayObject):
            for i, value in enumerate(obj):
                visit(value, f"{path}[{i}]")

    visit(reader.trailer["/Root"], "")
    return bad


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
