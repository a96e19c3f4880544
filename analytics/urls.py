from django.urls import path

from analytics import api, views

app_name = "analytics"

urlpatterns = [
    path("analytics/", views.page, name="page"),
    path("api/v1/analytics/lead-times", api.LeadTimesView.as_view(), name="lead-times"),
    path("api/v1/analytics/stages", api.StagesView.as_view(), name="stages"),
    path("api/v1/analytics/overdue", api.OverdueView.as_view(), name="overdue"),
    path("api/v1/analytics/rate", api.RateView.as_view(), name="rate"),
    path(
        "api/v1/analytics/paper-decisions",
        api.PaperDecisionListView.as_view(),
        name="paper-decisions",
    ),
    path("api/v1/analytics/<str:figure>.csv", api.CsvView.as_view(), name="csv"),
]
