"""bench/http_serving.py's load: keep-alive HTTP/1.1 clients as plain asyncio streams.

The clients share the two cores with the server, so they must cost little: no HTTP library, one
connection each, a request written as bytes and a response read by its Content-Length (or chunks).
Their CPU time is printed beside the figures.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# A request the client makes next: (label, method, path, body) or None to stop.
Request = tuple[str, str, str, bytes] | None


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    statuses: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, label: str, seconds: float, status: int) -> None:
        self.latencies.setdefault(label, []).append(seconds * 1000)
        if status >= 400 or status == 0:
            self.errors[label] = self.errors.get(label, 0) + 1
            self.statuses[(label, status)] = self.statuses.get((label, status), 0) + 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        return status, await reader.readexactly(int(headers[b"content-length"]))
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, bytes(body)
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    return status, b""


async def client(
    port: int,
    token: str,
    next_request: Callable[[], Request],
    deadline: float,
    tally: Tally,
) -> None:
    """One user's connection: requests one after another until the deadline."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = f"Authorization: Bearer {token}\r\n".encode()
    try:
        while time.perf_counter() < deadline:
            request = next_request()
            if request is None:
                return
            label, method, path, body = request
            head = (
                f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Accept: application/json\r\nContent-Length: {len(body)}\r\n"
                + ("Content-Type: application/json\r\n" if body else "")
            ).encode()
            started = time.perf_counter()
            writer.write(head + auth + b"\r\n" + body)
            try:
                status, _ = await asyncio.wait_for(_read_response(reader), 30)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                tally.add(label, time.perf_counter() - started, 0)
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            tally.add(label, time.perf_counter() - started, status)
    finally:
        writer.close()


async def run(
    port: int,
    tokens: list[str],
    make_next: Callable[[int], Callable[[], Request]],
    seconds: float,
) -> tuple[Tally, float]:
    """len(tokens) clients for `seconds`; the tally and the wall time."""
    tally = Tally()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(client(port, token, make_next(i), deadline, tally) for i, token in enumerate(tokens))
    )
    return tally, time.perf_counter() - started
