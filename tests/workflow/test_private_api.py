"""Django internals that workflow.hooks reads to join an event to its transaction's batch
(docs/architecture.md, "Private code of libraries"): connection.run_on_commit holds
(savepoint ids, callback, robust) per on_commit call, and savepoint_ids the open savepoints.
The behaviour built on them is checked in test_hooks_batch.py."""

from __future__ import annotations

import pytest
from django.db import transaction

pytestmark = pytest.mark.django_db(transaction=True)


def _noop() -> None:
    pass


def test_run_on_commit_entries_are_savepoints_callback_robust() -> None:
    connection = transaction.get_connection()
    with transaction.atomic():
        transaction.on_commit(_noop)
        with transaction.atomic():
            inner_savepoints = set(connection.savepoint_ids)
            assert len(inner_savepoints) == 1
            transaction.on_commit(_noop, robust=True)
            outer, inner = connection.run_on_commit[-2:]
            savepoints, callback, robust = inner
            assert savepoints == inner_savepoints and callback is _noop and robust is True
            assert outer[0] == set() and outer[1] is _noop and outer[2] is False


def test_a_rolled_back_savepoint_drops_its_callbacks() -> None:
    connection = transaction.get_connection()
    with transaction.atomic():
        transaction.on_commit(_noop)
        try:
            with transaction.atomic():
                transaction.on_commit(_noop)
                raise RuntimeError
        except RuntimeError:
            pass
        assert len(connection.run_on_commit) == 1
