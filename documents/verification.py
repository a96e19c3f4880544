"""Verification over HTTP: a document's record, and any uploaded PDF.

GET  /api/v1/documents/{id}/verification   the current (or ?version=N) record of a document
POST /api/v1/verify                         multipart `file`: the same report for any PDF

The report's shape is `signing.api.report_json`; the trust root is `signing.api.TrustRootView`.
An uploaded PDF is received like a document's attachments (`documents.uploads`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError
from documents.access import require_kept
from documents.api import visible_document
from documents.models import DocumentVersion
from documents.records import ensure_record
from documents.uploads import StrictMultiPartParser, check_content_length
from signing.api import VerificationSerializer, report_json
from signing.verify import verify_pdf
from storage import get_store, key_for

MAX_VERIFY_BYTES = 200 * 1024 * 1024
# A record never changes under its hash; the CRL may, so a cached report lives briefly.
REPORT_CACHE_SECONDS = 300


def verify_version(version: DocumentVersion) -> dict[str, Any]:
    """The report of the version's record in the active language (its texts are translated),
    cached per record hash and language."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    key = f"verification:{language}:{version.record_sha256}"
    cached = cache.get(key)
    if cached is not None:
        return dict(cached)
    with get_store().open(key_for(version.record_sha256)) as reader:
        data = reader.read()
    result = report_json(verify_pdf(data))
    cache.set(key, result, REPORT_CACHE_SECONDS)
    return result


class DocumentVerificationView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("version", OpenApiTypes.INT, required=False)],
        responses=VerificationSerializer,
        summary="The signatures of a document's record: who, when, intact, trusted, changes",
    )
    def get(self, request: Request, document_id: int) -> Response:
        document = visible_document(request, document_id)
        require_kept(document)
        number = request.query_params.get("version") or str(document.version)
        if not number.isdigit():
            raise ApiError("invalid", _("version must be a whole number."))
        version = document.versions.filter(number=int(number)).first()
        if version is None:
            raise ApiError("not_found", _("No such version."), status.HTTP_404_NOT_FOUND)
        version = ensure_record(version)
        result = verify_version(version)
        if not result["signatures"]:
            result["problem"] = _("This record has not been signed yet.")
        result["document"] = document.pk
        result["version"] = version.number
        result["sha256"] = version.record_sha256
        return Response(result)


class VerifyUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class VerifyView(APIView):
    parser_classes = [StrictMultiPartParser]

    @extend_schema(
        request={"multipart/form-data": VerifyUploadSerializer},
        responses=VerificationSerializer,
        summary="Verify the signatures of any PDF",
    )
    def post(self, request: Request) -> Response:
        check_content_length(request.META)
        upload = request.FILES.get("file")
        if upload is None:
            raise ApiError("invalid", _("Send the PDF as the multipart field 'file'."))
        if upload.size is not None and upload.size > MAX_VERIFY_BYTES:
            raise ApiError(
                "too_large",
                _("The file is larger than %(mb)d MB.") % {"mb": MAX_VERIFY_BYTES // 1024**2},
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        data = upload.read()
        # Never raises for bad input: unsigned, encrypted and broken files get a report.
        return Response(report_json(verify_pdf(data)))
