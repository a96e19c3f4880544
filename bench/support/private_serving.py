"""bench/private_code.py: the private code of channels, channels-redis, minio and Django on the
serving side (notifications, storage, workflow.hooks), each timed beside the public way."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.support.servers import free_port
from bench.support.timing import compare, django_setup

# --- notifications.consumers --------------------------------------------------------------------


class _Layer:
    """Just enough of a channel layer: one queue per channel."""

    def __init__(self) -> None:
        self.queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}

    async def new_channel(self) -> str:
        name = f"c.{len(self.queues)}"
        self.queues[name] = asyncio.Queue()
        return name

    async def receive(self, channel: str) -> dict[str, Any]:
        return await self.queues[channel].get()


def bench_consumer(rounds: int, clients: int = 1000) -> None:
    django_setup()
    from channels import consumer as channels_consumer
    from channels.consumer import AsyncConsumer

    from notifications import consumers

    class ChannelsDispatch(consumers.NotificationConsumer):
        dispatch = AsyncConsumer.dispatch

    async def fan_out(cls: type[consumers.NotificationConsumer]) -> float:
        layer = _Layer()
        original = channels_consumer.get_channel_layer
        channels_consumer.get_channel_layer = lambda alias: layer
        sent = 0
        done = asyncio.Event()
        never: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        async def receive() -> dict[str, Any]:
            return await asyncio.shield(never)

        async def send(message: dict[str, Any]) -> None:
            nonlocal sent
            sent += 1
            if sent == clients:
                done.set()

        tasks = []
        try:
            for _ in range(clients):
                c = cls()
                c.user_id, c.replayed, c.credentials_checked_at = 1, set(), time.monotonic()
                tasks.append(asyncio.ensure_future(c({"type": "websocket"}, receive, send)))
            while len(layer.queues) < clients:
                await asyncio.sleep(0)
            await asyncio.sleep(0.01)
            frame = {"id": 7, "type": "task.assigned", "title": "通知文の発出について"}
            t = time.perf_counter()
            for q in layer.queues.values():
                q.put_nowait({"type": "notify", "id": 7, "frame": frame})
            await done.wait()
            return time.perf_counter() - t
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            channels_consumer.get_channel_layer = original

    def run(cls: type[consumers.NotificationConsumer]) -> Callable[[], float]:
        return lambda: asyncio.run(fan_out(cls))

    print(f"notifications.consumers ({clients} consumers, one pushed frame each)")
    compare(
        "a notice to every consumer",
        {
            "own dispatch (no close_old_connections)": run(consumers.NotificationConsumer),
            "channels' dispatch": run(ChannelsDispatch),
        },
        rounds,
    )


# --- notifications.services (channels-redis) ----------------------------------------------------


def bench_redis(rounds: int, recipients: int = 1000) -> None:
    django_setup()
    from channels_redis.pubsub import RedisPubSubChannelLayer

    from notifications import services

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    prefix = f"bench-private-{uuid.uuid4().hex[:8]}"
    messages = [
        (f"user.{i}", {"type": "notify", "id": i, "frame": {"id": i, "title": "通知"}})
        for i in range(recipients)
    ]

    async def main() -> None:
        layer = RedisPubSubChannelLayer(hosts=[url], prefix=prefix)

        async def pipelined() -> None:
            assert await services._publish_pipelined(layer, messages)

        async def one_by_one() -> None:
            for group, message in messages:
                await layer.group_send(group, message)

        async def gathered() -> None:
            await asyncio.gather(*(layer.group_send(g, m) for g, m in messages))

        ways = {
            "one pipeline per shard (private)": pipelined,
            "group_send one by one": one_by_one,
            "group_send, all gathered": gathered,
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        for name in ways:  # warm: connection
            await ways[name]()
        for r in range(rounds * 3):
            names = list(ways)
            for name in names[r % 3 :] + names[: r % 3]:
                t = time.perf_counter()
                await ways[name]()
                times[name].append(time.perf_counter() - t)
        await layer.flush()
        base = "one pipeline per shard (private)"
        b_med, b_min = statistics.median(times[base]), min(times[base])
        print("  PUBLISH to every recipient's group")
        for name, values in times.items():
            med, low = statistics.median(values), min(values)
            ratio = "" if name == base else f"   x{med / b_med:.2f} [x{low / b_min:.2f}]"
            print(f"    {name:<44} {med * 1000:8.2f} ms [{low * 1000:8.2f}]{ratio}")

    print(f"notifications.services (channels-redis, {recipients} recipients, {url})")
    asyncio.run(main())


# --- storage.minio_client -----------------------------------------------------------------------


def bench_minio(rounds: int, size: int = 64 * 1024) -> None:
    from minio import Minio
    from minio.error import S3Error

    proc = None
    if os.environ.get("MINIO_ENDPOINT"):
        endpoint = os.environ["MINIO_ENDPOINT"]
        access, secret = os.environ.get("MINIO_ACCESS_KEY"), os.environ.get("MINIO_SECRET_KEY")
        where = f"MinIO at {endpoint}"
    else:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        endpoint, access, secret, where = f"127.0.0.1:{port}", "bench", "bench-secret", "moto"
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
    try:
        client = Minio(endpoint, access_key=access, secret_key=secret, secure=False)
        bucket = f"bench-private-{uuid.uuid4().hex[:8]}"
        client.make_bucket(bucket)
        body = os.urandom(size)

        def private() -> None:
            key = uuid.uuid4().hex
            client._put_object(
                bucket, key, body, headers={"Content-Type": "application/pdf", "If-None-Match": "*"}
            )

        def public() -> None:
            key = uuid.uuid4().hex
            try:
                client.stat_object(bucket, key)
            except S3Error as exc:
                if exc.code not in {"NoSuchKey", "NoSuchObject"}:
                    raise
            client.put_object(bucket, key, io.BytesIO(body), size, content_type="application/pdf")

        key = uuid.uuid4().hex
        client._put_object(bucket, key, body, headers={"If-None-Match": "*"})
        try:
            client._put_object(bucket, key, body, headers={"If-None-Match": "*"})
            honoured = "no (the server ignores it)"
        except S3Error as exc:
            honoured = f"yes ({exc.code})"
        print(
            f"storage.minio_client ({size // 1024} KiB objects, {where}; "
            f"If-None-Match honoured: {honoured})"
        )
        compare(
            "put of a new object",
            {
                "_put_object, If-None-Match: * (private)": private,
                "stat_object + put_object (public)": public,
            },
            rounds * 10,
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()


# --- workflow.hooks -----------------------------------------------------------------------------


def bench_hooks(rounds: int) -> None:
    url = os.environ.get(
        "BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/ekessai_private_{os.getpid()}"
    )
    # The test database is made beside it (test_<name>) and dropped at the end; mail for
    # offline recipients goes to a temporary directory.
    django_setup(DATABASE_URL=url, EKESSAI_DATA_DIR=tempfile.mkdtemp(prefix="bench-private-"))
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        call_command("seed_demo", verbosity=0, stdout=io.StringIO())
        from documents.models import DocumentType
        from documents.services import create_document
        from org.models import User
        from workflow import hooks

        tanaka = User.objects.get(username="tanaka")
        people = list(User.objects.filter(username__in=["suzuki", "sato", "ito"]))
        document = create_document(
            tanaka,
            {
                "title": "通知文の発出について",
                "doc_type": DocumentType.objects.get(code="notice"),
                "amount": 100_000,
                "retention_years": 1,
            },
        )
        # An approval's events: the approver's task done, the next one's assigned, a
        # circulation slot and a post-review opened (workflow.events).
        from workflow import events as ev

        d = document.pk
        events = [
            ev.TaskCompleted(
                document_id=d, user_ids=(tanaka.pk,), slot_id=1, kind="approval", status="done"
            ),
            ev.TaskAssigned(
                document_id=d, user_ids=(people[0].pk,), slot_id=2, kind="approval", stage="1"
            ),
            ev.TaskAssigned(
                document_id=d, user_ids=(people[1].pk,), slot_id=3, kind="circulation", stage="1"
            ),
            ev.PostReviewAssigned(
                document_id=d, user_ids=(people[2].pk,), slot_id=4, kind="post_review", stage="1"
            ),
        ]

        def batched() -> None:
            with transaction.atomic():
                for event in events:
                    hooks._emit(event)

        def per_event() -> None:
            with transaction.atomic():
                for event in events:
                    batch = hooks._Batch()
                    batch.events.append(event)
                    transaction.on_commit(batch)

        for fn, name in ((batched, "batched"), (per_event, "per event")):
            with CaptureQueriesContext(connection) as queries:
                fn()
            print(f"  {name}: {len(queries)} queries (transaction and after-commit work)")
        print("workflow.hooks (4 events of one approval, after-commit listeners, PostgreSQL)")
        compare(
            "after-commit work",
            {
                "one batch per transaction (run_on_commit)": batched,
                "one on_commit per event (public)": per_event,
            },
            rounds * 3,
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
