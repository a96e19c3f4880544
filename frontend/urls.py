from django.contrib.auth import views as auth_views
from django.urls import path

from frontend import briefing_pages, document_pages, route_pages, views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="frontend/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/tokens/", views.tokens, name="tokens"),
    path("documents/new/", document_pages.document_new, name="document_new"),
    path("documents/<int:document_id>/", document_pages.document, name="document"),
    path("documents/<int:document_id>/edit/", document_pages.document_edit, name="document_edit"),
    path(
        "documents/<int:document_id>/route-panel/",
        document_pages.route_panel,
        name="route_panel",
    ),
    path(
        "documents/<int:document_id>/route-preview/",
        document_pages.route_preview,
        name="route_preview",
    ),
    path("verify/", document_pages.verify, name="verify"),
    path("briefings/", briefing_pages.join, name="briefing_join"),
    path("briefings/<int:briefing_id>/", briefing_pages.briefing, name="briefing"),
    path("routes/", route_pages.routes, name="routes"),
    path("routes/<slug:code>/", route_pages.route_design, name="route_design"),
]
