"""Briefings (issue 21): a document in review, which 総務課 may read and 財政課 (ito) may not."""

from __future__ import annotations

import pytest

from documents.models import Document, Status
from tests.notifications.conftest import _isolated_cache_and_layer, new_document

__all__ = ["_isolated_cache_and_layer"]


@pytest.fixture
def document(demo_org) -> Document:
    document = new_document("説明用の起案文書")
    document.status = Status.IN_REVIEW
    document.save(update_fields=["status"])
    return document
