"""A real server (`python -m config.serve`: Granian, two worker processes) under concurrent load on
PostgreSQL: the connections it holds stay within workers x DATABASE_POOL_MAX, and every request is
answered (issue 16: one connection per request had reached PostgreSQL's limit and answered 500)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from api.tokens import create_token
from org.models import User
from tests.conftest import postgres_only

pytestmark = [
    pytest.mark.postgres,
    postgres_only(),
    pytest.mark.skipif(not settings.REDIS_URL, reason="several processes need Redis (REDIS_URL)"),
    pytest.mark.django_db(transaction=True),
]

BASE_DIR = Path(__file__).resolve().parents[1]
WORKERS, POOL_MAX, CLIENTS, SECONDS = 2, 3, 24, 6
APPLICATION_NAME = "ekessai-pool-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url() -> str:
    database = settings.DATABASES["default"]
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    host, port = database.get("HOST") or "127.0.0.1", database.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{database['NAME']}"


def held(conn: psycopg.Connection) -> int:
    (count,) = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
        [APPLICATION_NAME],
    ).fetchone() or (0,)
    return int(count)


def test_a_server_under_load_holds_no_more_connections_than_its_pools(demo_org, tmp_path):
    tokens = [create_token(User.objects.get(username=name))[1] for name in ("suzuki", "sato")]
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{database_url()}?application_name={APPLICATION_NAME}",
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_POOL_MIN": "1",
        "DATABASE_POOL_MAX": str(POOL_MAX),
        "EKESSAI_DATA_DIR": str(tmp_path),
        "API_TOKEN_RATE": "1000000/min",
        "PYTHONPATH": str(BASE_DIR),
    }
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "config.serve", "--server", "granian"),
            *("--workers", str(WORKERS), "--port", str(port)),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "server.log", "wb"),  # noqa: SIM115 - closed with the process
        start_new_session=True,
    )
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def client(token: str, deadline: float) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Host": "127.0.0.1"}
        while time.monotonic() < deadline:
            try:
                conn.request("GET", "/api/v1/me", headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    try:
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        most = 0
        with psycopg.connect(database_url(), autocommit=True) as watcher:
            deadline = time.monotonic() + SECONDS
            threads = [
                threading.Thread(target=client, args=(tokens[i % 2], deadline))
                for i in range(CLIENTS)
            ]
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                most = max(most, held(watcher))
                time.sleep(0.05)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    log = (tmp_path / "server.log").read_text()[-3000:]
    assert statuses.get(200, 0) > CLIENTS, (statuses, log)
    assert set(statuses) == {200}, (statuses, log)
    assert 0 < most <= WORKERS * POOL_MAX, (most, statuses)
