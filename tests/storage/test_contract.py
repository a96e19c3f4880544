"""The object store contract, run against every backend (see conftest.py)."""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

import storage
from storage import (
    ObjectIntegrityError,
    ObjectNotFound,
    ObjectStore,
    RetentionError,
    key_for,
)
from tests.storage.conftest import GeneratedStream, MiB, OnePass, SourceFailure, StoreCase


def _put(case: StoreCase, data: bytes | object, **kwargs: object) -> storage.ObjectInfo:
    info = case.store.put(data, **kwargs)  # type: ignore[arg-type]
    case.created.append(info.key)
    return info


def _read(store: ObjectStore, key: str) -> bytes:
    with store.open(key, verify=True) as stream:
        return b"".join(stream)


def _assert_nothing_behind(case: StoreCase, *keys: str) -> None:
    for key in keys:
        assert not case.store.exists(key)
        assert case.all_versions(key) == []
    assert not {info.key for info in case.store.list()} & set(keys)
    assert case.pending_uploads() == []
    assert case.leftover_files() == []


# --- put and read back --------------------------------------------------------------------------


def test_small_object_round_trip(case: StoreCase) -> None:
    data = os.urandom(1000)
    info = _put(case, data, content_type="application/pdf")

    digest = hashlib.sha256(data).hexdigest()
    assert info.sha256 == digest
    assert info.key == key_for(digest) == f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"
    assert info.size == 1000
    assert info.content_type == "application/pdf"
    assert info.retain_until is None
    assert _read(case.store, info.key) == data
    assert case.store.stat(info.key) == info


def test_empty_object(case: StoreCase) -> None:
    info = _put(case, io.BytesIO(b""))
    assert info.sha256 == hashlib.sha256(b"").hexdigest()
    assert info.size == 0
    assert _read(case.store, info.key) == b""
    assert case.store.stat(info.key).size == 0


def test_large_stream_with_known_hash_is_streamed(case: StoreCase) -> None:
    size, seed = 40 * MiB + 123, os.urandom(8)
    digest = GeneratedStream.sha256(size, seed)
    info = _put(case, GeneratedStream(size, seed), sha256=digest, length=size)
    assert (info.sha256, info.size) == (digest, size)

    read_back, total = hashlib.sha256(), 0
    with case.store.open(info.key, verify=True) as stream:
        for chunk in stream:
            assert len(chunk) <= storage.CHUNK_SIZE
            read_back.update(chunk)
            total += len(chunk)
    assert (read_back.hexdigest(), total) == (digest, size)


def test_large_one_pass_stream_without_hash_is_spooled(case: StoreCase) -> None:
    size, seed = 20 * MiB + 1, os.urandom(8)
    info = _put(case, GeneratedStream(size, seed), content_type="application/zip")
    assert (info.sha256, info.size) == (GeneratedStream.sha256(size, seed), size)
    assert case.store.stat(info.key).content_type == "application/zip"
    assert case.leftover_files() == []


def test_seekable_stream_is_read_from_its_position(case: StoreCase) -> None:
    stream = io.BytesIO(b"HEADER" + b"body bytes")
    stream.seek(6)
    info = _put(case, stream)
    assert _read(case.store, info.key) == b"body bytes"


# --- content addressing -------------------------------------------------------------------------


def test_same_content_same_key(case: StoreCase) -> None:
    data = os.urandom(5000)
    first = _put(case, data, content_type="text/plain")
    second = _put(case, io.BytesIO(data), sha256=first.sha256, length=len(data))
    third = _put(case, OnePass(data))
    assert first.key == second.key == third.key
    # The first content type stays: one copy of the bytes, one set of attributes.
    assert second.content_type == "text/plain"
    assert [i.key for i in case.store.list(first.key)] == [first.key]
    if case.is_s3:
        assert len(case.all_versions(first.key)) == 1


def test_concurrent_puts_of_the_same_bytes(case: StoreCase) -> None:
    data = os.urandom(64 * 1024)
    keys: list[str] = []
    errors: list[BaseException] = []

    def put() -> None:
        try:
            keys.append(_put(case, data).key)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(keys)) == 1
    assert _read(case.store, keys[0]) == data


# --- integrity ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [100, 20 * MiB], ids=["small", "multipart"])
def test_sha256_mismatch_is_refused_and_leaves_nothing(case: StoreCase, size: int) -> None:
    seed = os.urandom(8)
    real = GeneratedStream.sha256(size, seed)
    claimed = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(ObjectIntegrityError, match="SHA-256 mismatch"):
        case.store.put(GeneratedStream(size, seed), sha256=claimed, length=size)
    with pytest.raises(ObjectIntegrityError):
        case.store.put(GeneratedStream(size, seed), sha256=claimed)  # length unknown
    _assert_nothing_behind(case, key_for(claimed), key_for(real))


@pytest.mark.parametrize("with_length", [True, False])
def test_existing_objects_still_verify_the_stream(case: StoreCase, with_length: bool) -> None:
    data = os.urandom(100)
    stored = _put(case, data, content_type="text/plain")
    other = b"other bytes"
    with pytest.raises(ObjectIntegrityError):
        case.store.put(other, sha256=stored.sha256, length=len(other) if with_length else None)
    assert _read(case.store, stored.key) == data
    again = _put(case, OnePass(data), sha256=stored.sha256, length=100 if with_length else None)
    assert again == stored
    if case.is_s3:
        assert len(case.all_versions(stored.key)) == 1


@pytest.mark.parametrize("announced", [99, 101])
def test_wrong_length_is_refused(case: StoreCase, announced: int) -> None:
    data = os.urandom(100)
    with pytest.raises(ObjectIntegrityError):
        case.store.put(io.BytesIO(data), length=announced)
    with pytest.raises(ObjectIntegrityError):
        case.store.put(
            GeneratedStream(100, b"x"), length=announced, sha256=GeneratedStream.sha256(100, b"x")
        )
    _assert_nothing_behind(case, key_for(hashlib.sha256(data).hexdigest()))


@pytest.mark.parametrize("with_hash", [True, False], ids=["hash-given", "spooled"])
def test_stream_failing_mid_upload_leaves_nothing(case: StoreCase, with_hash: bool) -> None:
    size, seed = 40 * MiB, os.urandom(8)
    digest = GeneratedStream.sha256(size, seed)
    stream = GeneratedStream(size, seed, fail_after=20 * MiB)
    with pytest.raises(SourceFailure):  # the caller's own error, not a storage error
        case.store.put(
            stream, sha256=digest if with_hash else None, length=size if with_hash else None
        )
    assert stream.position >= 20 * MiB
    _assert_nothing_behind(case, key_for(digest))
    # The upload's worker threads are gone too, not left waiting for parts that never come.
    assert not [t for t in threading.enumerate() if t.name.startswith("storage-upload")]


# --- stat, exists, list, delete -----------------------------------------------------------------


def test_stat_exists_list_delete(case: StoreCase) -> None:
    a = _put(case, os.urandom(10), content_type="image/png")
    b = _put(case, os.urandom(20))
    assert case.store.exists(a.key) and case.store.exists(b.key)
    assert case.store.stat(a.key).content_type == "image/png"

    listed = {info.key: info for info in case.store.list()}
    assert {a.key, b.key} <= set(listed)
    assert listed[a.key].size == 10 and listed[a.key].sha256 == a.sha256
    keys = list(listed)
    assert keys == sorted(keys)

    assert [i.key for i in case.store.list(a.key[:10])] == sorted(
        k for k in listed if k.startswith(a.key[:10])
    )
    assert [i.key for i in case.store.list(a.key)] == [a.key]

    case.store.delete(a.key)
    assert not case.store.exists(a.key)
    assert case.store.exists(b.key)
    assert a.key not in {i.key for i in case.store.list()}
    assert case.all_versions(a.key) == []  # gone for good, not hidden behind a delete marker
    # Stored again after deletion: a fresh object.
    assert _put(case, b"x" * 10).size == 10


def test_missing_objects(case: StoreCase) -> None:
    key = key_for(hashlib.sha256(os.urandom(16)).hexdigest())
    assert not case.store.exists(key)
    for call in (
        lambda: case.store.stat(key),
        lambda: case.store.open(key),
        lambda: case.store.delete(key),
        lambda: case.store.download_url(key, filename="a.pdf"),
    ):
        with pytest.raises(ObjectNotFound) as caught:
            call()
        assert caught.value.key == key
    assert list(case.store.list(key)) == []


@pytest.mark.parametrize(
    "bad", ["", "../etc/passwd", "sha256/00/01/" + "0" * 64, "sha256/ab/cd/" + "A" * 64]
)
def test_malformed_keys_are_rejected(case: StoreCase, bad: str) -> None:
    with pytest.raises(ValueError, match="Not an object key"):
        case.store.stat(bad)
    with pytest.raises(ValueError):
        case.store.open(bad)
    with pytest.raises(ValueError):
        case.store.delete(bad)


def test_reader_can_be_closed_early_and_reused_connections_still_work(case: StoreCase) -> None:
    info = _put(case, os.urandom(3 * MiB))
    for _ in range(30):  # more than the connection pool holds
        with case.store.open(info.key) as stream:
            assert len(stream.read(10)) == 10
    with case.store.open(info.key) as stream:
        assert stream.info.size == 3 * MiB
        assert len(stream.read()) == 3 * MiB
        assert stream.read(10) == b""
    assert stream.closed
    assert case.store.stat(info.key).size == 3 * MiB


# --- retention ----------------------------------------------------------------------------------


def test_retention_refuses_delete_before_the_date(case: StoreCase) -> None:
    until = datetime.now(UTC) + timedelta(seconds=30)
    info = _put(case, os.urandom(32), retain_until=until)
    expected = until.replace(microsecond=0) + timedelta(seconds=1)
    assert info.retain_until == expected
    assert case.store.stat(info.key).retain_until == expected
    with pytest.raises(RetentionError, match="retention until"):
        case.store.delete(info.key)
    assert _read(case.store, info.key)


def test_retention_ends(case: StoreCase) -> None:
    info = _put(case, os.urandom(32), retain_until=datetime.now(UTC) + timedelta(seconds=1))
    with pytest.raises(RetentionError):
        case.store.delete(info.key)
    assert info.retain_until is not None
    time.sleep(max(0.0, (info.retain_until - datetime.now(UTC)).total_seconds()) + 0.5)
    case.store.delete(info.key)
    assert not case.store.exists(info.key)


def test_retention_is_extended_never_shortened(case: StoreCase) -> None:
    data = os.urandom(32)
    now = datetime.now(UTC)
    first = _put(case, data)
    assert first.retain_until is None
    longer = _put(case, data, retain_until=now + timedelta(seconds=60))
    shorter = _put(case, data, retain_until=now + timedelta(seconds=20))
    assert shorter.retain_until == longer.retain_until
    assert case.store.stat(first.key).retain_until == longer.retain_until
    assert longer.retain_until is not None
    longest = _put(case, data, retain_until=longer.retain_until + timedelta(seconds=30))
    assert case.store.stat(first.key).retain_until == longest.retain_until


def test_retention_date_must_be_aware_and_future(case: StoreCase) -> None:
    with pytest.raises(ValueError, match="timezone"):
        case.store.put(b"x", retain_until=datetime.now() + timedelta(days=1))
    with pytest.raises(ValueError, match="future"):
        case.store.put(b"x", retain_until=datetime.now(UTC) - timedelta(days=1))
    assert not case.store.exists(key_for(hashlib.sha256(b"x").hexdigest()))


# --- download URLs ------------------------------------------------------------------------------


def test_download_url_carries_the_japanese_filename(case: StoreCase) -> None:
    data = os.urandom(2048)
    info = _put(case, data, content_type="application/pdf")
    filename = "令和6年度 起案書（第3号）.pdf"
    url = case.store.download_url(info.key, filename=filename, expires=timedelta(minutes=5))
    if not case.is_s3:
        assert url is None  # the caller streams open() through Django
        return
    assert url is not None
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback test server
        body = response.read()
        disposition = response.headers["Content-Disposition"]
        content_type = response.headers["Content-Type"]
    assert body == data
    assert content_type == "application/pdf"
    assert disposition.startswith("attachment;")
    encoded = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition)
    assert encoded is not None
    assert urllib.parse.unquote(encoded.group(1), encoding="utf-8") == filename
    with pytest.raises(ValueError):
        case.store.download_url(info.key, filename="a.pdf", expires=timedelta(days=8))
