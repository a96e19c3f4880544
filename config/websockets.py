"""WebSocket routes (under AuthMiddlewareStack, see config.asgi): notifications.routing."""

from django.urls import URLPattern

from notifications.routing import websocket_urlpatterns as notification_routes

websocket_urlpatterns: list[URLPattern] = [*notification_routes]
