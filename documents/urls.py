from django.urls import path

from documents import api, audit_api, export_api, verification

urlpatterns = [
    path("v1/documents", api.DocumentListView.as_view(), name="documents"),
    path("v1/documents/export.csv", export_api.DocumentExportView.as_view(), name="export"),
    path("v1/documents/<int:document_id>", api.DocumentDetailView.as_view(), name="document"),
    path(
        "v1/documents/<int:document_id>/attachments",
        api.AttachmentListView.as_view(),
        name="attachments",
    ),
    path(
        "v1/documents/<int:document_id>/attachments.zip",
        api.AttachmentsZipView.as_view(),
        name="attachments-zip",
    ),
    path(
        "v1/documents/<int:document_id>/attachments/<int:attachment_id>",
        api.AttachmentDetailView.as_view(),
        name="attachment",
    ),
    path(
        "v1/documents/<int:document_id>/attachments/<int:attachment_id>/pages/<int:page>",
        api.AttachmentPageView.as_view(),
        name="attachment-page",
    ),
    path("v1/documents/<int:document_id>/record.pdf", api.RecordView.as_view(), name="record"),
    path(
        "v1/documents/<int:document_id>/record/pages/<int:page>",
        api.RecordPageView.as_view(),
        name="record-page",
    ),
    path(
        "v1/documents/<int:document_id>/verification",
        verification.DocumentVerificationView.as_view(),
        name="verification",
    ),
    path("v1/verify", verification.VerifyView.as_view(), name="verify"),
    path("v1/audit", audit_api.AuditListView.as_view(), name="audit"),
]
