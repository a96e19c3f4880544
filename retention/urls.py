from django.urls import path

from retention import api, evidence_api

urlpatterns = [
    path(
        "v1/documents/<int:document_id>/evidence.zip",
        evidence_api.EvidencePackageView.as_view(),
        name="evidence",
    ),
    path("v1/retention/expired", api.ExpiredListView.as_view(), name="retention-expired"),
    path("v1/retention/disposals", api.DisposalListView.as_view(), name="retention-disposals"),
    path("v1/retention/tombstones", api.TombstoneListView.as_view(), name="retention-tombstones"),
]
