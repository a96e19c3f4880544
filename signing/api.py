"""The verification report in the API's shape, and our trust root over HTTP.

GET  /api/v1/trust/root.pem                 the internal CA's root, for pdfsig, Acrobat, pyHanko
GET  /api/v1/trust/crl.crl                  its current CRL (DER): the CRL distribution point
                                            that our certificates name, for outside validators

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

from api.negotiation import FileAnswer

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
        # what this signature vouches for that the one before it did not (marks, seals)
        "covers": s.covers,
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
        # what follows the last signature or document timestamp: signed by nobody
        "unsigned_changes": report.unsigned_changes,
        "signatures": [_signature(s) for s in report.signatures],
    }


class VerificationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problem = serializers.CharField(allow_null=True)
    revisions = serializers.IntegerField(allow_null=True)
    unsigned_changes = serializers.ListField(child=serializers.CharField())
    signatures = serializers.ListField(child=serializers.DictField())


class TrustRootView(APIView):
    content_negotiation_class = FileAnswer  # the documented Accept is not a 406
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


class CrlView(APIView):
    content_negotiation_class = FileAnswer  # the documented Accept is not a 406
    """The CRL distribution point named in our certificates: outside validators (an AdES
    validator, Acrobat) fetch it without credentials. Re-signed daily
    (``CertificateAuthority.crl``), so it never goes stale; clients may cache it for an hour."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # CRL clients ask for application/pkix-crl, which no renderer knows: the response is
        # the CRL's bytes whatever they accept
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={(200, "application/pkix-crl"): OpenApiTypes.BINARY},
        summary="The current certificate revocation list of the internal CA (DER)",
    )
    def get(self, request: Request) -> HttpResponse:
        crl = get_keystore().ca.crl()
        response = HttpResponse(
            crl.public_bytes(serialization.Encoding.DER), content_type="application/pkix-crl"
        )
        response["Cache-Control"] = "public, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        return response
