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
    PartResult,
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


# --- the cover ------------------------------------------------------------------------------------


def test_long_body_continues_on_more_cover_pages(tmp_path: Path) -> None:
    paragraphs = [
        f"第{i}項　この契約の履行に当たっては、仕様書に定めるところにより業務を行うこと。" * 3
        for i in range(1, 80)
    ]
    body = "\n".join(paragraphs) + "\n以上、最後の行。"
    data, result = build(
        make_cover(body=body),
        [make_input(1, "a.pdf", (PDF_DIR / "minimal-document.pdf").read_bytes(), "pdf")],
    )
    assert result.cover_pages >= 3
    assert result.parts[0].first_page == result.cover_pages + 1
    reader = PdfReader(io.BytesIO(data))
    text = "".join(reader.pages[i].extract_text() for i in range(result.cover_pages)).replace(
        "\x00", ""
    )
    compact = text.replace(" ", "").replace("\n", "")
    assert "第79項" in compact and "以上、最後の行。" in compact
    assert all(r.page == 1 for r in result.stamp_rects)
    qpdf_check(data, tmp_path)
    render(data, ARTIFACTS / "record-long", first=1, last=result.cover_pages, dpi=50)


def test_ten_stamp_boxes_wrap_to_a_second_row() -> None:
    boxes = [
        StampBox(label, name)
        for label, name in [
            ("主事", "田中 一郎"),
            ("係長", "鈴木 花子"),
            ("課長補佐", "山本 健"),
            ("課長", "佐藤 誠"),
            ("財政課長（合議）", "伊藤 直子"),
            ("法務課長（合議）", ""),
            ("部長", "高橋 明"),
            ("総務部長（合議）", ""),
            ("副市長（決裁）", "小林 茂"),
            ("市長", ""),
        ]
    ]
    data, result = build(
        make_cover(stamp_boxes=boxes, document_number="企財第123号", decided_on=date(2026, 12, 3)),
        [],
    )
    assert len(result.stamp_rects) == 10
    assert len({round(r.y) for r in result.stamp_rects}) == 2
    assert_stamp_rects(result, data)
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text().replace("\x00", "").replace(" ", "")
    assert "企財第123号" in text and "2026年12月3日" in text and "副市長" in text
    render(data, ARTIFACTS / "record-ten-stamps", first=1, last=1, dpi=80)


def test_record_without_attachments_is_the_cover_alone(tmp_path: Path) -> None:
    data, result = build(make_cover(stamp_boxes=[], route=[], amount=None, body=""), [])
    assert result.page_count == result.cover_pages == 1 and result.parts == []
    qpdf_check(data, tmp_path)
    reader = PdfReader(io.BytesIO(data))
    assert [t for _, t, _ in outline_titles(reader)] == ["起案用紙"]


def test_labels_can_be_overridden_and_typos_are_caught() -> None:
    data, _ = build(make_cover(labels={"title": "表題", "cover_title": "起 案 書"}), [])
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text().replace("\x00", "")
    assert "表題" in text and "案" in text
    with pytest.raises(ValueError, match="titel"):
        build(make_cover(labels={"titel": "x"}), [])


def test_cached_font_renders_like_add_font(tmp_path: Path) -> None:
    def sheet(use_cache: bool) -> bytes:
        pdf = FPDF()
        pdf.set_creation_date(cover_module._EPOCH)
        if use_cache:
            cover_module.add_japanese_font(pdf)
        else:
            pdf.add_font(cover_module.FONT_FAMILY, "", cover_module.font_path())
        pdf.add_page()
        pdf.set_font(cover_module.FONT_FAMILY, size=14)
        pdf.multi_cell(0, 8, "起案用紙 決裁欄 ¥3,200,000（消費税込み）。\n" + TITLE)
        return bytes(pdf.output())

    cached, plain = sheet(True), sheet(False)
    assert cached == sheet(True)  # reproducible across documents in one process
    [a] = render(cached, tmp_path / "cached", dpi=60)
    [b] = render(plain, tmp_path / "plain", dpi=60)
    with Image.open(a) as first, Image.open(b) as second:
        assert first.tobytes() == second.tobytes()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("あいうえお。かきく", ["あいうえお。", "かきく"]),  # 。hangs rather than start a line
        ("あいうえお」かき", ["あいうえ", "お」かき"]),  # a closer never starts a line
        ("あいうえ「おかき", ["あいうえ", "「おかき"]),  # an opener never ends a line
        ("あいう abcdefg", ["あいう", "abcdefg"]),  # a Latin word moves whole
    ],
)
def test_japanese_line_breaking(text: str, expected: list[str]) -> None:
    # Five characters of width 1 fit a line of width 5.
    assert wrap(text, 5.0 if "abc" not in text else 8.0, lambda ch: 1.0)[:2] == expected[:2]
