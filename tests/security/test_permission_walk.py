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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from api.tokens import create_token
from org.models import User
from tests.security import scenario
from tests.security.scenario import READERS, USERS, Scenario
from tests.security.walk_rules import (
    ANONYMOUS,
    CALLERS,
    DOCUMENT_RULES,
    DOCUMENTS,
    METHODS,
    MISSING_ID,
    NON_DOCUMENT_RULES,
    NOT_FOUND_PAGES,
    NOT_PAGES,
    POST_ONLY_PAGES,
    PUBLIC_PAGES,
    PUBLIC_RULES,
    RESTRICTED_PAGES,
    Rule,
)

pytestmark = pytest.mark.django_db


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
        "{meeting_id}": s.meeting,
        "{item_id}": s.meeting_item,
        "{note_id}": s.meeting_note,
        "{briefing_id}": s.briefing,
        "{username}": "tanaka",
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
                next((t[(method, path)] for t in NON_DOCUMENT_RULES if (method, path) in t), None),
            )


def assert_json_error(response: Any, where: str) -> None:
    assert response["Content-Type"].startswith("application/json"), where
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"], where


def test_every_endpoint_has_an_expectation(world: World) -> None:
    known = {*DOCUMENT_RULES, *PUBLIC_RULES}.union(*NON_DOCUMENT_RULES)
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
        .replace("<int:meeting_id>", str(world.scenario.meeting))
        .replace("<int:briefing_id>", str(world.scenario.briefing))
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
            .replace("<int:meeting_id>", "")
            .replace("<int:briefing_id>", "")
        )
        if "<" in unknown:
            failures.append(f"{route}: a parameter the walk does not know: add it to page_url")
            continue
        documents: list[str | None] = list(DOCUMENTS) if "<int:document_id>" in route else [None]
        named = "/" + route.lstrip("/").replace("<int:meeting_id>", "{meeting}")
        named = named.replace("<int:briefing_id>", "{briefing}")
        for document in documents:
            url = page_url(route, world, document)
            restricted = RESTRICTED_PAGES.get(url, RESTRICTED_PAGES.get(named))
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
                elif (
                    document is not None
                    and (document == "missing" or caller not in READERS[document])
                ) or (named in NOT_FOUND_PAGES and caller not in NOT_FOUND_PAGES[named]):
                    if response.status_code != 404:
                        failures.append(f"{where}: expected 404")
                elif restricted is not None and caller not in restricted:
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


def file_operations() -> list[tuple[str, str, str]]:
    """(method, path, media type) of every operation whose success is a file, not JSON."""
    schema = APIClient().get("/api/schema", HTTP_ACCEPT="application/json").json()
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            for code, response in operation.get("responses", {}).items():
                types = list((response.get("content") or {}).keys())
                if code.startswith("2") and types and "application/json" not in types:
                    found.append((method.upper(), path, types[0]))
    return sorted(set(found))


def test_a_file_is_answered_to_the_accept_header_the_schema_names(world: World) -> None:
    """A client that asks for what the schema says an operation answers (Accept: text/csv,
    application/pdf…) gets it, not 406: each file endpoint negotiates as a file
    (api.negotiation.FileAnswer), and its errors stay JSON."""
    operations = [op for op in file_operations() if op[0] == "GET"]
    required = {"/api/v1/analytics/{figure}.csv": "?table=stages"}  # query the file needs
    assert len(operations) >= 10, operations
    failures = []
    for method, path, media in operations:
        documents: list[str | None] = list(READERS) if "{document_id}" in path else [None]
        answered = set()
        for document in documents:
            url = url_for(path, world, document) + required.get(path, "")
            for caller in CALLERS:
                with transaction.atomic():
                    response = world.clients[caller].get(url, HTTP_ACCEPT=media)
                    transaction.set_rollback(True)
                answered.add(response.status_code)
                if response.status_code == 406:
                    failures.append(f"{caller} {method} {path} Accept: {media} → 406")
                elif response.status_code >= 400:
                    assert_json_error(response, f"{caller} {path}")
        if not answered & {200, 206}:
            failures.append(f"{method} {path}: nobody got the file ({sorted(answered)})")
    assert not failures, "\n".join(failures)
