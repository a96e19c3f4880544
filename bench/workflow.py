"""Approval steps per second through the service layer, on PostgreSQL, 8 actors at once:
unsigned (the workflow alone) or, with --signed, every step sealing the record as in production.

An actor is a process of its own (forked after the setup, with its own database connection), as a
deployment runs several worker processes: it takes the next step from a shared queue, runs it and
takes the next, until the queue is empty. Threads of one process would measure Python's GIL
rather than the service layer.

Each step is one `workflow.services.approve()` call: the locks, the slot and history rows, the
flow moving on, the audit entry (hash chain, under the audit head's row lock) — and, for the
second step of each document, the decision with its document number from the department's
locked counter. After the commit, in the same call, the listeners of workflow.hooks run
(notifications: rows, pushes and e-mail to the in-memory outbox; retention). The documents are
submitted beforehand on the demo's 課長専決 route (suzuki → sato), so there are two steps each:
all first approvals, then all decisions.

Unsigned (default; SIGN_APPROVALS = False). Goals: CPU per step <= 12 ms (the actors' Python;
the database server's CPU is not counted, though it shares the machine's cores) and <= 12
statements in an approval's transaction (counted on a few documents approved alone first, as
tests/workflow/test_query_budget.py counts them: without BEGIN/COMMIT/SAVEPOINT/RELEASE; the
first document, whose decision creates the number counter, is not counted).

--signed (SIGN_APPROVALS = True): submission seals the drafter's box, each approval adds the
approver's marks and PAdES B-T signature (internal TSA, in process), the decision adds the
number slip and B-LTA; filesystem object store, internal CA keys, all under a temporary data
directory. Submitting signs too, so the default is 100 documents. Goal: >= 50 approvals/s with
8 actors, p99 <= 300 ms. Baselines in the same run: as many documents approved unsigned by the
same code (signing switched off), and the bare cost of one signature and one B-LTA step in this
process (signing.signer on a submitted record). Where a signed step's time goes is timed by
section in every actor (object store read, markup, pyHanko, TSA, store write, B-LTA, database
statements, the rest); --profile FILE also writes one actor's cProfile stats.

The serialised part, in both modes: each actor stamps when the audit head's row lock is taken
(on PostgreSQL at the start of the one statement that moves it,
audit.services._move_head_and_insert, an upper bound; elsewhere when audit.services._lock_head
returns) and when the department's number counter is taken (workflow.numbering._increment), and
when the transaction's COMMIT returns (the locks' end), by wrapping those functions and the
connection's commit in the actor processes (the application is not changed). Printed: p50/p99/mean
hold and the cluster-wide ceiling 1000 / mean hold (ms) steps/s, under the run's contention and
with the documents approved alone; baseline: the same lock-append-move-commit in raw SQL.
Goal for the audit head: >= 1,000 steps/s.

Baseline for the rate: a raw SQL transaction doing comparable row work per step with psycopg
(lock the process row, update two rows, insert five), by the same number of actor processes.
--without-listeners times as many more documents with the after-commit listeners detached (a
diagnostic of the workflow's own share). --departments N spreads the documents over N sections
of 総務部 (the demo's 総務課 and N - 1 made for the run, each with a drafter, a 係長 and a 課長), so
that decisions take N number counters, as in an office where many departments decide; the
default, 1, puts every decision on one counter (the worst case).

    .venv/bin/python bench/workflow.py [--documents 300] [--actors 8] [--without-listeners]
        [--departments 8]
    .venv/bin/python bench/workflow.py --signed [--documents 100] [--profile actor.prof]

Uses its own database (BENCH_WORKFLOW_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/ekessai_bench_workflow), recreated each run.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ekessai_bench_workflow"
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT", "ROLLBACK")


def _recreate(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _configure(url: str, data_dir: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["EKESSAI_DATA_DIR"] = str(data_dir)
    # The embedded defaults for signing: the internal CA under the data directory, the internal
    # TSA in process (no TSA_URL).
    os.environ["EKESSAI_PKI_DIR"] = str(data_dir / "pki")
    os.environ.setdefault("EKESSAI_KEY_PASSPHRASE", "bench passphrase, not a secret")
    for name in ("TSA_URL", "TSA_USERNAME", "TSA_PASSWORD"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.conf import settings

    settings.OBJECT_STORE = {"BACKEND": "filesystem", "ROOT": data_dir / "objects"}
    # No mail server here: notifications e-mail offline recipients after commit; keep it in memory.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _sections(count: int) -> list[Any]:
    """The drafters of `count` sections of 総務部, each with its 係長 and 課長 and its own number
    counter: 総務課 of the demo (tanaka, suzuki, sato) and count - 1 more made here."""
    from org.models import Department, Position, Post, User

    drafters = [User.objects.get(username="tanaka")]
    parent = Department.objects.get(code="somu")
    positions = {
        p.code: p for p in Position.objects.filter(code__in=["shuji", "kakaricho", "kacho"])
    }
    for k in range(2, count + 1):
        section = Department.objects.create(
            code=f"bench-{k}", name=f"第{k}課", parent=parent, number_prefix=f"総{k}"
        )
        for role in ("shuji", "kakaricho", "kacho"):
            user = User.objects.create(username=f"{role}-{k}", last_name=f"{role}{k}")
            Post.objects.create(user=user, department=section, position=positions[role])
            if role == "shuji":
                drafters.append(user)
    return drafters


def _warm_keys() -> None:
    """Every post's signing key issued and loaded, and its holder's dated seal drawn, in this
    process before the actors fork, as a deployment that has run a while has them: a key is
    issued once (first use) and decrypted once per process, a seal drawn once a day for the
    deployment (signing.signer._dated_seal, kept in the shared cache): not what a step costs."""
    import datetime as dt

    from org.services import current_posts
    from signing.keystore import get_keystore
    from signing.signer import JST, _dated_seal, family_name
    from workflow.sealing import _signer

    store = get_keystore()
    today = dt.datetime.now(JST).date()
    for post in current_posts().select_related("user", "department", "position"):
        department = post.department.full_name
        key_id, position, section = _signer(post.user, department, post.position.name)
        store.ca.ensure_position(key_id, position=position, section=section)
        store.get(key_id)
        _dated_seal(family_name(str(post.user)), today, position)
    store.tsa()


def _submit(documents: int, signed: bool, drafters: list[Any]) -> list[int]:
    """Submit `documents` notices, by the drafters in turn (sealed by the drafter if `signed`);
    their ids."""
    from django.conf import settings

    from documents.models import DocumentType
    from documents.services import create_document
    from workflow import services

    settings.SIGN_APPROVALS = signed
    notice = DocumentType.objects.get(code="notice")
    ids = []
    for i in range(documents):
        drafter = drafters[i % len(drafters)]
        document = create_document(
            drafter,
            {
                "title": f"通知文の発出について（{i}）",
                "doc_type": notice,
                "amount": 100_000 + i,
                "retention_years": 1,
            },
        )
        services.submit(drafter, document.pk)
        ids.append(document.pk)
    return ids


# --- timing in the actors ---


class Sections:
    """Exclusive wall and CPU time per named section (a section's time minus its subsections')."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.stack: list[list[Any]] = []

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        frame: list[Any] = [name, time.perf_counter(), time.thread_time(), 0.0, 0.0]
        self.stack.append(frame)
        try:
            yield
        finally:
            self.stack.pop()
            wall, cpu = time.perf_counter() - frame[1], time.thread_time() - frame[2]
            self.wall[name] += wall - frame[3]
            self.cpu[name] += cpu - frame[4]
            if self.stack:
                self.stack[-1][3] += wall
                self.stack[-1][4] += cpu

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)
        sections = self

        if hasattr(original, "__code__") and original.__code__.co_flags & 0x80:  # a coroutine

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                with sections(name):
                    return await original(*args, **kwargs)

            setattr(owner, attribute, timed_async)
        else:

            def timed(*args: Any, **kwargs: Any) -> Any:
                with sections(name):
                    return original(*args, **kwargs)

            setattr(owner, attribute, timed)


SECTIONS = (
    ("read", "record read from the object store"),
    ("markup", "markup (number slip, marks)"),
    ("sign", "pyHanko signing (without the TSA)"),
    ("tsa", "TSA (internal, in process)"),
    ("store", "new record written to the store"),
    ("blta", "B-LTA: DSS + document timestamp (without TSA)"),
    ("seal", "signing.records.seal's own (key check, rows)"),
    ("sealing", "workflow.sealing's own (signer, box, audit)"),
    ("db", "database statements (all, wall time)"),
    ("workflow", "the rest: workflow, hooks, listeners"),
)


def install_sections(sections: Sections) -> None:
    """Time the signed path by section, in this process (an actor)."""
    from django.db import connection

    import workflow.sealing
    import workflow.services
    from signing.cms import RecordingTimeStamper

    # signing.records.seal, being moved to documents.sealing: wherever workflow.sealing takes it.
    records = sys.modules[workflow.sealing.seal.__module__]

    sections.wrap(workflow.services, "approve", "workflow")
    for attribute, name in (
        ("_read_current", "read"),
        ("add_marks", "markup"),
        ("sign_approval", "sign"),
        ("_store", "store"),
        ("add_validation_data_and_doc_timestamp", "blta"),
    ):
        sections.wrap(records, attribute, name)
    sections.wrap(RecordingTimeStamper, "async_timestamp", "tsa")
    sections.wrap(workflow.sealing, "seal", "seal")
    sections.wrap(workflow.sealing, "seal_action", "sealing")

    def timed_statement(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        with sections("db"):
            return execute(sql, params, many, context)

    connection.execute_wrappers.append(timed_statement)


class Holds:
    """How long each transaction holds the contended rows: from the moment the locking statement
    returns to the moment COMMIT returns (when PostgreSQL has released the transaction's locks).
    Installed by wrapping audit.services._lock_head, workflow.numbering._increment and the
    connection's commit and rollback in this process."""

    NAMES = ("head", "counter")

    def __init__(self, immediate: bool = False) -> None:
        # Diagnostic: check the deferred foreign keys before locking the head, not at COMMIT.
        self.immediate = immediate
        self.taken: dict[str, float] = {}
        self.held: dict[str, list[float]] = {name: [] for name in self.NAMES}
        self.waited: dict[str, list[float]] = {name: [] for name in self.NAMES}
        self.committing: list[float] = []  # how long COMMIT took, of those holding the head
        self.restore: list[tuple[Any, str, Any]] = []

    def install(self) -> None:
        from django.db import connections

        import audit.services
        import workflow.numbering

        def probe(owner: Any, attribute: str, name: str, from_start: bool = False) -> None:
            """`from_start`: the function takes the lock inside its one statement, so the hold
            is counted from its start (an upper bound: under contention it includes the wait
            for the lock); otherwise from its return."""
            original = getattr(owner, attribute)
            self.restore.append((owner, attribute, original))

            def locked(*args: Any, **kwargs: Any) -> Any:
                if self.immediate and name == "head":
                    with connections["default"].cursor() as cursor:
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                started = time.perf_counter()
                result = original(*args, **kwargs)
                now = time.perf_counter()
                # _increment: None when the counter does not exist yet; _move_head_and_insert:
                # no ids when the head had moved (nothing written, no lock kept).
                if result is not None and result != []:
                    self.taken.setdefault(name, started if from_start else now)
                    self.waited[name].append((now - started) * 1000)
                return result

            setattr(owner, attribute, locked)

        # On PostgreSQL the head is locked by the statement that appends (audit.services);
        # elsewhere, and for the very first entry, by _lock_head.
        probe(audit.services, "_lock_head", "head")
        probe(audit.services, "_move_head_and_insert", "head", from_start=True)
        probe(workflow.numbering, "_increment", "counter")
        db = connections["default"]
        commit, rollback = getattr(db, "_commit"), getattr(db, "_rollback")  # noqa: B009
        self.restore.append((db, "_commit", commit))
        self.restore.append((db, "_rollback", rollback))

        def timed_commit() -> Any:
            started = time.perf_counter()
            result = commit()
            now = time.perf_counter()
            for name, taken in self.taken.items():
                self.held[name].append((now - taken) * 1000)
            if "head" in self.taken:
                self.committing.append((now - started) * 1000)
            self.taken.clear()
            return result

        def timed_rollback() -> Any:
            self.taken.clear()
            return rollback()

        setattr(db, "_commit", timed_commit)  # noqa: B010
        setattr(db, "_rollback", timed_rollback)  # noqa: B010

    def uninstall(self) -> None:
        for owner, attribute, original in reversed(self.restore):
            setattr(owner, attribute, original)
        self.restore.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"held": self.held, "waited": self.waited, "committing": self.committing}


# --- actors ---


def _actor(
    index: int,
    jobs: Any,
    results: Any,
    start: Any,
    step: Callable[[Any], None],
    prepare: Callable[[int], Callable[[], Any]],
) -> None:
    """One actor process: steps from `jobs` until its end marker (None); then (latencies in ms,
    CPU seconds, first start, last end, what `prepare`'s finisher returns) or the error's text
    into `results`."""
    latencies: list[float] = []
    try:
        finish = prepare(index)
        start.wait()
        cpu = time.process_time()
        first = time.perf_counter()
        while (item := jobs.get()) is not None:
            started = time.perf_counter()
            step(item)
            latencies.append((time.perf_counter() - started) * 1000)
        results.put((latencies, time.process_time() - cpu, first, time.perf_counter(), finish()))
    except BaseException:  # reported by the parent, after the other actors finish
        start.abort()  # so that none waits for this one at the start
        results.put(traceback.format_exc())
    finally:
        from django.db import connections

        connections.close_all()


def _nothing(index: int) -> Callable[[], Any]:
    return lambda: None


def _run(
    actors: int,
    work: list[Any],
    step: Callable[[Any], None],
    prepare: Callable[[int], Callable[[], Any]] = _nothing,
) -> tuple[float, list[float], float, list[Any]]:
    """Run `step` on every item of `work` by `actors` processes at once: steps per second,
    latencies (ms), the actors' CPU time per step (ms) and what each actor's finisher returned.
    `prepare(index)` runs in each actor first and returns its finisher."""
    from django.db import connections

    # Forked children must not share the parent's database socket: each opens its own.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    jobs = context.Queue()
    results = context.Queue()
    start = context.Barrier(actors)
    for item in work:
        jobs.put(item)
    for _ in range(actors):
        jobs.put(None)
    processes = [
        context.Process(target=_actor, args=(i, jobs, results, start, step, prepare))
        for i in range(actors)
    ]
    for process in processes:
        process.start()
    reports = [results.get() for _ in processes]
    for process in processes:
        process.join()
    errors = [r for r in reports if isinstance(r, str)]
    if errors:
        raise RuntimeError(f"an actor failed:\n{errors[0]}")
    latencies = [ms for r in reports for ms in r[0]]
    elapsed = max(r[3] for r in reports) - min(r[2] for r in reports)
    cpu_ms = sum(r[1] for r in reports) * 1000 / len(latencies)
    return len(latencies) / elapsed, latencies, cpu_ms, [r[4] for r in reports]


def _p(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _hold_line(label: str, held: list[float], waited: list[float] | None = None) -> str:
    if not held:
        return f"    {label}: not taken"
    mean = statistics.mean(held)
    line = (
        f"    {label}: held p50 {statistics.median(held):6.2f} ms  p99 {_p(held, 99):6.2f} ms  "
        f"mean {mean:6.2f} ms -> ceiling {1000 / mean:7.0f} steps/s"
    )
    if waited:
        line += (
            f"  (waited for it: p50 {statistics.median(waited):.2f}, p99 {_p(waited, 99):.1f} ms)"
        )
    return line


def _phase_line(phase: tuple[float, float, float, float], departments: int = 1) -> str:
    counters = (
        "one department, one number counter"
        if departments == 1
        else f"{departments} departments, a number counter each"
    )
    return (
        f"    first approvals {phase[0]:.1f} steps/s (p99 {phase[1]:.0f} ms), decisions "
        f"{phase[2]:.1f} steps/s (p99 {phase[3]:.0f} ms; {counters})"
    )


def _commit_line(committing: list[float]) -> str:
    if not committing:
        return ""
    return (
        f"      of which COMMIT itself (deferred FK checks, WAL flush): p50 "
        f"{statistics.median(committing):.2f} ms, mean {statistics.mean(committing):.2f} ms"
    )


# --- the raw SQL baselines ---


def _raw_tables(url: str, steps: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_proc (id int primary key, n int)")
        conn.execute(
            "CREATE TABLE bench_row (id serial primary key, proc int, kind text, "
            "payload jsonb, at timestamptz default now())"
        )
        conn.execute("INSERT INTO bench_proc SELECT g, 0 FROM generate_series(1, %s) g", [steps])
        conn.execute("CREATE TABLE bench_head (id int primary key, seq bigint, hash bytea)")
        conn.execute("INSERT INTO bench_head VALUES (1, 0, %s)", [bytes(32)])
        conn.execute(
            "CREATE TABLE bench_entry (seq bigint primary key, prev bytea, hash bytea, "
            "data jsonb, at timestamptz default now())"
        )


class Raw:
    """The raw SQL steps, on one psycopg connection per actor."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: Any = None
        self.held: list[float] = []

    def prepare(self, index: int) -> Callable[[], Any]:
        import psycopg

        self.conn = psycopg.connect(self.url)
        return lambda: self.held

    def step(self, proc: object) -> None:
        """Comparable row work to one approval's."""
        conn = self.conn
        with conn.transaction():
            conn.execute("SELECT 1 FROM bench_proc WHERE id = %s FOR UPDATE NOWAIT", [proc])
            conn.execute("UPDATE bench_proc SET n = n + 1 WHERE id = %s", [proc])
            for kind in ("slot", "history", "task", "join", "split"):
                conn.execute(
                    "INSERT INTO bench_row (proc, kind, payload) VALUES (%s, %s, %s)",
                    [proc, kind, '{"status": "approved"}'],
                )
            conn.execute(
                "UPDATE bench_row SET kind = kind WHERE id = "
                "(SELECT max(id) FROM bench_row WHERE proc = %s)",
                [proc],
            )

    def append(self, item: object) -> None:
        """The audit head's part alone: lock the head, insert the entry, move the head, commit."""
        conn = self.conn
        with conn.transaction():
            seq, prev = conn.execute(
                "SELECT seq, hash FROM bench_head WHERE id = 1 FOR UPDATE"
            ).fetchone()
            taken = time.perf_counter()
            digest = hashlib.sha256(prev + str(item).encode()).digest()
            conn.execute(
                "INSERT INTO bench_entry (seq, prev, hash, data) VALUES (%s, %s, %s, %s)",
                [seq + 1, prev, digest, '{"action": "workflow.approve"}'],
            )
            conn.execute(
                "UPDATE bench_head SET seq = %s, hash = %s WHERE id = 1", [seq + 1, digest]
            )
        self.held.append((time.perf_counter() - taken) * 1000)


# --- the bare cost of a signature ---


def _bare_signature(document_id: int, runs: int) -> dict[str, float]:
    """Median ms, in this process, of one approval signature (visible, with the dated seal, as
    signing.records.seal makes it) and of the B-LTA step on a submitted record, and of SHA-256
    over the same bytes."""
    from documents.models import Document, RecordRevision
    from signing.keystore import get_keystore
    from signing.signer import add_validation_data_and_doc_timestamp, sign_approval
    from storage import get_store, key_for

    version = Document.objects.get(pk=document_id).versions.get()
    with get_store().open(key_for(version.record_sha256)) as reader:
        record = reader.read()
    store = get_keystore()
    key_id = RecordRevision.objects.filter(key_id__startswith="post-").values_list(
        "key_id", flat=True
    )[0]

    def median(fn: Callable[[], Any]) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            fn()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    signed = io.BytesIO()

    def sign() -> None:
        signed.seek(0)
        signed.truncate()
        sign_approval(
            record,
            signed,
            position_key_id=key_id,
            reason="承認 総務課長",
            signer_name="鈴木 一郎",
            field_name="bench-seal",
            box=(0, 400, 700, 470, 770),
            keystore=store,  # the seal drawn as for an approval (dated, from the post's CN)
        )

    sign()  # warm
    return {
        "bytes": len(record),
        "sha256": median(lambda: hashlib.sha256(record).digest()),
        "sign": median(sign),
        "blta": median(
            lambda: add_validation_data_and_doc_timestamp(
                signed.getvalue(), io.BytesIO(), keystore=store
            )
        ),
    }


# --- main ---


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=None, help="300, or 100 with --signed")
    parser.add_argument("--actors", type=int, default=8)
    parser.add_argument(
        "--departments",
        type=int,
        default=1,
        help="sections the documents come from, each with its own number counter (1: all in the "
        "demo's 総務課, the worst case for the counter)",
    )
    parser.add_argument(
        "--sample", type=int, default=5, help="documents approved alone first, to count queries"
    )
    parser.add_argument(
        "--signed",
        action="store_true",
        help="every step seals the record (SIGN_APPROVALS = True), as in production",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="write the first actor's cProfile stats (signed steps)"
    )
    parser.add_argument(
        "--immediate-constraints",
        action="store_true",
        help="diagnostic: SET CONSTRAINTS ALL IMMEDIATE before the audit head is locked, so that "
        "the deferred foreign-key checks run before it rather than at COMMIT, under the lock",
    )
    parser.add_argument(
        "--without-listeners",
        action="store_true",
        help="diagnostic: also time as many documents with the after-commit listeners "
        "(notifications, retention) detached, to show the workflow's own share",
    )
    args = parser.parse_args()
    documents = args.documents or (100 if args.signed else 300)
    sample = max(args.sample, 2)  # the first is not counted (its decision creates the counter)
    url = os.environ.get("BENCH_WORKFLOW_DATABASE_URL", DEFAULT_URL)
    _recreate(url)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-workflow-"))
    _configure(url, data_dir)
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=io.StringIO())
    extra = documents if (args.without_listeners or args.signed) else 0
    started = time.perf_counter()
    print(
        f"setting up {sample + documents} {'signed' if args.signed else 'unsigned'} "
        f"and {extra} unsigned submitted documents …",
        flush=True,
    )
    drafters = _sections(args.departments)
    mode_docs = _submit(sample + documents, signed=args.signed, drafters=drafters)
    other_docs = _submit(extra, signed=False, drafters=drafters)
    print(f"  (setup {time.perf_counter() - started:.0f} s)", flush=True)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from org.models import User
    from workflow import hooks, services
    from workflow.models import Slot, SlotStatus

    users = {u.pk: u for u in User.objects.all()}
    # The 課長専決 route: the 係長 approves (stage 0), the 課長 decides (stage 1).
    stage_of = {"suzuki": 0, "sato": 1}

    def approve(item: tuple[int, User]) -> None:
        slot_id, user = item
        services.approve(user, slot_id)

    def open_slots(name: str, ids: list[int]) -> list[tuple[int, User]]:
        """The open tasks of the documents `ids` at suzuki's (係長) or sato's (課長) stage, in
        whichever section each document comes from."""
        return [
            (pk, users[assignee])
            for pk, assignee in Slot.objects.filter(
                status=SlotStatus.OPEN,
                stage__index=stage_of[name],
                stage__route__document_id__in=ids,
            )
            .order_by("pk")
            .values_list("pk", "assignee_id")
        ]

    phases: list[tuple[float, float, float, float]] = []  # per steps_on: rate and p99 of each

    def steps_on(
        ids: list[int], prepare: Callable[[int], Callable[[], Any]] = _nothing
    ) -> tuple[float, list[float], float, list[Any]]:
        """Both steps of every document (all first approvals, then all decisions): steps/s,
        latencies, the actors' CPU time per step and their finishers' results."""
        rate1, lat1, cpu1, fin1 = _run(args.actors, open_slots("suzuki", ids), approve, prepare)
        rate2, lat2, cpu2, fin2 = _run(args.actors, open_slots("sato", ids), approve, prepare)
        steps = len(lat1) + len(lat2)
        phases.append((rate1, _p(lat1, 99), rate2, _p(lat2, 99)))
        cpu_ms = (cpu1 * len(lat1) + cpu2 * len(lat2)) / steps
        return steps / (len(lat1) / rate1 + len(lat2) / rate2), lat1 + lat2, cpu_ms, fin1 + fin2

    # Statements per step and hold times of documents approved one at a time (not timed): the
    # action's own transaction, then the listeners that run after its commit. The first document
    # warms up (its decision creates the counter; signed, the approvers' keys are issued).
    settings.SIGN_APPROVALS = args.signed
    if args.signed:
        _warm_keys()
    alone = Holds(args.immediate_constraints)
    alone.install()
    counts: dict[str, list[tuple[int, int]]] = {"suzuki": [], "sato": []}
    import audit.services as audit_services

    prepared: list[None] = []
    append_statement = audit_services._move_head_and_insert

    def counted(*args: Any) -> Any:
        prepared.append(None)
        return append_statement(*args)

    audit_services._move_head_and_insert = counted
    for n, document_id in enumerate(mode_docs[:sample]):
        if n == 1:
            alone.held = {name: [] for name in Holds.NAMES}
            alone.committing = []
        for name in ("suzuki", "sato"):
            slot_id, approver = open_slots(name, [document_id])[0]
            prepared.clear()
            with CaptureQueriesContext(connection) as queries:
                services.approve(approver, slot_id)
            sql = [q["sql"] for q in queries.captured_queries]
            commit = sql.index("COMMIT") if "COMMIT" in sql else len(sql)
            own = [q for q in sql[:commit] if not q.startswith(TRANSACTION_CONTROL)]
            if n:
                # The audit append's prepared statement runs on psycopg's own cursor, which
                # Django's log does not see: counted as it runs.
                counts[name].append((len(own) + len(prepared), len(sql) - commit - 1))
    audit_services._move_head_and_insert = append_statement
    alone.uninstall()
    timed = mode_docs[sample:]
    bare = _bare_signature(timed[0], runs=7) if args.signed else None

    profile_path = args.profile

    def actor_probes(index: int) -> Callable[[], Any]:
        import signing.cms

        signing.cms._local.loop = None  # each process its own event loop, not the parent's
        holds = Holds(args.immediate_constraints)
        holds.install()
        sections = Sections()
        if args.signed:
            install_sections(sections)
        profiler = None
        if profile_path and index == 0 and settings.SIGN_APPROVALS:
            profiler = cProfile.Profile()
            profiler.enable()

        def finish() -> Any:
            if profiler:
                profiler.disable()
                profiler.dump_stats(f"{profile_path}.{os.getpid()}")
            return holds.snapshot(), dict(sections.wall), dict(sections.cpu)

        return finish

    rate, lat, cpu, finished = steps_on(timed, actor_probes)
    if profile_path:
        _merge_profiles(profile_path)
    steps = len(lat)
    base_fin: list[Any] = []
    if other_docs:
        settings.SIGN_APPROVALS = False
        listeners = list(hooks._listeners)
        if not args.signed:
            hooks._listeners.clear()
        try:
            base_rate, base_lat, base_cpu, base_fin = steps_on(other_docs, actor_probes)
        finally:
            hooks._listeners[:] = listeners
    verified = _verify(timed[-1]) if args.signed else None

    # Baselines: comparable row work in raw SQL, one transaction per step, same concurrency; the
    # audit head's append alone, concurrently and alone.
    _raw_tables(url, steps)
    raw = Raw(url)
    raw_rate, raw_lat, raw_cpu, _ = _run(
        args.actors, list(range(1, steps + 1)), raw.step, raw.prepare
    )
    _, _, _, raw_holds = _run(args.actors, list(range(steps)), raw.append, raw.prepare)
    raw.prepare(0)
    for i in range(200):
        raw.append(i)
    raw.conn.close()

    mode = "signed (every step seals the record)" if args.signed else "unsigned"
    print(
        f"approval steps through the service layer, {mode}: {steps} steps, {args.actors} actors, "
        f"PostgreSQL, {os.cpu_count()} cores"
    )

    def rate_line(label: str, r: float, latencies: list[float], cpu_ms: float | None) -> str:
        line = (
            f"  {label:<28}: {r:7.1f} steps/s   p50 {statistics.median(latencies):6.1f} ms   "
            f"p99 {_p(latencies, 99):6.1f} ms"
        )
        return line + (f"   CPU {cpu_ms:5.1f} ms/step" if cpu_ms is not None else "")

    print(rate_line("service layer", rate, lat, cpu))
    print(_phase_line(phases[0], args.departments))
    if other_docs:
        label = "same code, unsigned" if args.signed else "listeners detached (diagnostic)"
        print(rate_line(label, base_rate, base_lat, base_cpu))
        print(_phase_line(phases[1], args.departments))
    print(rate_line("raw SQL", raw_rate, raw_lat, raw_cpu))
    print(
        f"  ratio (service / raw SQL): throughput {rate / raw_rate:.3f}x, "
        f"p99 {_p(lat, 99) / _p(raw_lat, 99):.1f}x"
    )
    cores = os.cpu_count() or 1
    print(
        f"  the actors' CPU bounds the rate: {cores} cores x 1000 / {cpu:.1f} ms = "
        f"{cores * 1000 / cpu:.0f} steps/s at most (the database server shares these cores)"
    )
    for name, label in (("suzuki", "approval"), ("sato", "decision with its number")):
        if counts[name]:
            mean_inside = statistics.mean(c[0] for c in counts[name])
            after = statistics.mean(c[1] for c in counts[name])
            print(
                f"  statements per step, {label}: {mean_inside:.0f} in the action's transaction "
                f"(without BEGIN/COMMIT/SAVEPOINT) + {after:.0f} after its commit (listeners)"
            )
    worst = max(c[0] for name in counts for c in counts[name])
    if args.signed:
        assert bare is not None and verified is not None
        print(
            f"  bare cost in this process ({bare['bytes'] / 1024:.0f} KB record): one signature "
            f"{bare['sign']:.1f} ms, one B-LTA step {bare['blta']:.1f} ms, SHA-256 of the record "
            f"{bare['sha256']:.2f} ms"
        )
        print(f"  the last decided record verifies: {verified}")
        ok = rate >= 50 and _p(lat, 99) <= 300
        print(
            f"  goal signed >= 50 approvals/s and p99 <= 300 ms: {rate:.1f}/s, p99 "
            f"{_p(lat, 99):.0f} ms: {'PASS' if ok else 'FAIL'}"
        )
        _print_sections(finished, steps, lat)
    else:
        print(
            f"  goal CPU per step <= 12 ms: {cpu:.1f} ms (raw SQL {raw_cpu:.2f} ms): "
            f"{'PASS' if cpu <= 12 else 'FAIL'}"
        )
        print(
            f"  goal <= 12 statements in an approval's transaction: at most {worst}: "
            f"{'PASS' if worst <= 12 else 'FAIL'}"
        )

    print("  the serialised part: from taking the row lock to COMMIT's return, per transaction")
    runs = [("this run", finished)] + ([("same code unsigned", base_fin)] if args.signed else [])
    for label, holds_list in runs:
        held = {n: [ms for f in holds_list for ms in f[0]["held"][n]] for n in Holds.NAMES}
        waited = {n: [ms for f in holds_list for ms in f[0]["waited"][n]] for n in Holds.NAMES}
        print(f"  {label}, {args.actors} actors at once:")
        print(_hold_line("audit head    ", held["head"], waited["head"]))
        print(_commit_line([ms for f in holds_list for ms in f[0]["committing"]]))
        print(_hold_line("number counter", held["counter"], waited["counter"]))
    print(f"  {mode}, documents approved alone (no contention for the CPU):")
    print(_hold_line("audit head    ", alone.held["head"]))
    print(_commit_line(alone.committing))
    print(_hold_line("number counter", alone.held["counter"]))
    raw_held = [ms for h in raw_holds for ms in h]
    print(f"  raw SQL append (lock head, insert entry, move head, commit), {args.actors} actors:")
    print(_hold_line("raw head      ", raw_held))
    print(_hold_line("raw head alone", raw.held))
    head = [ms for f in finished for ms in f[0]["held"]["head"]]
    ceiling = 1000 / statistics.mean(head)
    ceiling_alone = 1000 / statistics.mean(alone.held["head"])
    print(
        f"  goal audit head ceiling >= 1,000 steps/s: {ceiling:.0f} under this run's contention, "
        f"{ceiling_alone:.0f} alone: {'PASS' if ceiling_alone >= 1000 else 'FAIL'} (alone), "
        f"{'PASS' if ceiling >= 1000 else 'FAIL'} (contended)"
    )
    if args.signed:
        print(
            "  (signed, the decider signs after taking the number: the counter is held across "
            "the signature and B-LTA; it limits decisions per department, not the cluster)"
        )


def _merge_profiles(path: str) -> None:
    """One stats file from the profiled actor of each run (first approvals, decisions)."""
    import pstats

    parts = sorted(Path(path).parent.glob(Path(path).name + ".*"))
    if parts:
        stats = pstats.Stats(str(parts[0]))
        for part in parts[1:]:
            stats.add(str(part))
        stats.dump_stats(path)
        for part in parts:
            part.unlink()


def _verify(document_id: int) -> str:
    from documents.models import Document
    from signing.verify import verify_pdf
    from storage import get_store, key_for

    version = Document.objects.get(pk=document_id).versions.get()
    with get_store().open(key_for(version.record_sha256)) as reader:
        report = verify_pdf(reader.read())
    good = sum(s.valid for s in report.signatures)
    return (
        f"{'valid' if report.valid else 'NOT VALID: ' + str(report.problem)}, "
        f"{good}/{len(report.signatures)} signatures and timestamps valid"
    )


def _print_sections(finished: list[Any], steps: int, latencies: list[float]) -> None:
    wall: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)
    for _, w, c in finished:
        for k, v in w.items():
            wall[k] += v
        for k, v in c.items():
            cpu[k] += v
    total = sum(latencies) / 1000
    print(f"  where a signed step's time goes (per step, mean over {steps} steps; every actor):")
    print(f"    {'section':<48} {'wall ms':>8} {'CPU ms':>8}")
    for key, label in SECTIONS:
        print(
            f"    {label:<48} {wall.get(key, 0) * 1000 / steps:8.1f} "
            f"{cpu.get(key, 0) * 1000 / steps:8.1f}"
        )
    print(f"    {'(step total)':<48} {total * 1000 / steps:8.1f}")


if __name__ == "__main__":
    main()
