"""verify_audit over 1,000,000 audit entries on PostgreSQL, against plain SHA-256 of the same bytes.

The chain is generated in Python with the application's own message format (audit.models) and
bulk-loaded with COPY into a bench database, recreated each run. Then, in the same run:

- baseline: one SHA-256 per entry over exactly the bytes verification hashes (the messages,
  already in memory): the work no verification can avoid;
- verification: `audit.verification.verify()`, what `manage.py verify_audit` runs: reading the
  rows from PostgreSQL, hashing each, checking every link, seq and the chain head.

Goal (issue 8): verification within 2x the hashing time.

    .venv/bin/python bench/audit.py [--entries 1000000] [--runs 3] [--exact]

Uses its own database (BENCH_AUDIT_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/ekessai_bench_audit). --exact also times the field-by-field
walk that diagnoses a broken chain (and that other databases use).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
from bench.support.servers import recreate_database  # noqa: E402 (after the path is set)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ekessai_bench_audit"
ACTIONS = (
    "document.view",
    "workflow.approve",
    "record.download",
    "document.update",
    "auth.login",
    "workflow.decide",
)
CLIENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome"


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("EKESSAI_DATA_DIR", str(ROOT / "var" / "bench"))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.OBJECT_STORE = {"BACKEND": "filesystem", "ROOT": ROOT / "var" / "bench" / "objects"}
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=io.StringIO())


def _documents(count: int) -> list[int]:
    from documents.models import DocumentType
    from documents.services import create_document
    from org.models import User

    tanaka = User.objects.get(username="tanaka")
    notice = DocumentType.objects.get(code="notice")
    return [
        create_document(
            tanaka,
            {"title": f"監査証跡の試験（{i}）", "doc_type": notice, "retention_years": 1},
        ).pk
        for i in range(count)
    ]


def _generate(entries: int, users: list[int], documents: list[int]) -> tuple[list[bytes], list]:
    """The chain's messages and rows, continuing after the entries the setup wrote."""
    from audit.models import AuditHead, canonical_json, message

    head = AuditHead.objects.get(pk=1)
    prev, seq0 = bytes(head.hash), head.seq
    start = datetime(2026, 4, 1, tzinfo=UTC)
    messages: list[bytes] = []
    rows: list[tuple] = []
    sha256 = hashlib.sha256
    for i in range(entries):
        seq = seq0 + 1 + i
        action = ACTIONS[i % len(ACTIONS)]
        actor = users[i % len(users)]
        document = documents[i % len(documents)] if action != "auth.login" else None
        version = 1 if document else None
        on_behalf = users[(i + 1) % len(users)] if i % 50 == 0 else None
        at = start + timedelta(microseconds=i * 1_000_003)
        data = canonical_json(
            {"history": i, "stage": "課長", "comment": "確認しました" if i % 3 else ""}
            if action.startswith("workflow.")
            else {"sha256": hashlib.sha256(b"%d" % (i % 1000)).hexdigest()}
        )
        ip = f"10.{i % 7}.{i % 251}.{i % 13 + 1}"
        msg = message(prev, seq, at, actor, on_behalf, action, document, version, ip, CLIENT, data)
        digest = sha256(msg).digest()
        messages.append(msg)
        rows.append(
            (seq, at, actor, on_behalf, action, document, version, ip, CLIENT, data, prev, digest)
        )
        prev = digest
    return messages, rows


def _load(url: str, rows: list[tuple]) -> None:
    import psycopg

    columns = (
        "seq, at, actor_id, on_behalf_of_id, action, document_id, document_version, ip, "
        "client, data, prev_hash, hash"
    )
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur, cur.copy(f"COPY audit_auditentry ({columns}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
        last = rows[-1]
        conn.execute(
            "UPDATE audit_audithead SET seq = %s, hash = %s WHERE id = 1", [last[0], last[-1]]
        )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE audit_auditentry")


def _best(runs: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs of each")
    parser.add_argument("--exact", action="store_true", help="also time the field-by-field walk")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the chain of the last run (no regeneration)"
    )
    args = parser.parse_args()
    url = os.environ.get("BENCH_AUDIT_DATABASE_URL", DEFAULT_URL)
    if args.reuse:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
    else:
        recreate_database(url)
        print("setting up the demo organisation and some documents …", flush=True)
        _setup(url)

    from audit.models import AuditEntry
    from audit.services import record
    from audit.verification import verify
    from org.models import User

    if args.reuse:
        messages = [entry.message() for entry in AuditEntry.objects.order_by("seq").iterator()]
    else:
        documents = _documents(20)
        users = list(User.objects.order_by("pk").values_list("pk", flat=True))
        record("bench.start")  # the chain head exists
        print(f"generating {args.entries:,} entries …", flush=True)
        started = time.perf_counter()
        messages, rows = _generate(args.entries, users, documents)
        print(f"  {time.perf_counter() - started:.1f} s; loading with COPY …", flush=True)
        started = time.perf_counter()
        _load(url, rows)
        del rows
        print(f"  {time.perf_counter() - started:.1f} s", flush=True)
    total = AuditEntry.objects.count()
    size = sum(len(m) for m in messages)

    sha256 = hashlib.sha256
    digest = type(sha256()).digest

    def hash_loop() -> None:
        for m in messages:
            sha256(m).digest()

    def hash_map() -> None:
        for _ in map(digest, map(sha256, messages)):
            pass

    looped, _ = _best(args.runs, hash_loop)
    mapped, _ = _best(args.runs, hash_map)
    hashing = min(looped, mapped)
    verifying, report = _best(args.runs, verify)
    assert report is not None and report.valid, report  # type: ignore[attr-defined]
    assert report.entries == total  # type: ignore[attr-defined]
    print(f"entries: {total:,} ({size / 1e6:.0f} MB of hashed messages)")
    print(
        f"SHA-256 of the same messages, one per entry: {hashing:.2f} s "
        f"(a Python loop: {looped:.2f} s; map(): {mapped:.2f} s)"
    )
    print(f"verify_audit ({report.method}): {verifying:.2f} s")  # type: ignore[attr-defined]
    print(f"ratio: {verifying / hashing:.2f}x the hashing time (goal: within 2x)")
    if args.exact:
        exact, slow = _best(1, lambda: verify(fast=False))
        assert slow is not None and slow.valid  # type: ignore[attr-defined]
        print(f"exact walk (rows, field by field): {exact:.2f} s ({exact / hashing:.2f}x)")


if __name__ == "__main__":
    main()
