"""Two requests for the same record at once, and a disposal carried out twice at once, on
PostgreSQL (SQLite ignores row locks)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import connection

from documents.models import Status
from org.models import User
from retention import execution, locking
from retention.models import DisposalItem, DisposalRequest, Tombstone
from retention.requests import request_disposal
from tests.conftest import postgres_only
from tests.retention.conftest import plain_record
from workflow import services
from workflow.models import Slot

pytestmark = [postgres_only(), pytest.mark.django_db(transaction=True)]


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same instant, each on its own connection; results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def codes(results: list[Any]) -> list[str]:
    def code(result: Any) -> str:
        if not isinstance(result, Exception):
            return "ok"
        get_codes = getattr(result, "get_codes", None)
        return str(get_codes()) if get_codes else repr(result)

    return sorted(code(r) for r in results)


@pytest.fixture
def expired(demo_org, clock):
    clock.set(date(2026, 11, 22))
    record = plain_record("総総第9号", fiscal_year=2019)
    locking.ensure_state(record)
    return record


def test_two_requests_for_the_same_record_at_once(expired):
    admin = User.objects.get(username="admin")
    results = race(
        lambda: request_disposal(admin, "dispose", [expired.pk], "満了"),
        lambda: request_disposal(admin, "transfer", [expired.pk], "満了"),
    )
    assert codes(results) == ["already_requested", "ok"], results
    assert DisposalRequest.objects.count() == 1
    assert DisposalItem.objects.filter(record=expired).count() == 1


def test_a_disposal_carried_out_twice_at_once_disposes_once(expired, monkeypatch):
    admin = User.objects.get(username="admin")
    request = request_disposal(admin, "dispose", [expired.pk], "満了")
    # Decide it with the listener held back, then run the listener's work and the catch-up
    # command's at the same instant.
    slot = Slot.objects.get(stage__route__document=request.document, assignee__username="takahashi")
    with monkeypatch.context() as patched:
        patched.setattr(execution, "carry_out", lambda request: None)
        services.approve(User.objects.get(username="takahashi"), slot.pk)
    assert DisposalRequest.objects.get(pk=request.pk).executed_at is None

    results = race(
        lambda: execution.carry_out(DisposalRequest.objects.get(pk=request.pk)),
        lambda: execution.carry_out(DisposalRequest.objects.get(pk=request.pk)),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.disposed for r in results) == [0, 1]
    assert Tombstone.objects.filter(document=expired).count() == 1
    assert DisposalItem.objects.get(record=expired).status == "done"
    expired.refresh_from_db()
    assert expired.status == Status.DISPOSED
    assert DisposalRequest.objects.get(pk=request.pk).executed_at is not None
