from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

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
class DocumentAdmin(admin.ModelAdmin):
    """Read-only: documents change only through the services (and so through the audit trail)."""

    list_display = ["id", "number", "title", "status", "department", "drafter", "created_at"]
    list_filter = ["status", "doc_type", "secrecy"]
    search_fields = ["number", "title", "counterparty"]
    inlines = [VersionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["filename", "kind", "size", "sha256", "version"]
    search_fields = ["filename", "sha256"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DocumentAccess)
class DocumentAccessAdmin(admin.ModelAdmin):
    list_display = ["document", "user", "reason", "granted_by", "granted_at"]
    search_fields = ["user__username", "document__title"]
