"""PostgreSQL only: the triggers, concurrent appends, and the COPY fast path."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditAnchor, AuditEntry
from audit.services import anchor_head, record
from audit.verification import COLUMNS, MESSAGES, _walk_copy, _walk_rows, message_column_trusted
from tests.audit.conftest import check, some_entries, tampering
from tests.conftest import postgres_only

pytestmark = [postgres_only()]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET data = '{}' WHERE seq = 1",
        "DELETE FROM audit_auditentry WHERE seq = 1",
        "TRUNCATE audit_auditentry CASCADE",
        "UPDATE audit_auditanchor SET tsa = 'x'",
        "DELETE FROM audit_auditanchor",
    ],
)
def test_the_trigger_refuses_changes(statement):
    some_entries(2)
    anchor_head()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending
        cursor.execute("SET LOCAL ekessai.audit_truncate = 'no'")  # test databases allow it
        cursor.execute(statement)
    assert AuditEntry.objects.count() == 2 and AuditAnchor.objects.count() == 1


@pytest.mark.django_db
def test_the_fast_path_is_used_and_agrees_with_the_exact_walk():
    # Text that needs care in any encoding: quotes, backslashes, control characters, Japanese,
    # characters outside the BMP, a NUL escaped in JSON.
    some_entries(3)
    record("test.text", data={"text": 'a"b\\c\n\t\u2028 決裁 🖋 \x00'})
    fast = check()
    assert fast.method == "copy-messages" and fast.valid, fast.as_dict()
    walks = [_walk_rows(), _walk_copy(COLUMNS), _walk_copy(MESSAGES)]
    for walk in walks:
        assert walk is not None and walk.problem is None
        assert (fast.entries, fast.head_hash) == (walk.entries, walk.last_hash.hex())
    # The generated message column holds exactly the bytes record() hashed.
    with connection.cursor() as cursor:
        cursor.execute("SELECT message FROM audit_auditentry ORDER BY seq")
        stored = [bytes(m) for (m,) in cursor.fetchall()]
    assert stored == [e.message() for e in AuditEntry.objects.order_by("seq")]


@pytest.mark.django_db
def test_a_message_column_cut_loose_from_its_expression_is_not_trusted():
    """With the generation expression dropped, the message column could be left as it was while
    a column is changed: the check then reads the columns themselves."""
    some_entries(4)
    with tampering() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry ALTER COLUMN message DROP EXPRESSION")
        cursor.execute("UPDATE audit_auditentry SET action = 'test.forged' WHERE seq = 2")
    assert not message_column_trusted()
    report = check()
    assert (report.problem.seq, report.problem.kind) == (2, "changed")


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_gapless_chain():
    threads, per_thread = 6, 15
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with transaction.atomic():
                    record("test.concurrent", data={"thread": n, "i": i})
        except BaseException as e:
            errors.append(e)
        finally:
            connection.close()

    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, threads * per_thread + 1))
    report = check()
    assert report.valid, report.as_dict()
    prevs = list(AuditEntry.objects.values_list("prev_hash", flat=True))
    assert len({bytes(p) for p in prevs}) == len(prevs)  # no two entries share a predecessor


@pytest.mark.django_db
def test_an_append_whose_head_moved_meanwhile_reads_it_again(monkeypatch):
    """The append reads the head without a lock and writes only if it is still there; when
    another append moved it in between, nothing is written and it chains again."""
    from audit import services

    record("test.first")
    stale = services._read_head()
    record("test.second")  # the head moves past what `stale` says
    reads: list[object] = []
    real = services._read_head

    def read() -> object:
        reads.append(None)
        return stale if len(reads) == 1 else real()

    monkeypatch.setattr(services, "_read_head", read)
    third = record("test.third")
    assert len(reads) == 2  # the stale head was refused, the current one used
    assert third.seq == 3 and third.pk is not None
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", "action"))
    assert seqs == [(1, "test.first"), (2, "test.second"), (3, "test.third")]
    assert check().valid
