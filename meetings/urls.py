from django.urls import path

from meetings import api, views

app_name = "meetings"

M = "api/v1/meetings/<int:meeting_id>"

urlpatterns = [
    path("meetings/", views.meeting_list, name="list"),
    path("meetings/new/", views.meeting_form, name="new"),
    path("meetings/<int:meeting_id>/", views.room, name="room"),
    path("meetings/<int:meeting_id>/edit/", views.meeting_form, name="edit"),
    path("api/v1/meetings", api.MeetingListView.as_view(), name="meetings"),
    path(M, api.MeetingDetailView.as_view(), name="meeting"),
    path(f"{M}/start", api.StartView.as_view(), name="start"),
    path(f"{M}/close", api.CloseView.as_view(), name="close"),
    path(f"{M}/attendance", api.AttendanceView.as_view(), name="attendance"),
    path(f"{M}/documents", api.DocumentsView.as_view(), name="documents"),
    path(f"{M}/documents/<int:item_id>", api.DocumentDetailView.as_view(), name="document"),
    path(f"{M}/items/<int:item_id>/file", api.ItemFileView.as_view(), name="item-file"),
    path(f"{M}/attendees", api.AttendeesView.as_view(), name="attendees"),
    path(f"{M}/attendees/<str:username>", api.AttendeeDetailView.as_view(), name="attendee"),
    path(f"{M}/notes", api.NotesView.as_view(), name="notes"),
    path(f"{M}/notes/<int:note_id>", api.NoteDetailView.as_view(), name="note"),
    path(f"{M}/minutes.pdf", api.MinutesView.as_view(), name="minutes"),
]
