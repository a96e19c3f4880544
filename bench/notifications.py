"""Notification latency with 1,000 connected clients on one server process, Redis on loopback.

Starts Daphne (one process) on a loopback port against a database of its own
(BENCH_NOTIFY_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/ekessai_bench_notify,
recreated) and Redis (REDIS_URL, default redis://127.0.0.1:6379/0), connects 1,000 WebSocket
clients with Bearer tokens (1,000 users), then measures from this process:

1. latency from the commit of a notification (notifications.services.notify: row written,
   committed, pushed through the channel layer) to the frame at its client, at 100 notifications
   per second for 10 seconds, each to a random client: p50 and p99;
2. the time to deliver one notification addressed to all 1,000 users, until the last client has
   its frame.

Baseline in the same run: a ping → pong round trip on one of the same connections.
Goal: p99 <= 100 ms; 1,000 clients served in <= 200 ms.

    .venv/bin/python bench/notifications.py [--clients 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/ekessai_bench_notify"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _recreate(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _forget_connections(url: str) -> None:
    """A server killed at the end of an earlier run never counted its sockets down; the new
    database reuses the user ids, so their counters would hit the per-user cap (4429)."""
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter("*notifications:connections:*"):
        client.delete(key)


def _p(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def _clients(port: int, tokens: list[str]) -> list[Any]:
    import aiohttp

    # Connecting authenticates a token and replays history: slow-ish per connection, so no
    # overall timeout, and batches the server can take.
    # No connection limit: aiohttp's default (100) would make the 101st socket wait for ever.
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=60),
        connector=aiohttp.TCPConnector(limit=0),
    )
    url = f"http://127.0.0.1:{port}/ws/notifications/"

    async def open_one(token: str) -> Any:
        ws = await session.ws_connect(
            url, headers={"Authorization": f"Bearer {token}"}, heartbeat=None, max_msg_size=0
        )
        while True:
            frame = await ws.receive_json()
            if frame.get("type") == "ready":
                return ws

    sockets = []
    for start in range(0, len(tokens), 25):  # in batches: the server accepts at its own pace
        sockets.extend(await asyncio.gather(*(open_one(t) for t in tokens[start : start + 25])))
    sockets.append(session)
    return sockets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    db = os.environ.get("BENCH_NOTIFY_DATABASE_URL", DEFAULT_DB)
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    data_dir = tempfile.mkdtemp(prefix="ekessai-bench-notify-")
    env = {
        **os.environ,
        "DATABASE_URL": db,
        "REDIS_URL": redis,
        "EKESSAI_DATA_DIR": data_dir,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "NOTIFICATIONS_MAX_CONNECTIONS_PER_USER": "5",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    _recreate(db)
    _forget_connections(redis)

    import django

    django.setup()
    from django.core.management import call_command

    from api.tokens import create_token
    from notifications.services import notify
    from org.models import User

    call_command("migrate", verbosity=0)
    users = User.objects.bulk_create(
        User(username=f"bench{i:04d}", display_name=f"利用者{i}") for i in range(args.clients)
    )
    users = list(User.objects.filter(username__startswith="bench").order_by("pk"))
    tokens = [create_token(u)[1] for u in users]
    print(f"{len(users)} users with tokens; starting Daphne …", flush=True)

    port = _free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(Path(data_dir) / "daphne.log", "wb"),  # noqa: SIM115 - closed at exit
    )
    print(f"Daphne's log: {Path(data_dir) / 'daphne.log'}", flush=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        asyncio.run(_measure(args, port, users, tokens, notify))
    finally:
        server.terminate()
        server.wait(timeout=10)


async def _measure(args: Any, port: int, users: list[Any], tokens: list[str], notify: Any) -> None:
    started = time.perf_counter()
    sockets = await _clients(port, tokens)
    session, clients = sockets[-1], sockets[:-1]
    print(f"{len(clients)} clients connected in {time.perf_counter() - started:.1f} s", flush=True)
    arrivals: dict[int, float] = {}
    sent: dict[int, float] = {}
    by_socket = dict(zip(range(len(clients)), clients, strict=True))
    counts = {"broadcast": 0}
    done = asyncio.Event()
    expected = {"broadcast": len(clients)}

    async def reader(ws: Any) -> None:
        async for message in ws:
            frame = message.json()
            if frame.get("type") == "pong":
                arrivals[-1] = time.perf_counter()
                continue
            if "id" not in frame:
                continue
            now = time.perf_counter()
            if frame["type"] == "bench.broadcast":
                counts["broadcast"] += 1
                if counts["broadcast"] == expected["broadcast"]:
                    arrivals[-2] = now
                    done.set()
            else:
                arrivals[frame["id"]] = now

    readers = [asyncio.create_task(reader(ws)) for ws in by_socket.values()]
    loop = asyncio.get_running_loop()

    # Baseline: ping → pong on one of the same connections.
    pings = []
    for _ in range(50):
        arrivals.pop(-1, None)
        t0 = time.perf_counter()
        await clients[0].send_json({"type": "ping"})
        while -1 not in arrivals:
            await asyncio.sleep(0.0005)
        pings.append((arrivals[-1] - t0) * 1000)

    import random

    rng = random.Random(11)
    interval = 1 / args.rate

    def produce(results: Any) -> None:
        from django.db import connection

        next_at = time.perf_counter()
        for _ in range(args.rate * args.seconds):
            user = rng.choice(users)
            t0 = time.perf_counter()
            rows = notify("bench.single", [user.pk], data={"t": t0})
            # From before the row is written: the latency includes the INSERT, the commit, the
            # access check and the push (measuring from notify()'s return would hide them).
            results.put((rows[0].pk, t0))
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))
        connection.close()
        results.put(None)

    # The producer runs in a process of its own: as a thread of this process it would compete
    # for the GIL with the event loop that reads the 1,000 sockets, and the bench would measure
    # itself. perf_counter is the system's monotonic clock, the same in both processes.
    import multiprocessing

    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    producer = context.Process(target=produce, args=(results,))
    producer.start()

    def collect() -> None:
        while (item := results.get()) is not None:
            sent[item[0]] = item[1]
        producer.join()

    await loop.run_in_executor(None, collect)
    await asyncio.sleep(1.0)
    latencies = [(arrivals[i] - t) * 1000 for i, t in sent.items() if i in arrivals]
    lost = len(sent) - len(latencies)

    def broadcast() -> float:
        from django.db import connection

        t0 = time.perf_counter()
        notify("bench.broadcast", [u.pk for u in users])
        connection.close()
        return t0

    t0 = await loop.run_in_executor(None, broadcast)
    await asyncio.wait_for(done.wait(), timeout=30)
    fan_out = (arrivals[-2] - t0) * 1000

    for task in readers:
        task.cancel()
    for ws in clients:
        await ws.close()
    await session.close()

    base = statistics.median(pings)
    p50, p99 = statistics.median(latencies), _p(latencies, 99)
    print(f"baseline ping→pong on one connection: p50 {base:.2f} ms")
    print(
        f"{len(latencies)} notifications at {args.rate}/s to {len(clients)} connected clients "
        f"(lost {lost}): commit→frame p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"({p99 / base:.0f}x baseline)  goal p99 <= 100 ms: {'PASS' if p99 <= 100 else 'FAIL'}"
    )
    print(
        f"one notification to all {len(clients)} users: last frame after {fan_out:.0f} ms "
        f"(rows written, committed and pushed included)  goal <= 200 ms: "
        f"{'PASS' if fan_out <= 200 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
