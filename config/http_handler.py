"""Django's HTTP under ASGI, with the synchronous part run in one go on a small pool of threads.

Django's own ASGIHandler runs a chain of synchronous middleware and views by hopping between the
event loop and threads: the request_started signal, the middleware, the view and the closing of
the response each cross over (the middleware here are all synchronous, so the chain was adapted
back and forth at both ends), and every request got a thread of its own (ThreadSensitiveContext).
Under 50 clients that meant as many requests inside Django at once as there were connections,
each holding a database connection while it waited for the interpreter lock, until the pool ran
out (503 database_unavailable), and each paid the hops in CPU.

Here the whole synchronous part of a request (request_started, the middleware chain and the
view, and for an ordinary response its close, which fires request_finished and gives the database
connection back to the pool) runs in one call on one of WEB_THREADS threads. Requests beyond that
wait in the event loop in the order they came (an asyncio.Semaphore is first come, first
served), holding no database connection; so a process never holds more connections than it has
threads, and the slowest requests are not starved behind newer ones (p99). Streaming responses
(downloads) are closed after they are sent, as Django does.

The threads share one interpreter lock, so more of them do not compute more: they let a core
work on one request while another waits on PostgreSQL. Processes (WEB_WORKERS) use the cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix


class ThreadPoolASGIHandler(ASGIHandler):
    def __init__(self, threads: int) -> None:
        base.BaseHandler.__init__(self)
        # The synchronous chain, as under WSGI: no adaptation between middleware.
        self.load_middleware(is_async=False)
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="django-http")
        # One semaphore per event loop (a server runs one; a test or a bench may run several).
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    def _in_thread(self, function: Any) -> Any:
        return sync_to_async(function, thread_sensitive=False, executor=self._executor)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(self.threads)
        started = False

        async def process_request() -> Any:
            nonlocal started
            async with slots:
                started = True
                response = await self._in_thread(self.respond)(scope, body_file)
            # Cancelled: the client went away while the answer was being sent.
            with contextlib.suppress(asyncio.CancelledError):
                await self.send_response(response, send)
            return response

        # As Django's handler: a client that disconnects cancels the sending of its answer
        # (a long download stops); a request already running in a thread runs to its end.
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request()),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            if started:
                await signals.request_finished.asend(sender=self.__class__)
        else:
            if response.streaming:
                await self._in_thread(response.close)()
        body_file.close()

    def respond(self, scope: dict[str, Any], body_file: Any) -> Any:
        """The synchronous part of one request, in one of the threads."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error = self.create_request(scope, body_file)
        response: Any = error if request is None else self.get_response(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if not response.streaming:
            # The body is in memory: request_finished now, so that the database connection is
            # back in the pool before the answer is written to the socket.
            response.close()
        return response
