"""Search p95 over 1,000,000 documents with combined conditions, on PostgreSQL.

Data: generated here, deterministically (seeded), and loaded with COPY into a database of its own
(default postgres://postgres@127.0.0.1:5432/ekessai_bench; BENCH_DATABASE_URL overrides). Titles and
bodies are composed from Japanese office vocabulary (400 subjects with a Zipf-like skew × 10
actions × 10 places), counterparties from 5,000 company names, amounts log-uniform from ¥10,000 to
¥500,000,000; documents arrive in order over ten fiscal years (as an append-only table does), each
transaction date within a month of its drafting; spread over the demo departments and drafters;
90% decided, the rest in other states. The n-gram vectors are computed by the same code the
application uses (documents.search).

Queries run through the application's own search (documents.querying.search) as the auditor
watanabe (sees every decided record) and as the drafter tanaka (his department's records only),
with combinations of free text, date range, amount range, counterparty, status and type.
Baseline in the same run: fetching one document by primary key through the ORM.

    .venv/bin/python bench/documents_search.py [--documents 1000000]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ekessai_bench"

# Objects × services give 400 subjects, used with a Zipf-like skew as office vocabulary is.
OBJECTS = [
    "庁舎",
    "公用車",
    "道路",
    "橋梁",
    "防災倉庫",
    "学校",
    "図書館",
    "窓口",
    "電算",
    "水道",
    "公園",
    "観光施設",
    "保健所",
    "印刷物",
    "会議室",
    "除雪車",
    "消防署",
    "空調",
    "広報",
    "選挙",
]
SERVICES = [
    "清掃",
    "補修",
    "保守点検",
    "改修工事",
    "警備",
    "備品購入",
    "設計委託",
    "運営委託",
    "賃貸借",
    "調査",
    "移転",
    "解体",
    "塗装",
    "更新",
    "整備",
    "監理",
    "検査",
    "撤去",
    "植栽管理",
    "システム改修",
]
ACTIONS = [
    "業務委託契約の締結",
    "物品購入",
    "支出負担行為",
    "補助金交付",
    "工事請負契約",
    "賃貸借契約の更新",
    "使用料の減免",
    "照会への回答",
    "通知の発出",
    "計画の策定",
]
PLACES = [
    "本庁舎",
    "北支所",
    "南支所",
    "中央公民館",
    "市民病院",
    "第一小学校",
    "浄水場",
    "総合体育館",
    "市立図書館",
    "消防本部",
]
COMPANY_HEAD = [
    "サンプル",
    "山田",
    "東西",
    "みらい",
    "中央",
    "北海",
    "ひかり",
    "大和",
    "青葉",
    "桜",
]
COMPANY_TAIL = [
    "建設",
    "清掃",
    "自動車",
    "印刷",
    "電機",
    "商事",
    "設備",
    "システム",
    "食品",
    "興業",
]
TYPES = ["contract", "expenditure", "notice", "inquiry", "plan", "other"]


def _database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def _ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--if-empty", verbosity=0, stdout=io.StringIO())


def _companies(rng: random.Random) -> list[str]:
    names = set()
    while len(names) < 5000:
        names.add(
            f"株式会社{rng.choice(COMPANY_HEAD)}{rng.choice(COMPANY_TAIL)}{rng.randint(1, 600)}"
        )
    return sorted(names)


def _copy_rows(total: int, chunk: int = 50_000) -> None:
    from django.db import connection

    from documents.models import Document, DocumentType
    from documents.search import normalize, search_text, vector_literal
    from org.models import User

    rng = random.Random(20261122)
    companies = _companies(rng)
    subjects = [f"{o}{s}" for o in OBJECTS for s in SERVICES]
    rng.shuffle(subjects)
    types = {t.code: t.pk for t in DocumentType.objects.all()}
    drafters = [
        (u.pk, u.primary_post.department_id)
        for u in User.objects.filter(username__in=["tanaka", "suzuki", "yamamoto", "sato", "ito"])
        if u.primary_post
    ]
    start = date(2016, 4, 1)
    have = Document.objects.count()
    columns = (
        "title",
        "doc_type_id",
        "body",
        "amount",
        "counterparty",
        "transaction_date",
        "department_id",
        "drafter_id",
        "disclosure",
        "secrecy",
        "retention_years",
        "status",
        "version",
        "number",
        "fiscal_year",
        "serial",
        "decided_at",
        "submitted_at",
        "created_at",
        "updated_at",
        "search_text",
        "counterparty_key",
        "search_vector",
    )
    serial = have
    with connection.cursor() as cursor:
        raw = cursor.cursor
        while have < total:
            n = min(chunk, total - have)
            with raw.copy(f"COPY documents_document ({', '.join(columns)}) FROM STDIN") as copy:
                for _ in range(n):
                    serial += 1
                    subject = subjects[min(int(rng.paretovariate(1.0)) - 1, len(subjects) - 1)]
                    action, place = rng.choice(ACTIONS), rng.choice(PLACES)
                    title = f"{place}{subject}に係る{action}について"
                    body = (
                        f"{place}における{subject}について、{action}を行うため、"
                        f"下記のとおり伺います。担当：{rng.choice(OBJECTS)}係。"
                    )
                    company = rng.choice(companies)
                    amount = int(10 ** rng.uniform(4, 8.7))
                    # Documents arrive over ten years in order (an append-only table), each
                    # about its transaction a few weeks either side of the drafting day.
                    drafted = start + timedelta(days=3650 * serial // total)
                    day = drafted + timedelta(days=rng.randint(-30, 30))
                    drafter, department = rng.choice(drafters)
                    decided = rng.random() < 0.9
                    status = (
                        "decided" if decided else rng.choice(["in_review", "draft", "rejected"])
                    )
                    fy = day.year if day.month >= 4 else day.year - 1
                    stamp = f"{drafted.isoformat()} 10:00:00+09"
                    copy.write_row(
                        (
                            title,
                            types[rng.choice(TYPES)],
                            body,
                            amount,
                            company,
                            day,
                            department,
                            drafter,
                            "public",
                            "normal",
                            5,
                            status,
                            1,
                            f"B{serial}号" if decided else None,
                            fy if decided else None,
                            serial if decided else None,
                            stamp if decided else None,
                            stamp,
                            stamp,
                            stamp,
                            search_text(title, body, company),
                            normalize(company),
                            vector_literal(title, body, company),
                        )
                    )
            have += n
            print(f"  loaded {have:,} documents", flush=True)
        cursor.execute("VACUUM ANALYZE documents_document")


def _queries(rng: random.Random) -> list[dict[str, object]]:
    queries: list[dict[str, object]] = []
    for _ in range(200):
        start = date(2016, 4, 1) + timedelta(days=rng.randrange(3300))
        q: dict[str, object] = {
            "date_from": start,
            "date_to": start + timedelta(days=rng.choice([30, 90, 365])),
        }
        low = int(10 ** rng.uniform(4, 7))
        kind = rng.randrange(4)
        if kind == 0:
            q |= {
                "q": f"{rng.choice(OBJECTS)}{rng.choice(SERVICES)}",
                "amount_min": low,
                "amount_max": low * 10,
            }
        elif kind == 1:
            q |= {"counterparty": f"{rng.choice(COMPANY_HEAD)}{rng.choice(COMPANY_TAIL)}"}
        elif kind == 2:
            q |= {"q": f"{rng.choice(PLACES)} {rng.choice(ACTIONS)[:4]}", "status": {"decided"}}
        else:
            q |= {"amount_min": low, "amount_max": low * 3, "q": rng.choice(SERVICES)[:2]}
        queries.append(q)
    return queries


def _p(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure_search(documents: int = 1_000_000) -> dict[str, float]:
    url = _database_url()
    _ensure_database(url)
    _setup_django(url)
    from documents.models import Document
    from documents.querying import search
    from org.models import User

    if Document.objects.count() < documents:
        print(f"Generating {documents:,} documents (once; kept in {urlparse(url).path[1:]}) …")
        _copy_rows(documents)
    rng = random.Random(7)
    queries = _queries(rng)
    ids = list(Document.objects.values_list("pk", flat=True)[:: max(1, documents // 200)])[:200]
    results: dict[str, float] = {"documents": float(Document.objects.count())}
    baseline = []
    for pk in ids:
        t = time.perf_counter()
        Document.objects.filter(pk=pk).first()
        baseline.append((time.perf_counter() - t) * 1000)
    results["baseline_p95_ms"] = _p(baseline, 95)
    for username in ("watanabe", "tanaka"):
        user = User.objects.get(username=username)
        timings = []
        for q in queries:
            t = time.perf_counter()
            list(search(user, q).order_by("-created_at", "-id")[:50])
            timings.append((time.perf_counter() - t) * 1000)
        results[f"{username}_p50_ms"] = statistics.median(timings)
        results[f"{username}_p95_ms"] = _p(timings, 95)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    args = parser.parse_args()
    r = measure_search(args.documents)
    print(
        f"search over {int(r['documents']):,} documents, "
        "200 combined-condition queries, first page of 50"
    )
    print(f"  baseline (one document by primary key): p95 {r['baseline_p95_ms']:.2f} ms")
    for who in ("watanabe", "tanaka"):
        p95 = r[f"{who}_p95_ms"]
        verdict = "PASS" if p95 <= 100 else "FAIL"
        print(
            f"  as {who:<9} p50 {r[f'{who}_p50_ms']:7.1f} ms  p95 {p95:7.1f} ms "
            f"({p95 / r['baseline_p95_ms']:.0f}x baseline)  goal p95 <= 100 ms: {verdict}"
        )


if __name__ == "__main__":
    main()
