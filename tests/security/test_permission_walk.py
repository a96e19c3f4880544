"""The permission walk (issue 9): every endpoint of the OpenAPI schema and every page, as each demo
user and anonymously, on the documents of `scenario` (read its table first).

The expectations are written out below, endpoint by endpoint. The rules behind them:
- anonymous: 401 in the common JSON error format (pages: a redirect to the login page);
- a document the caller may not read, or an id that does not exist: 404, with the same body in
  both cases, whatever the method, so that guessing ids tells nothing;
- a reader gets the document's data; only the person entitled acts (the drafter on a draft, the
  assignee on a task); other readers are refused (403, or 409 for the wrong state);
- never a 500.
Each request runs in a savepoint that is rolled back, so every caller meets the same scenario.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from api.tokens import create_token
from notifications import consumers
from org.demo import DEMO_PASSWORD
from org.models import User
from tests.notifications.conftest import communicator, connect_ready
from tests.security import scenario
from tests.security.scenario import READERS, USERS, Scenario

pytestmark = pytest.mark.django_db

ANONYMOUS = "anonymous"
CALLERS = [ANONYMOUS, *USERS]
MISSING_ID = 987_654  # no document, attachment, task or annotation has this id
DOCUMENTS = [*READERS, "missing"]
METHODS = {"get", "post", "put", "patch", "delete"}


def pdf_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "追加.pdf", scenario.pdf_bytes("added"), content_type="application/pdf"
    )


def note() -> dict[str, Any]:
    return {"page": 1, "kind": "note", "rects": [[72, 72, 144, 96]], "text": "walk"}


@dataclass(frozen=True)
class Rule:
    """What one endpoint answers to the people allowed to call it.

    `readers`: the status every reader of the document (or every signed-in user, for endpoints
    without a document) gets. Otherwise `allowed` names who acts, as (user, document) pairs or
    users, with their status, and every other reader gets a status in `refused`.
    """

    readers: int | None = None
    allowed: dict[Any, int] = field(default_factory=dict)
    refused: frozenset[int] = frozenset({403, 409})
    body: Callable[[], Any] | None = None
    multipart: bool = False


ANYONE = None  # marks a public endpoint: no sign-in needed
ANALYSTS = dict.fromkeys(("sato", "takahashi", "ito", "kobayashi", "watanabe", "admin"), 200)

# --- endpoints on one document: {document_id} ----------------------------------------------------
DOCUMENT_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/documents/{document_id}"): Rule(readers=200),
    ("PATCH", "/api/v1/documents/{document_id}"): Rule(
        allowed={("tanaka", "draft"): 200}, body=lambda: {"title": "書き換え"}
    ),
    ("GET", "/api/v1/documents/{document_id}/annotations"): Rule(readers=200),
    ("POST", "/api/v1/documents/{document_id}/annotations"): Rule(
        allowed={("suzuki", "secret"): 201}, body=note
    ),
    # suzuki's mark on the secret document: on any other document it is not found.
    ("DELETE", "/api/v1/documents/{document_id}/annotations/{annotation_id}"): Rule(
        allowed={("suzuki", "secret"): 204}, refused=frozenset({403, 404})
    ),
    ("POST", "/api/v1/documents/{document_id}/attachments"): Rule(
        allowed={("tanaka", "draft"): 201},
        body=lambda: {"attachments": [pdf_upload()]},
        multipart=True,
    ),
    ("GET", "/api/v1/documents/{document_id}/attachments.zip"): Rule(readers=200),
    ("GET", "/api/v1/documents/{document_id}/attachments/{attachment_id}"): Rule(readers=200),
    ("DELETE", "/api/v1/documents/{document_id}/attachments/{attachment_id}"): Rule(
        allowed={("tanaka", "draft"): 204}
    ),
    ("GET", "/api/v1/documents/{document_id}/attachments/{attachment_id}/pages/{page}"): Rule(
        readers=200
    ),
    ("GET", "/api/v1/documents/{document_id}/record.pdf"): Rule(readers=200),
    ("GET", "/api/v1/documents/{document_id}/record/pages/{page}"): Rule(readers=200),
    ("GET", "/api/v1/documents/{document_id}/route"): Rule(readers=200),
    ("GET", "/api/v1/documents/{document_id}/route-preview"): Rule(readers=200),
    # Only administrators skip stages, only skippable ones (none in the demo routes), and only
    # on a running route (404 without one).
    ("POST", "/api/v1/documents/{document_id}/skip-stage"): Rule(
        body=lambda: {"stage": 0, "reason": "walk"}, refused=frozenset({400, 403, 404, 409})
    ),
    ("POST", "/api/v1/documents/{document_id}/submit"): Rule(
        allowed={("tanaka", "draft"): 200}, body=dict
    ),
    ("GET", "/api/v1/documents/{document_id}/verification"): Rule(readers=200),
    # Record, originals, audit trail, report and certificates for auditors: readers only.
    ("GET", "/api/v1/documents/{document_id}/evidence.zip"): Rule(readers=200),
    ("POST", "/api/v1/documents/{document_id}/withdraw"): Rule(
        allowed={("tanaka", "secret"): 200}, body=lambda: {"reason": "walk"}
    ),
}

# --- endpoints on suzuki's open task {task_id} --------------------------------------------------
# Anyone else's attempt is refused; whether as 403 or 404, it changes nothing.
TASK_RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/api/v1/tasks/{task_id}/approve"): Rule(
        allowed={"suzuki": 200}, refused=frozenset({403, 404}), body=dict
    ),
    ("POST", "/api/v1/tasks/{task_id}/reject"): Rule(
        allowed={"suzuki": 200}, refused=frozenset({403, 404}), body=lambda: {"reason": "walk"}
    ),
    ("POST", "/api/v1/tasks/{task_id}/send-back"): Rule(
        allowed={"suzuki": 200}, refused=frozenset({403, 404}), body=lambda: {"reason": "walk"}
    ),
    # 質疑: the approver asks the drafter; the task is not a question for anyone to answer.
    ("POST", "/api/v1/tasks/{task_id}/ask"): Rule(
        allowed={"suzuki": 201},
        refused=frozenset({403, 404}),
        body=lambda: {"to": "tanaka", "text": "walk"},
    ),
    ("POST", "/api/v1/tasks/{task_id}/answer"): Rule(
        allowed={"suzuki": 409}, refused=frozenset({403, 404}), body=lambda: {"text": "walk"}
    ),
    # An administrator or the assignee's superior (sato) reassigns, to someone entitled.
    ("POST", "/api/v1/tasks/{task_id}/reassign"): Rule(
        allowed={"admin": 200, "sato": 200},
        refused=frozenset({403, 404}),
        body=lambda: {"to": "yamamoto", "reason": "walk"},
    ),
}

# --- the route designer: administrators only -----------------------------------------------------
ADMINISTRATOR_ONLY = frozenset({403})
DESIGNER_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/routes"): Rule(allowed={"admin": 200}, refused=ADMINISTRATOR_ONLY),
    ("GET", "/api/v1/routes/check"): Rule(allowed={"admin": 200}, refused=ADMINISTRATOR_ONLY),
    ("GET", "/api/v1/routes/{code}"): Rule(allowed={"admin": 200}, refused=ADMINISTRATOR_ONLY),
    ("PUT", "/api/v1/routes/{code}/draft"): Rule(
        allowed={"admin": 200},
        refused=ADMINISTRATOR_ONLY,
        body=lambda: {
            "definition": {
                "stages": [{"name": "walk", "rules": [{"kind": "user", "user": "sato"}]}]
            }
        },
    ),
    ("DELETE", "/api/v1/routes/{code}/draft"): Rule(
        allowed={"admin": 204}, refused=ADMINISTRATOR_ONLY
    ),
    # No draft to publish in the demo: 422.
    ("POST", "/api/v1/routes/{code}/publish"): Rule(
        allowed={"admin": 422},
        refused=ADMINISTRATOR_ONLY,
        body=lambda: {"valid_from": "2099-04-01"},
    ),
    ("POST", "/api/v1/routes/simulate"): Rule(
        allowed={"admin": 200},
        refused=ADMINISTRATOR_ONLY,
        body=lambda: {"doc_type": "contract", "amount": 500_000, "department": "somu-somu"},
    ),
    ("GET", "/api/v1/rules"): Rule(allowed={"admin": 200}, refused=ADMINISTRATOR_ONLY),
    ("GET", "/api/v1/rules.csv"): Rule(allowed={"admin": 200}, refused=ADMINISTRATOR_ONLY),
    # Without a file: 400 for the administrator.
    ("POST", "/api/v1/rules/import"): Rule(
        allowed={"admin": 400}, refused=ADMINISTRATOR_ONLY, body=dict, multipart=True
    ),
}

# --- endpoints of the caller's own things ---------------------------------------------------------
OWN_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/me"): Rule(readers=200),
    # The staff directory for the drafting page's pickers: anyone signed in.
    ("GET", "/api/v1/people"): Rule(readers=200),
    ("GET", "/api/v1/documents"): Rule(readers=200),
    # The search as CSV: checked for content in test_lists_and_search_show_only_what_…
    ("GET", "/api/v1/documents/export.csv"): Rule(readers=200),
    ("POST", "/api/v1/documents"): Rule(
        readers=201,
        body=lambda: {
            "meta": json.dumps({**scenario.META, "title": "新しい起案"}),
            "attachments": [pdf_upload()],
        },
        multipart=True,
    ),
    ("GET", "/api/v1/tasks"): Rule(readers=200),
    # Decision analytics: department heads (sato, takahashi, ito, kobayashi and watanabe, each the
    # highest post of their department), auditors and administrators; the CSV needs its table=.
    **{
        ("GET", f"/api/v1/analytics/{figure}"): Rule(allowed=ANALYSTS, refused=frozenset({403}))
        for figure in ("lead-times", "stages", "overdue", "rate")
    },
    ("GET", "/api/v1/analytics/paper-decisions"): Rule(allowed=ANALYSTS, refused=frozenset({403})),
    # The ledger: an empty line is refused (400) for whoever may write, 403 for the others.
    ("POST", "/api/v1/analytics/paper-decisions"): Rule(
        allowed=dict.fromkeys(set(ANALYSTS) - {"watanabe"}, 400),
        refused=frozenset({403}),
        body=dict,
    ),
    ("GET", "/api/v1/analytics/{figure}.csv"): Rule(
        allowed=dict.fromkeys(ANALYSTS, 400), refused=frozenset({403})
    ),
    # The whole trail for auditors and administrators; others ask about one document they read.
    ("GET", "/api/v1/audit"): Rule(
        allowed={"watanabe": 200, "admin": 200}, refused=frozenset({400, 403})
    ),
    ("GET", "/api/v1/retention/expired"): Rule(
        allowed={"watanabe": 200, "admin": 200}, refused=frozenset({403})
    ),
    ("GET", "/api/v1/retention/disposals"): Rule(
        allowed={"watanabe": 200, "admin": 200}, refused=frozenset({403})
    ),
    ("POST", "/api/v1/retention/disposals"): Rule(
        allowed={"admin": 400}, refused=frozenset({403}), body=dict
    ),
    ("GET", "/api/v1/retention/tombstones"): Rule(
        allowed={"watanabe": 200, "admin": 200}, refused=frozenset({403})
    ),
    # Judged per task in the body: see test_bulk_approval_acts_only_on_the_callers_tasks.
    ("POST", "/api/v1/tasks/bulk-approve"): Rule(readers=200, body=lambda: {"task_ids": [0]}),
    ("GET", "/api/v1/notifications"): Rule(readers=200),
    ("POST", "/api/v1/notifications/read"): Rule(readers=200, body=lambda: {"up_to": MISSING_ID}),
    ("GET", "/api/v1/tokens"): Rule(readers=200),
    # A token cannot mint tokens (a leaked one must not outlive its revocation).
    ("POST", "/api/v1/tokens"): Rule(readers=403, body=lambda: {"name": "walk"}),
    # admin's token: only admin may revoke it; for everyone else it does not exist.
    ("DELETE", "/api/v1/tokens/{token_id}"): Rule(allowed={"admin": 204}, refused=frozenset({404})),
    # Renewing the second factor: the demo users have none to confirm (409 no_second_factor),
    # and a security-key answer without a challenge is refused (409 no_challenge).
    ("POST", "/api/v1/step-up"): Rule(readers=409, body=lambda: {"code": "123456"}),
    ("GET", "/api/v1/step-up/security-key"): Rule(readers=409),
    ("POST", "/api/v1/step-up/security-key"): Rule(readers=409, body=lambda: {"id": "x"}),
    ("POST", "/api/v1/verify"): Rule(
        readers=200,
        body=lambda: {"file": SimpleUploadedFile("x.pdf", scenario.pdf_bytes("verify me"))},
        multipart=True,
    ),
}

# --- public endpoints -----------------------------------------------------------------------------
PUBLIC_RULES: dict[tuple[str, str], int] = {
    ("GET", "/api/v1/trust/root.pem"): 200,  # the CA certificate that verifies our signatures
    ("GET", "/api/v1/trust/crl.crl"): 200,  # its CRL, the distribution point of our certificates
}


# --- the walk -------------------------------------------------------------------------------------
@dataclass
class World:
    scenario: Scenario
    clients: dict[str, APIClient]
    admin_token: str


@pytest.fixture
def world(demo_org: None) -> World:
    built = scenario.build()
    clients = {ANONYMOUS: APIClient()}
    for username in USERS:
        _, key = create_token(User.objects.get(username=username))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        clients[username] = client
    admin_token, _ = create_token(User.objects.get(username="admin"), name="walk")
    return World(built, clients, admin_token.token_key)


def schema_operations() -> list[tuple[str, str]]:
    schema = APIClient().get("/api/schema", HTTP_ACCEPT="application/json").json()
    return sorted(
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in METHODS
    )


def url_for(path: str, world: World, document: str | None) -> str:
    s = world.scenario
    values = {
        "{document_id}": s.documents.get(document or "", MISSING_ID),
        "{attachment_id}": s.attachments.get(document or "", MISSING_ID),
        "{annotation_id}": s.annotation or MISSING_ID,
        "{task_id}": s.task,
        "{token_id}": world.admin_token,
        "{page}": 1,
        "{figure}": "stages",
        "{code}": "kacho-senketsu",
    }
    for name, value in values.items():
        path = path.replace(name, str(value))
    assert "{" not in path, f"no value for a parameter of {path}: add it to url_for"
    return path


def call(client: APIClient, method: str, url: str, rule: Rule | None) -> Any:
    """One request in a savepoint that is rolled back afterwards."""
    kwargs: dict[str, Any] = {}
    if method != "GET":
        body = rule.body() if rule and rule.body else {}
        kwargs = {"data": body, "format": "multipart" if rule and rule.multipart else "json"}
    with transaction.atomic():
        response = getattr(client, method.lower())(url, **kwargs)
        transaction.set_rollback(True)
    return response


def expected(rule: Rule, caller: str, document: str | None) -> set[int]:
    if caller == ANONYMOUS:
        return {401}
    if document is not None and (document == "missing" or caller not in READERS[document]):
        return {404}
    if rule.readers is not None:
        return {rule.readers}
    key = (caller, document) if document is not None else caller
    if key in rule.allowed:
        return {rule.allowed[key]}
    return set(rule.refused)


def cases(world: World) -> Iterator[tuple[str, str, str | None, Rule | None]]:
    for method, path in schema_operations():
        if "{document_id}" in path:
            rule = DOCUMENT_RULES.get((method, path))
            for document in DOCUMENTS:
                yield method, path, document, rule
        else:
            yield (
                method,
                path,
                None,
                TASK_RULES.get((method, path))
                or OWN_RULES.get((method, path))
                or DESIGNER_RULES.get((method, path)),
            )


def assert_json_error(response: Any, where: str) -> None:
    assert response["Content-Type"].startswith("application/json"), where
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"], where


def test_every_endpoint_has_an_expectation(world: World) -> None:
    known = {*DOCUMENT_RULES, *TASK_RULES, *OWN_RULES, *DESIGNER_RULES, *PUBLIC_RULES}
    unclassified = [op for op in schema_operations() if op not in known]
    assert not unclassified, (
        "Add these endpoints to the tables of tests/security/test_permission_walk.py, with who "
        f"may call them: {unclassified}"
    )


def test_walk_every_endpoint_as_every_user(world: World) -> None:
    failures: list[str] = []
    not_found_bodies: dict[tuple[str, str], set[str]] = {}
    for method, path, document, rule in cases(world):
        url = url_for(path, world, document)
        for caller in CALLERS:
            response = call(world.clients[caller], method, url, rule)
            where = f"{caller:9} {method:6} {path} [{document or '-'}] → {response.status_code}"
            if response.status_code >= 500:
                failures.append(f"{where}: server error")
                continue
            public = PUBLIC_RULES.get((method, path))
            if public is not None:
                want = {public}
            elif rule is None:
                # Not yet in the tables (the test above fails): the invariants still hold.
                want = expected(Rule(refused=frozenset(range(200, 500))), caller, document)
            else:
                want = expected(rule, caller, document)
            if response.status_code not in want:
                failures.append(f"{where}: expected {sorted(want)}")
            if response.status_code >= 400:
                assert_json_error(response, where)
            if response.status_code == 404 and document is not None:
                not_found_bodies.setdefault((method, path), set()).add(response.content.decode())
    assert not failures, "\n".join(failures)
    # A document one may not read and one that does not exist are indistinguishable.
    for operation, bodies in not_found_bodies.items():
        assert len(bodies) <= 2, (operation, bodies)  # the document's 404, and a sub-object's


def test_a_readers_id_of_another_documents_attachment_is_not_found(world: World) -> None:
    s = world.scenario
    # tanaka reads all three documents; the secret one's attachment under the decided one's id.
    for suffix in ("", "/pages/1"):
        url = (
            f"/api/v1/documents/{s.documents['decided']}"
            f"/attachments/{s.attachments['secret']}{suffix}"
        )
        for caller in ("tanaka", "yamamoto", "watanabe"):
            response = world.clients[caller].get(url)
            assert response.status_code == 404, (caller, url)


def test_lists_and_search_show_only_what_the_caller_may_read(world: World) -> None:
    s = world.scenario
    ids = {v: k for k, v in s.documents.items()}
    for caller in USERS:
        client = world.clients[caller]
        listed = client.get("/api/v1/documents").json()["results"]
        seen = {ids[d["id"]] for d in listed if d["id"] in ids}
        assert seen == {name for name, readers in READERS.items() if caller in readers}, caller
        found = client.get("/api/v1/documents", {"q": "人事異動"}).json()["results"]
        assert bool(found) == (caller in READERS["secret"]), caller
        trail = client.get("/api/v1/audit", {"document": s.documents["secret"]})
        # The trail of a secret document needs the same grant as the document, auditors too.
        may_read_trail = caller in READERS["secret"]
        assert trail.status_code == (200 if may_read_trail else 404), (caller, trail.content)
        export: Any = client.get("/api/v1/documents/export.csv")
        exported = b"".join(export.streaming_content)
        assert (s.secret_title in exported.decode("utf-8-sig")) == (caller in READERS["secret"])
        for task in client.get("/api/v1/tasks").json()["results"]:
            assert task["document"]["id"] in s.documents.values()
            assert caller in READERS[ids[task["document"]["id"]]], (caller, task)
        for event in client.get("/api/v1/notifications").json()["results"]:
            document = event.get("document")
            document_id = document.get("id") if isinstance(document, dict) else document
            if document_id in ids:
                assert caller in READERS[ids[document_id]], (caller, event)
    tasks = world.clients["suzuki"].get("/api/v1/tasks").json()["results"]
    assert [t["id"] for t in tasks] == [s.task]


def test_bulk_approval_acts_only_on_the_callers_tasks(world: World) -> None:
    task = world.scenario.task
    for caller in USERS:
        with transaction.atomic():
            response = world.clients[caller].post(
                "/api/v1/tasks/bulk-approve", {"task_ids": [task, MISSING_ID]}, format="json"
            )
            transaction.set_rollback(True)
        assert response.status_code == 200, (caller, response.content)
        results = {r["task_id"]: r["ok"] for r in response.json()["results"]}
        assert results == {task: caller == "suzuki", MISSING_ID: False}, caller


# --- pages ----------------------------------------------------------------------------------------
# Paths that are not pages of ours: the API (walked above), the admin (tests/test_admin.py),
# the security-key ceremony endpoints (POST, JSON), the RFC 3161 time-stamp service (POST,
# binary, public by design), static files and the language switch.
NOT_PAGES = ("api/", "admin/", "security/webauthn/", "tsa/", "i18n/", "static/", "healthz")
PUBLIC_PAGES = {"/login/"}
# A page that only accepts POST answers a GET with 405.
POST_ONLY_PAGES = {"/logout/", "/security/devices/remove/"}
# Pages for some people only; everyone else signed in gets 403.
RESTRICTED_PAGES = {
    "/analytics/": set(ANALYSTS),
    "/routes/": {"admin"},
    "/routes/kacho-senketsu/": {"admin"},
}


def page_routes() -> list[str]:
    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern)

    return sorted(
        {
            "/" + route
            for route in walk(get_resolver().url_patterns, "")
            if not route.startswith(NOT_PAGES) and not route.startswith("^")
        }
    )


def page_url(route: str, world: World, document: str | None) -> str:
    document_id = world.scenario.documents.get(document or "", MISSING_ID)
    return (
        route.replace("<int:document_id>", str(document_id))
        .replace("<int:page>", "1")
        .replace("<slug:code>", "kacho-senketsu")
    )


def test_every_page_as_every_user(world: World) -> None:
    failures: list[str] = []
    routes = page_routes()
    assert "/login/" in routes and "/security/verify/" in routes
    for route in routes:
        unknown = (
            route.replace("<int:document_id>", "")
            .replace("<int:page>", "")
            .replace("<slug:code>", "")
        )
        if "<" in unknown:
            failures.append(f"{route}: a parameter the walk does not know: add it to page_url")
            continue
        documents: list[str | None] = list(DOCUMENTS) if "<int:document_id>" in route else [None]
        for document in documents:
            url = page_url(route, world, document)
            for caller in CALLERS:
                client = Client()
                if caller != ANONYMOUS:
                    client.force_login(User.objects.get(username=caller))
                with transaction.atomic():
                    response = client.get(url)
                    transaction.set_rollback(True)
                where = f"{caller:9} GET {url} [{document or '-'}] → {response.status_code}"
                if response.status_code >= 500:
                    failures.append(f"{where}: server error")
                elif url in POST_ONLY_PAGES:
                    if response.status_code != 405:
                        failures.append(f"{where}: expected 405")
                elif caller == ANONYMOUS and url not in PUBLIC_PAGES:
                    if response.status_code != 302 or not response["Location"].startswith(
                        "/login/"
                    ):
                        failures.append(f"{where}: expected a redirect to the login page")
                elif document is not None and (
                    document == "missing" or caller not in READERS[document]
                ):
                    if response.status_code != 404:
                        failures.append(f"{where}: expected 404")
                elif url in RESTRICTED_PAGES and caller not in RESTRICTED_PAGES[url]:
                    if response.status_code != 403:
                        failures.append(f"{where}: expected 403")
                elif response.status_code not in (200, 302):
                    failures.append(f"{where}: expected the page (or a redirect)")
                elif response.status_code == 302 and response["Location"].startswith("/login/"):
                    failures.append(f"{where}: a signed-in user sent to the login page")
                if response.status_code < 500 and "Content-Security-Policy" not in response:
                    failures.append(f"{where}: no Content-Security-Policy header")
    assert not failures, "\n".join(failures)


# --- related documents (issue 17) ----------------------------------------------------------------
# A document names others: the record it corrects and its corrections. Each is named only to
# those who may read it; the others must not learn its id, title or status.


def test_related_documents_are_named_only_to_their_readers(world: World) -> None:
    decided = world.scenario.documents["decided"]
    hidden_title = "HIDDEN secret correction title"
    suzuki = scenario.session("suzuki")
    created = suzuki.post(
        "/api/v1/documents",
        {
            "meta": json.dumps(
                {
                    "title": hidden_title,
                    "doc_type": "notice",
                    "secrecy": "secret",
                    "corrects": decided,
                }
            )
        },
        format="multipart",
    )
    assert created.status_code == 201, created.content
    correction = created.json()["id"]
    assert created.json()["corrects"]["id"] == decided  # suzuki reads the decided record
    failures: list[str] = []
    for caller in USERS:
        client = world.clients[caller]
        may_read_correction = caller in {"suzuki", "admin"}
        response = client.get(f"/api/v1/documents/{decided}")
        if caller not in READERS["decided"]:
            if response.status_code != 404:
                failures.append(f"{caller}: the decided record answers {response.status_code}")
            continue
        listed = [c["id"] for c in response.json()["corrected_by"]]
        if may_read_correction != (correction in listed):
            failures.append(f"{caller}: corrected_by lists {listed}")
        if hidden_title in response.content.decode() and not may_read_correction:
            failures.append(f"{caller}: the hidden title shows")
        answer = client.get(f"/api/v1/documents/{correction}").status_code
        if answer != (200 if may_read_correction else 404):
            failures.append(f"{caller}: the correction itself answers {answer}")
    assert not failures, "\n".join(failures)


# --- sockets end with their session (issue 17) --------------------------------------------------


def _signed_in(username: str) -> tuple[Client, tuple[bytes, bytes]]:
    client = Client()
    response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return client, (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode())


async def _closed(comm: Any) -> dict[str, Any]:
    while True:
        message = await comm.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            return dict(message)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["logout", "password", "deactivated", "session deleted"])
def test_a_socket_ends_with_its_session(demo_org: None, how: str, monkeypatch) -> None:
    client, header = _signed_in("tanaka")
    other_client, other_header = _signed_in("tanaka")

    async def run() -> None:
        comm = communicator(header)
        await connect_ready(comm)
        other = communicator(other_header)
        await connect_ready(other)
        tanaka = await sync_to_async(User.objects.get)(username="tanaka")
        if how == "logout":
            response = await sync_to_async(client.post)("/logout/")
            assert response.status_code == 302
        elif how == "password":
            tanaka.set_password("a new long password 2026")
            await sync_to_async(tanaka.save)()
        elif how == "deactivated":
            tanaka.is_active = False
            await sync_to_async(tanaka.save)()
        else:
            key = header[1].decode().split("=", 1)[1]
            await sync_to_async(SessionStore(session_key=key).delete)()
            # Nothing signals a deleted session: the next check of the credentials notices it
            # (every CREDENTIALS_TTL seconds, on an event or a ping; at once here).
            monkeypatch.setattr(consumers, "CREDENTIALS_TTL", -1.0)
            await comm.send_json_to({"type": "ping"})
        closed = await _closed(comm)
        assert closed["code"] == 4401, closed
        if how == "logout":
            # Only the session that ended: the other one stays open.
            await other.send_json_to({"type": "ping"})
            assert (await other.receive_json_from(timeout=5))["type"] == "pong"
        await other.disconnect()
        await comm.disconnect()

    async_to_sync(run)()
    del other_client
