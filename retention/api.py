"""The retention API: expired records, disposal requests, tombstones.

- GET  /api/v1/retention/expired      administrators and auditors: decided records whose period
                                       has ended (auditors: those they may read)
- GET  /api/v1/retention/disposals    administrators and auditors: disposal requests
- POST /api/v1/retention/disposals    administrators: request a disposal or transfer
- GET  /api/v1/retention/tombstones   administrators and auditors: what was disposed of
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError
from api.pagination import Pages
from documents.access import visibility
from documents.models import Document, Secrecy, Status
from org.auth import user_of
from org.models import User
from security.stepup import require_recent_second_factor

from . import periods
from .models import DisposalAction, DisposalItem, DisposalRequest, RetentionState, Tombstone
from .requests import (
    MAX_RECORDS,
    is_administrator,
    label,
    pending_items,
    reads_retention,
    request_disposal,
)


def _forbidden(message: str) -> ApiError:
    return ApiError("permission_denied", message, status.HTTP_403_FORBIDDEN)


def _reader(request: Request) -> User:
    user = user_of(request)
    if not reads_retention(user):
        raise _forbidden(_("Only administrators and auditors see retention and disposals."))
    return user


def _of_records_they_may_read(user: User, queryset: QuerySet[Any], field: str) -> QuerySet[Any]:
    """Auditors see disposals of records that are not secret, or that they were granted."""
    if is_administrator(user):
        return queryset
    return queryset.filter(
        Q(**{f"{field}__secrecy": Secrecy.NORMAL}) | Q(**{f"{field}__accesses__user": user})
    ).distinct()


def _page(paginator: CursorPagination, rows: list[dict[str, Any]]) -> Response:
    return Response(
        {
            "results": rows,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
        }
    )


def _department(document: Document) -> dict[str, str]:
    return {"code": document.department.code, "name": document.department.full_name}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# --- expired records ------------------------------------------------------------------------------


class ExpiredPagination(Pages):
    ordering = ("retention_end", "document_id")


class ExpiredRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    department = serializers.DictField(child=serializers.CharField())
    doc_type = serializers.CharField()
    decided_at = serializers.DateTimeField()
    retention_years = serializers.IntegerField()
    retention_end = serializers.DateField()
    pending_request = serializers.IntegerField(
        allow_null=True, help_text="The request document that already names it, if any"
    )


class ExpiredPageSerializer(serializers.Serializer):
    results = ExpiredRecordSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


def _expired_row(state: RetentionState) -> dict[str, Any]:
    document = state.document
    pending = (
        DisposalItem.objects.filter(pending_items([document.pk]))
        .values_list("request__document_id", flat=True)
        .first()
    )
    return {
        "id": document.pk,
        "number": document.number,
        "title": document.title,
        "department": _department(document),
        "doc_type": document.doc_type.code,
        "decided_at": _iso(document.decided_at),
        "retention_years": document.retention_years,
        "retention_end": _iso(state.retention_end),
        "pending_request": pending,
    }


class ExpiredListView(APIView):
    @extend_schema(
        summary="Decided records whose retention period has ended (administrators, auditors)",
        responses=ExpiredPageSerializer,
    )
    def get(self, request: Request) -> Response:
        user = _reader(request)
        states: QuerySet[RetentionState] = RetentionState.objects.filter(
            retention_end__lt=periods.today(), document__status=Status.DECIDED
        ).select_related("document__department", "document__doc_type")
        if not is_administrator(user):
            states = states.filter(
                Exists(Document.objects.filter(visibility(user), pk=OuterRef("document_id")))
            )
        paginator = ExpiredPagination()
        page = paginator.paginate_queryset(states, request, view=self) or []
        return _page(paginator, [_expired_row(state) for state in page])


# --- disposal requests ----------------------------------------------------------------------------


class DisposalCreateSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=DisposalAction.choices)
    documents = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=MAX_RECORDS,
    )
    reason = serializers.CharField(max_length=2000)


class DisposalPagination(Pages):
    ordering = ("-created_at", "-id")


class DisposalRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField(help_text="pending, done or skipped")
    note = serializers.CharField()


class DisposalRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.ChoiceField(choices=DisposalAction.choices)
    reason = serializers.CharField()
    document = serializers.DictField(help_text="The request's own document: id, number, status")
    requested_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    executed_at = serializers.DateTimeField(allow_null=True)
    records = DisposalRecordSerializer(many=True)


class DisposalPageSerializer(serializers.Serializer):
    results = DisposalRequestSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


def disposal_data(request: DisposalRequest) -> dict[str, Any]:
    document = request.document
    return {
        "id": request.pk,
        "action": request.action,
        "reason": request.reason,
        "document": {
            "id": document.pk,
            "number": document.number,
            "title": document.title,
            "status": document.status,
        },
        "requested_by": request.requested_by.username,
        "created_at": _iso(request.created_at),
        "executed_at": _iso(request.executed_at),
        "records": [
            {
                "id": item.record_id,
                "number": label(item.record),
                "title": item.record.title,
                "status": item.status,
                "note": item.note,
            }
            for item in request.items.select_related("record").order_by("position")
        ],
    }


class DisposalListView(APIView):
    @extend_schema(
        summary="Disposal and transfer requests (administrators, auditors)",
        responses=DisposalPageSerializer,
    )
    def get(self, request: Request) -> Response:
        user = _reader(request)
        requests = _of_records_they_may_read(
            user, DisposalRequest.objects.select_related("document", "requested_by"), "document"
        )
        paginator = DisposalPagination()
        page = paginator.paginate_queryset(requests, request, view=self) or []
        return _page(paginator, [disposal_data(r) for r in page])

    @extend_schema(
        summary="Request the disposal (廃棄) or transfer (移管) of expired records",
        request=DisposalCreateSerializer,
        responses={201: DisposalRequestSerializer},
    )
    def post(self, request: Request) -> Response:
        user = user_of(request)
        if not is_administrator(user):
            raise _forbidden(_("Only administrators may request a disposal."))
        form = DisposalCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        require_recent_second_factor(request)  # it ends in deleting records: step-up
        data = form.validated_data
        created = request_disposal(user, data["action"], data["documents"], data["reason"])
        created = DisposalRequest.objects.select_related("document", "requested_by").get(
            pk=created.pk
        )
        return Response(disposal_data(created), status=status.HTTP_201_CREATED)


# --- tombstones -----------------------------------------------------------------------------------


class TombstonePagination(Pages):
    ordering = ("-created_at", "-id")


class TombstoneObjectSerializer(serializers.Serializer):
    sha256 = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    role = serializers.CharField()
    version = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()


class TombstoneSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    document = serializers.IntegerField()
    action = serializers.ChoiceField(choices=DisposalAction.choices)
    number = serializers.CharField()
    title = serializers.CharField()
    department = serializers.DictField(child=serializers.CharField())
    decided_at = serializers.DateTimeField()
    retention_years = serializers.IntegerField()
    retention_end = serializers.DateField()
    request = serializers.DictField(help_text="The request document: id, number")
    decided_by = serializers.DictField(help_text="Who decided the request (代決: for whom)")
    request_decided_at = serializers.DateTimeField()
    transfer = serializers.DictField(allow_null=True, help_text="移管: the package's sha256, size")
    disposed_at = serializers.DateTimeField()
    objects = TombstoneObjectSerializer(many=True)


class TombstonePageSerializer(serializers.Serializer):
    results = TombstoneSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


def tombstone_of(document: Document) -> dict[str, Any] | None:
    """The tombstone of a disposed or transferred record, as the API shows it: the body of the
    410 its content answers with (registered with documents.access by retention.apps)."""
    tombstone = (
        Tombstone.objects.filter(document=document)
        .select_related("request", "decided_by", "decided_on_behalf_of")
        .order_by("-id")
        .first()
    )
    return tombstone_data(tombstone) if tombstone is not None else None


def tombstone_data(tombstone: Tombstone) -> dict[str, Any]:
    return {
        "id": tombstone.pk,
        "document": tombstone.document_id,
        "action": tombstone.action,
        "number": tombstone.number,
        "title": tombstone.title,
        "department": {"code": tombstone.department_code, "name": tombstone.department_name},
        "decided_at": _iso(tombstone.decided_at),
        "retention_years": tombstone.retention_years,
        "retention_end": _iso(tombstone.retention_end),
        "request": {"id": tombstone.request.document_id, "number": tombstone.request_number},
        "decided_by": {
            "username": tombstone.decided_by.username,
            "display_name": tombstone.decided_by_name,
            "on_behalf_of": (
                tombstone.decided_on_behalf_of.username if tombstone.decided_on_behalf_of else None
            ),
        },
        "request_decided_at": _iso(tombstone.request_decided_at),
        "transfer": (
            {"sha256": tombstone.transfer_sha256, "size": tombstone.transfer_size}
            if tombstone.transfer_sha256
            else None
        ),
        "disposed_at": _iso(tombstone.created_at),
        "objects": [
            {
                "sha256": o.sha256,
                "size": o.size,
                "role": o.role,
                "version": o.version,
                "name": o.name,
                "status": o.status,
            }
            for o in tombstone.stored_objects.order_by("id")
        ],
    }


class TombstoneListView(APIView):
    @extend_schema(
        summary="Tombstones of disposed and transferred records (administrators, auditors)",
        responses=TombstonePageSerializer,
    )
    def get(self, request: Request) -> Response:
        user = _reader(request)
        tombstones = _of_records_they_may_read(
            user,
            Tombstone.objects.select_related("request", "decided_by", "decided_on_behalf_of"),
            "document",
        )
        paginator = TombstonePagination()
        page = paginator.paginate_queryset(tombstones, request, view=self) or []
        return _page(paginator, [tombstone_data(t) for t in page])
