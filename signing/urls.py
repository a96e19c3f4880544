from django.urls import path

from signing import api

urlpatterns = [
    path("v1/trust/root.pem", api.TrustRootView.as_view(), name="trust-root"),
    # the CRL distribution point of our certificates (signing.conf.CRL_PATH)
    path("v1/trust/crl.crl", api.CrlView.as_view(), name="trust-crl"),
]
