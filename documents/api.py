"""The documents API (DESIGN.md section 6). Views translate HTTP to service calls and back."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError
from api.negotiation import FileAnswer
from api.pagination import Pages
from audit import services as audit
from documents import access, describe, downloads, services
from documents.access import require_kept, visible_documents
from documents.models import (
    Attachment,
    AttachmentKind,
    Document,
    DocumentVersion,
    RecordRevision,
)
from documents.page_images import PAGE_WIDTHS, page_image
from documents.previews import PreviewError
from documents.querying import SearchSerializer, search
from documents.records import ensure_record
from documents.serializers import (
    CreateDocumentSerializer,
    DocumentDetailSerializer,
    DocumentFieldsSerializer,
    DocumentSummarySerializer,
    parse_corrects,
    parse_passwords,
)
from documents.uploads import StrictMultiPartParser, check_content_length, from_request_file
from org.auth import user_of
from org.models import with_ancestors


def visible_document(request: Request, document_id: int) -> Document:
    """The document, or 404 whether it does not exist or the caller may not see it."""
    return get_object_or_404(
        visible_documents(user_of(request)).select_related(
            "doc_type", with_ancestors("department"), "drafter"
        ),
        pk=document_id,
    )


def _version(document: Document, request: Request) -> DocumentVersion:
    number = request.query_params.get("version")
    if number is None:
        return document.versions.get(number=document.version)
    if not number.isdigit():
        raise ApiError("invalid", _("version must be a whole number."))
    return get_object_or_404(document.versions, number=int(number))


def _uploads(request: Request) -> list[Any]:
    return [from_request_file(f) for f in request.FILES.getlist("attachments")]


def _detail(request: Request, document: Document) -> dict[str, Any]:
    """A document as its reader may see it (related documents included only if visible)."""
    # Its versions with their record revisions and who made them: three queries, not a few per
    # version and revision.
    prefetch_related_objects(
        [document],
        Prefetch(
            "versions",
            queryset=DocumentVersion.objects.prefetch_related(
                Prefetch("record_revisions", RecordRevision.objects.select_related("actor"))
            ),
        ),
    )
    return dict(DocumentDetailSerializer(document, context={"reader": user_of(request)}).data)


class DocumentPagination(Pages):
    ordering = ("-created_at", "-id")


class DocumentListView(APIView):
    parser_classes = [StrictMultiPartParser, JSONParser]

    @extend_schema(
        parameters=[SearchSerializer],
        responses=inline_serializer(
            "DocumentPage",
            {
                "results": DocumentSummarySerializer(many=True),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
            },
        ),
        summary="Search the documents I may see",
    )
    def get(self, request: Request) -> Response:
        form = SearchSerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        qs: QuerySet[Document] = search(user_of(request), form.validated_data).select_related(
            "doc_type", with_ancestors("department"), "drafter"
        )
        paginator = DocumentPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        # A disposed or transferred record is listed as its tombstone, not as the document
        # (documents.access.GONE): number, title and who approved the disposal, nothing more.
        # The others through one serializer (many=True builds its fields once, not per row).
        documents = list(page or [])
        summaries = iter(
            DocumentSummarySerializer(
                [d for d in documents if d.status not in access.GONE], many=True
            ).data
        )
        data = [
            {"id": d.pk, "status": d.status, "gone": True, "tombstone": access.tombstone(d)}
            if d.status in access.GONE
            else next(summaries)
            for d in documents
        ]
        return Response(
            {
                "results": data,
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
            }
        )

    @extend_schema(
        request={"multipart/form-data": CreateDocumentSerializer},
        responses={201: DocumentDetailSerializer},
        summary="Draft a document with its attachments",
    )
    def post(self, request: Request) -> Response:
        check_content_length(request.META)
        form = CreateDocumentSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        meta = dict(form.validated_data["meta"])
        passwords = parse_passwords(meta)
        corrects = parse_corrects(meta)
        fields = DocumentFieldsSerializer(data=meta)
        fields.is_valid(raise_exception=True)
        document = services.create_document(
            user_of(request), fields.validated_data, _uploads(request), passwords, corrects=corrects
        )
        return Response(_detail(request, document), status=status.HTTP_201_CREATED)


class DocumentDetailView(APIView):
    @extend_schema(responses=DocumentDetailSerializer, summary="A document")
    def get(self, request: Request, document_id: int) -> Response:
        document = visible_document(request, document_id)
        audit.record("document.view", actor=user_of(request), document=document, request=request)
        return Response(_detail(request, document))

    @extend_schema(
        request=DocumentFieldsSerializer,
        responses=DocumentDetailSerializer,
        summary="Edit a draft (a new version once it has been submitted)",
    )
    def patch(self, request: Request, document_id: int) -> Response:
        document = visible_document(request, document_id)
        fields = DocumentFieldsSerializer(data=request.data, partial=True)
        fields.is_valid(raise_exception=True)
        document = services.update_document(user_of(request), document.pk, fields.validated_data)
        return Response(_detail(request, document))


class AttachmentListView(APIView):
    parser_classes = [StrictMultiPartParser]

    @extend_schema(
        request={"multipart/form-data": CreateDocumentSerializer},
        responses={201: DocumentDetailSerializer},
        summary="Add attachments to a draft",
    )
    def post(self, request: Request, document_id: int) -> Response:
        document = visible_document(request, document_id)
        check_content_length(request.META)
        passwords = parse_passwords(
            CreateDocumentSerializer().validate_meta(request.data.get("meta") or "{}")
        )
        uploads = _uploads(request)
        if not uploads:
            raise ApiError("invalid", _("Send at least one file in 'attachments'."))
        services.add_attachments(user_of(request), document.pk, uploads, passwords)
        document.refresh_from_db()
        return Response(_detail(request, document), status=status.HTTP_201_CREATED)


def _attachment(document: Document, attachment_id: int) -> Attachment:
    # Any version's attachment of this document: auditors read old versions too.
    return get_object_or_404(Attachment, pk=attachment_id, version__document=document)


class AttachmentDetailView(APIView):
    content_negotiation_class = FileAnswer  # the documented Accept is not a 406

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        summary="An original attachment, byte-for-byte",
    )
    def get(self, request: Request, document_id: int, attachment_id: int) -> StreamingHttpResponse:
        document = visible_document(request, document_id)
        require_kept(document)
        attachment = _attachment(document, attachment_id)
        response = downloads.original(attachment, request)
        audit.record(
            "attachment.download",
            actor=user_of(request),
            document=document,
            version=attachment.version.number,
            request=request,
            data=describe.attachment(attachment),
        )
        return response

    @extend_schema(responses={204: None}, summary="Remove an attachment from a draft")
    def delete(self, request: Request, document_id: int, attachment_id: int) -> Response:
        document = visible_document(request, document_id)
        services.remove_attachment(user_of(request), document.pk, attachment_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttachmentsZipView(APIView):
    content_negotiation_class = FileAnswer  # the documented Accept is not a 406

    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
        summary="All originals of a version, as one streamed ZIP",
    )
    def get(self, request: Request, document_id: int) -> StreamingHttpResponse:
        document = visible_document(request, document_id)
        require_kept(document)
        version = _version(document, request)
        attachments = list(version.attachments.order_by("position"))
        name = f"{document.number or document.pk}_添付ファイル.zip"
        response = downloads.originals_zip(attachments, name, request)
        audit.record(
            "attachment.download",
            actor=user_of(request),
            document=document,
            version=version.number,
            request=request,
            data={"zip": True, "attachments": describe.attachments(attachments)},
        )
        return response


class RecordView(APIView):
    content_negotiation_class = FileAnswer  # the documented Accept is not a 406

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="The decision record of the current (or ?version=N) version",
    )
    def get(self, request: Request, document_id: int) -> StreamingHttpResponse:
        document = visible_document(request, document_id)
        require_kept(document)
        version = ensure_record(_version(document, request))
        name = f"{document.number or document.pk}_v{version.number}.pdf"
        response = downloads.record_pdf(version.record_sha256, version.record_size, name, request)
        audit.record(
            "record.download",
            actor=user_of(request),
            document=document,
            version=version.number,
            request=request,
            data={"sha256": version.record_sha256},
        )
        return response


def _page_image(sha256: str, page: int, request: Request) -> HttpResponse:
    try:
        requested = int(request.query_params.get("width", "800"))
    except ValueError:
        raise ApiError("invalid", _("width must be a whole number of pixels.")) from None
    width = min(PAGE_WIDTHS, key=lambda w: (abs(w - requested), w))
    # The URL stays while signatures extend the record: the ETag names the bytes shown, and the
    # browser asks again each time (a 304 costs no rendering).
    etag = f'"{sha256[:32]}-{page}-{width}"'
    if request.META.get("HTTP_IF_NONE_MATCH") == etag:
        not_modified = HttpResponse(status=304)
        not_modified["ETag"] = etag
        return not_modified
    try:
        image = page_image(sha256, page, width)
    except PreviewError as exc:
        raise ApiError("invalid_page", str(exc), status.HTTP_404_NOT_FOUND) from exc
    response = HttpResponse(image, content_type="image/webp")
    response["Cache-Control"] = "private, no-cache"
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    return response


class RecordPageView(APIView):
    content_negotiation_class = FileAnswer  # the documented Accept is not a 406

    @extend_schema(
        responses={(200, "image/webp"): OpenApiTypes.BINARY},
        summary="A page of the decision record as an image (?width=px)",
    )
    def get(self, request: Request, document_id: int, page: int) -> HttpResponse:
        document = visible_document(request, document_id)
        require_kept(document)
        version = ensure_record(_version(document, request))
        return _page_image(version.record_sha256, page, request)


class AttachmentPageView(APIView):
    content_negotiation_class = FileAnswer  # the documented Accept is not a 406

    @extend_schema(
        responses={(200, "image/webp"): OpenApiTypes.BINARY},
        summary="A page of a PDF attachment as an image (?width=px)",
    )
    def get(
        self, request: Request, document_id: int, attachment_id: int, page: int
    ) -> HttpResponse:
        document = visible_document(request, document_id)
        require_kept(document)
        attachment = _attachment(document, attachment_id)
        if attachment.kind != AttachmentKind.PDF:
            raise ApiError(
                "not_a_pdf",
                _("Only PDF attachments have pages; see the record for the others."),
                status.HTTP_404_NOT_FOUND,
            )
        return _page_image(attachment.readable_pdf_sha256 or attachment.sha256, page, request)
