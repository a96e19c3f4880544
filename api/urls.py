from django.urls import include, path

from api import views
from security import stepup_api

app_name = "api"

urlpatterns = [
    path("v1/me", views.MeView.as_view(), name="me"),
    path("v1/tokens", views.TokenListView.as_view(), name="tokens"),
    path("v1/tokens/<str:token_id>", views.TokenDetailView.as_view(), name="token"),
    path("v1/step-up", stepup_api.StepUpView.as_view(), name="step-up"),
    path(
        "v1/step-up/security-key",
        stepup_api.StepUpSecurityKeyView.as_view(),
        name="step-up-security-key",
    ),
    path("", include("documents.urls")),
    path("", include("workflow.urls")),
    path("", include("notifications.urls")),
    path("", include("signing.urls")),
    path("", include("retention.urls")),
    path("", include("org.urls")),
    path("", include("briefings.urls")),
]
