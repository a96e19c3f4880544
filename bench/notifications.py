"""Notification latency with 1,000 connected clients on one server process, Redis on loopback.

Starts Daphne (one process, as `make run` does; --daphne adds options) on a loopback port against
a database of its own (BENCH_NOTIFY_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/ekessai_bench_notify, recreated) and Redis (REDIS_URL, default
redis://127.0.0.1:6379/0), connects 1,000 WebSocket clients with Bearer tokens (1,000 users),
then measures:

1. latency from the commit of a notification (notifications.services.notify: row written,
   committed, pushed through the channel layer) to the frame at its client, at 100 notifications
   per second for 10 seconds, each to a random client: p50 and p99;
2. the time to deliver one notification addressed to all 1,000 users, until the last client has
   its frame. Repeated (--broadcasts, default 5): the goal is judged on the median, every run is
   printed (the first is the slowest: the sender warms up). Each is split where Redis hands out
   the last of the pushes (seen by a pattern subscription in a process of its own): before, the
   sender (rows, commit, access check, PUBLISH); after, the server process fanning out.

Baseline in the same run: a ping → pong round trip on one of the same connections.
Goal: p99 <= 100 ms; 1,000 clients served in <= 200 ms.

The clients share the two cores with the server, so they are kept cheap, or the bench would
measure itself: all 1,000 are plain asyncio protocols in one process speaking just enough of
RFC 6455 (no compression offered; per frame a timestamp and a substring test, JSON is parsed
only while connecting and after a phase), with the collector off while timing; their CPU time
during each broadcast is printed (about 10 ms for the 1,000 frames). notify() runs in a
producer process of its own, so it never holds the clients' GIL. perf_counter is the system's
monotonic clock, the same in all processes.

    .venv/bin/python bench/notifications.py [--clients 1000] [--broadcasts 5] [--daphne '...']
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import resource
import select
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
from bench.support.servers import free_port, recreate_database  # noqa: E402 (after the path is set)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/ekessai_bench_notify"
BROADCAST = b"bench.broadcast"


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


def _masked(opcode: int, payload: bytes) -> bytes:
    """A client frame (RFC 6455 5.2: clients must mask)."""
    assert len(payload) < 126, "the bench only sends small frames"
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


class Client(asyncio.Protocol):
    """One WebSocket connection that does as little per frame as the measurement allows."""

    def __init__(self, port: int, token: str, board: Board) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self.request = (
            f"GET /ws/notifications/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
        self.board = board
        self.buffer = bytearray()
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.broadcast_at = 0.0

    def itself(self) -> Client:
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed while connecting: {exc}"))

    def send_text(self, text: str) -> None:
        assert self.transport is not None
        self.transport.write(_masked(0x1, text.encode()))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self.buffer
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            if b" 101 " not in status:
                self.ready.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            del buf[: end + 4]
            self.upgraded = True
        while len(buf) >= 2:
            length, start = buf[1], 2
            assert buf[0] & 0x80 and not length & 0x80, "a fragmented or masked server frame"
            if length == 126:
                length, start = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                length, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + length:
                return
            opcode, payload = buf[0] & 0x0F, bytes(buf[start : start + length])
            del buf[: start + length]
            if opcode == 0x1:
                self.frame(now, payload)
            elif opcode == 0x9:  # Daphne's keepalive ping
                assert self.transport is not None
                self.transport.write(_masked(0xA, payload))
            elif opcode == 0x8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                if not self.ready.done():
                    self.ready.set_exception(ConnectionError(f"closed with {code}"))
                assert self.transport is not None
                self.transport.close()

    def frame(self, now: float, payload: bytes) -> None:
        if not self.ready.done():
            if json.loads(payload).get("type") == "ready":
                self.ready.set_result(None)
        elif BROADCAST in payload:
            self.broadcast_at = now
            self.board.broadcasts += 1
            if self.board.broadcasts == 1:
                self.board.first_broadcast_at = now
            if self.board.broadcasts == self.board.expected:
                self.board.all_there.set()
        else:
            self.board.frames.append((now, payload))


class Board:
    """What the clients report, read after each phase."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.broadcasts = 0
        self.first_broadcast_at = 0.0
        self.all_there = asyncio.Event()
        self.frames: list[tuple[float, bytes]] = []


async def _connect(port: int, tokens: list[str], board: Board) -> list[Client]:
    loop = asyncio.get_running_loop()
    clients = []
    for start in range(0, len(tokens), 25):  # in batches: the server accepts at its own pace
        batch = [Client(port, token, board) for token in tokens[start : start + 25]]
        await asyncio.gather(*(loop.create_connection(c.itself, "127.0.0.1", port) for c in batch))
        await asyncio.gather(*(c.ready for c in batch))
        clients.extend(batch)
    return clients


def _produce(conn: Connection, user_ids: list[int], rate: int, seconds: int) -> None:
    """The producer process: notify() on command, so that its work never runs in the clients'
    process (it would compete for their GIL and the bench would measure itself)."""
    import random

    from django.db import connection

    # In a deployment notify() runs in a server process (an approval's request): load the ASGI
    # application as Daphne does, with its process-wide settings (one cache client, the
    # collector's thresholds), so the producer is such a process and not a bare script.
    import config.asgi  # noqa: F401
    from notifications.services import notify

    rng = random.Random(11)
    while (command := conn.recv()) is not None:
        if command == "singles":
            sent = []
            interval = 1 / rate
            next_at = time.perf_counter()
            for _ in range(rate * seconds):
                t0 = time.perf_counter()
                rows = notify("bench.single", [rng.choice(user_ids)], data={"t": t0})
                # From before the row is written: the latency includes the INSERT, the commit,
                # the access check and the push (measuring from notify()'s return would hide
                # them).
                sent.append((rows[0].pk, t0))
                next_at += interval
                time.sleep(max(0.0, next_at - time.perf_counter()))
            conn.send(sent)
        elif command == "broadcast":
            t0 = time.perf_counter()
            notify(BROADCAST.decode(), user_ids)
            conn.send((t0, time.perf_counter()))
    connection.close()


def _watch(conn: Connection, redis_url: str, expected: int) -> None:
    """A process that sees the pushes as Redis hands them out: a pattern subscription to every
    user's group (channels-redis names them asgi__group__user.<id> with the default prefix;
    Pub/Sub ignores the database number, so tests on the same Redis use prefixes of their own),
    read raw, a timestamp and a count per read. Once armed, it answers when `expected` messages
    have gone out, with the times of the first and the last: from then on the work is the
    server's."""
    url = urlparse(redis_url)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379))

    def command(*words: bytes) -> bytes:
        return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)

    if url.password:
        credentials = [(url.username or "default").encode(), url.password.encode()]
        sock.sendall(command(b"AUTH", *credentials))
    sock.sendall(command(b"PSUBSCRIBE", b"asgi__group__user.*"))
    marker = b"$8\r\npmessage\r\n"
    tail, count, first, armed = b"", 0, 0.0, False
    while True:
        readable, _, _ = select.select([sock.fileno(), conn.fileno()], [], [])
        if sock.fileno() in readable:
            data = sock.recv(1 << 20)
            now = time.perf_counter()
            chunk = tail + data
            tail = chunk[1 - len(marker) :]
            seen = chunk.count(marker)
            if armed and seen:
                first = first or now
                count += seen
                if count >= expected:
                    conn.send((first, now))
                    armed = False
        if conn.fileno() in readable:
            if conn.recv() is None:
                break
            tail, count, first, armed = b"", 0, 0.0, True
            conn.send("armed")
    sock.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--broadcasts", type=int, default=5)
    parser.add_argument(
        "--daphne", default="", help="more options for Daphne, e.g. '--ping-interval 600'"
    )
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
    recreate_database(db)
    _forget_connections(redis)

    import django

    django.setup()
    import multiprocessing

    from django.core.management import call_command
    from django.db import connections

    from api.tokens import create_token
    from org.models import User

    call_command("migrate", verbosity=0)
    User.objects.bulk_create(
        User(username=f"bench{i:04d}", display_name=f"利用者{i}") for i in range(args.clients)
    )
    users = list(User.objects.filter(username__startswith="bench").order_by("pk"))
    tokens = [create_token(u)[1] for u in users]
    connections.close_all()
    # Forked before any socket or event loop exists here, so the producer inherits neither.
    context = multiprocessing.get_context("fork")
    here, there = context.Pipe()
    producer = context.Process(
        target=_produce, args=(there, [u.pk for u in users], args.rate, args.seconds)
    )
    producer.start()
    watching, watched = context.Pipe()
    watcher = context.Process(target=_watch, args=(watched, redis, len(users)))
    watcher.start()
    print(f"{len(users)} users with tokens; starting Daphne …", flush=True)

    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "daphne"),
            *("-b", "127.0.0.1", "-p", str(port)),
            *shlex.split(args.daphne),
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
        asyncio.run(_measure(args, port, tokens, here, watching))
    finally:
        here.send(None)
        watching.send(None)
        producer.join(timeout=10)
        watcher.join(timeout=10)
        server.terminate()
        server.wait(timeout=10)


async def _ask(conn: Connection, command: str | None) -> Any:
    """Send a helper process a command (unless None) and wait for its answer, without a thread
    in this process."""
    loop = asyncio.get_running_loop()
    answer = loop.create_future()

    def readable() -> None:
        if not answer.done():
            answer.set_result(conn.recv())

    loop.add_reader(conn.fileno(), readable)
    try:
        if command is not None:
            conn.send(command)
        return await answer
    finally:
        loop.remove_reader(conn.fileno())


async def _measure(
    args: Any, port: int, tokens: list[str], producer: Connection, watcher: Connection
) -> None:
    started = time.perf_counter()
    board = Board(expected=len(tokens))
    clients = await _connect(port, tokens, board)
    print(f"{len(clients)} clients connected in {time.perf_counter() - started:.1f} s", flush=True)
    # A full collection in this process (Django and 1,000 clients: a few hundred thousand
    # objects) pauses every client at once for 100-200 ms; it would be counted as the
    # server's. The timed phases allocate little, so the collector waits until they are over.
    gc.collect()
    gc.freeze()
    gc.disable()

    # Baseline: ping → pong on one of the same connections.
    pings = []
    for _ in range(50):
        board.frames.clear()
        t0 = time.perf_counter()
        clients[0].send_text('{"type": "ping"}')
        while not board.frames:
            await asyncio.sleep(0.0005)
        assert json.loads(board.frames[0][1])["type"] == "pong"
        pings.append((board.frames[0][0] - t0) * 1000)
    board.frames.clear()

    sent = dict(await _ask(producer, "singles"))
    await asyncio.sleep(1.0)
    arrivals = {}
    for at, payload in board.frames:
        frame = json.loads(payload)
        if frame.get("type") == "bench.single":
            arrivals[frame["id"]] = at
    latencies = [(arrivals[i] - t) * 1000 for i, t in sent.items() if i in arrivals]
    lost = len(sent) - len(latencies)

    totals, sender, server, client_cpu = [], [], [], []
    for _ in range(args.broadcasts):
        await asyncio.sleep(1.0)
        board.broadcasts = 0
        board.all_there.clear()
        await _ask(watcher, "arm")
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        t0, _returned = await _ask(producer, "broadcast")
        await asyncio.wait_for(board.all_there.wait(), timeout=30)
        used = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu.append((used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime) * 1000)
        last = max(c.broadcast_at for c in clients)
        _first_out, last_out = await asyncio.wait_for(_ask(watcher, None), timeout=10)
        totals.append((last - t0) * 1000)
        sender.append((last_out - t0) * 1000)
        server.append((last - last_out) * 1000)

    gc.enable()
    for client in clients:
        assert client.transport is not None
        client.transport.close()

    base = statistics.median(pings)
    p50, p99 = statistics.median(latencies), _p(latencies, 99)
    print(f"baseline ping→pong on one connection: p50 {base:.2f} ms")
    print(
        f"{len(latencies)} notifications at {args.rate}/s to {len(clients)} connected clients "
        f"(lost {lost}): commit→frame p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"({p99 / base:.0f}x baseline)  goal p99 <= 100 ms: {'PASS' if p99 <= 100 else 'FAIL'}"
    )
    fan_out = statistics.median(totals)
    print(
        f"one notification to all {len(clients)} users, {len(totals)} times: last frame after "
        f"median {fan_out:.0f} ms, worst {max(totals):.0f} ms "
        f"({', '.join(f'{t:.0f}' for t in totals)}; rows written, committed and pushed "
        f"included)  goal <= 200 ms: {'PASS' if fan_out <= 200 else 'FAIL'}"
    )

    def runs(values: list[float]) -> str:
        return (
            f"median {statistics.median(values):.0f} ms ({', '.join(f'{v:.0f}' for v in values)})"
        )

    print(f"  notify() called → the last push out of Redis (the sender): {runs(sender)}")
    print(f"  the last push out of Redis → the last frame (the server): {runs(server)}")
    print(f"  (CPU time of the 1,000 clients meanwhile: {runs(client_cpu)})")


if __name__ == "__main__":
    main()
