"""The document pages: drafting, the review workspace, the route panel, verification.

Thin: every page checks login and visibility (a document you may not see is a 404), reads what it
shows through the documents and workflow modules, and leaves every change to the REST API, which
the page's script calls with the session cookie and the CSRF token.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from documents import access, describe
from documents.access import can_edit
from documents.models import Disclosure, Document, DocumentType, Retention, Secrecy
from frontend import drafting, inbox, strings, workspace
from org.auth import user_of
from workflow import questions


def _document(request: HttpRequest, document_id: int) -> Document:
    document = inbox.may_see(user_of(request), document_id)
    if document is None:
        raise Http404("no such document")
    return document


def _draft_context(request: HttpRequest, document: Document | None) -> dict[str, Any]:
    doc_types = list(DocumentType.objects.all())
    initial: dict[str, Any] = {}
    attachments: list[Any] = []
    if document is not None:
        initial = {
            "title": document.title,
            "doc_type": document.doc_type.code,
            "body": document.body,
            "amount": document.amount,
            "counterparty": document.counterparty,
            "transaction_date": document.transaction_date,
            "retention_years": document.retention_years,
            "disclosure": document.disclosure,
            "secrecy": document.secrecy,
        }
        attachments = workspace.attachments(workspace.current_version(document))
    config = {
        "document": document.pk if document else None,
        "api": reverse("api:documents"),
        "workspace": reverse("frontend:document", args=[0]),
        "edit": reverse("frontend:document_edit", args=[0]),
        "preview": reverse("frontend:route_preview", args=[0]),
        "people": reverse("api:people"),
        "me": user_of(request).username,
        "transactionTypes": [t.code for t in doc_types if t.is_transaction],
        "defaultRetention": {t.code: t.default_retention_years for t in doc_types},
        "fields": describe.labels(),
        "strings": strings.drafting(),
    }
    return {
        "document": document,
        "doc_types": doc_types,
        "retentions": Retention.choices,
        "disclosures": Disclosure.choices,
        "secrecies": Secrecy.choices,
        "routes": drafting.route_choices(),
        "initial": initial,
        "attachments": attachments,
        "config": config,
    }


@login_required
@require_GET
def document_new(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/draft.html", _draft_context(request, None))


@login_required
@require_GET
def document_edit(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document(request, document_id)
    if not can_edit(user_of(request), document):
        return redirect("frontend:document", document_id=document.pk)
    return render(request, "frontend/draft.html", _draft_context(request, document))


def _route_context(request: HttpRequest, document: Document) -> dict[str, Any]:
    user = user_of(request)
    task = workspace.my_task(user, document)
    route = workspace.latest_route(document)
    return {
        "document": document,
        "route": route,
        "history": workspace.history(document),
        "task": task,
        "may": workspace.permissions(user, document, task, route),
        "send_back_targets": workspace.send_back_targets(task) if task else [],
        "askable": workspace.askable(task) if task else [],
        "question": workspace.question_for(task),
        "questions": questions.thread(route) if route else [],
        "reassignable": workspace.reassignable(user, route),
        "route_note": workspace.route_note(route),
        "final": workspace.is_final(task) if task else False,
        # Changes whenever a signature extends the record: the viewer then fetches it again.
        "record_key": workspace.current_version(document).record_sha256[:16],
    }


@login_required
@require_GET
def document(request: HttpRequest, document_id: int) -> HttpResponse:
    """The review workspace: metadata and route beside the record's parts in panes."""
    document = _document(request, document_id)
    if document.status in access.GONE:
        return _gone(request, document)
    context = _route_context(request, document)
    record = workspace.record_view(document)
    version = record.version
    files = workspace.attachments(version)
    user = user_of(request)
    config = {
        "document": document.pk,
        "me": user.username,
        "record": reverse("api:record", args=[document.pk]),
        "pageImage": reverse("api:record-page", args=[document.pk, 0]),
        "annotations": reverse("api:annotations", args=[document.pk]),
        "verification": reverse("api:verification", args=[document.pk]),
        "routePanel": reverse("frontend:route_panel", args=[document.pk]),
        "pdfjs": static("frontend/vendor/pdfjs/pdf.min.mjs"),
        "pdfjsWorker": static("frontend/vendor/pdfjs/pdf.worker.min.mjs"),
        "recordKey": version.record_sha256[:16],
        "pages": record.pages,
        "size": record.size,
        "parts": [p.as_json() for p in record.parts],
        "boxes": record.boxes,
        "canAnnotate": context["may"].annotate,
        "task": context["task"].pk if context["task"] else None,
        "strings": strings.workspace(),
    }
    context.update(
        {
            "record": record,
            "files": files,
            "config": config,
            "version": version,
        }
    )
    return render(request, "frontend/workspace.html", context)


@login_required
@require_GET
def route_panel(request: HttpRequest, document_id: int) -> HttpResponse:
    """The route, history and actions, re-read after an action without reloading the record."""
    document = _document(request, document_id)
    return render(request, "frontend/_route_refresh.html", _route_context(request, document))


@login_required
@require_GET
def route_preview(request: HttpRequest, document_id: int) -> JsonResponse:
    """The drafting page's route preview (JSON): `route`, `add_approvers`, `add_readers` as the
    submit API takes them. Anyone who may see the document, as for the API's route preview."""
    document = _document(request, document_id)
    try:
        return JsonResponse(drafting.preview(document, request.GET))
    except drafting.PreviewError as error:
        return JsonResponse(error.as_json(), status=error.status)


@login_required
@require_GET
def verify(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "frontend/verify.html",
        {"config": {"api": reverse("api:verify"), "strings": strings.verification()}},
    )


def _gone(request: HttpRequest, document: Document) -> HttpResponse:
    """A disposed or transferred record: its tombstone, not its content (410)."""
    message = access.gone_message(document)
    stone = access.tombstone(document)
    if stone:
        message += " " + _(
            "Disposal decided as %(request)s by %(person)s; the tombstone keeps every file's "
            "hash and size."
        ) % {
            "request": (stone.get("request") or {}).get("number") or "",
            "person": (stone.get("decided_by") or {}).get("display_name") or "",
        }
    return render(
        request,
        "frontend/error.html",
        {"title": _("This record is gone"), "message": message},
        status=410,
    )
