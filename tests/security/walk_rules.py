"""What the permission walk (`test_permission_walk.py`) expects of every endpoint and page.

Written out endpoint by endpoint, apart from the walk itself, so that a new endpoint adds its row
here. The rules behind the rows are in the walk's docstring; the documents named are
`scenario`'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.security import scenario
from tests.security.scenario import MEETING_PEOPLE, READERS, USERS

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

# --- meetings (issue 21): sato's meeting with suzuki and tanaka ----------------------------------
# Everyone outside the meeting gets 404, whatever the method; inside it, the organiser (sato)
# arranges and the attendees are refused (403). suzuki's private note is hers alone: 404 for
# everyone else, the people of the meeting included.
M = "/api/v1/meetings/{meeting_id}"
NOT_IN_MEETING = frozenset({404})


def in_meeting(organiser: int, attendees: int | None = None) -> dict[str, int]:
    return {"sato": organiser, **dict.fromkeys(("suzuki", "tanaka"), attendees or organiser)}


def _secret_document() -> dict[str, int]:
    from documents.models import Document

    return {"document": Document.objects.get(title="人事異動の内示について").pk}


def _meeting_order() -> dict[str, list[int]]:
    from meetings.models import MeetingItem

    return {"order": [MeetingItem.objects.get(meeting__title="walk meeting").pk]}


MEETING_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/meetings"): Rule(readers=200),
    ("POST", "/api/v1/meetings"): Rule(
        readers=201, body=lambda: {"title": "walk", "starts_at": "2026-12-11T10:00:00+09:00"}
    ),
    ("GET", M): Rule(allowed=in_meeting(200), refused=NOT_IN_MEETING),
    ("PATCH", M): Rule(
        allowed=in_meeting(200, 403), refused=NOT_IN_MEETING, body=lambda: {"title": "walk"}
    ),
    ("DELETE", M): Rule(allowed=in_meeting(204, 403), refused=NOT_IN_MEETING),
    ("POST", f"{M}/start"): Rule(allowed=in_meeting(200, 403), refused=NOT_IN_MEETING, body=dict),
    # Planned, not yet started: nothing to close.
    ("POST", f"{M}/close"): Rule(allowed=in_meeting(409, 403), refused=NOT_IN_MEETING, body=dict),
    ("POST", f"{M}/attendance"): Rule(
        allowed=in_meeting(200), refused=NOT_IN_MEETING, body=lambda: {"present": True}
    ),
    # The secret document: sato, suzuki and tanaka all read it, so it may go in.
    ("POST", f"{M}/documents"): Rule(
        allowed=in_meeting(201, 403), refused=NOT_IN_MEETING, body=_secret_document
    ),
    ("PUT", f"{M}/documents"): Rule(
        allowed=in_meeting(200, 403), refused=NOT_IN_MEETING, body=_meeting_order
    ),
    ("DELETE", f"{M}/documents/{{item_id}}"): Rule(
        allowed=in_meeting(204, 403), refused=NOT_IN_MEETING
    ),
    ("GET", f"{M}/items/{{item_id}}/file"): Rule(allowed=in_meeting(200), refused=NOT_IN_MEETING),
    # yamamoto (総務課) reads the decided record: he may be added.
    ("POST", f"{M}/attendees"): Rule(
        allowed=in_meeting(201, 403), refused=NOT_IN_MEETING, body=lambda: {"username": "yamamoto"}
    ),
    ("DELETE", f"{M}/attendees/{{username}}"): Rule(
        allowed=in_meeting(204, 403), refused=NOT_IN_MEETING
    ),
    ("GET", f"{M}/notes"): Rule(allowed=in_meeting(200), refused=NOT_IN_MEETING),
    ("POST", f"{M}/notes"): Rule(
        allowed=in_meeting(201), refused=NOT_IN_MEETING, body=lambda: {"text": "walk"}
    ),
    ("PATCH", f"{M}/notes/{{note_id}}"): Rule(
        allowed={"suzuki": 200}, refused=NOT_IN_MEETING, body=lambda: {"text": "walk"}
    ),
    ("DELETE", f"{M}/notes/{{note_id}}"): Rule(allowed={"suzuki": 204}, refused=NOT_IN_MEETING),
    ("GET", f"{M}/minutes.pdf"): Rule(allowed=in_meeting(200), refused=NOT_IN_MEETING),
}

# --- briefings (issue 21): tanaka presents the decided document ---------------------------------
B = "/api/v1/briefings/{briefing_id}"
BRIEFING_READERS = READERS["decided"]


def on_briefing(presenter: int, reader: int) -> dict[str, int]:
    """tanaka (the presenter) gets `presenter`, the document's other readers `reader`, and
    everyone else 404: a briefing of a document they may not read does not exist for them."""
    return {
        **dict.fromkeys(USERS, 404),
        **dict.fromkeys(BRIEFING_READERS, reader),
        "tanaka": presenter,
    }


def _decided() -> dict[str, int]:
    from documents.models import Document

    return {"document": Document.objects.get(title="決裁済みの契約").pk}


def _code() -> dict[str, str]:
    from briefings.models import Briefing

    return {"code": Briefing.objects.get(ended_at__isnull=True).code}


BRIEFING_RULES: dict[tuple[str, str], Rule] = {
    # Anyone who may read the document starts one; for the others it does not exist.
    ("POST", "/api/v1/briefings"): Rule(allowed=on_briefing(201, 201), body=_decided),
    # Holding the code is not enough: someone who may not read the document is refused (403).
    ("POST", "/api/v1/briefings/join"): Rule(
        allowed={**on_briefing(200, 200), **{u: 403 for u in USERS if u not in BRIEFING_READERS}},
        body=_code,
    ),
    ("GET", B): Rule(allowed=on_briefing(200, 200)),
    ("POST", f"{B}/handover"): Rule(allowed=on_briefing(200, 403), body=lambda: {"to": "suzuki"}),
    ("POST", f"{B}/end"): Rule(allowed=on_briefing(200, 403)),
}

# --- public endpoints -----------------------------------------------------------------------------
PUBLIC_RULES: dict[tuple[str, str], int] = {
    ("GET", "/api/v1/trust/root.pem"): 200,  # the CA certificate that verifies our signatures
    ("GET", "/api/v1/trust/crl.crl"): 200,  # its CRL, the distribution point of our certificates
}


# Every table of endpoints without a {document_id}, in the order the walk looks them up: a new
# table (a new app's endpoints) is added here.
NON_DOCUMENT_RULES: list[dict[tuple[str, str], Rule]] = [
    TASK_RULES,
    OWN_RULES,
    DESIGNER_RULES,
    MEETING_RULES,
    BRIEFING_RULES,
]


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
    "/meetings/{meeting}/edit/": {"sato"},
    "/routes/": {"admin"},
    "/routes/kacho-senketsu/": {"admin"},
}
# Pages of one object that only some people may know of: everyone else signed in gets 404, as
# for a document they may not read ({meeting}: the scenario's meeting).
NOT_FOUND_PAGES = {
    "/briefings/{briefing}/": BRIEFING_READERS,
    "/meetings/{meeting}/": MEETING_PEOPLE,
    "/meetings/{meeting}/edit/": MEETING_PEOPLE,
}
