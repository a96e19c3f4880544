"""GET /api/v1/documents/export.csv: the search of GET /api/v1/documents, as one CSV file."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from api.negotiation import FileAnswer
from audit import services as audit
from documents.exports import csv_response
from documents.querying import SearchSerializer, search
from org.auth import user_of


class DocumentExportView(APIView):
    content_negotiation_class = FileAnswer  # Accept: text/csv, as documented, is not a 406

    @extend_schema(
        parameters=[SearchSerializer],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        summary="Search results as CSV (UTF-8 with BOM), every matching document I may see",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        form = SearchSerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        user = user_of(request)
        conditions = {k: str(v) for k, v in request.query_params.items()}
        audit.record("documents.export", actor=user, request=request, data=conditions)
        return csv_response(search(user, form.validated_data))
