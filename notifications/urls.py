from django.urls import path

from notifications import api

urlpatterns = [
    path("v1/notifications", api.NotificationListView.as_view(), name="notifications"),
    path("v1/notifications/read", api.MarkReadView.as_view(), name="notifications-read"),
]
