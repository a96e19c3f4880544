"""Page images of a record or an attachment: rendered once, kept in the cache (Redis in
production) for a day, and rendered ahead of the reader by a background job.

The API's page view (documents.api) asks `page_image`; when a task reaches an approver the record
they will open is new (every approval signs it), so `frontend.prerender` enqueues the job below
and a Celery worker renders its first pages at the width most screens ask for, before the
approver's first request. Without a broker the pages are rendered on demand only: doing it in the
request that approved would only make that request slower.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from documents.models import Document, DocumentVersion
from documents.previews import PreviewError, page_count, render_page
from jobs import queue
from storage import get_store, key_for

# A few widths only, so that cached images are reused and nobody can fill the cache by asking for
# every width from 1 to 2400.
PAGE_WIDTHS = (160, 320, 480, 800, 1200, 1600, 2400)
CACHE_SECONDS = 24 * 3600
# What the job renders: the first pages, at the width of a phone (390 px at 2x) and of a pane
# of the workspace on a laptop.
PRERENDER_PAGES = 3
PRERENDER_WIDTH = 800

JOB = "documents.prerender"


def cache_key(sha256: str, page: int, width: int) -> str:
    return f"page:{sha256}:{page}:{width}:webp"


def _pdf(sha256: str) -> bytes:
    with get_store().open(key_for(sha256)) as reader:
        return reader.read()


def page_image(sha256: str, page: int, width: int, pdf: bytes | None = None) -> bytes:
    """The page as WebP, from the cache or rendered now (PreviewError for a page not there)."""
    key = cache_key(sha256, page, width)
    image = cache.get(key)
    if image is None:
        image = render_page(pdf if pdf is not None else _pdf(sha256), page, width=width, fmt="webp")
        cache.set(key, image, CACHE_SECONDS)
    return image


def enqueue_prerender(document_id: int) -> None:
    queue.enqueue(JOB, {"document": document_id})


@queue.handler(JOB)
def prerender(payload: dict[str, Any]) -> None:
    """The first pages of the document's current record, unless they are in the cache already."""
    document = Document.objects.filter(pk=payload["document"]).only("version").first()
    if document is None:
        return
    sha256 = (
        DocumentVersion.objects.filter(document=document, number=document.version)
        .values_list("record_sha256", flat=True)
        .first()
    )
    if not sha256:
        return  # no record yet (a draft), or it was disposed of
    wanted = [
        page
        for page in range(1, PRERENDER_PAGES + 1)
        if cache.get(cache_key(sha256, page, PRERENDER_WIDTH)) is None
    ]
    if not wanted:
        return
    pdf = _pdf(sha256)
    for page in wanted[: max(0, page_count(pdf))]:
        try:
            page_image(sha256, page, PRERENDER_WIDTH, pdf)
        except PreviewError:
            return  # fewer pages than that
