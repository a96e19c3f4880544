"""Rehearsal on loopback of a deployment past one machine (issue 16, docs/deployment.md).

Two application servers on two ports (`python -m config.serve`, one process each), one Celery
worker, PostgreSQL and Redis (the object store is the file system of this machine, shared as a
network file system would be; MINIO_ENDPOINT, if set, is used instead):

1. tanaka drafts and submits a document on server 1 and keeps a WebSocket open on server 1;
   suzuki approves and sato decides on server 2: the socket on server 1 gets task.completed and
   document.decided, and the worker e-mails sato, who is not connected, the task.assigned notice.
2. A run of approvals spread over both servers; server 1 is killed (SIGKILL) in the middle. The
   approvals it was answering are asked again of server 2 (an approval whose answer was lost is
   found done: 409 task_closed). At the end every document is decided exactly once, with
   consecutive numbers, every audit entry chains (`verify_audit`), and no job is left waiting.

    .venv/bin/python bench/rehearsal.py [--documents 30]

Database: BENCH_REHEARSAL_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
ekessai_rehearsal, recreated); Redis: REDIS_URL (default redis://127.0.0.1:6379/0). Exit status 1
if anything was lost or half-written.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
from bench.support.servers import free_port, recreate_database  # noqa: E402 (after the path is set)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/ekessai_rehearsal"
PYTHON = sys.executable


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),
        start_new_session=True,
    )


def _wait_for_port(port: int) -> None:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answers on port {port}")


class Api:
    def __init__(self, session: Any, port: int, token: str) -> None:
        self.session, self.base = session, f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.request(
            method, self.base + path, headers=self.headers, **kwargs
        ) as response:
            body = await response.read()
            return response.status, json.loads(body) if body else None

    async def draft_and_submit(self, title: str) -> int:
        import aiohttp

        meta = {"title": title, "doc_type": "notice", "amount": 100_000, "retention_years": 1}
        form = aiohttp.MultipartWriter("form-data")
        part = form.append(json.dumps(meta, ensure_ascii=False))
        part.set_content_disposition("form-data", name="meta")
        status, body = await self.call("POST", "/api/v1/documents", data=form)
        assert status == 201, (status, body)
        document = int(body["id"])
        status, body = await self.call("POST", f"/api/v1/documents/{document}/submit", json={})
        assert status in (200, 201), (status, body)
        return document

    async def task_of(self, document: int) -> int | None:
        status, body = await self.call("GET", "/api/v1/tasks")
        assert status == 200, (status, body)
        for task in body["results"]:
            if int(task["document"]["id"]) == document:
                return int(task["id"])
        return None


async def _frames(ws: Any, wanted: set[str], seconds: float) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + seconds
    while wanted - seen.keys() and time.monotonic() < deadline:
        try:
            message = await ws.receive(timeout=max(deadline - time.monotonic(), 0.1))
        except TimeoutError:
            break
        if message.type.name != "TEXT":
            continue
        frame = json.loads(message.data)
        seen.setdefault(frame.get("type", ""), frame)
    return seen


async def _approve(api: Api, fallback: Api, document: int) -> str:
    """Approve the open task of `document`; if the server is gone, ask the other one."""
    for server in (api, fallback):
        try:
            task = await server.task_of(document)
            if task is None:
                return "done already"
            status, body = await server.call("POST", f"/api/v1/tasks/{task}/approve", json={})
            if status == 200:
                return "approved"
            if status == 409:
                return "done already"
            raise AssertionError((status, body))
        except OSError:
            continue  # this server is down: the other one
        except Exception as exc:
            if "Connect" in type(exc).__name__ or "Disconnected" in type(exc).__name__:
                continue
            raise
    raise AssertionError("neither server answered")


async def _rehearse(args: Any, ports: list[int], tokens: dict[str, str], kill: Any) -> list[str]:
    import aiohttp

    problems = []
    async with aiohttp.ClientSession() as session:
        one = {name: Api(session, ports[0], token) for name, token in tokens.items()}
        two = {name: Api(session, ports[1], token) for name, token in tokens.items()}
        # 1. Across servers: drafted on 1, approved on 2, heard on 1.
        async with session.ws_connect(
            f"http://127.0.0.1:{ports[0]}/ws/notifications/", headers=one["tanaka"].headers
        ) as ws:
            await _frames(ws, {"ready"}, 10)
            document = await one["tanaka"].draft_and_submit("複数サーバーの確認")
            assert await _approve(two["suzuki"], two["suzuki"], document) == "approved"
            assert await _approve(two["sato"], two["sato"], document) == "approved"
            frames = await _frames(ws, {"task.completed", "document.decided"}, 20)
            for wanted in ("task.completed", "document.decided"):
                if wanted not in frames:
                    problems.append(f"the socket on server 1 did not get {wanted}")
            print(
                f"1. drafted on server 1, approved on server 2: socket on server 1 got "
                f"{sorted(frames)}; number {frames.get('document.decided', {}).get('number')}",
                flush=True,
            )
        # 2. A run of approvals; server 1 killed in the middle.
        documents = [
            await one["tanaka"].draft_and_submit(f"停止試験 {i}") for i in range(args.documents)
        ]
        outcomes: dict[str, int] = {}
        total, finished = 2 * len(documents), [0]
        # Six documents in flight at once, so that server 1 dies with requests open.
        gate = asyncio.Semaphore(6)

        async def approve_both(i: int, document: int) -> None:
            first, other = (one, two) if i % 2 else (two, one)
            async with gate:
                for approver in ("suzuki", "sato"):
                    result = await _approve(first[approver], other[approver], document)
                    outcomes[result] = outcomes.get(result, 0) + 1
                    finished[0] += 1
                    if finished[0] == total // 2:
                        kill()
                        print(
                            f"2. server 1 killed after {finished[0]} of {total} approvals, "
                            "with others in flight",
                            flush=True,
                        )

        await asyncio.gather(*(approve_both(i, d) for i, d in enumerate(documents)))
        print(f"   approvals: {outcomes}", flush=True)
    return problems


def _check(env: dict[str, str], documents: int) -> list[str]:
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count

    from documents.models import Document, Status
    from jobs.models import Job
    from workflow.models import HistoryEntry

    problems = []
    decided = Document.objects.filter(status=Status.DECIDED)
    serials = sorted(decided.values_list("serial", flat=True))
    if len(serials) != documents + 1 or serials != list(range(1, len(serials) + 1)):
        problems.append(f"decided {len(serials)} of {documents + 1}, serials {serials}")
    doubled = (
        HistoryEntry.objects.filter(action="approve")
        .values("document", "actor")
        .order_by()
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    if doubled.exists():
        problems.append(f"approved twice: {list(doubled)}")
    for _ in range(60):
        if not Job.objects.exists():
            break
        time.sleep(1)
    left = list(Job.objects.values_list("kind", "state", "last_error"))
    if left:
        problems.append(f"jobs left: {left}")
    connection.close()
    audit = subprocess.run(
        [PYTHON, "manage.py", "verify_audit"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    print(f"verify_audit: {audit.stdout.strip().splitlines()[-1] if audit.stdout else ''}")
    if audit.returncode != 0:
        problems.append(f"verify_audit: {audit.stdout} {audit.stderr}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=30)
    args = parser.parse_args()
    db = os.environ.get("BENCH_REHEARSAL_DATABASE_URL", DEFAULT_DB)
    data_dir = Path(tempfile.mkdtemp(prefix="ekessai-rehearsal-"))
    env = {
        **os.environ,
        "DATABASE_URL": db,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "EKESSAI_DATA_DIR": str(data_dir),
        "EKESSAI_PKI_DIR": str(data_dir / "pki"),
        "EKESSAI_KEY_PASSPHRASE": "rehearsal passphrase, not a secret",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "API_TOKEN_RATE": "1000000/min",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(env)
    recreate_database(db)
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo")
    tokens = {
        name: _manage(env, "issue_token", name).split()[-1] for name in ("tanaka", "suzuki", "sato")
    }
    ports = [free_port(), free_port()]
    servers = [
        _start(
            [PYTHON, "-m", "config.serve", "--workers", "1", "--port", str(port)],
            env,
            data_dir / f"server{n}.log",
        )
        for n, port in enumerate(ports, start=1)
    ]
    worker = _start(
        [PYTHON, "-m", "celery", "-A", "config", "worker", "-c", "1", "--loglevel", "warning"],
        env,
        data_dir / "worker.log",
    )
    print(f"servers on {ports}, a worker; logs in {data_dir}", flush=True)
    try:
        for port in ports:
            _wait_for_port(port)

        def kill() -> None:
            os.killpg(servers[0].pid, signal.SIGKILL)

        problems = asyncio.run(_rehearse(args, ports, tokens, kill))
        problems += _check(env, args.documents)
        mails = list((data_dir / "mail").glob("*")) if (data_dir / "mail").exists() else []
        print(f"e-mail written by the worker: {len(mails)} messages")
        if not mails:
            problems.append("the worker sent no e-mail")
    finally:
        for process in (*servers, worker):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    if problems:
        print("PROBLEMS:\n- " + "\n- ".join(problems))
        sys.exit(1)
    print("nothing lost, nothing half-written")


if __name__ == "__main__":
    main()
