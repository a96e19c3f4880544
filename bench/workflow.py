"""Unsigned approval steps per second through the service layer, on PostgreSQL, 8 actors at once.

An actor is a process of its own (forked after the setup, with its own database connection), as a
deployment runs several worker processes: it takes the next step from a shared queue, runs it and
takes the next, until the queue is empty. Threads of one process would measure Python's GIL
rather than the service layer.

Each step is one `workflow.services.approve()` call: the process lock, the route and slot locks,
the slot and history rows, completing the viewflow task and running the flow on (join, settle,
switch, split opening the next person's task), the audit entry (hash chain, under the audit head's
row lock) — and, for the second step of each document, the decision with its document number from
the department's locked counter. After the commit, in the same call, the listeners of
workflow.hooks run (notifications: rows, pushes and e-mail to the in-memory outbox; retention).
Signing is off (SIGN_APPROVALS = False): every approval would seal the record otherwise. The
documents are submitted beforehand on the demo's 課長専決 route (suzuki → sato), so there are two
steps each: all first approvals, then all decisions.

Baseline in the same run: a raw SQL transaction doing comparable row work per step with
psycopg (lock the process row, update two rows, insert five), by the same number of actor
processes.

Also printed: queries per step (a few documents approved alone first, in this process: in the
action's transaction and after its commit), and the actors' CPU time per step (their Python; the
database server's CPU is not counted, though it shares the machine's cores). The actors' CPU
bounds the rate: (cores × 1000) / (ms per step) at most, whatever the locks do.
--without-listeners times as many more documents with the after-commit listeners detached (a
diagnostic of the workflow's own share, not the figure for the goal).

    .venv/bin/python bench/workflow.py [--documents 300] [--actors 8] [--without-listeners]

Uses its own database (BENCH_WORKFLOW_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/ekessai_bench_workflow), recreated each run.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ekessai_bench_workflow"


def _recreate(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _setup(url: str, documents: int) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("EKESSAI_DATA_DIR", str(ROOT / "var" / "bench"))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.OBJECT_STORE = {"BACKEND": "filesystem", "ROOT": ROOT / "var" / "bench" / "objects"}
    # Unsigned steps: every approval (and submission) would seal the record otherwise.
    settings.SIGN_APPROVALS = False
    # No mail server here: notifications e-mail offline recipients after commit; keep it in memory.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=io.StringIO())
    from documents.models import DocumentType
    from documents.services import create_document
    from org.models import User
    from workflow import services

    tanaka = User.objects.get(username="tanaka")
    notice = DocumentType.objects.get(code="notice")
    for i in range(documents):
        document = create_document(
            tanaka,
            {
                "title": f"通知文の発出について（{i}）",
                "doc_type": notice,
                "amount": 100_000 + i,
                "retention_years": 1,
            },
        )
        services.submit(tanaka, document.pk)


def _actor(
    jobs: Any, results: Any, start: Any, step: Callable[[Any], None], prepare: Callable[[], None]
) -> None:
    """One actor process: steps from `jobs` until its end marker (None); then (latencies in ms,
    CPU seconds, first start, last end) or the error's text into `results`."""
    latencies: list[float] = []
    try:
        prepare()
        start.wait()
        cpu = time.process_time()
        first = time.perf_counter()
        while (item := jobs.get()) is not None:
            started = time.perf_counter()
            step(item)
            latencies.append((time.perf_counter() - started) * 1000)
        results.put((latencies, time.process_time() - cpu, first, time.perf_counter()))
    except BaseException:  # reported by the parent, after the other actors finish
        start.abort()  # so that none waits for this one at the start
        results.put(traceback.format_exc())
    finally:
        from django.db import connections

        connections.close_all()


def _run(
    actors: int,
    work: list[Any],
    step: Callable[[Any], None],
    prepare: Callable[[], None] = lambda: None,
) -> tuple[float, list[float], float]:
    """Run `step` on every item of `work` by `actors` processes at once: steps per second,
    latencies (ms) and the actors' CPU time per step (ms). `prepare` runs in each actor first."""
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
        context.Process(target=_actor, args=(jobs, results, start, step, prepare))
        for _ in range(actors)
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
    return len(latencies) / elapsed, latencies, cpu_ms


def _p(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--actors", type=int, default=8)
    parser.add_argument(
        "--sample", type=int, default=5, help="documents approved alone first, to count queries"
    )
    parser.add_argument(
        "--without-listeners",
        action="store_true",
        help="diagnostic: also time as many documents with the after-commit listeners "
        "(notifications, retention) detached, to show the workflow's own share",
    )
    args = parser.parse_args()
    url = os.environ.get("BENCH_WORKFLOW_DATABASE_URL", DEFAULT_URL)
    _recreate(url)
    total = args.documents * (2 if args.without_listeners else 1) + args.sample
    print(f"setting up {total} submitted documents …", flush=True)
    _setup(url, total)

    import psycopg
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from org.models import User
    from workflow import hooks, services
    from workflow.models import Slot, SlotStatus

    users = {u.username: u for u in User.objects.filter(username__in=["suzuki", "sato"])}

    def approve(item: tuple[int, User]) -> None:
        slot_id, user = item
        services.approve(user, slot_id)

    def open_slots(name: str, documents: list[int]) -> list[tuple[int, User]]:
        return [
            (pk, users[name])
            for pk in Slot.objects.filter(
                status=SlotStatus.OPEN,
                assignee=users[name],
                stage__route__document_id__in=documents,
            ).values_list("pk", flat=True)
        ]

    def steps_on(documents: list[int]) -> tuple[float, list[float], float]:
        """Both steps of every document (all first approvals, then all decisions): steps/s,
        latencies, and the actors' CPU time per step."""
        rate1, lat1, cpu1 = _run(args.actors, open_slots("suzuki", documents), approve)
        rate2, lat2, cpu2 = _run(args.actors, open_slots("sato", documents), approve)
        steps = len(lat1) + len(lat2)
        cpu_ms = (cpu1 * len(lat1) + cpu2 * len(lat2)) / steps
        return steps / (len(lat1) / rate1 + len(lat2) / rate2), lat1 + lat2, cpu_ms

    submitted = list(
        Slot.objects.filter(status=SlotStatus.OPEN, assignee=users["suzuki"])
        .order_by("pk")
        .values_list("stage__route__document_id", flat=True)
    )
    sample, timed = submitted[: args.sample], submitted[args.sample :]
    mine, detached = timed[: args.documents], timed[args.documents :]

    # Queries per step, counted on a few documents approved one at a time (not timed): those of
    # the action's own transaction, then those of the listeners that run after its commit.
    counts: dict[str, list[tuple[int, int]]] = {"suzuki": [], "sato": []}
    for document_id in sample:
        for name in ("suzuki", "sato"):
            slot_id = open_slots(name, [document_id])[0][0]
            with CaptureQueriesContext(connection) as queries:
                services.approve(users[name], slot_id)
            sql = [q["sql"] for q in queries.captured_queries]
            commit = sql.index("COMMIT") + 1 if "COMMIT" in sql else len(sql)
            counts[name].append((commit, len(sql) - commit))

    service_rate, service_lat, service_cpu = steps_on(mine)
    steps = len(service_lat)
    if detached:
        listeners = list(hooks._listeners)
        hooks._listeners.clear()
        try:
            bare_rate, bare_lat, bare_cpu = steps_on(detached)
        finally:
            hooks._listeners.extend(listeners)

    # Baseline: comparable row work in raw SQL, one transaction per step, same concurrency.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_proc (id int primary key, n int)")
        conn.execute(
            "CREATE TABLE bench_row (id serial primary key, proc int, kind text, "
            "payload jsonb, at timestamptz default now())"
        )
        conn.execute("INSERT INTO bench_proc SELECT g, 0 FROM generate_series(1, %s) g", [steps])
    raw: dict[str, psycopg.Connection[Any]] = {}

    def raw_connect() -> None:
        raw["conn"] = psycopg.connect(url)

    def raw_step(proc: object) -> None:
        conn = raw["conn"]
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

    raw_rate, raw_lat, raw_cpu = _run(args.actors, list(range(1, steps + 1)), raw_step, raw_connect)

    p99 = _p(service_lat, 99)
    print(
        f"approval steps through the service layer: {steps} steps, {args.actors} actors, PostgreSQL"
    )
    print(
        f"  service layer: {service_rate:7.0f} steps/s   p50 {statistics.median(service_lat):6.1f} "
        f"ms   p99 {p99:6.1f} ms"
    )
    print(
        f"  raw SQL      : {raw_rate:7.0f} steps/s   p50 {statistics.median(raw_lat):6.1f} ms   "
        f"p99 {_p(raw_lat, 99):6.1f} ms"
    )
    print(
        f"  ratio (service / raw): throughput {service_rate / raw_rate:.2f}x, "
        f"p99 {p99 / _p(raw_lat, 99):.1f}x"
    )
    cores = os.cpu_count() or 1
    print(
        f"  CPU per step (actor processes, not the database server): service {service_cpu:.1f} "
        f"ms, raw SQL {raw_cpu:.2f} ms; so at most {cores * 1000 / service_cpu:.0f} steps/s "
        f"on {cores} cores"
    )
    for name, label in (("suzuki", "approval"), ("sato", "decision with its number")):
        if counts[name]:
            inside = statistics.mean(c[0] for c in counts[name])
            after = statistics.mean(c[1] for c in counts[name])
            print(
                f"  queries per step, {label}: {inside + after:.0f} = {inside:.0f} in the "
                f"action's transaction + {after:.0f} in after-commit listeners"
            )
    if detached:
        print(
            f"  diagnostic, listeners detached: {bare_rate:7.0f} steps/s   p50 "
            f"{statistics.median(bare_lat):6.1f} ms   p99 {_p(bare_lat, 99):6.1f} ms   "
            f"CPU {bare_cpu:.1f} ms/step"
        )
    ok = service_rate >= 300 and p99 <= 50
    print(f"  goal >= 300 steps/s and p99 <= 50 ms: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
