"""WebSocket routes. The notifications consumer joins here when it is built."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
