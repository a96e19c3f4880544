"""Issue 17: bulk approval reports per task, always, also when the object store goes away in
the middle of it (it answered 503 「何も保存されていません」 though 9 of 12 were approved)."""

from __future__ import annotations

from typing import Any

import pytest

from documents.models import Document, RecordRevision
from storage import StorageUnavailable
from storage.filesystem import FilesystemStore
from tests.security.scenario import session, submitted
from workflow import services
from workflow.models import Slot, SlotStatus

pytestmark = pytest.mark.django_db


def test_bulk_approval_under_a_store_outage_says_which_tasks_were_done(demo_org, monkeypatch):
    documents, tasks = zip(*(submitted(f"一括承認 {n}") for n in range(12)), strict=True)
    real_approve, real_put = services.approve, FilesystemStore._put
    state = {"approvals": 0, "down": False}

    def approve(*args: Any, **kwargs: Any) -> Any:
        state["approvals"] += 1
        state["down"] = state["approvals"] > 9  # the store goes away after the 9th approval
        return real_approve(*args, **kwargs)

    def put(self: FilesystemStore, *args: Any, **kwargs: Any) -> Any:
        if state["down"]:
            raise StorageUnavailable("connection refused")
        return real_put(self, *args, **kwargs)

    monkeypatch.setattr(services, "approve", approve)
    monkeypatch.setattr(FilesystemStore, "_put", put)
    response = session("suzuki").post(
        "/api/v1/tasks/bulk-approve", {"task_ids": list(tasks)}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["approved"] == list(tasks[:9])
    assert body["not_approved"] == list(tasks[9:])
    assert "9" in body["message"] and "3" in body["message"]
    results = {r["task_id"]: r for r in body["results"]}
    assert results[tasks[9]]["error"]["code"] == "storage_unavailable"
    assert {results[t]["error"]["code"] for t in tasks[10:]} == {"not_attempted"}
    assert state["approvals"] == 10  # nothing was tried after the outage
    # What the answer says is what the database holds.
    for document, task in zip(documents, tasks, strict=True):
        approved = task in body["approved"]
        slot = Slot.objects.get(pk=task)
        assert (slot.status != SlotStatus.OPEN) == approved
        signed = RecordRevision.objects.filter(
            version__document=Document.objects.get(pk=document), actor__username="suzuki"
        ).exists()
        assert signed == approved
