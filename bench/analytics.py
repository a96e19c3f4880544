"""Decision analytics over 1,000,000 decided documents with their history, on PostgreSQL.

Data: generated here, deterministically (seeded), and loaded with COPY into a database of its own
(default postgres://postgres@127.0.0.1:5432/bench_analytics; BENCH_DATABASE_URL overrides): the
demo organisation's documents decided over five years up to last month, each with its route,
stages, slots, history and first views, as workflow writes them. Routes follow the demo's rules
(70% 課長専決 suzuki → sato, 25% 部長専決 with ito's consultation, 5% 副市長決裁); 10% of documents
are sent back once by sato and resubmitted, 3% are decided by the deputy yamamoto (代決) and
post-reviewed by sato (後閲); each task is looked at after an exponential wait and handled after
another, across nights and weekends. 5,000 documents are still in review with old open tasks,
and the paper-decision ledger has 20,000 lines. The facts are then computed by the application's
own `analytics.facts.rebuild` (what `manage.py rebuild_analytics` runs), and timed. Every run
then rolls the closed months up anew (`analytics.rollups.roll_up_closed`, what the daily job and
the rebuild run), timed; `--no-rollups` measures the figures read from the facts alone.

Measured: every endpoint (lead-times, stages, overdue, rate, and a CSV table) through Django's
full request stack (middleware, authentication, JSON), as the administrator (every department)
and as the department head takahashi (総務部 and below), over 40 filter combinations each: the
default period (the last twelve months), random periods of 1, 3 and 12 months, a department, a
document type. Baseline in the same run: fetching one document by primary key through the ORM,
and the lightest signed-in API request (GET /api/v1/me) through the same stack.

    .venv/bin/python bench/analytics.py [--documents 1000000] [--rebuild]

The database is kept between runs: a second run generates nothing and recomputes no facts unless
they are fewer than the documents, or `--rebuild` asks for it (after a change to how the facts
are computed). Besides each endpoint's p50 and p95, the p95 of each kind of filter is printed
(default period; 30, 90 or 365 days; with a department, a type).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
# The repository instead of bench/ itself, whose module names (http.py, storage.py) would shadow
# the standard library's and the project's.
sys.path[0] = str(ROOT)

from bench.support import analytics_data  # noqa: E402 (after the path is set)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_analytics"
GOAL_MS = 1000.0


def _database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def _ensure_database(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("EKESSAI_DEMO", "1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--if-empty", verbosity=0, stdout=io.StringIO())


def _p(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _queries(rng: random.Random, departments: list[int], types: list[str]) -> list[dict[str, str]]:
    today = date.today()
    queries: list[dict[str, str]] = [{} for _ in range(10)]  # the page's default: a year to today
    while len(queries) < 40:
        days = rng.choice([30, 90, 365])
        end = today - timedelta(days=rng.randrange(5 * 365 - days))
        q = {"date_from": (end - timedelta(days=days)).isoformat(), "date_to": end.isoformat()}
        if rng.random() < 0.3:
            q["department"] = str(rng.choice(departments))
        if rng.random() < 0.3:
            q["doc_type"] = rng.choice(types)
        queries.append(q)
    return queries


def _kind(q: dict[str, str]) -> str:
    if not q:
        return "default"
    days = (date.fromisoformat(q["date_to"]) - date.fromisoformat(q["date_from"])).days
    dept, kind = "+dept" if "department" in q else "", "+type" if "doc_type" in q else ""
    return f"{days}d{dept}{kind}"


def measure(documents: int, rebuild: bool = False, rollup: bool = True) -> dict[str, Any]:
    url = _database_url()
    _ensure_database(url)
    _setup_django(url)
    from django.conf import settings
    from django.test import Client

    from analytics import facts, rollups
    from analytics.models import DocumentFact
    from documents.models import Document, DocumentType
    from org.models import Department, User

    settings.ALLOWED_HOSTS = ["*"]
    decided = Document.objects.filter(status="decided").count()
    results: dict[str, Any] = {}
    if decided < documents:
        print(
            f"Generating {documents:,} decided documents with their history (once; kept in "
            f"{urlparse(url).path[1:]}) …",
            flush=True,
        )
        t = time.perf_counter()
        analytics_data.load(documents)
        results["load_s"] = time.perf_counter() - t
    if rebuild or DocumentFact.objects.count() < documents:
        print("Computing the facts with analytics.facts.rebuild …", flush=True)
        t = time.perf_counter()
        done = facts.rebuild(
            progress=lambda n: n % 100_000 < 5000 and print(f"  {n:,} documents", flush=True)
        )
        results["rebuild_s"] = time.perf_counter() - t
        results["rebuilt"] = done
    rollups.drop_all()
    if rollup:
        print("Rolling up the closed months with analytics.rollups.roll_up_closed …", flush=True)
        t = time.perf_counter()
        results["rolled_months"] = len(rollups.roll_up_closed())
        results["rollup_s"] = time.perf_counter() - t
    results["documents"] = Document.objects.filter(status="decided").count()
    results["facts"] = DocumentFact.objects.count()

    rng = random.Random(7)
    somu = Department.objects.get(code="somu")
    departments = [somu.pk, *Department.objects.filter(parent=somu).values_list("pk", flat=True)]
    types = list(DocumentType.objects.values_list("code", flat=True))
    queries = _queries(rng, departments, types)
    pks = list(Document.objects.values_list("pk", flat=True)[:: max(1, documents // 200)])[:200]

    admin = Client()
    admin.force_login(User.objects.get(username="admin"))
    head = Client()
    head.force_login(User.objects.get(username="takahashi"))
    baseline = []
    for pk in pks:
        t = time.perf_counter()
        Document.objects.filter(pk=pk).first()
        baseline.append((time.perf_counter() - t) * 1000)
    results["baseline_p95_ms"] = _p(baseline, 95)
    api_baseline = []
    for _ in range(100):
        t = time.perf_counter()
        response = admin.get("/api/v1/me")
        api_baseline.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.content[:200]
    results["api_baseline_p95_ms"] = _p(api_baseline, 95)
    endpoints = ["lead-times", "stages", "overdue", "rate", "stages.csv"]
    for who, client in (("admin", admin), ("takahashi", head)):
        for endpoint in endpoints:
            timings = []
            kinds: dict[str, list[float]] = {}
            heads = {str(d) for d in departments}
            for q in queries:
                params = dict(q)
                if who == "takahashi" and params.get("department") not in heads:
                    params.pop("department", None)
                if endpoint.endswith(".csv"):
                    params["table"] = "stages"
                path = f"/api/v1/analytics/{endpoint}?{urlencode(params)}"
                t = time.perf_counter()
                response = client.get(path)
                timings.append((time.perf_counter() - t) * 1000)
                label = _kind({k: v for k, v in params.items() if k != "table"})
                kinds.setdefault(label, []).append(timings[-1])
                assert response.status_code == 200, (path, response.content[:300])
            results[f"{who} {endpoint}"] = (statistics.median(timings), _p(timings, 95))
            results.setdefault("kinds", {})[f"{who} {endpoint}"] = {
                k: (len(v), _p(v, 95)) for k, v in sorted(kinds.items())
            }
    sample = json.loads(admin.get("/api/v1/analytics/lead-times").content)
    results["sample_overall"] = sample["overall"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true", help="recompute every fact first")
    parser.add_argument(
        "--no-rollups", action="store_true", help="drop the roll-ups: read the facts alone"
    )
    args = parser.parse_args()
    r = measure(args.documents, args.rebuild, not args.no_rollups)
    print(
        f"decision analytics over {r['documents']:,} decided documents ({r['facts']:,} with "
        "facts), 40 filter combinations per endpoint, through the whole request stack"
    )
    if "load_s" in r:
        print(f"  generating and loading the data: {r['load_s']:.0f} s")
    if "rebuild_s" in r:
        print(
            f"  rebuild_analytics: {r['rebuilt']:,} documents in {r['rebuild_s']:.0f} s "
            f"({r['rebuilt'] / r['rebuild_s']:,.0f} documents/s)"
        )
    if "rollup_s" in r:
        print(f"  rolling up {r['rolled_months']} closed months: {r['rollup_s']:.1f} s")
    else:
        print("  no roll-ups: every figure read from the facts")
    print(
        f"  baseline: one document by primary key (ORM) p95 {r['baseline_p95_ms']:.2f} ms; "
        f"GET /api/v1/me p95 {r['api_baseline_p95_ms']:.1f} ms"
    )
    worst = 0.0
    for key, value in r.items():
        if isinstance(value, tuple):
            p50, p95 = value
            worst = max(worst, p95)
            verdict = "PASS" if p95 <= GOAL_MS else "FAIL"
            print(
                f"  {key:<24} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms "
                f"({p95 / r['baseline_p95_ms']:.0f}x the primary-key fetch, "
                f"{p95 / r['api_baseline_p95_ms']:.1f}x the API's)  goal p95 <= 1 s: {verdict}"
            )
    print("  p95 by kind of filter (number of requests):")
    for key, kinds in r["kinds"].items():
        shown = ", ".join(f"{k} {p95:.0f} ms ({n})" for k, (n, p95) in kinds.items())
        print(f"    {key:<22} {shown}")
    print(f"  default period, everything: {r['sample_overall']}")
    print(f"  worst p95 {worst:.0f} ms: {'PASS' if worst <= GOAL_MS else 'FAIL'}")


if __name__ == "__main__":
    main()
