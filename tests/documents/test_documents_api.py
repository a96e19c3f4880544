"""The documents API end to end: drafting with real files, the record, downloads, search, and
every kind of bad input refused cleanly with nothing left behind."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from rest_framework.test import APIClient

import storage
from documents.models import Attachment, Document, DocumentVersion
from org.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

# shared/ lies beside the repository, here and in CI.
TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "pdfs"

META = {
    "title": "庁舎清掃業務委託契約の締結について",
    "doc_type": "contract",
    "body": "本庁舎の清掃業務を委託するため、下記のとおり契約を締結してよろしいか伺います。",
    "amount": 3_200_000,
    "counterparty": "株式会社サンプル清掃",
    "transaction_date": "2026-11-20",
}


def multipart(fields: dict[str, str], files: list[tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart body with file names exactly as given (the test client strips paths)."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for filename, content, content_type in files:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
        )
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def client_for(username: str) -> APIClient:
    client = APIClient()
    assert client.login(username=username, password=DEMO_PASSWORD)
    return client


def post_document(client, files, meta=None, url="/api/v1/documents"):
    body, content_type = multipart({"meta": json.dumps(meta or META)}, files)
    return client.generic("POST", url, body, content_type=content_type)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 400), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org'
            '/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="appl'
            'ication/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def pdf(name: str) -> tuple[str, bytes, str]:
    return (name, (TESTDATA / name).read_bytes(), "application/pdf")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_objects() -> list[str]:
    return [info.key for info in storage.get_store().list()]


def assert_refused(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code, error
    assert Document.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert stored_objects() == []
    return error


@pytest.fixture
def tanaka(demo_org) -> APIClient:
    return client_for("tanaka")


def test_draft_with_real_files_becomes_one_record(tanaka, tmp_path):
    files = [
        pdf("minimal-document.pdf"),
        pdf("pdflatex-4-pages.pdf"),
        pdf("libreoffice-form.pdf"),
        ("地図.png", png_bytes(), "image/png"),
        ("見積明細.xlsx", xlsx_bytes(), "application/octet-stream"),
    ]
    response = post_document(tanaka, files)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["title"] == META["title"]
    assert body["department"] == "総務部 総務課"
    assert [(a["filename"], a["sha256"], a["size"]) for a in body["attachments"]] == [
        (name, sha(data), len(data)) for name, data, _ in files
    ]
    kinds = {a["filename"]: a["kind"] for a in body["attachments"]}
    assert kinds == {
        "minimal-document.pdf": "pdf",
        "pdflatex-4-pages.pdf": "pdf",
        "libreoffice-form.pdf": "pdf",
        "地図.png": "image",
        "見積明細.xlsx": "office",
    }

    record = tanaka.get(f"/api/v1/documents/{body['id']}/record.pdf")
    assert record.status_code == 200
    assert record["Content-Type"] == "application/pdf"
    path = tmp_path / "record.pdf"
    path.write_bytes(b"".join(record.streaming_content))
    reader = PdfReader(path)
    # cover + 1 + 4 + form pages + the image page
    attachment_pages = 1 + 4 + len(PdfReader(TESTDATA / "libreoffice-form.pdf").pages) + 1
    assert len(reader.pages) > attachment_pages
    # poppler's extraction (pypdf mis-decodes the CID font's 2-byte ToUnicode map).
    cover = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "庁舎清掃業務委託契約" in cover
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    version = DocumentVersion.objects.get(document_id=body["id"])
    assert version.record_pages == len(reader.pages)

    page = tanaka.get(f"/api/v1/documents/{body['id']}/record/pages/1?width=320")
    assert page.status_code == 200 and page["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(page.content)).size[0] == 320


def test_zip_returns_every_original_with_the_same_hash(tanaka):
    files = [
        pdf("minimal-document.pdf"),
        ("地図.png", png_bytes(), "image/png"),
        ("地図.png", png_bytes()[:-1] + b"\x00", "image/png"),
    ]
    created = post_document(tanaka, files[:2]).json()
    response = tanaka.get(f"/api/v1/documents/{created['id']}/attachments.zip")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        contents = {info.filename: archive.read(info) for info in archive.infolist()}
    assert {name: sha(b) for name, b in contents.items()} == {
        name: sha(b) for name, b, _ in files[:2]
    }
    one = created["attachments"][1]
    original = tanaka.get(f"/api/v1/documents/{created['id']}/attachments/{one['id']}")
    assert sha(b"".join(original.streaming_content)) == one["sha256"]
    assert "filename*=UTF-8''%E5%9C%B0%E5%9B%B3.png" in original["Content-Disposition"]
    assert original["X-Content-Type-Options"] == "nosniff"


def test_search_by_japanese_word_amount_range_and_counterparty(demo_org):
    tanaka = client_for("tanaka")
    post_document(tanaka, [])
    post_document(
        tanaka,
        [],
        meta={
            **META,
            "title": "公用車の購入",
            "body": "車両の更新",
            "amount": 12_000_000,
            "counterparty": "サンプル自動車",
        },
    )
    search = lambda **q: [d["title"] for d in tanaka.get("/api/v1/documents", q).json()["results"]]  # noqa: E731
    assert search(q="清掃業務") == [META["title"]]
    assert search(q="清掃") == [META["title"]]
    assert search(q="更新") == ["公用車の購入"]
    assert search(q="清掃 更新") == []
    assert search(amount_min=1_000_000, amount_max=5_000_000) == [META["title"]]
    assert search(counterparty="自動車") == ["公用車の購入"]
    both = sorted([str(META["title"]), "公用車の購入"])
    assert sorted(search(counterparty="サンプル")) == both
    assert sorted(search(counterparty="ｻﾝﾌﾟﾙ")) == both  # half-width kana folds to full-width
    assert search(date_from="2026-11-01", date_to="2026-11-30", amount_min=3_000_000, q="契約") == [
        META["title"]
    ]
    # A colleague in another department sees nothing of tanaka's drafts.
    assert client_for("ito").get("/api/v1/documents", {"q": "清掃"}).json()["results"] == []


def test_search_validates_its_conditions(tanaka):
    response = tanaka.get("/api/v1/documents", {"amount_min": "abc", "date_from": "yesterday"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"amount_min", "date_from"}


@pytest.mark.parametrize(
    ("files", "status", "code"),
    [
        ([("broken.pdf", b"%PDF-1.7\n1 0 obj<<>>\ngarbage", "application/pdf")], 422, None),
        ([("empty.pdf", b"", "application/pdf")], 422, "empty_file"),
        (
            [("page.pdf", b"<!DOCTYPE html><html><body>hi</body></html>", "application/pdf")],
            422,
            "not_a_pdf",
        ),
        ([("../../etc/passwd.pdf", b"%PDF-1.4", "application/pdf")], 400, "bad_filename"),
        ([("a\\b.pdf", b"%PDF-1.4", "application/pdf")], 400, "bad_filename"),
        ([("evil\u202egpj.exe", b"MZ", "application/octet-stream")], 400, "bad_filename"),
    ],
)
def test_bad_files_are_refused_and_leave_nothing(tanaka, files, status, code):
    error = assert_refused(
        post_document(tanaka, [pdf("minimal-document.pdf"), *files]), status, code
    )
    assert error["message"]


def test_zip_bomb_is_refused(tanaka):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\0" * (300 * 1024 * 1024))
    assert_refused(
        post_document(tanaka, [("bomb.docx", buffer.getvalue(), "application/zip")]), 422
    )


def test_files_over_the_limit_are_refused_while_streaming(tanaka, settings):
    settings.DOCUMENT_LIMITS = {"max_file_bytes": 1024 * 1024, "max_document_bytes": 3 * 1024**2}
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024)
    assert_refused(post_document(tanaka, [("big.pdf", big, "application/pdf")]), 413, "too_large")
    parts = [(f"{i}.png", png_bytes() + bytes(900 * 1024), "image/png") for i in range(4)]
    assert_refused(post_document(tanaka, parts), 413, "too_large")


def test_encrypted_pdf_needs_its_password(tanaka):
    locked = pdf("libreoffice-writer-password.pdf")
    assert_refused(post_document(tanaka, [locked]), 422, "encrypted_pdf")
    assert_refused(
        post_document(tanaka, [locked], meta={**META, "passwords": {locked[0]: "nope"}}),
        422,
        "wrong_password",
    )
    response = post_document(
        tanaka, [locked], meta={**META, "passwords": {locked[0]: "openpassword"}}
    )
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get()
    assert attachment.sha256 == sha(locked[1])  # the original, byte-for-byte
    assert attachment.pdf_sha256 and attachment.pdf_sha256 != attachment.sha256
    record = tanaka.get(f"/api/v1/documents/{response.json()['id']}/record.pdf")
    assert record.status_code == 200


@pytest.mark.parametrize("name", sorted(p.name for p in TESTDATA.glob("*.pdf")))
def test_every_real_world_pdf_is_accepted_or_refused_with_a_reason(tanaka, name):
    response = post_document(tanaka, [pdf(name)])
    assert response.status_code in (201, 422), response.content
    if response.status_code == 201:
        document_id = response.json()["id"]
        assert tanaka.get(f"/api/v1/documents/{document_id}/record.pdf").status_code == 200
    else:
        assert response.json()["error"]["message"]


def test_invalid_metadata_is_400_and_names_the_field(tanaka):
    response = post_document(tanaka, [], meta={**META, "title": "", "amount": -5})
    error = assert_refused(response, 400, "invalid")
    assert set(error["fields"]) >= {"title", "amount"}
    body, content_type = multipart({"meta": "{not json"}, [])
    response = tanaka.generic("POST", "/api/v1/documents", body, content_type=content_type)
    assert "meta" in assert_refused(response, 400)["fields"]
    missing = {k: v for k, v in META.items() if k != "counterparty"}
    assert "counterparty" in assert_refused(post_document(tanaka, [], meta=missing), 400)["fields"]


def test_storage_outage_during_upload_is_503_and_writes_nothing(tanaka, settings):
    settings.OBJECT_STORE = {
        "BACKEND": "minio",
        "ENDPOINT": "127.0.0.1:9",
        "ACCESS_KEY": "x",
        "SECRET_KEY": "y" * 16,
        "BUCKET": "ekessai",
        "SECURE": False,
        "REGION": "us-east-1",
        "OBJECT_LOCK": False,
        "TIMEOUT": 2,
    }
    storage.reset_store()
    response = post_document(tanaka, [pdf("minimal-document.pdf")])
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert Document.objects.count() == 0


def test_drafts_are_editable_by_their_drafter_only(demo_org):
    tanaka = client_for("tanaka")
    created = post_document(tanaka, [pdf("minimal-document.pdf")]).json()
    url = f"/api/v1/documents/{created['id']}"
    edited = tanaka.patch(url, {"amount": 900_000, "body": "変更後の本文"}, format="json")
    assert edited.status_code == 200 and edited.json()["amount"] == 900_000
    assert tanaka.get("/api/v1/documents", {"q": "変更後"}).json()["results"]
    # Not visible to others: 404, not 403, so ids cannot be probed.
    assert client_for("suzuki").patch(url, {"amount": 1}, format="json").status_code == 404
    assert client_for("suzuki").get(f"{url}/record.pdf").status_code == 404
    added = post_document(
        tanaka, [("追加資料.png", png_bytes(), "image/png")], url=f"{url}/attachments"
    )
    assert added.status_code == 201, added.content
    names = [a["filename"] for a in added.json()["attachments"]]
    assert names == ["minimal-document.pdf", "追加資料.png"]
    first = added.json()["attachments"][0]["id"]
    assert tanaka.delete(f"{url}/attachments/{first}").status_code == 204
    after = tanaka.get(url).json()["attachments"]
    assert [(a["filename"], a["position"]) for a in after] == [("追加資料.png", 1)]


def test_submitted_document_edit_opens_a_new_version(demo_org):
    from django.utils import timezone

    from documents.services import freeze_version

    tanaka = client_for("tanaka")
    created = post_document(tanaka, [pdf("minimal-document.pdf")]).json()
    document = Document.objects.get(pk=created["id"])
    freeze_version(document)
    Document.objects.filter(pk=document.pk).update(status="sent_back", submitted_at=timezone.now())
    response = tanaka.patch(f"/api/v1/documents/{document.pk}", {"title": "改訂版"}, format="json")
    assert response.status_code == 200
    versions = list(DocumentVersion.objects.filter(document=document).order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].metadata["title"] == META["title"]
    assert response.json()["version"] == 2
    assert len(response.json()["attachments"]) == 1
    Document.objects.filter(pk=document.pk).update(status="in_review")
    locked = tanaka.patch(f"/api/v1/documents/{document.pk}", {"title": "x"}, format="json")
    assert locked.status_code == 409
    assert locked.json()["error"]["code"] == "not_editable"


def test_anonymous_and_token_access(bearer):
    assert APIClient().get("/api/v1/documents").status_code == 401
    client = bearer("tanaka")
    assert client.get("/api/v1/documents").status_code == 200
