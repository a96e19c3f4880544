from django.urls import path

from org import api

urlpatterns = [
    path("v1/people", api.PeopleView.as_view(), name="people"),
]
