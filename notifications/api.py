"""GET /api/v1/notifications and POST /api/v1/notifications/read (the WebSocket's REST twin)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import services
from org.auth import user_of

MAX_LIMIT = 500


class ListQuery(serializers.Serializer):
    since = serializers.IntegerField(min_value=0, max_value=2**63 - 1, required=False, default=0)
    unread = serializers.BooleanField(required=False, default=False)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, required=False, default=100)


class ReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=0), required=False, max_length=MAX_LIMIT
    )
    up_to = serializers.IntegerField(min_value=0, max_value=2**63 - 1, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("up_to" in attrs):
            raise serializers.ValidationError(_("Send either 'ids' or 'up_to'."))
        return attrs


FRAME_SCHEMA = inline_serializer(
    "NotificationFrame",
    {
        "id": serializers.IntegerField(),
        "type": serializers.CharField(help_text="e.g. task.assigned, document.decided"),
        "document": serializers.IntegerField(allow_null=True),
        "title": serializers.CharField(allow_null=True),
        "task": serializers.IntegerField(allow_null=True),
        "created": serializers.DateTimeField(),
        "read": serializers.BooleanField(),
    },
)
PAGE_SCHEMA = inline_serializer(
    "NotificationPage",
    {
        "results": serializers.ListField(child=FRAME_SCHEMA),
        "next": serializers.URLField(allow_null=True),
        "last_id": serializers.IntegerField(),
        "unread": serializers.IntegerField(),
    },
)
READ_SCHEMA = inline_serializer(
    "NotificationsMarked",
    {"marked": serializers.IntegerField(), "unread": serializers.IntegerField()},
)


class NotificationListView(APIView):
    @extend_schema(
        summary="My notifications after an id, oldest first",
        parameters=[
            OpenApiParameter("since", int, description="Only notifications with a larger id"),
            OpenApiParameter("unread", bool, description="Only unread ones"),
            OpenApiParameter("limit", int, description=f"At most this many (1–{MAX_LIMIT})"),
        ],
        responses=PAGE_SCHEMA,
    )
    def get(self, request: Request) -> Response:
        query = ListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, limit = query.validated_data["since"], query.validated_data["limit"]
        user = user_of(request)
        rows = services.visible_notifications(user).filter(pk__gt=since)
        if query.validated_data["unread"]:
            rows = rows.filter(read_at__isnull=True)
        page = list(rows.order_by("pk")[: limit + 1])
        more = len(page) > limit
        frames = [services.to_frame(row) for row in page[:limit]]
        last_id = frames[-1]["id"] if frames else since
        next_url = None
        if more:
            params = request.query_params.copy()
            params["since"] = str(last_id)
            next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response(
            {
                "results": frames,
                "next": next_url,
                "last_id": last_id,
                "unread": services.unread_count(user),
            }
        )


class MarkReadView(APIView):
    @extend_schema(
        request=ReadSerializer,
        responses=READ_SCHEMA,
        summary="Mark notifications read (ids, or up to an id)",
    )
    def post(self, request: Request) -> Response:
        form = ReadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = user_of(request)
        marked = services.mark_read(
            user, ids=form.validated_data.get("ids"), up_to=form.validated_data.get("up_to")
        )
        return Response({"marked": marked, "unread": services.unread_count(user)})
