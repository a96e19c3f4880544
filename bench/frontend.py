"""Time to the first visible page of a 200-page (≥ 5 MB) record in the workspace, against the time
to download that record, in the same run and on the same line.

Starts Daphne (one process, the embedded defaults: SQLite and the file object store in a
temporary directory), drafts and submits a document whose attachment has 200 pages and weighs
at least 5 MB, then drives Chromium (Playwright, /usr/bin/chromium) as the approver:

1. download: fetch() of the whole record.pdf in the page, timed in the browser;
2. first page: navigation start → the first page of the record visible in the workspace's pane
   (the image the server renders; pdf.js replaces it once the record has arrived, which the
   last column shows: the record endpoint answers no HTTP Range requests, so pdf.js must have
   it all before it draws).

Both on loopback and on an emulated telework line (Chrome DevTools network emulation); each
opening is done cold (page images not yet rendered on the server) and warm.
Goal: first page ≤ 1 s and ≤ 0.25 × the download time, for records of 5 MB or more.

    .venv/bin/python bench/frontend.py [--pages 200] [--megabytes 5]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
from bench.support.servers import free_port  # noqa: E402 (after the path is set)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
LINES = {
    "loopback": None,
    # A home connection through the office VPN: 20 Mbit/s down, 5 up, 40 ms round trip.
    "telework 20 Mbit/s, 40 ms": {
        "offline": False,
        "latency": 40,
        "downloadThroughput": 20_000_000 / 8,
        "uploadThroughput": 5_000_000 / 8,
    },
}


def long_pdf(pages: int, min_bytes: int) -> bytes:
    """A4 pages of text, each with an incompressible image, as a scanned attachment weighs."""
    from fpdf import FPDF
    from PIL import Image

    side = int((min_bytes / pages / 3) ** 0.5) + 1
    rng = random.Random(6)
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=12)
    for n in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(0, 10, f"Page {n} of {pages}: the quick brown fox jumps over the lazy dog.")
        image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        buffer.seek(0)
        pdf.image(buffer, x=20, y=30, w=170)
    return bytes(pdf.output())


def _manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _wait_for(url: str, seconds: float = 30) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(url, timeout=10).status_code < 500:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the server at {url} did not come up")
        time.sleep(0.2)


def _document(base: str, token: str, pdf: bytes) -> int:
    import requests

    headers = {"Authorization": f"Bearer {token}"}
    meta = {
        "title": "資料 200 ページの確認",
        "doc_type": "contract",
        "body": "長い添付資料の表示速度の確認。",
        "amount": 480_000,
        "counterparty": "株式会社サンプル",
        "transaction_date": "2026-04-01",
    }
    response = requests.post(
        f"{base}/api/v1/documents",
        headers=headers,
        data={"meta": json.dumps(meta)},
        files={"attachments": ("資料編.pdf", pdf, "application/pdf")},
        timeout=600,
    )
    response.raise_for_status()
    document_id = int(response.json()["id"])
    submitted = requests.post(
        f"{base}/api/v1/documents/{document_id}/submit", headers=headers, json={}, timeout=600
    )
    if submitted.status_code != 200:
        raise SystemExit(f"submission refused: {submitted.status_code} {submitted.text}")
    return document_id


def _range_support(base: str, token: str, document_id: int) -> str:
    import requests

    response = requests.get(
        f"{base}/api/v1/documents/{document_id}/record.pdf",
        headers={"Authorization": f"Bearer {token}", "Range": "bytes=0-1023"},
        timeout=60,
        stream=True,
    )
    response.close()
    return (
        f"HTTP {response.status_code}, Accept-Ranges: {response.headers.get('Accept-Ranges', '-')}"
    )


def _login(browser: Any, base: str, password: str, line: dict[str, Any] | None) -> Any:
    """A fresh context (empty HTTP cache) logged in as the approver, on the given line."""
    context = browser.new_context(base_url=base, viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.on(
        "console",
        lambda m: print(f"  console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.goto("/login/")
    page.fill("#id_username", "suzuki")
    page.fill("#id_password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/")
    if line:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", line)
    return context, page


BREAKDOWN = """() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const image = performance.getEntriesByType("resource")
        .find((r) => r.name.includes("/record/pages/"));
    return {
        html: nav.responseEnd,
        dom: nav.domContentLoadedEventEnd,
        imageStart: image ? image.startTime : null,
        imageEnd: image ? image.responseEnd : null,
        imageBytes: image ? image.encodedBodySize : null,
    };
}"""


def _open(browser: Any, base: str, password: str, document_id: int, line: Any) -> dict[str, Any]:
    context, page = _login(browser, base, password, line)
    page.goto(f"/documents/{document_id}/")
    page.wait_for_selector("body[data-first-page]", state="attached", timeout=120_000)
    first = float(page.get_attribute("body", "data-first-page") or "nan")
    breakdown = page.evaluate(BREAKDOWN)
    if os.environ.get("BENCH_DEBUG"):
        for entry in page.evaluate(
            "() => performance.getEntries().map(e => [e.entryType, e.name.slice(-60), "
            "Math.round(e.startTime), Math.round(e.responseEnd || e.startTime + e.duration)])"
        ):
            print("   ", entry)
    page.wait_for_selector(".pane .page canvas", timeout=600_000)
    sharp = page.evaluate("() => performance.now()")
    context.close()
    return {"first": first, "sharp": sharp, **breakdown}


def _download(browser: Any, base: str, password: str, document_id: int, line: Any) -> list[float]:
    context, page = _login(browser, base, password, line)
    result = page.evaluate(
        """async (url) => {
            const t0 = performance.now();
            const response = await fetch(url, {credentials: "same-origin", cache: "no-store"});
            const body = await response.arrayBuffer();
            return [performance.now() - t0, body.byteLength];
        }""",
        f"/api/v1/documents/{document_id}/record.pdf",
    )
    context.close()
    return list(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--megabytes", type=float, default=5.0)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit("needs Chromium at /usr/bin/chromium (apt-get install chromium)")

    with tempfile.TemporaryDirectory(prefix="ekessai-bench-frontend-") as tmp:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "MINIO_ENDPOINT", "EKESSAI_MODE"}
        }
        env.update(EKESSAI_DATA_DIR=tmp, EKESSAI_DEMO="true")
        _manage(env, "migrate", "--noinput")
        _manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        _manage(env, "seed_demo")
        token = _manage(env, "issue_token", "tanaka").strip().splitlines()[-1]
        password = (
            _manage(env, "shell", "-c", "from org.demo import DEMO_PASSWORD; print(DEMO_PASSWORD)")
            .strip()
            .splitlines()[-1]
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "daphne"),
                *("-b", "127.0.0.1", "-p", str(port)),
                "config.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(f"{base}/healthz")
            pdf = long_pdf(args.pages, int(args.megabytes * 1024 * 1024))
            started = time.monotonic()
            # One document per line, so that each line's first opening finds the server's page
            # image cache cold (each record differs by its cover, hence by its hash).
            documents = {name: _document(base, token, pdf) for name in LINES}
            print(
                f"attachment: {args.pages} pages, {len(pdf) / 1024 / 1024:.1f} MB; "
                f"{len(documents)} documents drafted and submitted in "
                f"{time.monotonic() - started:.1f} s"
            )
            any_document = next(iter(documents.values()))
            print(
                "record.pdf with 'Range: bytes=0-1023': "
                f"{_range_support(base, token, any_document)}"
            )
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                print(
                    "\nfirst page: from navigation start to the first record page on screen "
                    "(html = page received, image = the page image's request)"
                )
                print(
                    f"{'line, server cache':34} {'download':>9} {'first page':>11} {'ratio':>6} "
                    f"{'html':>6} {'image':>13} {'pdf.js':>8}  goal (≤ 1 s, ≤ 0.25×)"
                )
                for name, line in LINES.items():
                    document_id = documents[name]
                    for attempt in ("cold", "warm"):
                        opened = _open(browser, base, password, document_id, line)
                        download_ms, size = _download(browser, base, password, document_id, line)
                        first = opened["first"]
                        ratio = first / download_ms
                        ok = first <= 1000 and ratio <= 0.25
                        image = f"{opened['imageStart'] or 0:.0f}-{opened['imageEnd'] or 0:.0f}"
                        print(
                            f"{name + ', ' + attempt:34} {download_ms:7.0f}ms {first:9.0f}ms "
                            f"{ratio:6.2f} {opened['html']:6.0f} {image:>13} "
                            f"{opened['sharp']:6.0f}ms  {'met' if ok else 'NOT met'}"
                        )
                print(f"(record: {size / 1024 / 1024:.1f} MB; pdf.js = first page drawn by pdf.js)")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
