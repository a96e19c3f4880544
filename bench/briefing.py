"""Briefing (説明モード) latency: one presenter and 50 followers on one server process, Redis on
loopback (issue 21).

Starts Daphne (one process, as `make run` does) on a loopback port against a database of its own
(BENCH_BRIEFING_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/ekessai_bench_briefing,
recreated) and Redis (REDIS_URL, default redis://127.0.0.1:6379/0, so the channel layer is
channels-redis' RedisPubSubChannelLayer as in production), connects the presenter and the
followers to /ws/notifications/ with Bearer tokens, joins them to one briefing of a document they
may all read, then measures:

0. baseline: a ping → pong round trip on one follower's socket (the same sockets, the same run);
1. page turns: the presenter sends briefing.view; the time from that send to the frame at the
   LAST of the 50 followers (and at every follower), --turns times, --gap apart;
2. the same page turns while the presenter's pointer moves at --pointer-rate updates a second
   (a mouse sends about 60; the server passes at most 20 a second per briefing on), and how many
   pointer frames each follower received per second.

Goal: p99 of (1) and (2) <= 200 ms. The clients are plain asyncio protocols in this process,
speaking just enough of RFC 6455; perf_counter is monotonic and shared by all processes.

    .venv/bin/python bench/briefing.py [--followers 50] [--turns 100] [--gap 0.5]
        [--pointer-rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import shlex
import socket
import statistics
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

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/ekessai_bench_briefing"


def _forget_counters(url: str) -> None:
    """Counters a killed server of an earlier run left behind (the new database reuses ids)."""
    import redis

    client = redis.Redis.from_url(url)
    for pattern in ("*notifications:connections:*", "*briefings:followers:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)


def _p(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _masked(opcode: int, payload: bytes) -> bytes:
    """A client frame (RFC 6455 5.2: clients must mask)."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    if len(payload) < 126:
        header = bytes([0x80 | opcode, 0x80 | len(payload)])
    else:
        header = bytes([0x80 | opcode, 0x80 | 126]) + len(payload).to_bytes(2, "big")
    return header + mask + body


class Client(asyncio.Protocol):
    """One WebSocket connection; every text frame is parsed and handed to `on_frame`."""

    def __init__(self, port: int, token: str) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self.request = (
            f"GET /ws/notifications/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
        self.buffer = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.views: dict[int, float] = {}  # page → when its frame arrived
        self.pointers = 0
        self.errors: list[dict[str, Any]] = []

    def itself(self) -> Client:
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def send(self, message: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.write(_masked(0x1, json.dumps(message).encode()))

    def expect(self, kind: str) -> asyncio.Future[dict[str, Any]]:
        future = asyncio.get_running_loop().create_future()
        self.waiting[kind] = future
        return future

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self.buffer
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            assert b" 101 " in bytes(buf[: buf.find(b"\r\n")]), bytes(buf[:200])
            del buf[: end + 4]
            self.upgraded = True
        while len(buf) >= 2:
            length, start = buf[1], 2
            if length == 126:
                length, start = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                length, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + length:
                return
            opcode, payload = buf[0] & 0x0F, bytes(buf[start : start + length])
            del buf[: start + length]
            if opcode == 0x1:
                try:
                    self.frame(now, json.loads(payload))
                except ValueError as exc:  # named in the failure, rather than closing silently
                    self.errors.append({"bench": f"unreadable frame {payload[:80]!r}: {exc}"})
            elif opcode == 0x9:  # Daphne's keepalive ping
                assert self.transport is not None
                self.transport.write(_masked(0xA, payload))
            elif opcode == 0x8:
                self.errors.append({"bench": f"closed by the server: {payload!r}"})

    def frame(self, now: float, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "briefing.view":
            self.views[frame["page"]] = now
        elif kind == "briefing.pointer":
            self.pointers += 1
        elif kind == "error":
            self.errors.append(frame)
        future = self.waiting.pop(str(kind), None)
        if future is not None and not future.done():
            future.set_result({**frame, "_at": now})


def _setup(followers: int) -> tuple[int, list[str]]:
    """The presenter (the demo organisation's drafter, tanaka) and the followers, one document
    they may all read (granted), a briefing."""
    from django.core.management import call_command

    from api.tokens import create_token
    from briefings import services
    from documents.models import DocumentAccess, DocumentType
    from documents.services import create_document
    from org.models import User

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    User.objects.bulk_create(
        User(username=f"bench{i:03d}", display_name=f"利用者{i}") for i in range(followers)
    )
    users = [User.objects.get(username="tanaka")]
    users += list(User.objects.filter(username__startswith="bench").order_by("pk"))
    document = create_document(
        users[0],
        {
            "title": "説明の計測",
            "doc_type": DocumentType.objects.get(code="notice"),
            "retention_years": 1,
        },
    )
    DocumentAccess.objects.bulk_create(
        DocumentAccess(document=document, user=u, reason="participant") for u in users[1:]
    )
    briefing = services.start(users[0], document)
    return briefing.pk, [create_token(u)[1] for u in users]


async def _ping_rtt(client: Client, count: int) -> list[float]:
    times = []
    for _ in range(count):
        pong = client.expect("pong")
        started = time.perf_counter()
        client.send({"type": "ping"})
        times.append((await asyncio.wait_for(pong, 5))["_at"] - started)
        await asyncio.sleep(0.01)
    return times


async def _turns(
    presenter: Client, followers: list[Client], first_page: int, turns: int, gap: float
) -> tuple[list[float], list[float]]:
    """Page turns; per turn the time to the last follower, and every follower's times."""
    last, every = [], []
    for i in range(turns):
        page = first_page + i
        started = time.perf_counter()
        presenter.send({"type": "briefing.view", "part": "cover", "page": page, "zoom": 1})
        deadline = started + 5
        while not all(page in f.views for f in followers):
            if time.perf_counter() > deadline:
                missing = sum(page not in f.views for f in followers)
                raise TimeoutError(
                    f"page {page}: {missing} followers without the frame; "
                    f"the presenter's errors: {presenter.errors[-3:]}"
                )
            await asyncio.sleep(0.001)
        arrivals = [f.views[page] - started for f in followers]
        last.append(max(arrivals))
        every.extend(arrivals)
        await asyncio.sleep(gap)
    return last, every


async def _pointer(presenter: Client, rate: int, stop: asyncio.Event) -> int:
    sent, i = 0, 0
    while not stop.is_set():
        i += 1
        presenter.send({"type": "briefing.pointer", "page": 1, "x": 100 + i % 300, "y": 400})
        sent += 1
        await asyncio.sleep(1 / rate)
    return sent


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) the server process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<44} n={len(ms):>5}  p50 {statistics.median(ms):7.2f} ms  "
        f"p99 {_p(ms, 99):7.2f} ms  max {max(ms):7.2f} ms"
    )


async def _measure(
    args: argparse.Namespace, port: int, briefing: int, tokens: list[str], server: int
) -> None:
    loop = asyncio.get_running_loop()
    clients: list[Client] = []
    for token in tokens:
        _, client = await loop.create_connection(
            lambda token=token: Client(port, token), "127.0.0.1", port
        )
        ready = client.expect("ready")
        await asyncio.wait_for(ready, 10)
        state = client.expect("briefing.state")
        client.send({"type": "briefing.join", "briefing": briefing})
        await asyncio.wait_for(state, 10)
        clients.append(client)
    presenter, followers = clients[0], clients[1:]
    print(f"presenter and {len(followers)} followers joined briefing {briefing}", flush=True)
    await _turns(presenter, followers, 1000, 10, args.gap)  # warm-up, not counted

    gc.collect()
    gc.disable()
    ping = await _ping_rtt(followers[0], args.pings)
    cpu, wall = _cpu(server), time.perf_counter()
    last, every = await _turns(presenter, followers, 2000, args.turns, args.gap)
    cpu_turns, wall_turns = _cpu(server) - cpu, time.perf_counter() - wall

    for f in followers:
        f.pointers = 0
    stop = asyncio.Event()
    pointing = asyncio.create_task(_pointer(presenter, args.pointer_rate, stop))
    started, cpu = time.perf_counter(), _cpu(server)
    last_p, every_p = await _turns(presenter, followers, 5000, args.turns, args.gap)
    stop.set()
    sent = await pointing
    elapsed = time.perf_counter() - started
    cpu_pointer = _cpu(server) - cpu
    pointer_frames = sum(f.pointers for f in followers)
    gc.enable()
    received = [f.pointers / elapsed for f in followers]

    print()
    print(_line("baseline: ping → pong, one follower's socket", ping))
    print(_line(f"page turn → last of {len(followers)} followers", last))
    print(_line("page turn → each follower", every))
    print(_line(f"… with the pointer at {args.pointer_rate}/s: → last follower", last_p))
    print(_line("… with the pointer: → each follower", every_p))
    print(
        f"pointer: sent {sent / elapsed:.1f}/s, received per follower "
        f"{min(received):.1f}–{max(received):.1f}/s (server limit 20/s)"
    )
    frames = len(every)
    print(
        f"server CPU: page turns {cpu_turns / wall_turns:.0%} of a core, "
        f"{cpu_turns / frames * 1e6:.0f} µs per frame delivered; with the pointer "
        f"{cpu_pointer / elapsed:.0%} of a core, "
        f"{cpu_pointer / (len(every_p) + pointer_frames) * 1e6:.0f} µs per frame "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    worst = max(_p(last, 99), _p(last_p, 99)) * 1000
    verdict = "met" if worst <= 200 else "NOT met"
    print(f"goal p99 <= 200 ms to the last follower: {verdict} ({worst:.2f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--followers", type=int, default=50)
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between page turns")
    parser.add_argument("--pings", type=int, default=200)
    parser.add_argument(
        "--pointer-rate", type=int, default=20, help="pointer updates sent a second"
    )
    parser.add_argument("--daphne", default="", help="more options for Daphne")
    args = parser.parse_args()
    db = os.environ.get("BENCH_BRIEFING_DATABASE_URL", DEFAULT_DB)
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    data_dir = tempfile.mkdtemp(prefix="ekessai-bench-briefing-")
    env = {
        **os.environ,
        "DATABASE_URL": db,
        "REDIS_URL": redis,
        "EKESSAI_DATA_DIR": data_dir,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    recreate_database(db)
    _forget_counters(redis)

    import django

    django.setup()
    from django.db import connections

    briefing, tokens = _setup(args.followers)
    connections.close_all()
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
        asyncio.run(_measure(args, port, briefing, tokens, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
