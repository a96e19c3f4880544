"""Every approval signs the decision record; the decision adds B-LTA (issue 5, end to end).

A ¥3,200,000 contract goes suzuki → sato → ito (合議) → takahashi (決裁) through the API, with
marks made on the way. The record must then carry one signature per approver and a document
timestamp; pdfsig, pyHanko's own validator and ours must agree that it is intact and trusted.
"""

from __future__ import annotations

import io
import itertools
import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from documents.models import Document, RecordRevision, RevisionKind
from org.models import Absence, User
from signing.trust import validation_context
from storage import get_store, key_for
from tests.workflow.test_approval_flow import META, act, approve_all, client, submit, task_for
from workflow.models import Annotation

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT.parent / "shared" / "testdata" / "pdfs"
ARTIFACTS = ROOT / "tests" / "artifacts" / "signed_record"


def draft_with_pdf(amount: int = 3_200_000) -> int:
    with (TESTDATA / "pdflatex-4-pages.pdf").open("rb") as pdf:
        response = client("tanaka").post(
            "/api/v1/documents",
            {"meta": json.dumps({**META, "amount": amount}), "attachments": [pdf]},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def record_bytes(document_id: int) -> bytes:
    document = Document.objects.get(pk=document_id)
    version = document.versions.get(number=document.version)
    with get_store().open(key_for(version.record_sha256)) as reader:
        return bytes(reader.read())


def mark(username: str, document_id: int, **body: Any) -> Any:
    return client(username).post(
        f"/api/v1/documents/{document_id}/annotations", body, format="json"
    )


def pdfsig(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "record.pdf"
    path.write_bytes(data)
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    return result.stdout + result.stderr


@pytest.fixture
def decided(demo_org: None) -> int:
    document_id = draft_with_pdf()
    submit(document_id)
    highlight = mark(
        "suzuki",
        document_id,
        page=2,
        kind="highlight",
        rects=[[72, 700, 300, 714]],
        color="#ffeb3b",
        text="金額を確認",
    )
    assert highlight.status_code == 201, highlight.content
    note = mark(
        "suzuki",
        document_id,
        page=1,
        kind="note",
        rects=[[500, 600, 520, 620]],
        text="契約期間は？",
    )
    assert note.status_code == 201, note.content
    approve_all(document_id, "suzuki")
    ink = mark(
        "sato",
        document_id,
        page=2,
        kind="ink",
        strokes=[[[100, 500], [150, 520], [200, 500]]],
        color="#d32f2f",
    )
    assert ink.status_code == 201, ink.content
    approve_all(document_id, "sato", "ito", "takahashi")
    return document_id


def test_each_approval_signs_and_the_decision_adds_a_document_timestamp(decided: int) -> None:
    document = Document.objects.get(pk=decided)
    assert document.status == "decided" and document.number
    revisions = list(RecordRevision.objects.filter(version__document=document).order_by("seq"))
    assert [r.kind for r in revisions] == [RevisionKind.SIGNATURE] * 5 + [RevisionKind.TIMESTAMP]
    assert [r.reason for r in revisions[:5]] == [
        "起案 総務課主事",
        "承認 総務課係長",
        "承認 総務課長",
        "合議 財政課長",
        "決裁 総務部長",
    ]
    assert [r.actor.username for r in revisions[:5] if r.actor] == [
        "tanaka",
        "suzuki",
        "sato",
        "ito",
        "takahashi",
    ]
    assert revisions[1].annotations == 2 and revisions[2].annotations == 1
    # The decider's revision also sets the number and the decision date into the cover's cells.
    assert revisions[4].annotations == 2
    assert all(r.timestamp is not None for r in revisions[:5])
    # The B-LTA row names its token's time and the TSA certificate, as a renewal's row does.
    final = revisions[-1]
    assert final.timestamp is not None and final.key_id == "tsa" and final.certificate_serial
    version = document.versions.get(number=document.version)
    assert version.record_sha256 == revisions[-1].sha256
    # Each revision extends the previous file byte for byte.
    for earlier, later in itertools.pairwise(revisions):
        assert later.previous_sha256 == earlier.sha256


def test_pdfsig_reports_every_signature_valid(decided: int, tmp_path: Path) -> None:
    out = pdfsig(record_bytes(decided), tmp_path)
    # Five signatures (起案 and four approvals); poppler cannot check the sixth, an RFC 3161
    # document timestamp ("Unable to validate this type of signature"), which pyHanko checks
    # below. pdfsig does not know our root, so it says nothing about trust.
    assert out.count("Signature is Valid") == 5, out
    assert out.count("Signature #") == 6, out
    assert "Signature is Invalid" not in out and "Digest Mismatch" not in out, out


def test_pyhanko_trusts_every_signature_and_accepts_the_last(decided: int) -> None:
    reader = PdfFileReader(io.BytesIO(record_bytes(decided)))
    signatures: list[EmbeddedPdfSignature] = [
        s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"
    ]
    assert len(signatures) == 5
    vc = validation_context()
    for sig in signatures:
        status = validate_pdf_signature(sig, vc, skip_diff=True)
        assert status.intact and status.valid and status.trusted, sig.field_name
    # pyHanko's default difference policy: after the last approval only DSS and a timestamp.
    last = validate_pdf_signature(signatures[-1], validation_context())
    assert last.bottom_line, last.pretty_print_details()


def test_our_validator_reports_the_marks_as_annotations(decided: int) -> None:
    response = client("tanaka").get(f"/api/v1/documents/{decided}/verification")
    assert response.status_code == 200
    report = response.json()
    assert report["valid"], report
    sigs = [s for s in report["signatures"] if s["kind"] == "signature"]
    assert [s["role"] for s in sigs] == [
        "総務課主事",
        "総務課係長",
        "総務課長",
        "財政課長",
        "総務部長",
    ]
    assert [s["signer"] for s in sigs] == [
        "田中 一郎",
        "鈴木 花子",
        "佐藤 誠",
        "伊藤 直子",
        "高橋 明",
    ]
    # Later marks (the approvers' marks, the number stamp) are annotations for the earlier
    # signatures; after the decider's only validation data and a document timestamp follow.
    assert [s["modification"] for s in sigs] == ["annotations"] * 4 + ["none"]
    assert all(s["intact"] and s["trusted"] and s["timestamp"]["valid"] for s in sigs)
    assert report["signatures"][-1]["kind"] == "document_timestamp"


def test_marks_become_part_of_the_signed_record(decided: int) -> None:
    annotations = Annotation.objects.filter(document_id=decided)
    assert annotations.count() == 3
    assert all(a.revision_id is not None for a in annotations)
    listed = client("ito").get(f"/api/v1/documents/{decided}/annotations").json()["results"]
    assert {a["kind"] for a in listed} == {"highlight", "note", "ink"}
    assert all(a["signed"] for a in listed)
    first = annotations.filter(author__username="suzuki").first()
    assert first is not None
    gone = client("suzuki").delete(f"/api/v1/documents/{decided}/annotations/{first.pk}")
    assert gone.status_code == 409


def test_the_seals_render_on_the_cover(decided: int, tmp_path: Path) -> None:
    path = tmp_path / "record.pdf"
    path.write_bytes(record_bytes(decided))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "110",
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            str(path),
            str(ARTIFACTS / "cover"),
        ],
        check=True,
    )
    from PIL import Image

    (png,) = sorted(ARTIFACTS.glob("cover*.png"))
    image = Image.open(png).convert("RGB")
    pixels = image.tobytes()
    red = sum(
        1
        for i in range(0, len(pixels), 3)
        if pixels[i] > 170 and pixels[i + 1] < 90 and pixels[i + 2] < 90
    )
    # Five red seals are many red pixels; a blank cover has none.
    assert red > 2000, red


def test_a_deputy_signs_with_their_own_post_for_the_absent_decider(demo_org: None) -> None:
    sato = User.objects.get(username="sato")
    now = timezone.now()
    Absence.objects.create(
        user=sato,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        reason="出張",
    )
    document_id = draft_with_pdf(500_000)
    submit(document_id)
    approve_all(document_id, "suzuki", "yamamoto")
    revision = RecordRevision.objects.filter(
        version__document_id=document_id, kind=RevisionKind.SIGNATURE
    ).order_by("seq")
    assert [r.reason for r in revision] == [
        "起案 総務課主事",
        "承認 総務課係長",
        "代決 総務課長補佐（総務課長）",
    ]
    deputy = revision.last()
    assert deputy is not None and deputy.on_behalf_of == sato
    # sato's 後閲 signs invisibly after the decision and keeps the record valid.
    response = act("sato", document_id)
    assert response.status_code == 200, response.content
    report = client("sato").get(f"/api/v1/documents/{document_id}/verification").json()
    assert report["valid"], report
    assert report["signatures"][-1]["reason"] == "後閲 総務課長"


def test_marking_needs_an_open_task_and_a_well_formed_mark(demo_org: None) -> None:
    document_id = draft_with_pdf(500_000)
    submit(document_id)
    assert (
        mark("sato", document_id, page=1, kind="note", rects=[[1, 1, 2, 2]], text="x").status_code
        == 403
    )
    bad = [
        {"page": 0, "kind": "note", "rects": [[1, 1, 2, 2]], "text": "x"},
        {"page": 1, "kind": "scribble", "rects": [[1, 1, 2, 2]]},
        {"page": 1, "kind": "highlight", "rects": [[1, 1, 2]]},
        {"page": 1, "kind": "highlight", "rects": [[1, 1, 2, "x"]]},
        {"page": 1, "kind": "note", "rects": [[1, 1, 2, 2]], "text": "  "},
        {"page": 1, "kind": "ink", "strokes": [[[1, 1]]]},
        {"page": 1, "kind": "highlight", "rects": [[1, 1, 2, 2]], "color": "red"},
        {"page": 999, "kind": "highlight", "rects": [[1, 1, 2, 2]]},
    ]
    for body in bad:
        response = mark("suzuki", document_id, **body)
        assert response.status_code == 400, (body, response.content)
        assert response.json()["error"]["message"]
    assert not Annotation.objects.exists()
    task_for("suzuki", document_id)


def test_the_audit_trail_names_who_used_which_key_after_which_authentication(
    decided: int,
) -> None:
    from audit.models import AuditEntry

    entries = list(
        AuditEntry.objects.filter(document_id=decided, action="signing.sign").order_by("seq")
    )
    assert [e.actor.username for e in entries if e.actor] == [
        "tanaka",
        "suzuki",
        "sato",
        "ito",
        "takahashi",
    ]
    data = json.loads(entries[1].data)
    assert data["reason"] == "承認 総務課係長" and data["key"].startswith("post-")
    assert data["authentication"]["by"] == "session"
    assert AuditEntry.objects.filter(document_id=decided, action="signing.timestamp").count() == 1


def test_the_cover_shows_the_number_and_date_in_its_cells(decided: int) -> None:
    """Issue 18: after the decision the table's own cells say the number and the date (the
    appearance exactly over 未定, in the decider's signed revision), the metadata says them, and
    the header's version is the catalogue's."""
    document = Document.objects.get(pk=decided)
    version = document.versions.get(number=document.version)
    data = record_bytes(decided)
    reader = PdfFileReader(io.BytesIO(data))
    cells = version.record_layout["cells"]
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    set_in = {
        str(a.get_object()["/NM"]): a.get_object()
        for a in page["/Annots"]
        if str(a.get_object().get("/NM", "")).startswith(("ekessai-document-", "ekessai-decided-"))
    }
    number = set_in[f"ekessai-document-number-{decided}"]
    date = set_in[f"ekessai-decided-on-{decided}"]
    assert str(number["/Contents"]) == document.number
    assert str(date["/Contents"]).startswith("令和") or str(date["/Contents"])[:1].isdigit()
    for annot, key in ((number, "document_number"), (date, "decided_on")):
        x, y, width, height = cells[key]["rect"]
        assert [round(float(v), 1) for v in annot["/Rect"]] == [
            round(v, 1) for v in (x, y, x + width, y + height)
        ]
    # the cells' appearances sit in the decider's own signed revision
    decider = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"][-1]
    report = client("tanaka").get(f"/api/v1/documents/{decided}/verification").json()
    last = [s for s in report["signatures"] if s["kind"] == "signature"][-1]
    assert sum("/FreeText" in c for c in last["covers"]) == 2, last["covers"]
    assert report["unsigned_changes"] == []
    assert decider.field_name == last["field"]
    # the metadata and the version
    info = reader.trailer["/Info"]
    assert document.number in str(info["/Subject"]), info
    # PDF 2.0 from the start: the header says what the signatures need, and a catalogue
    # /Version, if any, says the same
    assert data[:9] == b"%PDF-2.0\n", data[:9]
    assert str(reader.root.get("/Version", "/2.0")) == "/2.0"
