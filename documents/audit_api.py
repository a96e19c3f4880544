"""GET /api/v1/audit: the audit trail, oldest first, paginated by seq.

Auditors and administrators see every entry (logins too) with the client's address and program.
Anyone else asks about one document they may read (`?document=<id>`, `documents.access`) and sees
only that document's entries, without addresses.

It lives with the documents, not in `audit`, because who may read an entry is who may read its
document (`documents.access`): the audit trail itself knows nothing of documents' rules.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError
from api.pagination import Pages
from audit.models import AuditEntry
from documents.access import visible_documents
from documents.models import Document, Secrecy
from org import roles
from org.auth import user_of
from org.models import User


def sees_everything(user: User) -> bool:
    """Auditors (監査担当) and administrators read the whole trail."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=[roles.AUDITOR, roles.ADMINISTRATOR]).exists()


class AuditQuery(serializers.Serializer):
    document = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    action = serializers.CharField(max_length=64, required=False)
    actor = serializers.CharField(max_length=150, required=False)


def _person_schema(name: str) -> serializers.Serializer:
    return inline_serializer(
        name,
        {"username": serializers.CharField(), "display_name": serializers.CharField()},
        allow_null=True,
    )


# The shape of a page, for the schema (entries are written by `entry_data`).
AUDIT_PAGE_SCHEMA = inline_serializer(
    "AuditPage",
    {
        "results": inline_serializer(
            "AuditEntry",
            {
                "seq": serializers.IntegerField(),
                "at": serializers.DateTimeField(),
                "action": serializers.CharField(),
                "actor": _person_schema("AuditActor"),
                "on_behalf_of": _person_schema("AuditOnBehalfOf"),
                "document": serializers.IntegerField(allow_null=True),
                "document_version": serializers.IntegerField(allow_null=True),
                "ip": serializers.CharField(allow_null=True, help_text="auditors only"),
                "client": serializers.CharField(allow_null=True, help_text="auditors only"),
                "data": serializers.JSONField(),
                "prev_hash": serializers.CharField(help_text="64 hex digits"),
                "hash": serializers.CharField(help_text="SHA-256 of the entry (audit.models)"),
            },
            many=True,
        ),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
    },
)


class AuditPagination(Pages):
    ordering = ("seq",)
    page_size = 100
    max_page_size = 500


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"username": user.username, "display_name": str(user)}


def entry_data(entry: AuditEntry, *, full: bool) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "action": entry.action,
        "actor": _person(entry.actor),
        "on_behalf_of": _person(entry.on_behalf_of),
        "document": entry.document_id,
        "document_version": entry.document_version,
        "ip": entry.ip if full else None,
        "client": entry.client if full else None,
        "data": entry.details,
        "prev_hash": entry.prev_hash_hex,
        "hash": entry.hash_hex,
    }


class AuditListView(APIView):
    @extend_schema(
        summary="Audit trail entries (auditors: all; others: one document they may read)",
        responses=AUDIT_PAGE_SCHEMA,
        parameters=[
            OpenApiParameter("document", int, description="Only entries about this document"),
            OpenApiParameter("action", str, description="Only this action, e.g. workflow.approve"),
            OpenApiParameter("actor", str, description="Only entries by this user name"),
        ],
    )
    def get(self, request: Request) -> Response:
        query = AuditQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        user = user_of(request)
        full = sees_everything(user)
        entries: QuerySet[AuditEntry] = AuditEntry.objects.select_related("actor", "on_behalf_of")
        document_id = params.get("document")
        # An entry may quote a document's fields: auditors and administrators read the whole
        # trail, except a secret document's entries, which need the same grant as the document.
        readable = visible_documents(user).values("pk")
        if full:
            entries = entries.filter(
                Q(document__isnull=True)
                | Q(document__secrecy=Secrecy.NORMAL)
                | Q(document__in=readable)
            )
        if document_id is not None:
            if not full:
                # 404 whether it does not exist or the caller may not see it, as elsewhere.
                get_object_or_404(visible_documents(user), pk=document_id)
            elif not entries.filter(document_id=document_id).exists():
                get_object_or_404(
                    Document.objects.filter(Q(secrecy=Secrecy.NORMAL) | Q(pk__in=readable)),
                    pk=document_id,
                )
            entries = entries.filter(document_id=document_id)
        elif not full:
            raise ApiError(
                "document_required",
                _("Name a document (?document=<id>): only auditors may read the whole trail."),
                status.HTTP_403_FORBIDDEN,
            )
        if "action" in params:
            entries = entries.filter(action=params["action"])
        if "actor" in params:
            entries = entries.filter(actor__username=params["actor"])
        paginator = AuditPagination()
        page = paginator.paginate_queryset(entries, request, view=self) or []
        return Response(
            {
                "results": [entry_data(entry, full=full) for entry in page],
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
            }
        )
