"""One command serves HTTP and WebSockets: `python -m config.serve` (what `make run` runs).

- Embedded (no REDIS_URL): one Daphne process, as before; it needs no service. Several processes
  would each have their own in-memory channel layer and cache, so a notice written in one would
  never reach a socket held by another: more than one worker is refused without Redis.
- With REDIS_URL: WEB_WORKERS processes (default: one per core) of WEB_SERVER (default granian),
  sharing the listening socket; each process has its own bounded database pool
  (DATABASE_POOL_MAX) and they meet in Redis (channel layer, presence, cache) and PostgreSQL.

Django's synchronous code runs in a few threads per process (config.http_handler, WEB_THREADS),
which share one interpreter lock: processes are what uses the cores, threads what keeps a core busy
while a request waits on PostgreSQL. The choice of server was measured with
bench/http_serving.py (figures in docs/deployment.md). The other servers stay selectable by
WEB_SERVER for comparison: `daphne` (one process each, sharing a socket this command binds) and
`uvicorn` (Uvicorn workers under Gunicorn, when both are installed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from config import env

APPLICATION = "config.asgi:application"
SERVERS = ("granian", "daphne", "uvicorn")
DEFAULT_SERVER = "granian"


def _executable(name: str) -> str:
    """The server's script beside this interpreter (the project's virtualenv), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed in this environment (WEB_SERVER={name})")
    return found


def default_workers(redis_url: str | None) -> int:
    return (os.cpu_count() or 1) if redis_url else 1


def command(server: str, workers: int, host: str, port: int) -> list[str]:
    """The command line of a server that binds host:port itself (granian, uvicorn), or of one
    Daphne process (`daphne_processes` runs several on one socket)."""
    if server == "granian":
        return [
            _executable("granian"),
            # asginl: no lifespan protocol, which neither Django nor Channels speaks.
            *("--interface", "asginl", "--host", host, "--port", str(port)),
            *("--workers", str(workers), "--respawn-failed-workers"),
            # No --backpressure: Granian counts it in connections, not requests, so a bound at the
            # pool's size let 8 keep-alive clients per process in and left every other one
            # waiting until it gave up (30 s timeouts under 50 clients). How many requests run
            # in Django at once is bounded inside the process instead (config.http_handler:
            # WEB_THREADS, below the pool's size), and the rest wait their turn in order.
            *("--log-level", "warning"),
            APPLICATION,
        ]
    if server == "uvicorn":
        return [
            _executable("gunicorn"),
            *("--bind", f"{host}:{port}", "--workers", str(workers)),
            *("--worker-class", "uvicorn.workers.UvicornWorker", "--log-level", "warning"),
            APPLICATION,
        ]
    if server == "daphne":
        return [_executable("daphne"), "-b", host, "-p", str(port), APPLICATION]
    raise SystemExit(f"WEB_SERVER must be one of {', '.join(SERVERS)}, not {server!r}")


def daphne_processes(workers: int, host: str, port: int) -> int:
    """Daphne has no worker processes of its own: bind the socket here, start `workers` Daphne
    processes that accept on it (--fd), and stop them all when this process is stopped."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1024)
    listener.set_inheritable(True)
    fd = listener.fileno()
    children = [
        subprocess.Popen(  # noqa: S603 - our own executable and arguments
            [_executable("daphne"), "--fd", str(fd), APPLICATION], pass_fds=(fd,)
        )
        for _ in range(workers)
    ]

    def stop(signum: int, _frame: object) -> None:
        for child in children:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    codes = [child.wait() for child in children]
    return max(codes, default=0)


def main(argv: Sequence[str] | None = None) -> int:
    redis_url = env.redis_url("REDIS_URL", None)
    parser = argparse.ArgumentParser(prog="python -m config.serve", description=__doc__)
    parser.add_argument("--host", default=env.string("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env.integer("PORT", 8000, minimum=1))
    parser.add_argument(
        "--workers",
        type=int,
        default=env.integer("WEB_WORKERS", default_workers(redis_url), minimum=1),
        help="worker processes (WEB_WORKERS; default: one per core with Redis, else 1)",
    )
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default=env.string("WEB_SERVER", DEFAULT_SERVER if redis_url else "daphne"),
        help="WEB_SERVER (default: granian with Redis, daphne without)",
    )
    args = parser.parse_args(argv)
    if args.workers > 1 and not redis_url:
        parser.error(
            f"{args.workers} worker processes need REDIS_URL: without Redis each process has its "
            "own channel layer, and a notice written in one never reaches a socket of another"
        )
    print(
        f"Serving on http://{args.host}:{args.port}/ with {args.server}, "
        f"{args.workers} process{'es' if args.workers > 1 else ''}",
        flush=True,
    )
    if args.server == "daphne" and args.workers > 1:
        return daphne_processes(args.workers, args.host, args.port)
    argv_ = command(args.server, args.workers, args.host, args.port)
    os.execv(argv_[0], argv_)  # noqa: S606 - our own executable and arguments
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
