from django.urls import path

from signing import api

urlpatterns = [
    path("v1/trust/root.pem", api.TrustRootView.as_view(), name="trust-root"),
]
