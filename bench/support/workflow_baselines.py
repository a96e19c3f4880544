"""bench/workflow.py: the same-run baselines (raw SQL steps and audit appends, the bare cost of
a signature) and the checks of what was signed."""

from __future__ import annotations

import hashlib
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# --- the raw SQL baselines ---


def raw_tables(url: str, steps: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_proc (id int primary key, n int)")
        conn.execute(
            "CREATE TABLE bench_row (id serial primary key, proc int, kind text, "
            "payload jsonb, at timestamptz default now())"
        )
        conn.execute("INSERT INTO bench_proc SELECT g, 0 FROM generate_series(1, %s) g", [steps])
        conn.execute("CREATE TABLE bench_head (id int primary key, seq bigint, hash bytea)")
        conn.execute("INSERT INTO bench_head VALUES (1, 0, %s)", [bytes(32)])
        conn.execute(
            "CREATE TABLE bench_entry (seq bigint primary key, prev bytea, hash bytea, "
            "data jsonb, at timestamptz default now())"
        )


class Raw:
    """The raw SQL steps, on one psycopg connection per actor."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: Any = None
        self.held: list[float] = []

    def prepare(self, index: int) -> Callable[[], Any]:
        import psycopg

        self.conn = psycopg.connect(self.url)
        return lambda: self.held

    def step(self, proc: object) -> None:
        """Comparable row work to one approval's."""
        conn = self.conn
        with conn.transaction():
            conn.execute("SELECT 1 FROM bench_proc WHERE id = %s FOR UPDATE NOWAIT", [proc])
            conn.execute("UPDATE bench_proc SET n = n + 1 WHERE id = %s", [proc])
            for kind in ("slot", "history", "task", "join", "split"):
                conn.execute(
                    "INSERT INTO bench_row (proc, kind, payload) VALUES (%s, %s, %s)",
                    [proc, kind, '{"status": "approved"}'],
                )
            conn.execute(
                "UPDATE bench_row SET kind = kind WHERE id = "
                "(SELECT max(id) FROM bench_row WHERE proc = %s)",
                [proc],
            )

    def append(self, item: object) -> None:
        """The audit head's part alone: lock the head, insert the entry, move the head, commit."""
        conn = self.conn
        with conn.transaction():
            seq, prev = conn.execute(
                "SELECT seq, hash FROM bench_head WHERE id = 1 FOR UPDATE"
            ).fetchone()
            taken = time.perf_counter()
            digest = hashlib.sha256(prev + str(item).encode()).digest()
            conn.execute(
                "INSERT INTO bench_entry (seq, prev, hash, data) VALUES (%s, %s, %s, %s)",
                [seq + 1, prev, digest, '{"action": "workflow.approve"}'],
            )
            conn.execute(
                "UPDATE bench_head SET seq = %s, hash = %s WHERE id = 1", [seq + 1, digest]
            )
        self.held.append((time.perf_counter() - taken) * 1000)


# --- the bare cost of a signature ---


def bare_signature(document_id: int, runs: int) -> dict[str, float]:
    """Median ms, in this process, of one approval signature (visible, with the dated seal, as
    documents.sealing.seal makes it) and of the B-LTA step on a submitted record, and of SHA-256
    over the same bytes."""
    from documents.models import Document, RecordRevision
    from signing.keystore import get_keystore
    from signing.signer import add_validation_data_and_doc_timestamp, sign_approval
    from storage import get_store, key_for

    version = Document.objects.get(pk=document_id).versions.get()
    with get_store().open(key_for(version.record_sha256)) as reader:
        record = reader.read()
    store = get_keystore()
    key_id = RecordRevision.objects.filter(key_id__startswith="post-").values_list(
        "key_id", flat=True
    )[0]

    def median(fn: Callable[[], Any]) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            fn()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    signed = io.BytesIO()

    def sign() -> None:
        signed.seek(0)
        signed.truncate()
        sign_approval(
            record,
            signed,
            position_key_id=key_id,
            reason="承認 総務課長",
            signer_name="鈴木 一郎",
            field_name="bench-seal",
            box=(0, 400, 700, 470, 770),
            keystore=store,  # the seal drawn as for an approval (dated, from the post's CN)
        )

    sign()  # warm
    return {
        "bytes": len(record),
        "sha256": median(lambda: hashlib.sha256(record).digest()),
        "sign": median(sign),
        "blta": median(
            lambda: add_validation_data_and_doc_timestamp(
                signed.getvalue(), io.BytesIO(), keystore=store
            )
        ),
    }


def merge_profiles(path: str) -> None:
    """One stats file from the profiled actor of each run (first approvals, decisions)."""
    import pstats

    parts = sorted(Path(path).parent.glob(Path(path).name + ".*"))
    if parts:
        stats = pstats.Stats(str(parts[0]))
        for part in parts[1:]:
            stats.add(str(part))
        stats.dump_stats(path)
        for part in parts:
            part.unlink()


def verify_record(document_id: int) -> str:
    from documents.models import Document
    from signing.verify import verify_pdf
    from storage import get_store, key_for

    version = Document.objects.get(pk=document_id).versions.get()
    with get_store().open(key_for(version.record_sha256)) as reader:
        report = verify_pdf(reader.read())
    good = sum(s.valid for s in report.signatures)
    return (
        f"{'valid' if report.valid else 'NOT VALID: ' + str(report.problem)}, "
        f"{good}/{len(report.signatures)} signatures and timestamps valid"
    )
