"""GET/POST /api/v1/documents/{id}/annotations and DELETE …/annotations/{aid} (DESIGN.md §6)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError
from documents.api import visible_document
from org.auth import user_of
from workflow import marks
from workflow.models import Annotation


class AnnotationSerializer(serializers.ModelSerializer[Annotation]):
    author = serializers.SerializerMethodField()
    stage = serializers.CharField(source="slot.stage.name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    signed = serializers.SerializerMethodField()

    class Meta:
        model = Annotation
        fields = [
            "id",
            "page",
            "kind",
            "rects",
            "strokes",
            "text",
            "color",
            "author",
            "stage",
            "version",
            "created_at",
            "signed",
        ]

    def get_author(self, obj: Annotation) -> dict[str, str]:
        return {"username": obj.author.username, "name": str(obj.author)}

    def get_signed(self, obj: Annotation) -> bool:
        return obj.revision_id is not None


class AnnotationInputSerializer(serializers.Serializer):
    """For the schema only: the service checks the body itself (see workflow.marks)."""

    page = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=["highlight", "note", "freetext", "ink"])
    rects = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()))
    strokes = serializers.ListField(
        child=serializers.ListField(child=serializers.ListField(child=serializers.FloatField())),
        required=False,
    )
    text = serializers.CharField(required=False, allow_blank=True)
    color = serializers.CharField(required=False)


class AnnotationListView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[OpenApiParameter("version", OpenApiTypes.INT, required=False)],
        responses=AnnotationSerializer(many=True),
        summary="The marks on a version's record",
    )
    def get(self, request: Request, document_id: int) -> Response:
        document = visible_document(request, document_id)
        number = request.query_params.get("version")
        if number is not None and not number.isdigit():
            raise ApiError("invalid", _("version must be a whole number."))
        rows = marks.of_document(document, int(number) if number else None)
        return Response({"results": AnnotationSerializer(rows, many=True).data})

    @extend_schema(
        request=AnnotationInputSerializer,
        responses={201: AnnotationSerializer},
        summary="Mark up the record while you have a task on it",
    )
    def post(self, request: Request, document_id: int) -> Response:
        document = visible_document(request, document_id)
        data: Any = request.data
        annotation = marks.create(user_of(request), document, data)
        return Response(AnnotationSerializer(annotation).data, status=status.HTTP_201_CREATED)


class AnnotationDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Remove your own mark before you act")
    def delete(self, request: Request, document_id: int, annotation_id: int) -> Response:
        document = visible_document(request, document_id)
        marks.delete(user_of(request), document, annotation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
