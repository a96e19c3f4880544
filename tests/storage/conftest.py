"""Fixtures for the object store contract: one suite, run against every backend available.

- filesystem: a temporary directory;
- s3server: moto's standalone S3 server on loopback, started once per session;
- minio: a real MinIO when MINIO_ENDPOINT is set (MINIO_ACCESS_KEY, MINIO_SECRET_KEY, MINIO_SECURE,
  MINIO_TEST_BUCKET), else skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import storage
from storage import ObjectStore, StorageError

MiB = 1024 * 1024


@dataclass
class StoreCase:
    kind: str  # "filesystem", "s3server" or "minio"
    store: ObjectStore
    config: dict[str, Any]
    root: Path | None = None
    created: list[str] = field(default_factory=list)

    @property
    def is_s3(self) -> bool:
        return self.kind != "filesystem"

    def boto3(self) -> Any:
        """A boto3 client on the same server, to look at what our interface cannot show."""
        import boto3

        scheme = "https" if self.config.get("SECURE") else "http"
        return boto3.client(
            "s3",
            endpoint_url=f"{scheme}://{self.config['ENDPOINT']}",
            aws_access_key_id=self.config["ACCESS_KEY"],
            aws_secret_access_key=self.config["SECRET_KEY"],
            region_name=self.config.get("REGION") or "us-east-1",
        )

    def pending_uploads(self) -> list[Any]:
        if not self.is_s3:
            return []
        uploads = self.boto3().list_multipart_uploads(Bucket=self.config["BUCKET"])
        return list(uploads.get("Uploads", []))

    def all_versions(self, key: str) -> list[Any]:
        if not self.is_s3:
            return []
        found = self.boto3().list_object_versions(Bucket=self.config["BUCKET"], Prefix=key)
        return [
            v for v in found.get("Versions", []) + found.get("DeleteMarkers", []) if v["Key"] == key
        ]

    def leftover_files(self) -> list[Path]:
        """Files under the file system root that are neither an object nor its sidecar."""
        if self.root is None or not self.root.exists():
            return []
        return [
            p
            for p in self.root.rglob("*")
            if p.is_file()
            and not storage.is_key(str(p.relative_to(self.root)).removesuffix(".json"))
        ]


def s3_config(endpoint: str, bucket: str, **extra: Any) -> dict[str, Any]:
    return {
        "BACKEND": "minio",
        "ENDPOINT": endpoint,
        "ACCESS_KEY": "testing",
        "SECRET_KEY": "testing",
        "BUCKET": bucket,
        "SECURE": False,
        "REGION": "us-east-1",
        "OBJECT_LOCK": True,
        "TIMEOUT": 10,
        **extra,
    }


def unique_bucket() -> str:
    return f"test-{uuid.uuid4().hex[:16]}"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    # Dummy credentials, so that nothing can reach a real AWS account by accident.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


def _minio_config() -> dict[str, Any] | None:
    endpoint = os.environ.get("MINIO_ENDPOINT")
    if not endpoint:
        return None
    return {
        "BACKEND": "minio",
        "ENDPOINT": endpoint,
        "ACCESS_KEY": os.environ.get("MINIO_ACCESS_KEY"),
        "SECRET_KEY": os.environ.get("MINIO_SECRET_KEY"),
        # One bucket for the session: objects under retention cannot be removed at teardown.
        "BUCKET": os.environ.get("MINIO_TEST_BUCKET", "ekessai-contract-tests"),
        "SECURE": os.environ.get("MINIO_SECURE", "false").lower() in {"1", "true", "yes", "on"},
        "REGION": os.environ.get("MINIO_REGION") or None,
        "OBJECT_LOCK": True,
        "TIMEOUT": 30,
    }


@pytest.fixture(
    params=[
        "filesystem",
        pytest.param("s3server", marks=pytest.mark.s3server),
        pytest.param("minio", marks=pytest.mark.minio),
    ]
)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreCase]:
    kind: str = request.param
    if kind == "filesystem":
        root = tmp_path / "store"
        config: dict[str, Any] = {"BACKEND": "filesystem", "ROOT": root}
        made = StoreCase(kind, storage.build_store(config), config, root=root)
    elif kind == "s3server":
        endpoint = request.getfixturevalue("moto_endpoint")
        config = s3_config(endpoint, unique_bucket())
        made = StoreCase(kind, storage.build_store(config), config)
    else:
        minio_config = _minio_config()
        if minio_config is None:
            pytest.skip("no real MinIO: set MINIO_ENDPOINT (and MINIO_ACCESS_KEY/SECRET_KEY)")
        made = StoreCase(kind, storage.build_store(minio_config), minio_config)
    yield made
    if kind == "minio":  # a shared bucket: remove what this test stored, where allowed
        for key in made.created:
            with contextlib.suppress(StorageError):
                made.store.delete(key)
    made.store.close()


@pytest.fixture
def store(case: StoreCase) -> ObjectStore:
    return case.store


class GeneratedStream:
    """A deterministic, non-seekable stream of `size` bytes, produced on the fly.

    `fail_after` makes it raise `SourceFailure` once that many bytes were read, as a client that
    disconnects mid-upload would.
    """

    def __init__(self, size: int, seed: bytes, *, fail_after: int | None = None) -> None:
        self.size = size
        self.position = 0
        self.fail_after = fail_after
        self._block = bytearray(hashlib.shake_256(seed).digest(MiB))

    def read(self, n: int = -1) -> bytes:
        if self.fail_after is not None and self.position >= self.fail_after:
            raise SourceFailure("the client went away")
        if n is None or n < 0:
            n = self.size
        index, offset = divmod(self.position, MiB)
        n = min(n, MiB - offset, self.size - self.position)
        if n <= 0:
            return b""
        self._block[:8] = index.to_bytes(8, "big")
        self.position += n
        return bytes(self._block[offset : offset + n])

    @classmethod
    def sha256(cls, size: int, seed: bytes) -> str:
        stream, digest = cls(size, seed), hashlib.sha256()
        while chunk := stream.read(MiB):
            digest.update(chunk)
        return digest.hexdigest()


class SourceFailure(RuntimeError):
    pass


class OnePass:
    """Bytes behind a stream that cannot seek, like a request body."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._buffer.read(n)

    def seekable(self) -> bool:
        return False
