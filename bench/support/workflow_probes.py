"""bench/workflow.py: the actor processes, and what they measure (time by section of a signed
step, how long the contended rows are held) and how it is printed."""

from __future__ import annotations

import multiprocessing
import statistics
import sys
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# --- timing in the actors ---


class Sections:
    """Exclusive wall and CPU time per named section (a section's time minus its subsections')."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.stack: list[list[Any]] = []

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        frame: list[Any] = [name, time.perf_counter(), time.thread_time(), 0.0, 0.0]
        self.stack.append(frame)
        try:
            yield
        finally:
            self.stack.pop()
            wall, cpu = time.perf_counter() - frame[1], time.thread_time() - frame[2]
            self.wall[name] += wall - frame[3]
            self.cpu[name] += cpu - frame[4]
            if self.stack:
                self.stack[-1][3] += wall
                self.stack[-1][4] += cpu

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)
        sections = self

        if hasattr(original, "__code__") and original.__code__.co_flags & 0x80:  # a coroutine

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                with sections(name):
                    return await original(*args, **kwargs)

            setattr(owner, attribute, timed_async)
        else:

            def timed(*args: Any, **kwargs: Any) -> Any:
                with sections(name):
                    return original(*args, **kwargs)

            setattr(owner, attribute, timed)


SECTIONS = (
    ("read", "record read from the object store"),
    ("markup", "markup (number slip, marks)"),
    ("sign", "pyHanko signing (without the TSA)"),
    ("tsa", "TSA (internal, in process)"),
    ("store", "new record written to the store"),
    ("blta", "B-LTA: DSS + document timestamp (without TSA)"),
    ("seal", "documents.sealing.seal's own (key check, rows)"),
    ("sealing", "workflow.sealing's own (signer, box, audit)"),
    ("db", "database statements (all, wall time)"),
    ("workflow", "the rest: workflow, hooks, listeners"),
)


def install_sections(sections: Sections) -> None:
    """Time the signed path by section, in this process (an actor)."""
    from django.db import connection

    import workflow.sealing
    import workflow.services
    from signing.cms import RecordingTimeStamper

    # The module workflow.sealing takes seal() from (documents.sealing).
    records = sys.modules[workflow.sealing.seal.__module__]

    sections.wrap(workflow.services, "approve", "workflow")
    for attribute, name in (
        ("_read_current", "read"),
        ("add_marks", "markup"),
        ("sign_approval", "sign"),
        ("_store", "store"),
        ("add_validation_data_and_doc_timestamp", "blta"),
    ):
        sections.wrap(records, attribute, name)
    sections.wrap(RecordingTimeStamper, "async_timestamp", "tsa")
    sections.wrap(workflow.sealing, "seal", "seal")
    sections.wrap(workflow.sealing, "seal_action", "sealing")

    def timed_statement(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        with sections("db"):
            return execute(sql, params, many, context)

    connection.execute_wrappers.append(timed_statement)


class Holds:
    """How long each transaction holds the contended rows: from the moment the locking statement
    returns to the moment COMMIT returns (when PostgreSQL has released the transaction's locks).
    Installed by wrapping audit.services._lock_head, workflow.numbering._increment and the
    connection's commit and rollback in this process."""

    NAMES = ("head", "counter")

    def __init__(self, immediate: bool = False) -> None:
        # Diagnostic: check the deferred foreign keys before locking the head, not at COMMIT.
        self.immediate = immediate
        self.taken: dict[str, float] = {}
        self.held: dict[str, list[float]] = {name: [] for name in self.NAMES}
        self.waited: dict[str, list[float]] = {name: [] for name in self.NAMES}
        self.committing: list[float] = []  # how long COMMIT took, of those holding the head
        self.restore: list[tuple[Any, str, Any]] = []

    def install(self) -> None:
        from django.db import connections

        import audit.services
        import workflow.numbering

        def probe(owner: Any, attribute: str, name: str, from_start: bool = False) -> None:
            """`from_start`: the function takes the lock inside its one statement, so the hold
            is counted from its start (an upper bound: under contention it includes the wait
            for the lock); otherwise from its return."""
            original = getattr(owner, attribute)
            self.restore.append((owner, attribute, original))

            def locked(*args: Any, **kwargs: Any) -> Any:
                if self.immediate and name == "head":
                    with connections["default"].cursor() as cursor:
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                started = time.perf_counter()
                result = original(*args, **kwargs)
                now = time.perf_counter()
                # _increment: None when the counter does not exist yet; _move_head_and_insert:
                # no ids when the head had moved (nothing written, no lock kept).
                if result is not None and result != []:
                    self.taken.setdefault(name, started if from_start else now)
                    self.waited[name].append((now - started) * 1000)
                return result

            setattr(owner, attribute, locked)

        # On PostgreSQL the head is locked by the statement that appends (audit.services);
        # elsewhere, and for the very first entry, by _lock_head.
        probe(audit.services, "_lock_head", "head")
        probe(audit.services, "_move_head_and_insert", "head", from_start=True)
        probe(workflow.numbering, "_increment", "counter")
        db = connections["default"]
        commit, rollback = getattr(db, "_commit"), getattr(db, "_rollback")  # noqa: B009
        self.restore.append((db, "_commit", commit))
        self.restore.append((db, "_rollback", rollback))

        def timed_commit() -> Any:
            started = time.perf_counter()
            result = commit()
            now = time.perf_counter()
            for name, taken in self.taken.items():
                self.held[name].append((now - taken) * 1000)
            if "head" in self.taken:
                self.committing.append((now - started) * 1000)
            self.taken.clear()
            return result

        def timed_rollback() -> Any:
            self.taken.clear()
            return rollback()

        setattr(db, "_commit", timed_commit)  # noqa: B010
        setattr(db, "_rollback", timed_rollback)  # noqa: B010

    def uninstall(self) -> None:
        for owner, attribute, original in reversed(self.restore):
            setattr(owner, attribute, original)
        self.restore.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"held": self.held, "waited": self.waited, "committing": self.committing}


# --- actors ---


def actor(
    index: int,
    jobs: Any,
    results: Any,
    start: Any,
    step: Callable[[Any], None],
    prepare: Callable[[int], Callable[[], Any]],
) -> None:
    """One actor process: steps from `jobs` until its end marker (None); then (latencies in ms,
    CPU seconds, first start, last end, what `prepare`'s finisher returns) or the error's text
    into `results`."""
    latencies: list[float] = []
    try:
        finish = prepare(index)
        start.wait()
        cpu = time.process_time()
        first = time.perf_counter()
        while (item := jobs.get()) is not None:
            started = time.perf_counter()
            step(item)
            latencies.append((time.perf_counter() - started) * 1000)
        results.put((latencies, time.process_time() - cpu, first, time.perf_counter(), finish()))
    except BaseException:  # reported by the parent, after the other actors finish
        start.abort()  # so that none waits for this one at the start
        results.put(traceback.format_exc())
    finally:
        from django.db import connections

        connections.close_all()


def nothing(index: int) -> Callable[[], Any]:
    return lambda: None


def run_actors(
    actors: int,
    work: list[Any],
    step: Callable[[Any], None],
    prepare: Callable[[int], Callable[[], Any]] = nothing,
) -> tuple[float, list[float], float, list[Any]]:
    """Run `step` on every item of `work` by `actors` processes at once: steps per second,
    latencies (ms), the actors' CPU time per step (ms) and what each actor's finisher returned.
    `prepare(index)` runs in each actor first and returns its finisher."""
    from django.db import connections

    # Forked children must not share the parent's database socket: each opens its own.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    jobs = context.Queue()
    results = context.Queue()
    start = context.Barrier(actors)
    for item in work:
        jobs.put(item)
    for _ in range(actors):
        jobs.put(None)
    processes = [
        context.Process(target=actor, args=(i, jobs, results, start, step, prepare))
        for i in range(actors)
    ]
    for process in processes:
        process.start()
    reports = [results.get() for _ in processes]
    for process in processes:
        process.join()
    errors = [r for r in reports if isinstance(r, str)]
    if errors:
        raise RuntimeError(f"an actor failed:\n{errors[0]}")
    latencies = [ms for r in reports for ms in r[0]]
    elapsed = max(r[3] for r in reports) - min(r[2] for r in reports)
    cpu_ms = sum(r[1] for r in reports) * 1000 / len(latencies)
    return len(latencies) / elapsed, latencies, cpu_ms, [r[4] for r in reports]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def hold_line(label: str, held: list[float], waited: list[float] | None = None) -> str:
    if not held:
        return f"    {label}: not taken"
    mean = statistics.mean(held)
    line = (
        f"    {label}: held p50 {statistics.median(held):6.2f} ms  "
        f"p99 {percentile(held, 99):6.2f} ms  mean {mean:6.2f} ms "
        f"-> ceiling {1000 / mean:7.0f} steps/s"
    )
    if waited:
        line += (
            f"  (waited for it: p50 {statistics.median(waited):.2f}, "
            f"p99 {percentile(waited, 99):.1f} ms)"
        )
    return line


def phase_line(phase: tuple[float, float, float, float], departments: int = 1) -> str:
    counters = (
        "one department, one number counter"
        if departments == 1
        else f"{departments} departments, a number counter each"
    )
    return (
        f"    first approvals {phase[0]:.1f} steps/s (p99 {phase[1]:.0f} ms), decisions "
        f"{phase[2]:.1f} steps/s (p99 {phase[3]:.0f} ms; {counters})"
    )


def commit_line(committing: list[float]) -> str:
    if not committing:
        return ""
    return (
        f"      of which COMMIT itself (deferred FK checks, WAL flush): p50 "
        f"{statistics.median(committing):.2f} ms, mean {statistics.mean(committing):.2f} ms"
    )


def print_sections(finished: list[Any], steps: int, latencies: list[float]) -> None:
    wall: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)
    for _, w, c in finished:
        for k, v in w.items():
            wall[k] += v
        for k, v in c.items():
            cpu[k] += v
    total = sum(latencies) / 1000
    print(f"  where a signed step's time goes (per step, mean over {steps} steps; every actor):")
    print(f"    {'section':<48} {'wall ms':>8} {'CPU ms':>8}")
    for key, label in SECTIONS:
        print(
            f"    {label:<48} {wall.get(key, 0) * 1000 / steps:8.1f} "
            f"{cpu.get(key, 0) * 1000 / steps:8.1f}"
        )
    print(f"    {'(step total)':<48} {total * 1000 / steps:8.1f}")
