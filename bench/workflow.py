"""Unsigned approval steps per second through the service layer, on PostgreSQL, 8 actors at once.

Each step is one `workflow.services.approve()` call: the process lock, the route and slot locks,
the slot and history rows, completing the viewflow task and running the flow on (join, settle,
switch, split opening the next person's task) — and, for the second step of each document, the
decision with its document number from the department's locked counter. The documents are
submitted beforehand on the demo's 課長専決 route (suzuki → sato), so there are two steps each.

Baseline in the same run: a raw SQL transaction doing comparable row work per step with
psycopg (lock the process row, update two rows, insert five), by the same 8 threads.

    .venv/bin/python bench/workflow.py [--documents 300] [--actors 8]

Uses its own database (BENCH_WORKFLOW_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/ekessai_bench_workflow), recreated each run.
"""

from __future__ import annotations

import argparse
import io
import os
import queue
import statistics
import sys
import threading
import time
from pathlib import Path
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


def _run(actors: int, work: list[object], step: object) -> tuple[float, list[float]]:
    from django.db import connection

    jobs: queue.Queue[object] = queue.Queue()
    for item in work:
        jobs.put(item)
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def actor() -> None:
        mine = []
        try:
            while True:
                try:
                    item = jobs.get_nowait()
                except queue.Empty:
                    break
                started = time.perf_counter()
                step(item)  # type: ignore[operator]
                mine.append((time.perf_counter() - started) * 1000)
        except BaseException as exc:  # reported below, after the other actors finish
            errors.append(exc)
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=actor) for _ in range(actors)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return len(latencies) / elapsed, latencies


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
    args = parser.parse_args()
    url = os.environ.get("BENCH_WORKFLOW_DATABASE_URL", DEFAULT_URL)
    _recreate(url)
    print(f"setting up {args.documents} submitted documents …", flush=True)
    _setup(url, args.documents + args.sample)

    import psycopg

    from org.models import User
    from workflow import services
    from workflow.models import Slot, SlotStatus

    users = {u.username: u for u in User.objects.filter(username__in=["suzuki", "sato"])}

    def approve(slot_id: object) -> None:
        slot = Slot.objects.only("assignee_id").get(pk=slot_id)
        services.approve(
            users["suzuki"] if slot.assignee_id == users["suzuki"].pk else users["sato"],
            int(slot_id),
        )  # type: ignore[call-overload]

    # Queries per step, counted on a few documents approved one at a time (not timed).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts: dict[str, list[int]] = {"suzuki": [], "sato": []}
    sample = list(
        Slot.objects.filter(status=SlotStatus.OPEN, assignee=users["suzuki"])
        .order_by("pk")
        .values_list("pk", "stage__route__document_id")[: args.sample]
    )
    for slot_id, document_id in sample:
        for name in ("suzuki", "sato"):
            if name == "sato":
                slot_id = Slot.objects.get(
                    stage__route__document_id=document_id,
                    assignee=users["sato"],
                    status=SlotStatus.OPEN,
                ).pk
            with CaptureQueriesContext(connection) as queries:
                services.approve(users[name], slot_id)
            counts[name].append(len(queries.captured_queries))

    first = list(
        Slot.objects.filter(status=SlotStatus.OPEN, assignee=users["suzuki"]).values_list(
            "pk", flat=True
        )
    )
    rate1, lat1 = _run(args.actors, list(first), approve)
    second = list(
        Slot.objects.filter(status=SlotStatus.OPEN, assignee=users["sato"]).values_list(
            "pk", flat=True
        )
    )
    rate2, lat2 = _run(args.actors, list(second), approve)
    steps = len(lat1) + len(lat2)
    service_rate = steps / (len(lat1) / rate1 + len(lat2) / rate2)
    service_lat = lat1 + lat2

    # Baseline: comparable row work in raw SQL, one transaction per step, same concurrency.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_proc (id int primary key, n int)")
        conn.execute(
            "CREATE TABLE bench_row (id serial primary key, proc int, kind text, "
            "payload jsonb, at timestamptz default now())"
        )
        conn.execute("INSERT INTO bench_proc SELECT g, 0 FROM generate_series(1, %s) g", [steps])
    local = threading.local()

    def raw_step(proc: object) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(url)
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

    raw_rate, raw_lat = _run(args.actors, list(range(1, steps + 1)), raw_step)

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
    if args.sample:
        print(
            f"  queries per step: {statistics.mean(counts['suzuki']):.0f} (approval), "
            f"{statistics.mean(counts['sato']):.0f} (decision with its number)"
        )
    ok = service_rate >= 300 and p99 <= 50
    print(f"  goal >= 300 steps/s and p99 <= 50 ms: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
