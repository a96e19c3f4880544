from django.urls import path

from briefings import api

urlpatterns = [
    path("v1/briefings", api.BriefingListView.as_view(), name="briefings"),
    path("v1/briefings/join", api.JoinView.as_view(), name="briefing-join"),
    path("v1/briefings/<int:briefing_id>", api.BriefingView.as_view(), name="briefing"),
    path(
        "v1/briefings/<int:briefing_id>/handover",
        api.HandoverView.as_view(),
        name="briefing-handover",
    ),
    path("v1/briefings/<int:briefing_id>/end", api.EndView.as_view(), name="briefing-end"),
]
