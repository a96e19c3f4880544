"""An approval whose seal cannot be made changes nothing and says what to do (issue 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import storage
from documents.models import Document, RecordRevision
from org.models import User
from signing.keystore import get_keystore
from signing.positions import revoke_position
from storage import StorageUnavailable, get_store
from tests.storage.conftest import closed_port, s3_config
from tests.workflow.test_approval_flow import act, approve_all, client, submit, task_for
from tests.workflow.test_signed_record import draft_with_pdf, mark
from workflow.models import Annotation, HistoryEntry, Slot
from workflow.sealing import _signer

pytestmark = pytest.mark.django_db


def snapshot(document_id: int) -> dict[str, Any]:
    document = Document.objects.get(pk=document_id)
    version = document.versions.get(number=document.version)
    return {
        "status": document.status,
        "number": document.number,
        "record": version.record_sha256,
        "revisions": RecordRevision.objects.filter(version=version).count(),
        "history": HistoryEntry.objects.filter(document=document).count(),
        "slots": sorted(Slot.objects.filter(stage__route__document=document).values_list("status")),
        "unsigned_marks": Annotation.objects.filter(document=document, revision=None).count(),
    }


@pytest.fixture
def waiting_for_sato(demo_org: None) -> int:
    document_id = draft_with_pdf(500_000)  # suzuki → sato decides
    submit(document_id)
    approve_all(document_id, "suzuki")
    response = mark(
        "sato", document_id, page=1, kind="freetext", rects=[[80, 80, 300, 130]], text="了解"
    )
    assert response.status_code == 201
    return document_id


def test_a_silent_timestamp_authority_refuses_the_approval(waiting_for_sato: int, settings) -> None:
    before = snapshot(waiting_for_sato)
    settings.SIGNING_TSA_URL = f"http://127.0.0.1:{closed_port()}/tsa"
    response = act("sato", waiting_for_sato)
    assert response.status_code == 503, response.content
    error = response.json()["error"]
    assert error["code"] == "timestamp_unavailable"
    assert "Try again" in error["message"] or "お試し" in error["message"]
    assert snapshot(waiting_for_sato) == before
    # The service answers again: the same task goes through.
    settings.SIGNING_TSA_URL = None
    assert act("sato", waiting_for_sato).status_code == 200
    assert Document.objects.get(pk=waiting_for_sato).status == "decided"


def test_the_store_failing_while_the_signed_record_is_written(
    waiting_for_sato: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(waiting_for_sato)
    store = get_store()

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise StorageUnavailable("the object store is unreachable; try again later")

    # The store goes away after the signature is made, while its bytes are being written.
    monkeypatch.setattr(store, "put", unreachable)
    response = act("sato", waiting_for_sato)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert snapshot(waiting_for_sato) == before
    monkeypatch.undo()
    assert act("sato", waiting_for_sato).status_code == 200


def test_an_unreachable_object_store_refuses_the_approval(waiting_for_sato: int, settings) -> None:
    before = snapshot(waiting_for_sato)
    settings.OBJECT_STORE = s3_config(f"127.0.0.1:{closed_port()}", "outage", TIMEOUT=2)
    storage.reset_store()
    response = act("sato", waiting_for_sato)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert snapshot(waiting_for_sato) == before


def test_a_task_cannot_be_acted_on_twice_after_a_refusal(waiting_for_sato: int, settings) -> None:
    settings.SIGNING_TSA_URL = f"http://127.0.0.1:{closed_port()}/tsa"
    task = task_for("sato", waiting_for_sato)
    sato = client("sato")
    assert sato.post(f"/api/v1/tasks/{task}/approve", {}, format="json").status_code == 503
    settings.SIGNING_TSA_URL = None
    assert sato.post(f"/api/v1/tasks/{task}/approve", {}, format="json").status_code == 200
    again = sato.post(f"/api/v1/tasks/{task}/approve", {}, format="json")
    assert again.status_code == 409


def test_an_abolished_posts_key_signs_nothing(
    waiting_for_sato: int, settings, tmp_path: Path
) -> None:
    # A CA of this test's own: the revocation must not reach the other tests' signatures.
    settings.SIGNING_PKI_DIR = tmp_path / "pki"
    key_id = _signer(User.objects.get(username="sato"), "総務部 総務課", "課長")[0]
    act_before = snapshot(waiting_for_sato)
    get_keystore().ca.ensure_position(key_id, position="総務課長", section="総務部 総務課")
    revoke_position(key_id)
    response = act("sato", waiting_for_sato)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "key_revoked"
    assert snapshot(waiting_for_sato) == act_before
