from __future__ import annotations

from django.contrib import admin

from config.admin import ReadOnlyAdmin
from documents.models import Attachment, Document, DocumentAccess, DocumentType, DocumentVersion


@admin.register(DocumentType)
class DocumentTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "default_retention_years", "is_transaction", "sort_order"]
    search_fields = ["code", "name"]


class VersionInline(admin.TabularInline):
    model = DocumentVersion
    extra = 0
    can_delete = False
    fields = ["number", "frozen_at", "record_sha256", "record_pages"]
    readonly_fields = ["number", "frozen_at", "record_sha256", "record_pages"]


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    """Read-only: documents change only through the services (and so through the audit trail)."""

    list_display = ["id", "number", "title", "status", "department", "drafter", "created_at"]
    list_filter = ["status", "doc_type", "secrecy"]
    search_fields = ["number", "title", "counterparty"]
    inlines = [VersionInline]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["filename", "kind", "size", "sha256", "version"]
    search_fields = ["filename", "sha256"]


@admin.register(DocumentAccess)
class DocumentAccessAdmin(admin.ModelAdmin):
    list_display = ["document", "user", "reason", "granted_by", "granted_at"]
    search_fields = ["user__username", "document__title"]
