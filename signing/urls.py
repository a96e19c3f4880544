from django.urls import path

from signing import api, evidence_api

urlpatterns = [
    path(
        "v1/documents/<int:document_id>/verification",
        api.DocumentVerificationView.as_view(),
        name="verification",
    ),
    path(
        "v1/documents/<int:document_id>/evidence.zip",
        evidence_api.EvidencePackageView.as_view(),
        name="evidence",
    ),
    path("v1/verify", api.VerifyView.as_view(), name="verify"),
    path("v1/trust/root.pem", api.TrustRootView.as_view(), name="trust-root"),
]
