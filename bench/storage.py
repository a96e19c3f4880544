"""Object store benchmark: our interface against the bare `minio` SDK, and peak memory.

    .venv/bin/python bench/storage.py [--quick]

Runs against a real MinIO when MINIO_ENDPOINT is set (MINIO_ACCESS_KEY, MINIO_SECRET_KEY,
MINIO_SECURE, MINIO_REGION, MINIO_BENCH_BUCKET), else against moto's S3 server started in a
subprocess on loopback, so that this process's memory is ours alone. Goals: put/get through our
interface within 1.2x of the SDK's time; uploading 500 MiB costs < 64 MiB of memory. A missed goal
is reported, not an error: the exit status is non-zero only when something fails.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# This file is named storage.py too: its own directory must not shadow the `storage` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
from bench.support.servers import free_port  # noqa: E402 (after the path is set)

KiB, MiB = 1024, 1024 * 1024
RATIO_GOAL = 1.2
MEMORY_GOAL = 64 * MiB
BIG = 500 * MiB


def storage_package() -> Any:
    """The `storage` package, imported by name: for type checkers this file is `storage` too."""
    return importlib.import_module("storage")


# --- the server -----------------------------------------------------------------------------------


@contextmanager
def s3_server() -> Iterator[tuple[dict[str, Any], str]]:
    """The store configuration, and a description of the server."""
    if os.environ.get("MINIO_ENDPOINT"):
        yield (
            {
                "BACKEND": "minio",
                "ENDPOINT": os.environ["MINIO_ENDPOINT"],
                "ACCESS_KEY": os.environ.get("MINIO_ACCESS_KEY"),
                "SECRET_KEY": os.environ.get("MINIO_SECRET_KEY"),
                "BUCKET": os.environ.get("MINIO_BENCH_BUCKET", "ekessai-bench"),
                "SECURE": os.environ.get("MINIO_SECURE", "false").lower() in {"1", "true", "yes"},
                "REGION": os.environ.get("MINIO_REGION") or "us-east-1",
                "OBJECT_LOCK": False,
                "TIMEOUT": 60,
            },
            f"MinIO at {os.environ['MINIO_ENDPOINT']}",
        )
        return
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.1)
        import moto

        yield (
            {
                "BACKEND": "minio",
                "ENDPOINT": f"127.0.0.1:{port}",
                "ACCESS_KEY": "bench",
                "SECRET_KEY": "bench",
                "BUCKET": f"bench-{uuid.uuid4().hex[:12]}",
                "SECURE": False,
                "REGION": "us-east-1",
                "OBJECT_LOCK": False,
                "TIMEOUT": 60,
            },
            f"moto {moto.__version__} S3 server on 127.0.0.1 (subprocess)",
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def sdk_client(config: dict[str, Any]) -> Any:
    """The SDK as an application would use it directly: its defaults, same server and keys."""
    from minio import Minio

    return Minio(
        config["ENDPOINT"],
        access_key=config["ACCESS_KEY"],
        secret_key=config["SECRET_KEY"],
        secure=config["SECURE"],
        region=config["REGION"],
    )


# --- timing ---------------------------------------------------------------------------------------


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1000:9.2f} ms" if seconds < 1 else f"{seconds:9.3f} s "


def fmt_size(size: int) -> str:
    return f"{size // MiB} MiB" if size >= MiB else f"{size // KiB} KiB"


def one_round(
    store: Any, sdk: Any, bucket: str, payloads: list[bytes], rep: int
) -> dict[str, float]:
    """Each operation once, on fresh bytes (content addressing would skip a repeated put)."""
    storage = storage_package()

    ours, ours_sha, theirs = payloads
    digest = hashlib.sha256(ours_sha).hexdigest()
    name = f"sdk/{uuid.uuid4().hex}"
    keys: list[str] = []
    versions: list[str | None] = []

    def put_ours() -> None:
        keys.append(store.put(io.BytesIO(ours)).key)

    def put_ours_sha() -> None:
        keys.append(store.put(io.BytesIO(ours_sha), sha256=digest, length=len(ours_sha)).key)

    def put_sdk() -> None:
        result = sdk.put_object(bucket, name, io.BytesIO(theirs), len(theirs))
        versions.append(result.version_id)

    def get_ours() -> None:
        with store.open(keys[0]) as stream:
            for _chunk in stream:
                pass

    def get_sdk() -> None:
        response = sdk.get_object(bucket, name)
        try:
            for _chunk in response.stream(storage.CHUNK_SIZE):
                pass
        finally:
            response.close()
            response.release_conn()

    # Interleaved, alternating who goes first, so that drift hits both sides alike.
    puts = [("put", put_ours), ("put_sha", put_ours_sha), ("sdk_put", put_sdk)]
    gets = [("get", get_ours), ("sdk_get", get_sdk)]
    if rep % 2:
        puts.reverse()
        gets.reverse()
    gc.collect()
    times = {label: timed(action) for label, action in puts + gets}
    for key in keys:
        store.delete(key)
    # By version: the bucket is versioned, and a plain delete would keep the bytes in the server.
    sdk.remove_object(bucket, name, version_id=versions[0])
    return times


def run_speed(config: dict[str, Any], sizes: list[tuple[int, int]]) -> None:
    storage = storage_package()

    store = storage.build_store(config)
    store.check()
    sdk = sdk_client(config)
    print(f"{'size':>8} {'operation':<26}{'ours':>13}{'SDK':>13}{'ratio':>8}  goal <= {RATIO_GOAL}")
    for size, reps in sizes:
        base = bytearray(os.urandom(size))
        times: dict[str, list[float]] = {}
        for rep in range(reps + 1):
            payloads = []
            for variant in range(3):
                base[:8] = (rep * 3 + variant).to_bytes(8, "big")
                payloads.append(bytes(base))
            measured = one_round(store, sdk, config["BUCKET"], payloads, rep)
            del payloads
            if rep:  # the first round warms connections and caches up
                for label, elapsed in measured.items():
                    times.setdefault(label, []).append(elapsed)
        med = {label: statistics.median(values) for label, values in times.items()}
        for label, ours_key, sdk_key in (
            ("put (hash computed)", "put", "sdk_put"),
            ("put (sha256 given)", "put_sha", "sdk_put"),
            ("get (streamed)", "get", "sdk_get"),
        ):
            ratio = med[ours_key] / med[sdk_key]
            verdict = "PASS" if ratio <= RATIO_GOAL else "FAIL"
            print(
                f"{fmt_size(size):>8} {label:<26}{fmt_time(med[ours_key]):>13}"
                f"{fmt_time(med[sdk_key]):>13}{ratio:8.2f}  {verdict}  (median of {reps})",
                flush=True,
            )
    store.close()


# --- memory (in a child process, so that its high-water mark is the upload's alone) -------------


class GeneratedStream:
    """`size` pseudo-random bytes made on the fly: a one-pass stream, never in memory whole."""

    def __init__(self, size: int, seed: bytes = b"bench") -> None:
        self.size, self.position = size, 0
        self._block = bytearray(hashlib.shake_256(seed).digest(MiB))

    def read(self, n: int = -1) -> bytes:
        index, offset = divmod(self.position, MiB)
        n = min(MiB - offset if n < 0 else n, MiB - offset, self.size - self.position)
        if n <= 0:
            return b""
        self._block[:8] = index.to_bytes(8, "big")
        self.position += n
        return bytes(self._block[offset : offset + n])


def _proc_status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_high_water_mark() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # Linux >= 4.0: VmHWM := VmRSS
        return True
    except OSError:
        return False


def memory_child(config: dict[str, Any], mode: str, key: str | None) -> dict[str, Any]:
    """One measured operation in a fresh process: "put-streamed", "put-spooled" or "get"."""
    storage = storage_package()

    store = storage.build_store(config)
    store.check()
    store.delete(store.put(os.urandom(9 * MiB)).key)  # warm up: imports, pools, threads
    digest = None
    if mode == "put-streamed":
        digest, stream = hashlib.sha256(), GeneratedStream(BIG)
        while chunk := stream.read(MiB):
            digest.update(chunk)
    gc.collect()
    exact = _reset_high_water_mark()
    baseline = _proc_status("VmRSS") if exact else _proc_status("VmHWM")
    started = time.perf_counter()
    if mode == "get":
        size = 0
        with store.open(key, verify=True) as reader:
            for chunk in reader:
                size += len(chunk)
    else:
        info = store.put(
            GeneratedStream(BIG),
            sha256=digest.hexdigest() if digest else None,
            length=BIG if digest else None,
        )
        key, size = info.key, info.size
    elapsed = time.perf_counter() - started
    peak = _proc_status("VmHWM") - baseline
    if mode != "put-streamed":  # the streamed put leaves its object for the "get" child
        store.delete(key)
    return {"key": key, "size": size, "peak": peak, "seconds": elapsed, "exact": exact}


def run_memory(config: dict[str, Any]) -> None:
    labels = {
        "put-streamed": "put 500 MiB one-pass stream, sha256 given (streamed)",
        "get": "get 500 MiB (streamed, verified)",
        "put-spooled": "put 500 MiB one-pass stream, hash unknown (spooled)",
    }
    key = ""
    for mode, label in labels.items():
        done = subprocess.run(
            [sys.executable, __file__, "--memory-child", mode, json.dumps(config), key],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if result["size"] != BIG:
            raise RuntimeError(f"{mode}: 500 MiB did not make it whole: {result}")
        key = result["key"]
        peak = result["peak"]
        print(
            f"memory {label}: peak +{peak / MiB:.1f} MiB over baseline "
            f"(goal < {MEMORY_GOAL // MiB} MiB) {'PASS' if peak < MEMORY_GOAL else 'FAIL'}"
            f"{'' if result['exact'] else ' (approximate: VmHWM could not be reset)'}"
            f", {BIG / MiB / result['seconds']:.0f} MiB/s",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--memory-child", nargs=3, metavar=("MODE", "CONFIG", "KEY"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.memory_child:
        mode, config, key = args.memory_child
        print(json.dumps(memory_child(json.loads(config), mode, key or None)))
        return 0

    import minio

    reps = (10, 5, 3) if args.quick else (30, 15, 7)
    sizes = [(4 * KiB, reps[0]), (1 * MiB, reps[1]), (100 * MiB, reps[2])]
    started = time.monotonic()
    with s3_server() as (config, where):
        print(f"object store benchmark: {where}, minio SDK {minio.__version__}")
        print("ours: storage.build_store(...).put/open; SDK: Minio().put_object/get_object")
        run_speed(config, sizes)
        if "moto" in where:
            print(
                "note: moto (pure Python) is the bottleneck; its 100 MiB times vary by +-30 %"
                " from run to run, more than any difference between the two clients"
            )
        speed_done = time.monotonic()
        run_memory(config)
    print(
        f"total {time.monotonic() - started:.0f} s "
        f"(speed {speed_done - started:.0f} s, memory {time.monotonic() - speed_done:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
