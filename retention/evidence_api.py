"""GET /api/v1/documents/{id}/evidence.zip: the evidence package of a document (retention.evidence).

Anyone who may see the document may take its package (auditors see decided records); the
download is recorded in the audit trail as ``evidence.download``, and the entry is in the
package's own audit.jsonl.
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from api.negotiation import FileAnswer
from documents.access import require_kept
from documents.api import visible_document
from org.auth import user_of

from .evidence import build_package


class EvidencePackageView(APIView):
    content_negotiation_class = FileAnswer  # the documented Accept is not a 406

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description=(
                    "A ZIP: record.pdf (and record-v{N}.pdf), originals/, audit.jsonl, "
                    "audit-anchors.jsonl, history.json, verification.json, verification.pdf, "
                    "certificates/, verify_audit_chain.py, manifest.json, SHA256SUMS, README.txt"
                ),
            ),
            401: OpenApiResponse(description="Not signed in"),
            404: OpenApiResponse(description="No such document, or not visible to the caller"),
            503: OpenApiResponse(description="The object store is unavailable; try again"),
        },
        summary="The evidence package of a document, checkable offline (README.txt inside)",
    )
    def get(self, request: Request, document_id: int) -> StreamingHttpResponse:
        document = visible_document(request, document_id)
        require_kept(document)
        package = build_package(document, user_of(request), request=request)
        return package.response(request)
