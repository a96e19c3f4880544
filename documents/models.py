"""Documents (起案文書), their versions and attachments.

A document's content lives in versions. Version 1 is the draft; it is editable until submission,
when it is frozen and its decision record is fixed. A send-back that changes the content opens a
new version (a copy of the last), so every signed version stays in the history untouched. The
`Document` row repeats the current version's fields so that search needs no join.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DocumentType(models.Model):
    """契約, 支出, 通知, 照会 …: drives routes (workflow) and the default retention period."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    default_retention_years = models.PositiveSmallIntegerField(
        _("default retention period"), help_text=_("In years; 0 means permanent (永年).")
    )
    # Transaction records fall under the Electronic Books Maintenance Act (date, amount and
    # counterparty are required and searchable).
    is_transaction = models.BooleanField(_("transaction record"), default=False)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("document type")
        verbose_name_plural = _("document types")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Retention(models.IntegerChoices):
    ONE = 1, _("1 year")
    THREE = 3, _("3 years")
    FIVE = 5, _("5 years")
    TEN = 10, _("10 years")
    THIRTY = 30, _("30 years")
    PERMANENT = 0, _("Permanent")


class Disclosure(models.TextChoices):
    """公開区分: what a freedom-of-information request may release."""

    PUBLIC = "public", _("Public")
    PARTIAL = "partial", _("Partly public")
    CLOSED = "closed", _("Not public")


class Secrecy(models.TextChoices):
    """秘密区分: who inside the organisation may read it."""

    NORMAL = "normal", pgettext_lazy("secrecy", "Normal")
    SECRET = "secret", _("Secret")
    TOP_SECRET = "top_secret", _("Top secret")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    SENT_BACK = "sent_back", _("Sent back")
    DECIDED = "decided", _("Decided")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # After the retention period, through a disposal request of its own (retention/).
    DISPOSED = "disposed", _("Disposed")
    TRANSFERRED = "transferred", _("Transferred to the archives")


EDITABLE_STATUSES = (Status.DRAFT, Status.SENT_BACK, Status.WITHDRAWN)


class Document(models.Model):
    title = models.CharField(_("title"), max_length=200)
    doc_type = models.ForeignKey(
        DocumentType, verbose_name=_("document type"), on_delete=models.PROTECT
    )
    body = models.TextField(_("purpose and body"), blank=True)
    amount = models.BigIntegerField(_("amount (yen)"), null=True, blank=True)
    counterparty = models.CharField(_("counterparty"), max_length=200, blank=True)
    transaction_date = models.DateField(_("transaction date"), null=True, blank=True)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.PROTECT
    )
    drafter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("drafter"),
        on_delete=models.PROTECT,
        related_name="drafted_documents",
    )
    disclosure = models.CharField(
        _("disclosure"), max_length=16, choices=Disclosure.choices, default=Disclosure.PUBLIC
    )
    secrecy = models.CharField(
        _("secrecy"), max_length=16, choices=Secrecy.choices, default=Secrecy.NORMAL
    )
    retention_years = models.PositiveSmallIntegerField(
        _("retention period"), choices=Retention.choices
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    version = models.PositiveIntegerField(_("current version"), default=1)
    # Fixed at decision (workflow): e.g. 総総第12号, serial restarting each fiscal year.
    # NULL until then, so that the unique constraint ignores undecided documents.
    number = models.CharField(_("document number"), max_length=64, null=True, blank=True)  # noqa: DJ001
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"), null=True, blank=True)
    serial = models.PositiveIntegerField(_("serial number"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Japanese has no spaces between words: search indexes character bigrams (documents.search).
    # 訂正: a decided record is never edited; a correction is a new document pointing at it.
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )

    search_text = models.TextField(editable=False, default="")
    counterparty_key = models.CharField(max_length=200, editable=False, default="")
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Serials restart every fiscal year, so a number is unique within its year.
            models.UniqueConstraint(
                fields=["fiscal_year", "number"], name="document_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="document_amount_gte_0"
            ),
        ]
        # The GIN index on search_vector is created by a migration on PostgreSQL only.
        indexes = [
            # Date and amount ranges come together in the searches the law asks for.
            models.Index(fields=["transaction_date", "amount"], name="document_txdate_amount"),
            models.Index(fields=["amount", "id"], name="document_amount"),
            models.Index(fields=["counterparty"], name="document_counterparty"),
            models.Index(fields=["department", "status", "-created_at"], name="document_dept"),
            models.Index(fields=["drafter", "-created_at"], name="document_drafter"),
            models.Index(fields=["status", "-created_at"], name="document_status"),
        ]

    def __str__(self) -> str:
        return f"{self.number or '#' + str(self.pk)} {self.title}"

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


class DocumentVersion(models.Model):
    """One version of a document's content, and its decision record once generated."""

    document = models.ForeignKey(
        Document, verbose_name=_("document"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    # The metadata as it was when the version was frozen (title, amount, …), for the history.
    metadata: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("metadata"), default=dict
    )
    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The current decision record (each signature replaces it with a longer, incremental file).
    record_sha256 = models.CharField(_("record SHA-256"), max_length=64, blank=True)
    record_size = models.BigIntegerField(_("record size"), null=True, blank=True)
    record_pages = models.PositiveIntegerField(_("record pages"), null=True, blank=True)
    # What the record was built from; a draft's record is rebuilt when this changes.
    record_inputs = models.CharField(max_length=64, blank=True, editable=False)
    record_layout: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        default=dict, editable=False
    )

    class Meta:
        verbose_name = _("document version")
        verbose_name_plural = _("document versions")
        ordering = ["document", "number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="version_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.document_id} v{self.number}"


class AttachmentKind(models.TextChoices):
    PDF = "pdf", "PDF"
    IMAGE = "image", _("Image")
    OFFICE = "office", _("Office document")
    OTHER = "other", _("Other")


class Attachment(models.Model):
    """An original file (添付ファイル), kept byte-for-byte in the object store."""

    version = models.ForeignKey(
        DocumentVersion,
        verbose_name=_("version"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    position = models.PositiveIntegerField(_("position"))
    filename = models.CharField(_("file name"), max_length=255)
    size = models.BigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    content_type = models.CharField(_("content type"), max_length=128)
    kind = models.CharField(_("kind"), max_length=8, choices=AttachmentKind.choices)
    page_count = models.PositiveIntegerField(_("pages"), null=True, blank=True)
    # An encrypted PDF the drafter unlocked: the record is built from this decrypted copy, so no
    # password is ever stored.
    pdf_sha256 = models.CharField(_("readable PDF SHA-256"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="attachment_position"),
        ]
        indexes = [models.Index(fields=["sha256"], name="attachment_sha256")]

    def __str__(self) -> str:
        return self.filename

    @property
    def readable_pdf_sha256(self) -> str | None:
        if self.kind != AttachmentKind.PDF:
            return None
        return self.pdf_sha256 or self.sha256


class AccessReason(models.TextChoices):
    PARTICIPANT = "participant", _("On the route")
    DEPUTY = "deputy", _("Deputy")
    GRANT = "grant", _("Explicit grant")


class DocumentAccess(models.Model):
    """Who besides the drafter and their department may read a document, and why.

    The workflow adds a row for everyone on a route at submission; explicit grants (e.g. an
    auditor's access to a confidential record) are rows too, so visibility is one indexed join.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="document_accesses"
    )
    reason = models.CharField(max_length=16, choices=AccessReason.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("document access")
        verbose_name_plural = _("document accesses")
        constraints = [
            models.UniqueConstraint(
                fields=["document", "user", "reason"], name="document_access_unique"
            )
        ]
        indexes = [models.Index(fields=["user", "document"], name="document_access_user")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.document_id} ({self.reason})"


class RevisionKind(models.TextChoices):
    SIGNATURE = "signature", _("Signature")
    TIMESTAMP = "timestamp", _("Document timestamp")


class RecordRevision(models.Model):
    """One incremental revision appended to a frozen version's decision record.

    The record only ever grows: each approval appends its annotations and a signature, the
    decision a document timestamp. `sha256` names the whole file after this revision, so every
    earlier state stays retrievable, and `DocumentVersion.record_sha256` names the latest.
    """

    version = models.ForeignKey(
        DocumentVersion, on_delete=models.PROTECT, related_name="record_revisions"
    )
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=RevisionKind.choices)
    previous_sha256 = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    # The person who used the position key, and the absent person they acted for (代決).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    field_name = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    key_id = models.CharField(max_length=64, blank=True)
    certificate_serial = models.CharField(max_length=64, blank=True)
    timestamp = models.DateTimeField(null=True, blank=True)
    annotations = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["version", "seq"], name="record_revision_seq")
        ]

    def __str__(self) -> str:
        return f"{self.version} r{self.seq} {self.kind}"


class ConvertedPdf(models.Model):
    """The PDF LibreOffice made of an Office original, kept under the original's SHA-256 so that
    a record reuses it instead of converting again (documents.conversions)."""

    source_sha256 = models.CharField(_("original's SHA-256"), max_length=64, unique=True)
    pdf_sha256 = models.CharField(_("PDF's SHA-256"), max_length=64)
    pdf_size = models.BigIntegerField(_("PDF size"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("converted PDF")
        verbose_name_plural = _("converted PDFs")

    def __str__(self) -> str:
        return f"{self.source_sha256[:12]} → {self.pdf_sha256[:12]}"
