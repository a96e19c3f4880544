"""HTTP throughput of a whole server (all its worker processes) on PostgreSQL and Redis.

For each server (`python -m config.serve --server NAME`, WEB_WORKERS processes; default: every
one installed, one after another in the same run, against the same database):

1. floor: the clients ask only `GET /api/v1/me` (token authentication, one user with their posts:
   the least an authenticated API request costs) for --floor-seconds;
2. mix: --clients keep-alive clients (default 50) for --seconds (default 30) on the reads of a
   working day, inbox (`/api/v1/tasks`), document detail, search (`?q=`), `/me`, with a few
   approvals (--approvals, the share of a 係長's requests; each signs the record).

It prints requests per second, p50 and p99 per endpoint, errors, and the most PostgreSQL
connections the server held (sampled from pg_stat_activity every 0.2 s) against its bound
(workers x DATABASE_POOL_MAX). Goal (issue 16): reads >= 300 req/s, p99 <= 150 ms, 0 errors.

`--before PATH` first serves an older checkout the way `make run` did (one Daphne process), for a
before/after in the same run; with `--before-server granian`, the older checkout's own
`config.serve` instead (a checkout that has one). The clients run in this process on the same two
cores as the server; their CPU time is printed.

Database: BENCH_HTTP_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ekessai_bench_http,
recreated); Redis: REDIS_URL (default redis://127.0.0.1:6379/0). Each client has a token of its
own and API_TOKEN_RATE is lifted for the run (50 clients are far busier than 50 people).

    .venv/bin/python bench/http_serving.py [--servers granian,uvicorn,daphne] [--workers N]
        [--clients 50] [--seconds 30] [--before /path/to/old/checkout]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
from bench.support import http_load  # noqa: E402
from bench.support.servers import free_port, recreate_database  # noqa: E402 (after the path is set)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/ekessai_bench_http"
READS = ("inbox", "detail", "search", "me")
WEIGHTS = {"inbox": 3, "detail": 3, "search": 2, "me": 2}
POOL_MAX = 8


def _environment(db: str, redis: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db,
        "REDIS_URL": redis,
        "EKESSAI_DATA_DIR": str(data_dir),
        "EKESSAI_PKI_DIR": str(data_dir / "pki"),
        "EKESSAI_KEY_PASSPHRASE": "bench passphrase, not a secret",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_POOL_MAX": str(POOL_MAX),
        "API_TOKEN_RATE": "1000000/min",
        "LOG_LEVEL": "WARNING",
    }


def _setup(documents: int, reuse: bool) -> dict[str, Any]:
    """The demo organisation, signing keys warmed, `documents` submitted notices for reading."""
    import django

    django.setup()
    from django.core.management import call_command

    if reuse:
        from documents.models import Document

        readable = list(
            Document.objects.filter(title__startswith="通知文の発出について")
            .order_by("pk")
            .values_list("pk", flat=True)[:documents]
        )
        if readable:
            from bench.support.workflow_setup import warm_keys

            warm_keys()
            return {"readable": readable}

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    from bench.support.workflow_setup import warm_keys

    warm_keys()
    return {"readable": _submit(documents)}


def _submit(count: int) -> list[int]:
    from documents.models import DocumentType
    from documents.services import create_document
    from org.models import User
    from workflow import services

    tanaka = User.objects.get(username="tanaka")
    notice = DocumentType.objects.get(code="notice")
    ids = []
    for i in range(count):
        document = create_document(
            tanaka,
            {
                "title": f"通知文の発出について（{i}）",
                "doc_type": notice,
                "amount": 100_000 + i,
                "retention_years": 1,
                "body": "会議の開催を通知する。",
            },
        )
        services.submit(tanaka, document.pk)
        ids.append(document.pk)
    return ids


def _suzuki_tasks() -> list[int]:
    from workflow.models import Slot, SlotStatus

    return list(
        Slot.objects.filter(assignee__username="suzuki", status=SlotStatus.OPEN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _tokens(clients: int) -> list[tuple[str, str]]:
    """(username, token) per client: the drafter and the two approvers of the notices."""
    from api.tokens import create_token
    from org.models import User

    names = ["suzuki", "sato", "tanaka"]
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    return [(names[i % 3], create_token(users[names[i % 3]])[1]) for i in range(clients)]


class ConnectionSampler(threading.Thread):
    """The most connections to the bench database at once, from pg_stat_activity."""

    def __init__(self, db: str) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.name_ = urlparse(db).path.lstrip("/")
        self.most = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.db.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            while not self.stopping.wait(0.2):
                (count,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = %s AND backend_type = 'client backend'",
                    [self.name_],
                ).fetchone() or (0,)
                self.most = max(self.most, int(count))


def _start(argv: list[str], cwd: Path, env: dict[str, str], log: Path, port: int) -> Any:
    import urllib.request  # here: this file's name shadows the http package until sys.path is fixed

    server = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),  # noqa: SIM115 - closed with the process
        start_new_session=True,
    )
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            pass
        if server.poll() is not None:
            raise SystemExit(f"the server stopped at start; see {log}")
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer /healthz; see {log}")


def _group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by every process of the server's group."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ...
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _stop(server: Any) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _requests(
    who: str, readable: list[int], approvals: deque[int], share: float, rng: random.Random
) -> Any:
    labels = [label for label, weight in WEIGHTS.items() for _ in range(weight)]
    query = quote("通知")

    def next_request() -> http_load.Request:
        if who == "suzuki" and approvals and rng.random() < share:
            return ("approve", "POST", f"/api/v1/tasks/{approvals.popleft()}/approve", b"{}")
        label = rng.choice(labels)
        if label == "inbox":
            return (label, "GET", "/api/v1/tasks", b"")
        if label == "detail":
            return (label, "GET", f"/api/v1/documents/{rng.choice(readable)}", b"")
        if label == "search":
            return (label, "GET", f"/api/v1/documents?q={query}", b"")
        return (label, "GET", "/api/v1/me", b"")

    return next_request


def _measure(
    name: str,
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    args: Any,
    state: dict[str, Any],
    bound: int,
) -> dict[str, Any]:
    port = free_port()
    argv = [part.replace("{port}", str(port)) for part in argv]
    log = Path(env["EKESSAI_DATA_DIR"]) / f"{name}.log"
    # The checkout's own code first: a server's script (granian, gunicorn) does not put the
    # working directory on sys.path, and the editable install points at the main checkout.
    server = _start(argv, cwd, {**env, "PYTHONPATH": str(cwd)}, log, port)
    tokens = [token for _who, token in state["tokens"]]
    whos = [who for who, _token in state["tokens"]]
    approvals: deque[int] = deque(state["tasks"].pop(0))
    rng = random.Random(16)
    try:

        def floor(_i: int) -> Any:
            return lambda: ("floor", "GET", "/api/v1/me", b"")

        def mix(i: int) -> Any:
            return _requests(whos[i], state["readable"], approvals, args.approvals, rng)

        asyncio.run(http_load.run(port, tokens, mix, 3))  # warm every process
        floor_tally, floor_wall = asyncio.run(
            http_load.run(port, tokens, floor, args.floor_seconds)
        )
        sampler = ConnectionSampler(env["DATABASE_URL"])
        sampler.start()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu0 = _group_cpu(server.pid)
        tally, wall = asyncio.run(http_load.run(port, tokens, mix, args.seconds))
        server_cpu = _group_cpu(server.pid) - server_cpu0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        sampler.stopping.set()
        sampler.join()
    finally:
        _stop(server)
    return {
        "name": name,
        "floor": floor_tally,
        "floor_wall": floor_wall,
        "mix": tally,
        "wall": wall,
        "connections": sampler.most,
        "bound": bound,
        "server_cpu": server_cpu,
        "load": os.getloadavg(),
        "client_cpu": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
        "log": log,
    }


def _report(result: dict[str, Any]) -> None:
    tally, wall = result["mix"], result["wall"]
    floor = result["floor"].latencies.get("floor", [])
    print(f"\n== {result['name']} ==  (server log: {result['log']})")
    print(
        "load average during the run (1, 5, 15 min): {:.1f} {:.1f} {:.1f}".format(*result["load"])
    )
    print(
        f"floor  GET /api/v1/me alone: {len(floor) / result['floor_wall']:7.1f} req/s  "
        f"p50 {http_load.percentile(floor, 50):6.1f} ms  "
        f"p99 {http_load.percentile(floor, 99):6.1f} ms  "
        f"errors {sum(result['floor'].errors.values())}"
    )
    print(f"{'endpoint':<9} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    reads: list[float] = []
    for label in (*READS, "approve"):
        values = tally.latencies.get(label, [])
        if label in READS:
            reads += values
        print(
            f"{label:<9} {len(values):>8} {len(values) / wall:>8.1f} "
            f"{http_load.percentile(values, 50):>8.1f} {http_load.percentile(values, 99):>8.1f} "
            f"{tally.errors.get(label, 0):>7}"
        )
    read_errors = sum(tally.errors.get(label, 0) for label in READS)
    print(
        f"{'reads':<9} {len(reads):>8} {len(reads) / wall:>8.1f} "
        f"{http_load.percentile(reads, 50):>8.1f} {http_load.percentile(reads, 99):>8.1f} "
        f"{read_errors:>7}"
    )
    if tally.statuses:
        print("error statuses:", dict(sorted(tally.statuses.items())))
    answered = sum(len(v) for v in tally.latencies.values())
    print(
        f"server CPU: {result['server_cpu']:.1f} s for {answered} requests = "
        f"{1000 * result['server_cpu'] / max(answered, 1):.1f} ms a request "
        f"(what the figures become when others share the machine: see the load average)"
    )
    goal = len(reads) / wall >= 300 and http_load.percentile(reads, 99) <= 150 and not read_errors
    print(
        f"PostgreSQL connections held: at most {result['connections']} "
        f"(bound {result['bound'] or 'none'}); "
        f"clients' CPU {result['client_cpu']:.1f} s of {wall:.0f} s; "
        f"goal (>= 300 reads/s, p99 <= 150 ms, 0 errors): {'met' if goal else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", default="granian,uvicorn,daphne")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--floor-seconds", type=float, default=10)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--approvals", type=float, default=0.03)
    parser.add_argument("--before", type=Path, help="an older checkout, served by one Daphne")
    parser.add_argument(
        "--before-server",
        help="serve --before with its own `python -m config.serve --server NAME` instead",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the bench database of an earlier run (its documents) instead of recreating it",
    )
    args = parser.parse_args()
    db = os.environ.get("BENCH_HTTP_DATABASE_URL", DEFAULT_DB)
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    data_dir = Path(tempfile.mkdtemp(prefix="ekessai-bench-http-"))
    env = _environment(db, redis, data_dir)
    os.environ.update(env)
    if not args.reuse:
        recreate_database(db)
    started = time.perf_counter()
    state = _setup(args.documents, args.reuse)
    servers = [s for s in args.servers.split(",") if s]
    runs: list[tuple[str, list[str], Path, int]] = []
    python = sys.executable

    def serve(server: str) -> list[str]:
        return [
            *(python, "-m", "config.serve", "--server", server, "--port", "{port}"),
            *("--workers", str(args.workers)),
        ]

    if args.before and args.before_server:
        # An older checkout that has config.serve, served the same way as this one.
        runs.append(
            (
                f"before: {args.before.name}, {args.before_server}, {args.workers} processes",
                serve(args.before_server),
                args.before,
                args.workers * POOL_MAX,
            )
        )
    elif args.before:
        daphne = str(Path(python).with_name("daphne"))
        runs.append(
            (
                f"before: {args.before.name}, one Daphne process",
                [daphne, "-b", "127.0.0.1", "-p", "{port}", "config.asgi:application"],
                args.before,
                0,
            )
        )
    for server in servers:
        runs.append(
            (f"{server}, {args.workers} processes", serve(server), ROOT, args.workers * POOL_MAX)
        )
    # Fresh tasks for each run's approvals, made before any server starts.
    state["tasks"] = []
    for _ in runs:
        before = set(_suzuki_tasks())
        _submit(args.documents // 2)
        state["tasks"].append(sorted(set(_suzuki_tasks()) - before))
    state["tokens"] = _tokens(args.clients)
    from django.db import connection

    # This process's pool keeps DATABASE_POOL_MIN connections open: closed, so that every
    # connection counted during the runs is a server's.
    connection.close()
    connection.close_pool()  # type: ignore[attr-defined]
    print(
        f"setup: {args.documents} documents to read, {len(state['tasks'][0])} tasks to approve "
        f"per server, {args.clients} clients; {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    results = []
    for name, argv, cwd, bound in runs:
        print(f"running {name} …", flush=True)
        results.append(_measure(name, argv, cwd, env, args, state, bound))
        _report(results[-1])
    print(
        "\nsummary (same run, same database): "
        + json.dumps(
            {
                r["name"]: round(
                    sum(len(r["mix"].latencies.get(label, [])) for label in READS) / r["wall"], 1
                )
                for r in results
            },
            ensure_ascii=False,
        )
        + " reads/s"
    )


if __name__ == "__main__":
    main()
