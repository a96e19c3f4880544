from django.urls import path

from audit import api

urlpatterns = [
    path("v1/audit", api.AuditListView.as_view(), name="audit"),
]
