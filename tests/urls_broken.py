"""URLs that fail on purpose, to test the API's error format for failures no real view has yet."""

from django.urls import include, path
from rest_framework.decorators import api_view

from storage import StorageUnavailable


@api_view(["GET"])
def boom(request):
    raise RuntimeError("boom")


@api_view(["GET"])
def storage_down(request):
    raise StorageUnavailable("connection refused")


urlpatterns = [
    path("api/v1/boom", boom),
    path("api/v1/storage-down", storage_down),
    path("", include("config.urls")),
]
