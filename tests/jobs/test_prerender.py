"""A new record's first pages rendered by a background job before the approver asks for them."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import cache

from documents.models import Document
from documents.page_images import PRERENDER_WIDTH, cache_key, prerender
from documents.records import ensure_record
from frontend import prerender as listener
from jobs.models import Job
from tests.workflow.test_query_budget import submitted_notice
from workflow.events import TaskAssigned

pytestmark = pytest.mark.django_db


def test_the_job_renders_the_first_pages_of_the_current_record(demo_org, bearer):
    document = submitted_notice()
    version = ensure_record(document.versions.get(number=document.version))
    sha256 = version.record_sha256
    cache.delete(cache_key(sha256, 1, PRERENDER_WIDTH))
    prerender({"document": document.pk})
    image = cache.get(cache_key(sha256, 1, PRERENDER_WIDTH))
    assert image is not None and image[:4] == b"RIFF" and image[8:12] == b"WEBP"
    # The page view answers from the cache: the same bytes.
    response = bearer("suzuki").get(
        f"/api/v1/documents/{document.pk}/record/pages/1?width={PRERENDER_WIDTH}"
    )
    assert response.status_code == 200
    assert response.content == image
    prerender({"document": Document.objects.order_by("-pk").first().pk + 1})  # gone: nothing


def test_a_task_assigned_enqueues_it_only_with_a_broker(demo_org, settings):
    event = TaskAssigned(document_id=1, slot_id=1, user_ids=(1,), kind="approve", stage="s")
    listener.on_workflow_events([event])  # eager (no broker): on demand only
    assert not Job.objects.filter(kind="documents.prerender").exists()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with mock.patch("jobs.queue.send"):
        listener.on_workflow_events([event, event])
    assert list(
        Job.objects.filter(kind="documents.prerender").values_list("payload", flat=True)
    ) == [{"document": 1}]
