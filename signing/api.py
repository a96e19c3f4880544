"""The verification report in the API's shape, and our trust root over HTTP.

GET  /api/v1/trust/root.pem                 the internal CA's root, for pdfsig, Acrobat, pyHanko

The report of a document's record (GET /api/v1/documents/{id}/verification) and of any uploaded
PDF (POST /api/v1/verify) are served by `documents.verification`, in this shape.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from .keystore import get_keystore
from .verify import SignatureReport, VerificationReport


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


class VerificationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problem = serializers.CharField(allow_null=True)
    revisions = serializers.IntegerField(allow_null=True)
    signatures = serializers.ListField(child=serializers.DictField())


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
