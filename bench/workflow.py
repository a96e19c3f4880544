"""Approval steps per second through the service layer, on PostgreSQL, 8 actors at once:
unsigned (the workflow alone) or, with --signed, every step sealing the record as in production.

An actor is a process of its own (forked after the setup, with its own database connection), as a
deployment runs several worker processes: it takes the next step from a shared queue, runs it and
takes the next, until the queue is empty. Threads of one process would measure Python's GIL
rather than the service layer.

Each step is one `workflow.services.approve()` call: the locks, the slot and history rows, the
flow moving on, the audit entry (hash chain, under the audit head's row lock) — and, for the
second step of each document, the decision with its document number from the department's
locked counter. After the commit, in the same call, the listeners of workflow.hooks run
(notifications: rows, pushes and e-mail to the in-memory outbox; retention). The documents are
submitted beforehand on the demo's 課長専決 route (suzuki → sato), so there are two steps each:
all first approvals, then all decisions.

Unsigned (default; SIGN_APPROVALS = False). Goals: CPU per step <= 12 ms (the actors' Python;
the database server's CPU is not counted, though it shares the machine's cores) and <= 12
statements in an approval's transaction (counted on a few documents approved alone first, as
tests/workflow/test_query_budget.py counts them: without BEGIN/COMMIT/SAVEPOINT/RELEASE; the
first document, whose decision creates the number counter, is not counted).

--signed (SIGN_APPROVALS = True): submission seals the drafter's box, each approval adds the
approver's marks and PAdES B-T signature (internal TSA, in process), the decision adds the
number slip and B-LTA; filesystem object store, internal CA keys, all under a temporary data
directory. Submitting signs too, so the default is 100 documents. Goal: >= 50 approvals/s with
8 actors, p99 <= 300 ms. Baselines in the same run: as many documents approved unsigned by the
same code (signing switched off), and the bare cost of one signature and one B-LTA step in this
process (signing.signer on a submitted record). Where a signed step's time goes is timed by
section in every actor (object store read, markup, pyHanko, TSA, store write, B-LTA, database
statements, the rest); --profile FILE also writes one actor's cProfile stats.

The serialised part, in both modes: each actor stamps when the audit head's row lock is taken
(on PostgreSQL at the start of the one statement that moves it,
audit.services._move_head_and_insert, an upper bound; elsewhere when audit.services._lock_head
returns) and when the department's number counter is taken (workflow.numbering._increment), and
when the transaction's COMMIT returns (the locks' end), by wrapping those functions and the
connection's commit in the actor processes (the application is not changed). Printed: p50/p99/mean
hold and the cluster-wide ceiling 1000 / mean hold (ms) steps/s, under the run's contention and
with the documents approved alone; baseline: the same lock-append-move-commit in raw SQL.
Goal for the audit head: >= 1,000 steps/s.

Baseline for the rate: a raw SQL transaction doing comparable row work per step with psycopg
(lock the process row, update two rows, insert five), by the same number of actor processes.
--without-listeners times as many more documents with the after-commit listeners detached (a
diagnostic of the workflow's own share). --departments N spreads the documents over N sections
of 総務部 (the demo's 総務課 and N - 1 made for the run, each with a drafter, a 係長 and a 課長), so
that decisions take N number counters, as in an office where many departments decide; the
default, 1, puts every decision on one counter (the worst case).

    .venv/bin/python bench/workflow.py [--documents 300] [--actors 8] [--without-listeners]
        [--departments 8]
    .venv/bin/python bench/workflow.py --signed [--documents 100] [--profile actor.prof]

Uses its own database (BENCH_WORKFLOW_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/ekessai_bench_workflow), recreated each run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.support.workflow_baselines import (  # noqa: E402 (after the path is set)
    Raw,
    bare_signature,
    merge_profiles,
    raw_tables,
    verify_record,
)
from bench.support.workflow_probes import (  # noqa: E402
    Holds,
    Sections,
    commit_line,
    hold_line,
    install_sections,
    nothing,
    percentile,
    phase_line,
    print_sections,
    run_actors,
)
from bench.support.workflow_setup import (  # noqa: E402
    DEFAULT_URL,
    configure,
    make_sections,
    recreate,
    submit_documents,
    warm_keys,
)

TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT", "ROLLBACK")


# --- main ---


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=None, help="300, or 100 with --signed")
    parser.add_argument("--actors", type=int, default=8)
    parser.add_argument(
        "--departments",
        type=int,
        default=1,
        help="sections the documents come from, each with its own number counter (1: all in the "
        "demo's 総務課, the worst case for the counter)",
    )
    parser.add_argument(
        "--sample", type=int, default=5, help="documents approved alone first, to count queries"
    )
    parser.add_argument(
        "--signed",
        action="store_true",
        help="every step seals the record (SIGN_APPROVALS = True), as in production",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="write the first actor's cProfile stats (signed steps)"
    )
    parser.add_argument(
        "--immediate-constraints",
        action="store_true",
        help="diagnostic: SET CONSTRAINTS ALL IMMEDIATE before the audit head is locked, so that "
        "the deferred foreign-key checks run before it rather than at COMMIT, under the lock",
    )
    parser.add_argument(
        "--without-listeners",
        action="store_true",
        help="diagnostic: also time as many documents with the after-commit listeners "
        "(notifications, retention) detached, to show the workflow's own share",
    )
    args = parser.parse_args()
    documents = args.documents or (100 if args.signed else 300)
    sample = max(args.sample, 2)  # the first is not counted (its decision creates the counter)
    url = os.environ.get("BENCH_WORKFLOW_DATABASE_URL", DEFAULT_URL)
    recreate(url)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-workflow-"))
    configure(url, data_dir)
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=io.StringIO())
    extra = documents if (args.without_listeners or args.signed) else 0
    started = time.perf_counter()
    print(
        f"setting up {sample + documents} {'signed' if args.signed else 'unsigned'} "
        f"and {extra} unsigned submitted documents …",
        flush=True,
    )
    drafters = make_sections(args.departments)
    mode_docs = submit_documents(sample + documents, signed=args.signed, drafters=drafters)
    other_docs = submit_documents(extra, signed=False, drafters=drafters)
    print(f"  (setup {time.perf_counter() - started:.0f} s)", flush=True)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from org.models import User
    from workflow import hooks, services
    from workflow.models import Slot, SlotStatus

    users = {u.pk: u for u in User.objects.all()}
    # The 課長専決 route: the 係長 approves (stage 0), the 課長 decides (stage 1).
    stage_of = {"suzuki": 0, "sato": 1}

    def approve(item: tuple[int, User]) -> None:
        slot_id, user = item
        services.approve(user, slot_id)

    def open_slots(name: str, ids: list[int]) -> list[tuple[int, User]]:
        """The open tasks of the documents `ids` at suzuki's (係長) or sato's (課長) stage, in
        whichever section each document comes from."""
        return [
            (pk, users[assignee])
            for pk, assignee in Slot.objects.filter(
                status=SlotStatus.OPEN,
                stage__index=stage_of[name],
                stage__route__document_id__in=ids,
            )
            .order_by("pk")
            .values_list("pk", "assignee_id")
        ]

    phases: list[tuple[float, float, float, float]] = []  # per steps_on: rate and p99 of each

    def steps_on(
        ids: list[int], prepare: Callable[[int], Callable[[], Any]] = nothing
    ) -> tuple[float, list[float], float, list[Any]]:
        """Both steps of every document (all first approvals, then all decisions): steps/s,
        latencies, the actors' CPU time per step and their finishers' results."""
        first = open_slots("suzuki", ids)
        rate1, lat1, cpu1, fin1 = run_actors(args.actors, first, approve, prepare)
        decisions = open_slots("sato", ids)  # opened by the first approvals
        rate2, lat2, cpu2, fin2 = run_actors(args.actors, decisions, approve, prepare)
        steps = len(lat1) + len(lat2)
        phases.append((rate1, percentile(lat1, 99), rate2, percentile(lat2, 99)))
        cpu_ms = (cpu1 * len(lat1) + cpu2 * len(lat2)) / steps
        return steps / (len(lat1) / rate1 + len(lat2) / rate2), lat1 + lat2, cpu_ms, fin1 + fin2

    # Statements per step and hold times of documents approved one at a time (not timed): the
    # action's own transaction, then the listeners that run after its commit. The first document
    # warms up (its decision creates the counter; signed, the approvers' keys are issued).
    settings.SIGN_APPROVALS = args.signed
    if args.signed:
        warm_keys()
    alone = Holds(args.immediate_constraints)
    alone.install()
    counts: dict[str, list[tuple[int, int]]] = {"suzuki": [], "sato": []}
    import audit.services as audit_services

    prepared: list[None] = []
    append_statement = audit_services._move_head_and_insert

    def counted(*args: Any) -> Any:
        prepared.append(None)
        return append_statement(*args)

    audit_services._move_head_and_insert = counted
    for n, document_id in enumerate(mode_docs[:sample]):
        if n == 1:
            alone.held = {name: [] for name in Holds.NAMES}
            alone.committing = []
        for name in ("suzuki", "sato"):
            slot_id, approver = open_slots(name, [document_id])[0]
            prepared.clear()
            with CaptureQueriesContext(connection) as queries:
                services.approve(approver, slot_id)
            sql = [q["sql"] for q in queries.captured_queries]
            commit = sql.index("COMMIT") if "COMMIT" in sql else len(sql)
            own = [q for q in sql[:commit] if not q.startswith(TRANSACTION_CONTROL)]
            if n:
                # The audit append's prepared statement runs on psycopg's own cursor, which
                # Django's log does not see: counted as it runs.
                counts[name].append((len(own) + len(prepared), len(sql) - commit - 1))
    audit_services._move_head_and_insert = append_statement
    alone.uninstall()
    timed = mode_docs[sample:]
    bare = bare_signature(timed[0], runs=7) if args.signed else None

    profile_path = args.profile

    def actor_probes(index: int) -> Callable[[], Any]:
        import signing.cms

        signing.cms._local.loop = None  # each process its own event loop, not the parent's
        holds = Holds(args.immediate_constraints)
        holds.install()
        sections = Sections()
        if args.signed:
            install_sections(sections)
        profiler = None
        if profile_path and index == 0 and settings.SIGN_APPROVALS:
            profiler = cProfile.Profile()
            profiler.enable()

        def finish() -> Any:
            if profiler:
                profiler.disable()
                profiler.dump_stats(f"{profile_path}.{os.getpid()}")
            return holds.snapshot(), dict(sections.wall), dict(sections.cpu)

        return finish

    rate, lat, cpu, finished = steps_on(timed, actor_probes)
    if profile_path:
        merge_profiles(profile_path)
    steps = len(lat)
    base_fin: list[Any] = []
    if other_docs:
        settings.SIGN_APPROVALS = False
        listeners = list(hooks._listeners)
        if not args.signed:
            hooks._listeners.clear()
        try:
            base_rate, base_lat, base_cpu, base_fin = steps_on(other_docs, actor_probes)
        finally:
            hooks._listeners[:] = listeners
    verified = verify_record(timed[-1]) if args.signed else None

    # Baselines: comparable row work in raw SQL, one transaction per step, same concurrency; the
    # audit head's append alone, concurrently and alone.
    raw_tables(url, steps)
    raw = Raw(url)
    raw_rate, raw_lat, raw_cpu, _ = run_actors(
        args.actors, list(range(1, steps + 1)), raw.step, raw.prepare
    )
    _, _, _, raw_holds = run_actors(args.actors, list(range(steps)), raw.append, raw.prepare)
    raw.prepare(0)
    for i in range(200):
        raw.append(i)
    raw.conn.close()

    mode = "signed (every step seals the record)" if args.signed else "unsigned"
    print(
        f"approval steps through the service layer, {mode}: {steps} steps, {args.actors} actors, "
        f"PostgreSQL, {os.cpu_count()} cores"
    )

    def rate_line(label: str, r: float, latencies: list[float], cpu_ms: float | None) -> str:
        line = (
            f"  {label:<28}: {r:7.1f} steps/s   p50 {statistics.median(latencies):6.1f} ms   "
            f"p99 {percentile(latencies, 99):6.1f} ms"
        )
        return line + (f"   CPU {cpu_ms:5.1f} ms/step" if cpu_ms is not None else "")

    print(rate_line("service layer", rate, lat, cpu))
    print(phase_line(phases[0], args.departments))
    if other_docs:
        label = "same code, unsigned" if args.signed else "listeners detached (diagnostic)"
        print(rate_line(label, base_rate, base_lat, base_cpu))
        print(phase_line(phases[1], args.departments))
    print(rate_line("raw SQL", raw_rate, raw_lat, raw_cpu))
    print(
        f"  ratio (service / raw SQL): throughput {rate / raw_rate:.3f}x, "
        f"p99 {percentile(lat, 99) / percentile(raw_lat, 99):.1f}x"
    )
    cores = os.cpu_count() or 1
    print(
        f"  the actors' CPU bounds the rate: {cores} cores x 1000 / {cpu:.1f} ms = "
        f"{cores * 1000 / cpu:.0f} steps/s at most (the database server shares these cores)"
    )
    for name, label in (("suzuki", "approval"), ("sato", "decision with its number")):
        if counts[name]:
            mean_inside = statistics.mean(c[0] for c in counts[name])
            after = statistics.mean(c[1] for c in counts[name])
            print(
                f"  statements per step, {label}: {mean_inside:.0f} in the action's transaction "
                f"(without BEGIN/COMMIT/SAVEPOINT) + {after:.0f} after its commit (listeners)"
            )
    worst = max(c[0] for name in counts for c in counts[name])
    if args.signed:
        assert bare is not None and verified is not None
        print(
            f"  bare cost in this process ({bare['bytes'] / 1024:.0f} KB record): one signature "
            f"{bare['sign']:.1f} ms, one B-LTA step {bare['blta']:.1f} ms, SHA-256 of the record "
            f"{bare['sha256']:.2f} ms"
        )
        print(f"  the last decided record verifies: {verified}")
        ok = rate >= 50 and percentile(lat, 99) <= 300
        print(
            f"  goal signed >= 50 approvals/s and p99 <= 300 ms: {rate:.1f}/s, p99 "
            f"{percentile(lat, 99):.0f} ms: {'PASS' if ok else 'FAIL'}"
        )
        print_sections(finished, steps, lat)
    else:
        print(
            f"  goal CPU per step <= 12 ms: {cpu:.1f} ms (raw SQL {raw_cpu:.2f} ms): "
            f"{'PASS' if cpu <= 12 else 'FAIL'}"
        )
        print(
            f"  goal <= 12 statements in an approval's transaction: at most {worst}: "
            f"{'PASS' if worst <= 12 else 'FAIL'}"
        )

    print("  the serialised part: from taking the row lock to COMMIT's return, per transaction")
    runs = [("this run", finished)] + ([("same code unsigned", base_fin)] if args.signed else [])
    for label, holds_list in runs:
        held = {n: [ms for f in holds_list for ms in f[0]["held"][n]] for n in Holds.NAMES}
        waited = {n: [ms for f in holds_list for ms in f[0]["waited"][n]] for n in Holds.NAMES}
        print(f"  {label}, {args.actors} actors at once:")
        print(hold_line("audit head    ", held["head"], waited["head"]))
        print(commit_line([ms for f in holds_list for ms in f[0]["committing"]]))
        print(hold_line("number counter", held["counter"], waited["counter"]))
    print(f"  {mode}, documents approved alone (no contention for the CPU):")
    print(hold_line("audit head    ", alone.held["head"]))
    print(commit_line(alone.committing))
    print(hold_line("number counter", alone.held["counter"]))
    raw_held = [ms for h in raw_holds for ms in h]
    print(f"  raw SQL append (lock head, insert entry, move head, commit), {args.actors} actors:")
    print(hold_line("raw head      ", raw_held))
    print(hold_line("raw head alone", raw.held))
    head = [ms for f in finished for ms in f[0]["held"]["head"]]
    ceiling = 1000 / statistics.mean(head)
    ceiling_alone = 1000 / statistics.mean(alone.held["head"])
    print(
        f"  goal audit head ceiling >= 1,000 steps/s: {ceiling:.0f} under this run's contention, "
        f"{ceiling_alone:.0f} alone: {'PASS' if ceiling_alone >= 1000 else 'FAIL'} (alone), "
        f"{'PASS' if ceiling >= 1000 else 'FAIL'} (contended)"
    )
    if args.signed:
        print(
            "  (signed, the decider signs after taking the number: the counter is held across "
            "the signature and B-LTA; it limits decisions per department, not the cluster)"
        )


if __name__ == "__main__":
    main()
