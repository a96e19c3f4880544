"""ASGI entry point: HTTP through Django, WebSockets through Channels (config.websockets)."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models (the consumers do).
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402

from config.http_handler import ThreadPoolASGIHandler  # noqa: E402

# Django's ASGIHandler, with the synchronous middleware and view run in one call on WEB_THREADS
# threads (config.http_handler: fewer hops, and a bound on requests and connections at once).
django_asgi_app = ThreadPoolASGIHandler(settings.WEB_THREADS)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.cache import caches  # noqa: E402

from config.websocket_origin import OriginOrBearer  # noqa: E402
from config.websockets import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginOrBearer(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# Django keeps its cache objects in an asgiref Local, per context: every connection that reached
# the cache first from its own context made a client of its own, with its own Redis connection
# pool (1,000 sockets: 1,000 Redis connections and 100,000 more objects for the collector).
# Made here, in the context every connection's task is copied from, there is one per process.
caches.all()

# Python's full collection walks every object it tracks: with 1,000 sockets open one took
# 150-250 ms, more than a notice to everyone may take, and it came every few seconds under load,
# because the default threshold (700 new objects) promotes whatever a burst of frames has in
# flight. What is loaded by now (Django, the apps, the routes) lives as long as the process:
# frozen, no collection walks it again. The young generation may hold 20,000 objects, so a
# burst is over before it is collected (a collection of it takes a few ms); a full collection
# still comes once the survivors have grown by a quarter (connections opening, say).
gc.freeze()
gc.set_threshold(20_000, 10, 10)
