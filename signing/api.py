"""Verification over HTTP: a document's record, any uploaded PDF, and our trust root.

GET  /api/v1/documents/{id}/verification   the current (or ?version=N) record of a document
POST /api/v1/verify                         multipart `file`: the same report for any PDF
GET  /api/v1/trust/root.pem                 the internal CA's root, for pdfsig, Acrobat, pyHanko
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError
from documents.api import visible_document
from documents.models import DocumentVersion
from documents.records import ensure_record
from documents.uploads import StrictMultiPartParser, check_content_length
from storage import get_store, key_for

from .keystore import get_keystore
from .verify import SignatureReport, VerificationReport, verify_pdf

MAX_VERIFY_BYTES = 200 * 1024 * 1024
# A record never changes under its hash; the CRL may, so a cached report lives briefly.
REPORT_CACHE_SECONDS = 300


def _signature(s: SignatureReport) -> dict[str, Any]:
    d = s.as_dict()
    return {
        "field": s.field_name,
        "kind": s.kind,
        "signer": s.signer_name or s.signer,
        "role": s.position,
        "section": s.section,
        "organisation": s.organisation,
        "reason": s.reason,
        "signed_at": d["signed_at"],
        "timestamp": {"time": d["timestamp"], "tsa": s.tsa, "valid": s.timestamp_valid},
        "intact": s.intact,
        "trusted": s.trusted,
        "revoked": s.revoked,
        "revoked_at": d["revoked_at"],
        "revocation_reason": s.revocation_reason,
        # Judged as of its trusted timestamp (the certificate was revoked or expired later).
        "validated_at_timestamp": s.validated_at_timestamp,
        "timestamp_validated_at": d["timestamp_validated_at"],
        "modification": s.modification,
        "changes": s.changes,
        "valid": s.valid,
        "problem": s.problem,
        "revision": s.revision,
    }


def report_json(report: VerificationReport) -> dict[str, Any]:
    """The report in the shape of DESIGN.md §6."""
    return {
        "valid": report.valid,
        "problem": report.problem,
        "revisions": report.revisions,
        "signatures": [_signature(s) for s in report.signatures],
    }


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


class VerificationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problem = serializers.CharField(allow_null=True)
    revisions = serializers.IntegerField(allow_null=True)
    signatures = serializers.ListField(child=serializers.DictField())


class DocumentVerificationView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("version", OpenApiTypes.INT, required=False)],
        responses=VerificationSerializer,
        summary="The signatures of a document's record: who, when, intact, trusted, changes",
    )
    def get(self, request: Request, document_id: int) -> Response:
        document = visible_document(request, document_id)
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


class TrustRootView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={(200, "application/x-pem-file"): OpenApiTypes.STR},
        summary="The root certificate of the internal CA",
    )
    def get(self, request: Request) -> HttpResponse:
        pem = get_keystore().root().public_bytes(serialization.Encoding.PEM)
        response = HttpResponse(pem, content_type="application/x-pem-file")
        response["Content-Disposition"] = 'attachment; filename="ekessai-root.pem"'
        response["X-Content-Type-Options"] = "nosniff"
        return response
