from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from api.errors import InputRefused
from api.inputs import parse_json
from documents.access import related
from documents.models import (
    Attachment,
    Disclosure,
    Document,
    DocumentType,
    DocumentVersion,
    RecordRevision,
    Retention,
    Secrecy,
)
from org.models import User

MAX_AMOUNT = 10**15  # a quadrillion yen: beyond any budget, below BigIntegerField's range


class DocumentFieldsSerializer(serializers.Serializer):
    """What a drafter writes. Used for creation (all required fields) and partial edits."""

    title = serializers.CharField(max_length=200)
    doc_type = serializers.SlugRelatedField(slug_field="code", queryset=DocumentType.objects.all())
    body = serializers.CharField(required=False, allow_blank=True, max_length=200_000)
    amount = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=MAX_AMOUNT
    )
    counterparty = serializers.CharField(required=False, allow_blank=True, max_length=200)
    transaction_date = serializers.DateField(required=False, allow_null=True)
    retention_years = serializers.ChoiceField(choices=Retention.choices, required=False)
    disclosure = serializers.ChoiceField(choices=Disclosure.choices, required=False)
    secrecy = serializers.ChoiceField(choices=Secrecy.choices, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.partial:
            return attrs
        doc_type: DocumentType = attrs["doc_type"]
        attrs.setdefault("retention_years", doc_type.default_retention_years)
        if doc_type.is_transaction:
            # The Electronic Books Maintenance Act searches transaction records by these.
            missing = [
                name
                for name in ("amount", "counterparty", "transaction_date")
                if not attrs.get(name)
            ]
            if missing:
                raise serializers.ValidationError(
                    {name: _("Required for a transaction record.") for name in missing}
                )
        return attrs


class CreateDocumentSerializer(serializers.Serializer):
    """multipart/form-data: `meta` (JSON text) and repeated `attachments` files."""

    meta = serializers.CharField(help_text="JSON: the document's fields, optionally `passwords`")
    # Read from request.FILES by the view; declared here for the schema. Empty files get the
    # inspection's own message, not the generic one.
    attachments = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False
    )

    def validate_meta(self, value: str) -> dict[str, Any]:
        # Depth, number ranges and control characters: the rules of every JSON body (api.inputs).
        try:
            meta = parse_json(value, "meta")
        except InputRefused as exc:
            if exc.status_code != 400:
                raise
            raise serializers.ValidationError(str(exc.detail)) from None
        if not isinstance(meta, dict):
            raise serializers.ValidationError(_("meta must be a JSON object."))
        return meta


def parse_corrects(meta: dict[str, Any]) -> int | None:
    """`corrects` in meta: the id of the decided record this draft corrects (訂正)."""
    value = meta.pop("corrects", None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise serializers.ValidationError({"corrects": _("Give the id of a decided document.")})
    return value


def parse_passwords(meta: dict[str, Any]) -> dict[str, str]:
    passwords = meta.pop("passwords", None) or {}
    if not isinstance(passwords, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in passwords.items()
    ):
        raise serializers.ValidationError(
            {"passwords": _("passwords must map file names to passwords.")}
        )
    return passwords


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = [
            "id",
            "position",
            "filename",
            "size",
            "sha256",
            "content_type",
            "kind",
            "page_count",
            "note",
        ]


class RecordRevisionSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = RecordRevision
        fields = ["seq", "kind", "reason", "actor", "timestamp", "annotations", "sha256", "size"]

    def get_actor(self, revision: RecordRevision) -> str | None:
        return str(revision.actor) if revision.actor else None


class VersionSerializer(serializers.ModelSerializer):
    # Each signature and document timestamp appended to this version's record, in order.
    record_revisions = RecordRevisionSerializer(many=True, read_only=True)

    class Meta:
        model = DocumentVersion
        fields = [
            "number",
            "frozen_at",
            "created_at",
            "record_sha256",
            "record_pages",
            "record_revisions",
        ]


class DocumentSummarySerializer(serializers.ModelSerializer):
    doc_type = serializers.CharField(source="doc_type.code")
    doc_type_name = serializers.CharField(source="doc_type.name")
    department = serializers.CharField(source="department.full_name")
    # str() of the user and a method field rather than sources naming methods: DRF inspects the
    # signature of a method it finds in a source on every row (13% of a search's CPU).
    drafter = serializers.CharField()
    status_name = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "number",
            "title",
            "doc_type",
            "doc_type_name",
            "status",
            "status_name",
            "amount",
            "counterparty",
            "transaction_date",
            "department",
            "drafter",
            "version",
            "created_at",
            "submitted_at",
            "decided_at",
        ]

    def get_status_name(self, document: Document) -> str:
        return document.get_status_display()


def _link(document: Document) -> dict[str, Any]:
    return {
        "id": document.pk,
        "number": document.number,
        "title": document.title,
        "status": document.status,
    }


class DocumentDetailSerializer(DocumentSummarySerializer):
    attachments = serializers.SerializerMethodField()
    versions = VersionSerializer(many=True, read_only=True)
    corrects = serializers.SerializerMethodField()
    corrected_by = serializers.SerializerMethodField()

    class Meta(DocumentSummarySerializer.Meta):
        fields = [
            *DocumentSummarySerializer.Meta.fields,
            "body",
            "retention_years",
            "disclosure",
            "secrecy",
            "fiscal_year",
            "attachments",
            "versions",
            "corrects",
            "corrected_by",
        ]

    def _reader(self) -> User:
        reader = self.context.get("reader")
        if not isinstance(reader, User):
            # Related documents are shown only to a known reader (documents.access.related).
            raise TypeError("DocumentDetailSerializer needs context={'reader': user}")
        return reader

    def get_corrects(self, document: Document) -> dict[str, Any] | None:
        """The decided record this document corrects (訂正元), if the reader may see it."""
        if not document.corrects_id or document.corrects is None:
            return None
        shown = related(self._reader(), [document.corrects])
        return _link(shown[0]) if shown else None

    def get_corrected_by(self, document: Document) -> list[dict[str, Any]]:
        """Corrections drafted for this record (訂正) that the reader may see, oldest first."""
        corrections = document.corrections.order_by("created_at", "id")
        return [_link(c) for c in related(self._reader(), corrections)]

    def get_attachments(self, document: Document) -> list[dict[str, Any]]:
        # From the versions already read (documents.api prefetches them), else one query.
        version = next((v for v in document.versions.all() if v.number == document.version), None)
        if version is None:
            version = document.versions.get(number=document.version)
        attachments = version.attachments.order_by("position")
        return list(AttachmentSerializer(attachments, many=True).data)
