"""Each place where the project drives a library through its private code, timed beside the
public way of doing the same thing, in the same run (rounds interleaved, order alternating).

    .venv/bin/python bench/private_code.py [--rounds N] [--only fastpath,trust,seal,...]

Sections (docs/architecture.md, "Private code of libraries", has the table):

- fastpath  signing.fastpath: pyHanko's xref/hex/array parsers and asn1crypto's name comparison
            patched, against pyHanko's own (all off, and each patch off alone): verify_pdf and
            sign_approval of a 500-page record
- trust     signing.trust._registry (copies certvalidator's private indexes) against
            CertificateRegistry.build, with 500 position certificates
- seal      signing.signer._SealImage (pyHanko's PdfImage._image_ref) against PdfImage
- cover     documents.record.cover.add_japanese_font (fpdf2's TTFFont copied, _hbfont,
            _set_min_pdf_version) against FPDF.add_font: one page in Noto Sans JP
- consumer  notifications.consumers.dispatch against channels' (close_old_connections per
            message): 1,000 consumers, one frame each
- redis     notifications.services._publish_pipelined (channels-redis internals) against
            group_send, 1,000 recipients (needs REDIS_URL or Redis on 127.0.0.1:6379)
- minio     storage.minio_client: _put_object with If-None-Match against stat_object +
            put_object, 64 KiB objects, on moto's S3 server (or MINIO_ENDPOINT)
- hooks     workflow.hooks (run_on_commit, savepoint_ids: one batch per transaction) against
            one transaction.on_commit per event: queries and time of an approval's after-commit
            work (needs PostgreSQL: BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432;
            a test database is made and dropped)

Printed per row: median and [minimum] of each way, and public / private of the medians. On a
shared machine the minimum shows the cost without the noise; a gain is "measured" when both
the medians and the minimums agree on it.
"""

from __future__ import annotations

import argparse
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))


# --- timing -------------------------------------------------------------------------------------


def compare(
    label: str, ways: dict[str, Callable[[], Any]], rounds: int, base: str | None = None
) -> dict[str, list[float]]:
    """Run every way once per round, order rotating; print median [min] and the ratio to
    `base` (the first way by default)."""
    names = list(ways)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            t = time.perf_counter()
            ways[name]()
            times[name].append(time.perf_counter() - t)
    base = base or names[0]
    b_med, b_min = statistics.median(times[base]), min(times[base])
    print(f"  {label}")
    for name in names:
        med, low = statistics.median(times[name]), min(times[name])
        ratio = "" if name == base else f"   x{med / b_med:.2f} [x{low / b_min:.2f}]"
        print(f"    {name:<44} {med * 1000:8.2f} ms [{low * 1000:8.2f}]{ratio}")
    return times


def django_setup(**env: str) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


# --- signing.fastpath ---------------------------------------------------------------------------


def make_pdf(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(0, 10, f"Decision record - page {i + 1}")
        pdf.ln()
        pdf.multi_cell(0, 5, "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 30)
    return bytes(pdf.output())


class Patches:
    """Switch signing.fastpath's patches on and off one by one."""

    def __init__(self) -> None:
        from asn1crypto import x509 as asn1_x509
        from pyhanko.pdf_utils import generic, xref

        from signing import fastpath

        assert fastpath.install(), "fastpath not active (untested library versions?)"
        self.fastpath = fastpath
        self.targets: dict[str, list[tuple[Any, str, str]]] = {
            "xref": [
                (xref, "parse_xref_table", "parse_xref_table"),
                (xref.XRefSectionData, "process_entries", "process_entries"),
            ],
            "hex": [(generic, "read_hex_string_from_stream", "read_hex")],
            "array": [(generic.ArrayObject, "read_from_stream", "read_array")],
            "rdn": [(asn1_x509.RelativeDistinguishedName, "_get_values", "rdn_values")],
        }
        self.patched = {
            (id(owner), attr): owner.__dict__[attr]
            for entries in self.targets.values()
            for owner, attr, _ in entries
        }

    def set(self, off: Sequence[str]) -> None:
        for name, entries in self.targets.items():
            for owner, attr, key in entries:
                if name in off:
                    original = self.fastpath._ORIGINAL[key]
                    value = staticmethod(original) if attr == "read_from_stream" else original
                else:
                    value = self.patched[(id(owner), attr)]
                setattr(owner, attr, value)


def bench_fastpath(rounds: int) -> None:
    tmp = tempfile.mkdtemp(prefix="bench-private-")
    os.environ["EKESSAI_PKI_DIR"] = tmp
    os.environ.setdefault("EKESSAI_KEY_PASSPHRASE", "bench-passphrase")
    os.environ.pop("TSA_URL", None)
    django_setup()
    from signing.keystore import get_keystore
    from signing.seal import render_seal
    from signing.signer import sign_approval
    from signing.verify import verify_pdf

    patches = Patches()
    store = get_keystore()
    store.ca.issue_position("somu-kacho", position="総務課長", section="総務部 総務課")
    seal = render_seal("佐藤", None, None)
    data = make_pdf(500)

    def sign() -> bytes:
        out = io.BytesIO()
        sign_approval(
            data,
            out,
            position_key_id="somu-kacho",
            reason="承認 総務課長",
            signer_name="佐藤 太郎",
            field_name="stamp-1",
            box=(0, 400, 700, 470, 770),
            seal_png=seal,
        )
        return out.getvalue()

    signed = sign()
    assert verify_pdf(signed).valid
    every = list(patches.targets)

    def way(off: Sequence[str], fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> None:
            patches.set(off)
            try:
                fn()
            finally:
                patches.set(())

        return run

    print("signing.fastpath (500-page record, internal TSA)")
    for label, fn in (("verify_pdf", lambda: verify_pdf(signed)), ("sign_approval", sign)):
        ways = {
            "all patches (private)": way((), fn),
            "none (pyHanko/asn1crypto's own)": way(every, fn),
        }
        for name in every:
            ways[f"all but {name}"] = way((name,), fn)
        compare(label, ways, rounds)


# --- signing.trust ------------------------------------------------------------------------------


def bench_trust(rounds: int) -> None:
    import datetime as dt
    from types import SimpleNamespace

    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko_certvalidator.registry import CertificateRegistry

    from signing import trust as trust_module

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ekessai 内部認証局")])
    now = dt.datetime.now(dt.UTC)

    def cert(name: x509.Name, key: Any, issuer: x509.Name) -> asn1_x509.Certificate:
        built = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(ca_key, hashes.SHA256())
        )
        return asn1_x509.Certificate.load(built.public_bytes(serialization.Encoding.DER))

    certs = [cert(ca_name, ca_key, ca_name)]
    for i in range(500):
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ekessai"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"総務部 第{i}課"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"第{i}課長"),
            ]
        )
        certs.append(cert(name, ec.generate_private_key(ec.SECP256R1()), ca_name))
    state = SimpleNamespace(certificates=certs)
    trust_module._registry(state)  # type: ignore[arg-type]  # the template, built once
    print("signing.trust (a validation context's certificate registry, 501 certificates)")
    compare(
        "registry per validation context",
        {
            "copy of the cached registry (private)": lambda: trust_module._registry(state),  # type: ignore[arg-type]
            "CertificateRegistry.build": lambda: CertificateRegistry.build(certs),
        },
        rounds * 3,
    )


# --- signing.signer seal image ------------------------------------------------------------------


def bench_seal(rounds: int) -> None:
    django_setup()
    from PIL import Image
    from pyhanko.pdf_utils.images import PdfImage
    from pyhanko.pdf_utils.writer import PdfFileWriter

    from signing import signer
    from signing.seal import render_seal

    seal = render_seal("佐藤", None, None)

    def private() -> None:
        image = signer._SealImage(signer._decode_seal(seal))
        image.writer = PdfFileWriter()
        _ = image.image_ref

    def public() -> None:
        image = PdfImage(Image.open(io.BytesIO(seal)))
        image.writer = PdfFileWriter()
        _ = image.image_ref

    print("signing.signer (the seal's image XObject, once per signature)")
    compare("seal image", {"_SealImage (private)": private, "PdfImage": public}, rounds * 5)


# --- documents.record.cover (fpdf2) -------------------------------------------------------------


def bench_cover(rounds: int) -> None:
    from fpdf import FPDF

    from documents.record import cover

    text = "起案用紙 総務部 総務課 通知文の発出について 決裁 承認 " * 20

    def page(add: Callable[[FPDF], None]) -> Callable[[], bytes]:
        def run() -> bytes:
            pdf = FPDF()
            add(pdf)
            pdf.add_page()
            pdf.set_font(cover.FONT_FAMILY, size=10)
            pdf.multi_cell(0, 6, text)
            return bytes(pdf.output())

        return run

    def public(pdf: FPDF) -> None:
        pdf.add_font(cover.FONT_FAMILY, fname=cover.font_path())

    page(cover.add_japanese_font)()  # the template, built once per process
    print("documents.record.cover (a page in Noto Sans JP, fpdf2)")
    compare(
        "one page written",
        {
            "add_japanese_font (copied template, private)": page(cover.add_japanese_font),
            "FPDF.add_font": page(public),
        },
        rounds,
    )


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_minio(rounds: int, size: int = 64 * 1024) -> None:
    from minio import Minio
    from minio.error import S3Error

    proc = None
    if os.environ.get("MINIO_ENDPOINT"):
        endpoint = os.environ["MINIO_ENDPOINT"]
        access, secret = os.environ.get("MINIO_ACCESS_KEY"), os.environ.get("MINIO_SECRET_KEY")
        where = f"MinIO at {endpoint}"
    else:
        port = _free_port()
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


SECTIONS = {
    "fastpath": bench_fastpath,
    "trust": bench_trust,
    "seal": bench_seal,
    "cover": bench_cover,
    "consumer": bench_consumer,
    "redis": bench_redis,
    "minio": bench_minio,
    "hooks": bench_hooks,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    args = parser.parse_args()
    for name in args.only.split(","):
        SECTIONS[name.strip()](args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
