"""What is particular to one backend, to configuration, or to failure."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

import storage
from storage import (
    FilesystemStore,
    ObjectIntegrityError,
    RetentionError,
    StorageUnavailable,
    build_store,
    content_disposition,
)
from tests.storage.conftest import StoreCase, closed_port, s3_config, unique_bucket

# --- outages ------------------------------------------------------------------------------------


def test_unreachable_minio_raises_storage_unavailable() -> None:
    store = build_store(s3_config(f"127.0.0.1:{closed_port()}", "outage-bucket"))
    key = storage.key_for("0" * 64)
    started = time.monotonic()
    for call in (
        store.check,
        lambda: store.put(b"data"),
        lambda: store.stat(key),
        lambda: store.exists(key),
        lambda: store.open(key),
        lambda: list(store.list()),
        lambda: store.delete(key),
        lambda: store.download_url(key, filename="a.pdf"),
    ):
        with pytest.raises(StorageUnavailable, match="unreachable; try again later") as caught:
            call()
        assert "127.0.0.1" in str(caught.value)
    # Not a timing assertion, only a guard against minutes of retries.
    assert time.monotonic() - started < 60


def test_outage_does_not_read_the_callers_stream() -> None:
    store = build_store(s3_config(f"127.0.0.1:{closed_port()}", "outage-bucket"))

    class Untouchable:
        def read(self, n: int = -1) -> bytes:
            raise AssertionError("the stream was read although the store is down")

    with pytest.raises(StorageUnavailable):
        store.put(Untouchable())


def test_building_a_store_contacts_nothing() -> None:
    store = build_store(s3_config(f"127.0.0.1:{closed_port()}", "any-bucket"))
    assert store.backend == "minio"


def test_unwritable_filesystem_root_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    store = FilesystemStore(blocker / "objects")
    with pytest.raises(StorageUnavailable, match="unreachable"):
        store.check()
    with pytest.raises(StorageUnavailable):
        store.put(b"data")


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"BACKEND": "ftp"},
        {"BACKEND": "filesystem"},
        {"BACKEND": "filesystem", "ROOT": "/tmp/x", "BUCKET": "b"},
        {"BACKEND": "minio", "BUCKET": "ok-bucket"},
        {"BACKEND": "minio", "ENDPOINT": "127.0.0.1:9000", "BUCKET": "No_Such!"},
        {"BACKEND": "minio", "ENDPOINT": "127.0.0.1:9000", "RETENTION_MODE": "forever"},
        {"BACKEND": "minio", "ENDPOINT": "127.0.0.1:9000", "PART_SIZE": 1024},
    ],
)
def test_invalid_configuration(config: dict[str, str]) -> None:
    with pytest.raises(ImproperlyConfigured):
        build_store(config)


def test_get_store_follows_settings(settings: Any, tmp_path: Path) -> None:
    settings.OBJECT_STORE = {"BACKEND": "filesystem", "ROOT": tmp_path / "one"}
    first = storage.get_store()
    assert first is storage.get_store()
    assert isinstance(first, FilesystemStore) and first.root == tmp_path / "one"
    settings.OBJECT_STORE = {"BACKEND": "filesystem", "ROOT": tmp_path / "two"}
    second = storage.get_store()
    assert isinstance(second, FilesystemStore) and second.root == tmp_path / "two"
    storage.reset_store()
    assert storage.get_store() is not second


# --- S3 specifics -------------------------------------------------------------------------------


@pytest.mark.s3server
def test_bucket_without_object_lock_refuses_retention(moto_endpoint: str) -> None:
    store = build_store(s3_config(moto_endpoint, unique_bucket(), OBJECT_LOCK=False))
    assert store.supports_retention() is False
    data = os.urandom(64)
    with pytest.raises(RetentionError, match="cannot enforce retention"):
        store.put(data, retain_until=datetime.now(UTC) + timedelta(days=1))
    assert not store.exists(storage.key_for(hashlib.sha256(data).hexdigest()))
    assert store.put(data).size == 64  # without retention it is stored


@pytest.mark.s3server
def test_bucket_is_set_up_with_lock_and_versioning(moto_endpoint: str) -> None:
    config = s3_config(moto_endpoint, unique_bucket())
    case = StoreCase("s3server", build_store(config), config)
    case.store.check()
    client = case.boto3()
    assert client.get_bucket_versioning(Bucket=config["BUCKET"])["Status"] == "Enabled"
    lock = client.get_object_lock_configuration(Bucket=config["BUCKET"])
    assert lock["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    info = case.store.put(b"record", retain_until=datetime.now(UTC) + timedelta(seconds=30))
    # HEAD, not GetObjectRetention: moto 5.2.5 answers the latter with a 500.
    head = client.head_object(Bucket=config["BUCKET"], Key=info.key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] == info.retain_until
    # The server itself refuses, not only our pre-check.
    version = case.all_versions(info.key)[0]["VersionId"]
    with pytest.raises(client.exceptions.ClientError):
        client.delete_object(Bucket=config["BUCKET"], Key=info.key, VersionId=version)


@pytest.mark.s3server
def test_check_recreates_a_vanished_bucket(moto_endpoint: str) -> None:
    config = s3_config(moto_endpoint, unique_bucket())
    store = build_store(config)
    store.check()
    StoreCase("s3server", store, config).boto3().delete_bucket(Bucket=config["BUCKET"])
    with pytest.raises(StorageUnavailable, match="does not exist"):
        store.check()
    store.check()  # set up again
    assert store.put(b"after").size == 5


# --- file system specifics ----------------------------------------------------------------------


def test_filesystem_layout_is_read_only_and_atomic(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    info = store.put(b"record", content_type="application/pdf")
    path = tmp_path / info.key
    assert path.read_bytes() == b"record"
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert sorted(p.name for p in path.parent.iterdir()) == [info.sha256, info.sha256 + ".json"]
    assert list((tmp_path / ".tmp").iterdir()) == []


def test_filesystem_retention_survives_a_new_store(tmp_path: Path) -> None:
    until = datetime.now(UTC) + timedelta(days=365 * 30)
    info = FilesystemStore(tmp_path).put(b"kept for 30 years", retain_until=until)
    with pytest.raises(RetentionError):
        FilesystemStore(tmp_path).delete(info.key)
    assert FilesystemStore(tmp_path).stat(info.key).retain_until == info.retain_until


def test_verify_detects_corruption_on_disk(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    info = store.put(b"original bytes")
    path = tmp_path / info.key
    os.chmod(path, 0o600)
    path.write_bytes(b"0riginal bytes")
    with store.open(info.key) as stream:  # without verify: read as is
        assert stream.read() == b"0riginal bytes"
    with store.open(info.key, verify=True) as stream, pytest.raises(ObjectIntegrityError):
        stream.read()


def test_check_creates_the_root(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "a" / "b")
    store.check()
    assert (tmp_path / "a" / "b").is_dir()


# --- Content-Disposition ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("report.pdf", 'attachment; filename="report.pdf"'),
        (
            "起案書.pdf",
            "attachment; filename=\"___.pdf\"; filename*=UTF-8''%E8%B5%B7%E6%A1%88%E6%9B%B8.pdf",
        ),
        ('a"b\\c.txt', 'attachment; filename="c.txt"'),
        ("../../etc/passwd", 'attachment; filename="passwd"'),
        ("evil\r\nSet-Cookie: x.txt", 'attachment; filename="evilSet-Cookie: x.txt"'),
        ("", 'attachment; filename="download"'),
        ("100%.txt", "attachment; filename=\"100_.txt\"; filename*=UTF-8''100%25.txt"),
    ],
)
def test_content_disposition(filename: str, expected: str) -> None:
    assert content_disposition(filename) == expected


def test_content_disposition_normalises_decomposed_japanese() -> None:
    decomposed = "か\u3099いと\u3099.pdf"  # が + いど typed on macOS
    assert content_disposition(decomposed) == content_disposition("がいど.pdf")
    assert content_disposition("a.pdf", inline=True).startswith("inline;")
