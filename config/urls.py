from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config.health import healthz
from signing.views import timestamp_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # The internal RFC 3161 TSA for other tools (application/timestamp-query).
    path("tsa/", timestamp_view, name="tsa"),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("security/", include("security.urls")),
    path("security/webauthn/", include("security.webauthn")),
    # /analytics/ and /api/v1/analytics/...: one app, both faces (its own namespace).
    path("", include("analytics.urls")),
    # /meetings/... and /api/v1/meetings/...: one app, both faces (issue 21).
    path("", include("meetings.urls")),
    path("", include("frontend.urls")),
]

handler400 = "frontend.views.bad_request"
handler403 = "frontend.views.permission_denied"
handler404 = "frontend.views.page_not_found"
handler500 = "frontend.views.server_error"
