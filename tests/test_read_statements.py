"""The statements of the reads of a working day, pinned so that they cannot creep back (issue 16).

Each statement costs a request CPU in the ORM and a round trip to PostgreSQL; bench/http_serving.py
measures what the reads cost together. Counted as Django sees them, through the whole stack
(middleware, Bearer authentication, the rate limit, the view), on the demo organisation. The
audit entry of a document view is one more statement on PostgreSQL, which Django's log does not
see (audit.services.append). The inbox and the search are counted with one row and with many:
the count must not grow with them.

If a change needs more statements, say why in the commit and raise the number here; if it needs
fewer, lower it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from documents.models import Document, DocumentType
from documents.services import create_document
from org.models import User
from workflow import services

pytestmark = pytest.mark.django_db

# The token with its user and what the second-factor rule needs (security.tokens); the posts with
# their departments, the departments above them and the positions; the roles.
ME = 3
# The token; the open tasks with their documents, drafters and whom they are on behalf of.
INBOX = 2


# The token; the document with the access check, type, department (and three above) and drafter;
# the versions; their record revisions with who made them; the attachments of the current
# version; its corrections; the approver's open tasks on it not yet seen (analytics). And the audit
# entry of the view: on PostgreSQL the head read (the INSERT that moves it is not in Django's log),
# elsewhere the head locked, the entry and the head moved.
def detail() -> int:
    return 7 + (1 if connection.vendor == "postgresql" else 3)


# The token; one page of the documents the user may see, with type, department and drafter.
SEARCH = 2


def _notices(count: int) -> list[Document]:
    tanaka = User.objects.get(username="tanaka")
    notice = DocumentType.objects.get(code="notice")
    documents = []
    for i in range(count):
        document = create_document(
            tanaka,
            {"title": f"通知文の発出について（{i}）", "doc_type": notice, "retention_years": 1},
        )
        services.submit(tanaka, document.pk)
        documents.append(document)
    return documents


def _count(client: Any, path: str) -> int:
    client.get(path)  # anything done once per process (the URL resolver, caches) is done
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content[:500]
    return len(queries.captured_queries)


@pytest.fixture(autouse=True)
def _unsigned(settings: Any) -> None:
    settings.SIGN_APPROVALS = False  # the submissions' seals are not what is counted here


def test_me(bearer):
    assert _count(bearer("sato"), "/api/v1/me") == ME


def test_the_inbox_does_not_grow_with_its_rows(bearer):
    suzuki = bearer("suzuki")
    _notices(1)
    one = _count(suzuki, "/api/v1/tasks")
    _notices(6)
    assert len(suzuki.get("/api/v1/tasks").json()["results"]) == 7
    assert one == _count(suzuki, "/api/v1/tasks") == INBOX


def test_a_document(bearer):
    (document,) = _notices(1)
    assert _count(bearer("suzuki"), f"/api/v1/documents/{document.pk}") == detail()


def test_a_search_does_not_grow_with_its_results(bearer):
    sato = bearer("sato")
    path = f"/api/v1/documents?q={quote('通知')}"
    _notices(1)
    one = _count(sato, path)
    _notices(6)
    assert len(sato.get(path).json()["results"]) == 7
    assert one == _count(sato, path) == SEARCH
