"""Retention (保存) of decided records, and their disposal (廃棄) or transfer (移管).

- `RetentionState`: one row per decided record, written right after the decision: the end of
  its retention period and how far the object store has been told to lock its objects.
- `DisposalRequest` / `DisposalItem`: a disposal or transfer is itself a document (type
  ``disposal``) that goes through an approval route; these rows link it to the records it names.
- `Tombstone` / `TombstoneObject`: what remains of a disposed record, forever: its identity, its
  period, the decision that disposed of it and the SHA-256 and size of every object deleted.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RetentionState(models.Model):
    """The retention of one decided record.

    Stored rather than computed on every read: the list of expired records is then one indexed
    range query (`retention_end < today`) over any number of records, and the catch-up finds
    records whose lock is missing or too short (`locked_until`) without asking the object store
    about every object of every record.
    """

    document = models.OneToOneField(
        "documents.Document",
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="retention",
        verbose_name=_("document"),
    )
    retention_end = models.DateField(
        _("end of the retention period"),
        null=True,
        blank=True,
        help_text=_("The last day; empty for records kept permanently."),
    )
    # The retention date every object of the record is known to carry in the store (the
    # earliest of them); NULL until a lock has succeeded. Never moves back.
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    # The decision record the lock covered: an archival timestamp renewal (signing.renewal)
    # stores a longer record after the decision, which needs its own lock.
    locked_record_sha256 = models.CharField(max_length=64, blank=True)
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    lock_error = models.CharField(_("last lock error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("retention state")
        verbose_name_plural = _("retention states")
        indexes = [models.Index(fields=["retention_end", "document"], name="retention_end")]

    def __str__(self) -> str:
        return f"{self.document_id} until {self.retention_end or 'permanent'}"


class DisposalAction(models.TextChoices):
    DISPOSE = "dispose", _("Disposal (廃棄)")
    TRANSFER = "transfer", _("Transfer to the archives (移管)")


class DisposalRequest(models.Model):
    """A request to dispose of (or transfer) records, carried by a document of its own."""

    document = models.OneToOneField(
        "documents.Document",
        on_delete=models.PROTECT,
        related_name="disposal_request",
        verbose_name=_("request document"),
    )
    action = models.CharField(_("disposal action"), max_length=16, choices=DisposalAction.choices)
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Set once every record of the decided request has been disposed of (or skipped).
    executed_at = models.DateTimeField(_("carried out at"), null=True, blank=True)

    class Meta:
        verbose_name = _("disposal request")
        verbose_name_plural = _("disposal requests")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.document_id}"


class ItemStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")


class DisposalItem(models.Model):
    request = models.ForeignKey(DisposalRequest, on_delete=models.PROTECT, related_name="items")
    record = models.ForeignKey(
        "documents.Document", on_delete=models.PROTECT, related_name="disposal_items"
    )
    position = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["request", "position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "record"], name="disposal_item_unique")
        ]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.record_id} ({self.status})"


class TombstoneQuerySet(models.QuerySet["Tombstone"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("tombstones are kept unchanged forever")

    def delete(self) -> NoReturn:
        raise PermissionError("tombstones are kept forever")


class Tombstone(models.Model):
    """What remains of a disposed or transferred record. Written once, never changed or deleted.

    The record's identity is copied (number, title, department) so that the tombstone still
    reads the same after departments are renamed; the document row stays too, with its status
    disposed or transferred, so numbers and links to it keep resolving.
    """

    document = models.OneToOneField(
        "documents.Document", on_delete=models.PROTECT, related_name="tombstone"
    )
    action = models.CharField(_("disposal action"), max_length=16, choices=DisposalAction.choices)
    number = models.CharField(_("document number"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    department_code = models.CharField(max_length=64)
    department_name = models.CharField(_("department"), max_length=200)
    decided_at = models.DateTimeField(_("decided at"))
    retention_years = models.PositiveSmallIntegerField(_("retention period"))
    retention_end = models.DateField(_("end of the retention period"))
    request = models.ForeignKey(
        DisposalRequest, on_delete=models.PROTECT, related_name="tombstones"
    )
    request_number = models.CharField(_("request number"), max_length=64)
    # Who decided the request, and for whom (代決), and when.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by_name = models.CharField(max_length=200)
    decided_on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    request_decided_at = models.DateTimeField(_("request decided at"))
    # 移管: the evidence package handed to the archives, kept in the object store.
    transfer_sha256 = models.CharField(max_length=64, blank=True)
    transfer_size = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(_("disposed at"), auto_now_add=True)

    objects = TombstoneQuerySet.as_manager()

    class Meta:
        verbose_name = _("tombstone")
        verbose_name_plural = _("tombstones")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.number} ({self.get_action_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionError("tombstones are kept unchanged forever")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("tombstones are kept forever")


class ObjectRole(models.TextChoices):
    RECORD = "record", _("Decision record")
    REVISION = "revision", _("Earlier state of the record")
    ORIGINAL = "original", _("Original")
    READABLE_PDF = "readable_pdf", _("Unlocked copy of an encrypted PDF")


class ObjectStatus(models.TextChoices):
    PENDING = "pending", _("To be deleted")
    DELETED = "deleted", _("Deleted")
    GONE = "gone", _("Already absent")
    SHARED = "shared", _("Kept: another record holds the same bytes")
    RETAINED = "retained", _("Kept for now: the store still retains it")


class TombstoneObject(models.Model):
    """One stored object of a disposed record: its address (SHA-256), size and fate."""

    tombstone = models.ForeignKey(
        Tombstone, on_delete=models.PROTECT, related_name="stored_objects"
    )
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.BigIntegerField(_("size"), null=True, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=ObjectRole.choices)
    version = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("file name"), max_length=255, blank=True)
    status = models.CharField(
        max_length=16, choices=ObjectStatus.choices, default=ObjectStatus.PENDING
    )
    note = models.CharField(max_length=300, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tombstone", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tombstone", "sha256"], name="tombstone_object_unique")
        ]
        indexes = [models.Index(fields=["status"], name="tombstone_object_status")]

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.role}, {self.status})"
