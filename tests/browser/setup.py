"""Documents for the browser tests, made through the API as a drafter would, and a long PDF.

Every call runs in a thread of its own: Playwright keeps an event loop running in the test's
thread, and signing (pyHanko) runs its own with asyncio.run, which cannot start inside another.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rest_framework.test import APIClient

from api.tokens import create_token
from org.models import User
from tests.browser.conftest import TESTDATA

T = TypeVar("T")


def in_thread(function: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> T:
        from django.db import connections

        outcome: dict[str, Any] = {}

        def target() -> None:
            try:
                outcome["value"] = function(*args, **kwargs)
            except BaseException as exc:
                outcome["error"] = exc
            finally:
                connections.close_all()

        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return run


def client(username: str) -> APIClient:
    _, key = create_token(User.objects.get(username=username))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


@in_thread
def draft(
    title: str,
    *,
    amount: int = 480_000,
    files: tuple[str | Path, ...] = ("crazyones-pdfa.pdf", "pdflatex-4-pages.pdf"),
    drafter: str = "tanaka",
) -> int:
    meta = {
        "title": title,
        "doc_type": "contract",
        "body": "本庁舎の清掃業務を委託したいので、伺います。",
        "amount": amount,
        "counterparty": "株式会社サンプル清掃",
        "transaction_date": "2026-04-01",
    }
    with contextlib.ExitStack() as stack:
        handles = [
            stack.enter_context((TESTDATA / f if isinstance(f, str) else f).open("rb"))
            for f in files
        ]
        response = client(drafter).post(
            "/api/v1/documents",
            {"meta": json.dumps(meta), "attachments": handles},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


@in_thread
def submit(document_id: int, drafter: str = "tanaka") -> None:
    response = client(drafter).post(f"/api/v1/documents/{document_id}/submit", {}, format="json")
    assert response.status_code == 200, response.content


@in_thread
def submitted(title: str, **options: Any) -> int:
    document_id = draft.__wrapped__(title, **options)  # type: ignore[attr-defined]
    submit.__wrapped__(document_id)  # type: ignore[attr-defined]
    return document_id


@in_thread
def task_of(username: str, document_id: int) -> int:
    tasks = client(username).get("/api/v1/tasks").json()["results"]
    return next(t["id"] for t in tasks if t["document"]["id"] == document_id)


@in_thread
def approve(username: str, document_id: int) -> None:
    task = task_of.__wrapped__(username, document_id)  # type: ignore[attr-defined]
    response = client(username).post(f"/api/v1/tasks/{task}/approve", {}, format="json")
    assert response.status_code == 200, response.content


def long_pdf(path: Path, pages: int, *, min_bytes: int = 0) -> Path:
    """A text PDF of `pages` A4 pages, each with a noise image so that it weighs what a scanned
    attachment does (at least `min_bytes` in all)."""
    import random

    from fpdf import FPDF
    from PIL import Image

    per_page = max(0, min_bytes // max(pages, 1))
    side = int((per_page / 3) ** 0.5) if per_page else 0
    rng = random.Random(6)
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=12)
    for n in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(0, 10, f"Page {n} of {pages}: the quick brown fox jumps over the lazy dog.")
        if side:
            image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            buffer.seek(0)
            pdf.image(buffer, x=20, y=30, w=170)
    pdf.output(str(path))
    return path


@in_thread
def record_pdf(username: str, document_id: int) -> bytes:
    response = client(username).get(f"/api/v1/documents/{document_id}/record.pdf")
    assert response.status_code == 200
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]
