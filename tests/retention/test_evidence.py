"""The evidence package (issue 5 "Evidence", issue 8 "downloads the evidence package and checks it
offline with the README's instructions").

A ¥3,200,000 contract is decided through the demo route (the fixture of
tests/workflow/test_signed_record.py); the auditor watanabe downloads its package, and the tests
check it the way an auditor would, with the package's own files and tools nobody here wrote:
sha256sum, pdfsig (with an NSS database trusting the package's root), pyHanko trusting the
package's root, openssl, and the package's verify_audit_chain.py.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from cryptography.hazmat.primitives import serialization
from django.test import AsyncClient
from django.utils import translation
from django.utils.translation import gettext
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext
from rest_framework.test import APIClient

from audit.models import AuditEntry
from audit.services import anchor_head
from documents.models import Document
from org.models import User
from retention.evidence import safe_name
from retention.evidence_readme import TIMESTAMP_CHECK, indented
from retention.report_pdf import render_report
from signing.keystore import get_keystore
from tests.workflow.test_approval_flow import META, act, client, submit
from tests.workflow.test_signed_record import TESTDATA, decided, draft_with_pdf

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "evidence"

__all__ = ["decided"]  # the fixture, imported for pytest

SIGNERS = ["田中 一郎", "鈴木 花子", "佐藤 誠", "伊藤 直子", "高橋 明"]


def download(c: APIClient, document_id: int) -> Any:
    return c.get(f"/api/v1/documents/{document_id}/evidence.zip")


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def extract(data: bytes, folder: Path) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    archive.extractall(folder)
    return archive


def check_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    """Every file's SHA-256 and size as the manifest says; every file in the manifest."""
    manifest = json.loads(archive.read("manifest.json"))
    listed = {f["path"]: f for f in manifest["files"]}
    names = {n for n in archive.namelist() if not n.endswith("/")}
    assert names == set(listed) | {"manifest.json", "SHA256SUMS"}
    for path, entry in listed.items():
        data = archive.read(path)
        assert len(data) == entry["size"], path
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], path
    sums: dict[str, str] = {}
    for line in archive.read("SHA256SUMS").decode().splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    assert set(sums) == names - {"SHA256SUMS"}
    assert sums["manifest.json"] == hashlib.sha256(archive.read("manifest.json")).hexdigest()
    return dict(manifest)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


def chain_check(folder: Path) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "verify_audit_chain.py"], folder)


def rewrite_line(path: Path, seq: int, change: Any) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        entry = json.loads(line)
        if entry["seq"] == seq:
            change(entry)
            line = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def test_the_auditor_takes_the_package_and_checks_it_offline(decided: int, tmp_path: Path) -> None:
    document = Document.objects.get(pk=decided)
    anchor = anchor_head()  # the chain's head after the decision, timestamped
    assert anchor is not None

    response = download(client("watanabe"), decided)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/zip"
    assert "_evidence.zip" in response["Content-Disposition"]
    assert "%E7%AC%AC" in response["Content-Disposition"] or document.number.isascii()
    data = body_of(response)
    assert int(response["Content-Length"]) == len(data)

    folder = tmp_path / "package"
    archive = extract(data, folder)
    manifest = check_manifest(archive)
    assert manifest["document"]["number"] == document.number
    assert manifest["document"]["title"] == META["title"]
    assert manifest["generated_by"]["username"] == "watanabe"
    assert run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], folder).returncode == 0

    # The record and the originals, byte for byte.
    version = document.versions.get(number=document.version)
    record = (folder / "record.pdf").read_bytes()
    assert hashlib.sha256(record).hexdigest() == version.record_sha256
    original = (TESTDATA / "pdflatex-4-pages.pdf").read_bytes()
    assert (folder / "originals" / "pdflatex-4-pages.pdf").read_bytes() == original

    # The verification report, as the API gives it.
    report = json.loads((folder / "verification.json").read_text())
    assert report["valid"], report
    sigs = [s for s in report["signatures"] if s["kind"] == "signature"]
    assert [s["signer"] for s in sigs] == SIGNERS
    assert report["signatures"][-1]["kind"] == "document_timestamp"

    # Certificates: our root, the TSA, the CRL, each signer's from the signatures themselves.
    store = get_keystore()
    pem = serialization.Encoding.PEM
    assert (folder / "certificates/root.pem").read_bytes() == store.root().public_bytes(pem)
    signer_files = sorted((folder / "certificates/signers").glob("*.pem"))
    assert len(signer_files) == 5, signer_files
    reader = PdfFileReader(io.BytesIO(record))
    signed_by = {s.signer_cert.dump() for s in reader.embedded_signatures}
    extracted = {load_cert_from_pemder(str(p)).dump() for p in signer_files}
    tsa = load_cert_from_pemder(str(folder / "certificates/tsa.pem"))
    assert signed_by == extracted | {tsa.dump()}
    verified = run(
        [
            "openssl",
            "verify",
            "-no_check_time",
            "-crl_check",
            "-CAfile",
            "certificates/root.pem",
            "-CRLfile",
            "certificates/crl.pem",
            *[str(p.relative_to(folder)) for p in signer_files],
        ],
        folder,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.count(": OK") == 5

    # pdfsig, as README.txt says: valid signatures, and trusted once our root is in an NSS db.
    out = run(["pdfsig", "record.pdf"], folder).stdout
    assert out.count("Signature is Valid") == 5, out
    if shutil.which("certutil"):
        nss = [
            ["certutil", "-N", "-d", "sql:nssdb", "--empty-password"],
            [
                "certutil",
                "-A",
                "-d",
                "sql:nssdb",
                "-n",
                "ekessai-root",
                "-t",
                ",C,",
                "-i",
                "certificates/root.pem",
            ],
        ]
        (folder / "nssdb").mkdir()
        for command in nss:
            assert run(command, folder).returncode == 0, command
        out = run(["pdfsig", "-nssdir", "sql:nssdb", "record.pdf"], folder).stdout
        assert out.count("Signature is Valid") == 5, out
        assert out.count("Certificate is Trusted") == 5, out
        shutil.rmtree(folder / "nssdb")

    # pyHanko, trusting only the package's root and CRL (no difference analysis: the marks).
    root = load_cert_from_pemder(str(folder / "certificates/root.pem"))
    vc = ValidationContext(trust_roots=[root], allow_fetching=False)
    for sig in reader.embedded_signatures:
        if sig.sig_object_type == "/DocTimeStamp":
            status: Any = validate_pdf_timestamp(sig, vc)
        else:
            status = validate_pdf_signature(sig, vc, skip_diff=True)
        assert status.intact and status.valid and status.trusted, sig.field_name

    # The package's own checker, with the system's policy: it agrees with pdfsig, signature by
    # signature, and finds every revision covered.
    record_check = run([sys.executable, "verify_record.py"], folder)
    assert record_check.returncode == 0, record_check.stdout + record_check.stderr
    verdicts = [line.split()[0] for line in record_check.stdout.splitlines() if line[:1] != " "]
    assert verdicts[:6] == ["VALID"] * 6, record_check.stdout
    assert "validation data only" in record_check.stdout or verdicts[6] == "OK:"

    pyhanko_cli = Path(sys.executable).with_name("pyhanko")  # pyhanko-cli, a dependency
    if pyhanko_cli.exists():
        default = run(
            [
                str(pyhanko_cli),
                "sign",
                "validate",
                "--trust",
                "certificates/root.pem",
                "--soft-revocation-check",
                "record.pdf",
            ],
            folder,
        )
        # pyHanko's default policy: the decision is valid, earlier signatures followed by marks
        # and seals are not (README.txt says which line and why: pyHanko issue 209)
        judged = default.stdout.splitlines()
        assert judged[-1].endswith("ACCEPTABLE_MODIFICATIONS"), default.stdout
        assert all(line.endswith("ILLEGAL_MODIFICATIONS") for line in judged[:-1]), default.stdout
        assert all(":INTACT:TRUSTED," in line for line in judged), default.stdout
        cli = run(
            [
                str(pyhanko_cli),
                "sign",
                "validate",
                "--pretty-print",
                "--trust",
                "certificates/root.pem",
                "--soft-revocation-check",
                "--no-diff-analysis",
                "record.pdf",
            ],
            folder,
        )
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert cli.stdout.count("The signature is judged VALID.") == 5, cli.stdout
        assert cli.stdout.count("The signer's certificate is trusted.") == 5, cli.stdout

    # The document timestamp, with the snippet README.txt gives (pyHanko's library).
    snippet = TIMESTAMP_CHECK.split("\n", 1)[1].rsplit("\nEOF", 1)[0]
    assert indented(TIMESTAMP_CHECK) in (folder / "README.txt").read_text(encoding="utf-8")
    stamped = run([sys.executable, "-c", snippet], folder)
    assert stamped.returncode == 0, stamped.stderr
    assert stamped.stdout.count("INTACT TRUSTED") == 1, stamped.stdout

    # The audit trail: the package's own checker passes …
    checked = chain_check(folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK" in checked.stdout
    lines = [json.loads(x) for x in (folder / "audit.jsonl").read_text().splitlines()]
    entries = AuditEntry.objects.filter(document=document).order_by("seq")
    assert [x["seq"] for x in lines] == [e.seq for e in entries]
    download_entry = entries.last()
    assert download_entry is not None and download_entry.action == "evidence.download"
    assert download_entry.actor == User.objects.get(username="watanabe")
    assert lines[-1]["hash"] == download_entry.hash_hex
    assert manifest["audit"]["download_entry"]["seq"] == download_entry.seq
    # … the anchor's token is signed by the TSA over the anchored hash …
    anchors = [json.loads(x) for x in (folder / "audit-anchors.jsonl").read_text().splitlines()]
    assert [a["seq"] for a in anchors] == [anchor.seq]
    ts = run(
        [
            "openssl",
            "ts",
            "-verify",
            "-digest",
            anchors[0]["hash"],
            "-in",
            anchors[0]["token_file"],
            "-token_in",
            "-CAfile",
            "certificates/root.pem",
            "-untrusted",
            "certificates/tsa.pem",
        ],
        folder,
    )
    assert "Verification: OK" in ts.stdout, ts.stdout + ts.stderr
    # … and an edited line is caught, naming the entry.
    approval = next(x for x in lines if x["action"] == "workflow.approve")
    audit_file = folder / "audit.jsonl"
    pristine = audit_file.read_text(encoding="utf-8")
    rewrite_line(audit_file, approval["seq"], lambda e: e.update(action="workflow.reject"))
    broken = chain_check(folder)
    assert broken.returncode == 1, broken.stdout
    assert f"seq={approval['seq']} (workflow.reject" in broken.stdout, broken.stdout
    # Recomputing the edited entry's hash only moves the break to the link after it.
    audit_file.write_text(pristine, encoding="utf-8")
    consecutive = next(x for x, y in itertools.pairwise(lines) if y["seq"] == x["seq"] + 1)
    sys.path.insert(0, str(folder))
    try:
        import verify_audit_chain as checker
    finally:
        sys.path.pop(0)

    def forge(entry: dict[str, Any]) -> None:
        entry["data"] = entry["data"].replace("}", ',"forged":1}', 1)
        entry["hash"] = hashlib.sha256(checker.message(entry)).hexdigest()

    rewrite_line(audit_file, consecutive["seq"], forge)
    broken = chain_check(folder)
    assert broken.returncode == 1, broken.stdout
    assert f"seq={consecutive['seq'] + 1}" in broken.stdout, broken.stdout
    audit_file.write_text(pristine, encoding="utf-8")

    # history.json: the route's actions and who used which position key.
    history = json.loads((folder / "history.json").read_text())
    assert [h["action"] for h in history["history"]][:1] == ["submit"]
    assert [r["actor"]["username"] for r in history["record_revisions"][:5]] == [
        "tanaka",
        "suzuki",
        "sato",
        "ito",
        "takahashi",
    ]

    # The readable report: Japanese text, every signer, rendered and saved to look at.
    pdf_text = run(["pdftotext", "-layout", "verification.pdf", "-"], folder).stdout
    assert document.number is not None
    for expected in ["電子署名検証報告書", "有効", document.number, *SIGNERS, "決裁 総務部長"]:
        assert expected in pdf_text, expected
    assert "注釈の追加のみ" in pdf_text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("verification-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", "verification.pdf", str(ARTIFACTS / "verification")],
        cwd=folder,
        check=True,
    )
    assert sorted(ARTIFACTS.glob("verification-*.png"))
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert readme.index("\n日本語\n") < readme.index("\nEnglish\n")
    assert "sha256sum -c SHA256SUMS" in readme and "verify_audit_chain.py" in readme
    (ARTIFACTS / "README.txt").write_text(readme, encoding="utf-8")


def test_earlier_versions_and_clashing_names(demo_org: None, tmp_path: Path) -> None:
    """A sent-back document: the first version's signed record and the originals it alone had
    are in the package too; two attachments of one name both survive. The drafter is no
    auditor: the audit trail's addresses are withheld and the chain check is partial."""
    pdf = (TESTDATA / "pdflatex-4-pages.pdf").read_bytes()
    other = (TESTDATA / "minimal-document.pdf").read_bytes()
    files = [
        ("見積書.pdf", pdf),
        ("見積書.pdf", other),
        ("仕様書.pdf", other + b"\n%"),
    ]
    uploads = []
    for name, data in files:
        handle = io.BytesIO(data)
        handle.name = name
        uploads.append(handle)
    response = client("tanaka").post(
        "/api/v1/documents",
        {"meta": json.dumps({**META, "amount": 500_000}), "attachments": uploads},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    document_id = int(response.json()["id"])
    submit(document_id)
    sent_back = act("suzuki", document_id, "send-back", reason="見積書を差し替えてください")
    assert sent_back.status_code == 200, sent_back.content
    edited = client("tanaka").patch(
        f"/api/v1/documents/{document_id}", {"title": f"{META['title']}（修正）"}, format="json"
    )
    assert edited.status_code == 200, edited.content
    document = Document.objects.get(pk=document_id)
    assert document.version == 2
    dropped = document.versions.get(number=2).attachments.get(filename="仕様書.pdf")
    gone = client("tanaka").delete(f"/api/v1/documents/{document_id}/attachments/{dropped.pk}")
    assert gone.status_code == 204, gone.content

    response = download(client("tanaka"), document_id)
    assert response.status_code == 200, response.content
    folder = tmp_path / "package"
    archive = extract(body_of(response), folder)
    manifest = check_manifest(archive)
    assert run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], folder).returncode == 0
    names = set(archive.namelist())
    assert {"record.pdf", "record-v1.pdf"} <= names
    assert (folder / "originals/見積書.pdf").read_bytes() == pdf
    assert (folder / "originals/見積書 (2).pdf").read_bytes() == other
    assert (folder / "originals/v1/仕様書.pdf").read_bytes() == other + b"\n%"
    v1 = next(v for v in manifest["versions"] if v["version"] == 1)
    assert [a["path"] for a in v1["attachments"]] == [
        "originals/見積書.pdf",
        "originals/見積書 (2).pdf",
        "originals/v1/仕様書.pdf",
    ]
    report = json.loads(archive.read("verification.json"))
    (earlier,) = report["earlier_versions"]
    assert earlier["version"] == 1 and earlier["valid"], earlier
    assert earlier["signatures"][0]["signer"] == "田中 一郎"

    lines = [json.loads(x) for x in archive.read("audit.jsonl").decode().splitlines()]
    assert lines and all(x["ip"] is None and x["client"] is None for x in lines)
    assert manifest["audit"]["addresses_withheld"] is True
    partial = chain_check(folder)
    assert partial.returncode == 2, partial.stdout + partial.stderr
    assert "PARTLY CHECKED" in partial.stdout


def test_who_may_take_the_package(demo_org: None) -> None:
    document_id = draft_with_pdf(500_000)
    url = f"/api/v1/documents/{document_id}/evidence.zip"
    anonymous = APIClient().get(url)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"]
    # ito (another department, not on a route) and the auditor (not decided yet) may not see it.
    for username in ("ito", "watanabe"):
        response = client(username).get(url)
        assert response.status_code == 404, (username, response.status_code)
        assert response.json()["error"]["code"] == "not_found"
    assert client("tanaka").get("/api/v1/documents/999999/evidence.zip").status_code == 404
    assert not AuditEntry.objects.filter(action="evidence.download").exists()
    assert download(client("tanaka"), document_id).status_code == 200
    assert AuditEntry.objects.filter(action="evidence.download").count() == 1


def test_the_package_streams_under_asgi(demo_org: None, tmp_path: Path) -> None:
    """Daphne serves through ASGI, where Django would read a sync iterator whole into memory:
    the package is handed over chunk by chunk from an async iterator instead."""
    document_id = draft_with_pdf(500_000)
    tanaka = User.objects.get(username="tanaka")

    async def fetch() -> tuple[Any, bytes, bool]:
        c = AsyncClient()
        await c.aforce_login(tanaka)
        response: Any = await c.get(f"/api/v1/documents/{document_id}/evidence.zip")
        is_async = response.is_async
        chunks = [chunk async for chunk in response.streaming_content]
        return response, b"".join(chunks), is_async

    response, data, is_async = async_to_sync(fetch)()
    assert response.status_code == 200
    assert is_async
    assert int(response["Content-Length"]) == len(data)
    archive = extract(data, tmp_path / "package")
    check_manifest(archive)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("見積書.pdf", "見積書.pdf"),
        ("../../etc/passwd", ".._.._etc_passwd"),
        ("a\\b.pdf", "a_b.pdf"),
        ("..", "file.."),
        ("tab\there.txt", "tab_here.txt"),
        ("ｶﾞ.pdf", "ｶﾞ.pdf"),
    ],
)
def test_file_names_stay_inside_their_folder(name: str, expected: str) -> None:
    assert safe_name(name) == expected
    assert "/" not in safe_name(name) and re.match(r"^[^\x00-\x1f]*$", safe_name(name))


def test_the_report_says_plainly_what_is_wrong(tmp_path: Path) -> None:
    """A tampered record's report: 無効, the altered signature, and the change in words."""
    signature = {
        "field": "seal-0-0-1",
        "kind": "signature",
        "signer": "鈴木 花子",
        "role": "総務課係長",
        "section": "総務部 総務課",
        "organisation": "サンプル市",
        "reason": "承認 総務課係長",
        "signed_at": "2026-05-01T05:03:22+00:00",
        "timestamp": {"time": "2026-05-01T05:03:23+00:00", "tsa": "サンプル市 TSA", "valid": True},
        "intact": False,
        "trusted": True,
        "revoked": False,
        "modification": "other",
        "changes": ["revision 3: content of page 2 changed"],
        "valid": False,
        "problem": "the signed bytes were altered (digest or signature mismatch)",
        "revision": 2,
    }
    report = {
        "valid": False,
        "problem": "seal-0-0-1: the signed bytes were altered",
        "revisions": 4,
        "signatures": [signature],
        "version": 1,
        "sha256": "0" * 64,
    }
    pdf = render_report(
        {"id": 7, "number": None, "title": "テスト文書"},
        report,
        certificates=[],
        generated={"at": "2026-05-01T06:00:00+00:00", "by": {"name": "渡辺 恵"}},
    )
    path = tmp_path / "verification.pdf"
    path.write_bytes(pdf)
    text = run(["pdftotext", "-layout", str(path), "-"], tmp_path).stdout
    for expected in [
        "無効",
        "NOT VALID",
        "改ざんあり",
        "注釈以外の変更あり",
        "content of page 2 changed",
        "2026-05-01 14:03:22 JST",
        "未定",
    ]:
        assert expected in text, expected


def test_the_package_speaks_japanese_whoever_downloads_it(demo_org: None) -> None:
    # Two downloads of the same record must say the same: the verification report is in the
    # organisation's language, like the history, even for a reader who chose English.
    document_id = draft_with_pdf(500_000)
    english = client("tanaka")
    english.cookies["django_language"] = "en"
    response = english.get(
        f"/api/v1/documents/{document_id}/evidence.zip", HTTP_ACCEPT_LANGUAGE="en"
    )
    archive = zipfile.ZipFile(io.BytesIO(body_of(response)))
    report = json.loads(archive.read("verification.json"))
    assert report["signatures"] == []
    with translation.override("ja"):
        assert (
            report["problem"] == gettext("the PDF has no signature") != ("the PDF has no signature")
        )
    # … while the API answers the same reader in English.
    verification = english.get(
        f"/api/v1/documents/{document_id}/verification", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert verification.json()["problem"] == "This record has not been signed yet."
