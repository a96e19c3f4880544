"""Plumbing of the MinIO backend: HTTP pool, error translation, bucket setup, uploads."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED
from minio.datatypes import Part
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.versioningconfig import VersioningConfig

from storage.errors import ObjectNotFound, StorageError, StorageUnavailable
from storage.streams import HashingReader

logger = logging.getLogger("storage.minio_backend")

_NOT_FOUND = {"NoSuchKey", "NoSuchVersion", "NoSuchObject"}
_OUTAGE = {
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "XMinioServerNotInitialized",
    "XMinioStorageFull",
    "XMinioReadQuorum",
    "XMinioWriteQuorum",
}
_ACCESS = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
_NO_LOCK_CONFIG = {"ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration"}


def http_pool(
    *, timeout: float, connect_timeout: float = 3.0, retries: int = 2
) -> urllib3.PoolManager:
    """The SDK's default waits 5 minutes and retries 5 times: an outage would hang requests for
    half an hour. Here a dead server fails within seconds."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=timeout),
        maxsize=16,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(
            total=retries,
            # A black-holed host costs connect_timeout per attempt: two attempts at most.
            connect=min(retries, 1),
            read=1,
            status=retries,
            backoff_factor=0.2,
            backoff_max=2.0,
            status_forcelist=(500, 502, 503, 504),
            # A Retry-After of minutes would turn a 503 into a hung request.
            respect_retry_after_header=False,
        ),
    )


def translate_error(exc: Exception, where: str, key: str | None) -> Exception:
    """The `storage` exception for an SDK or transport exception (`exc` itself if none fits)."""
    if isinstance(exc, S3Error):
        status = exc.response.status if exc.response is not None else 0
        if exc.code in _NOT_FOUND and key is not None:
            return ObjectNotFound(key)
        if exc.code == "NoSuchBucket":
            return StorageUnavailable(f"{where}: the bucket does not exist")
        if status >= 500 or exc.code in _OUTAGE:
            return StorageUnavailable(f"{where}: {exc.code}")
        if exc.code in _ACCESS:
            return StorageError(
                f"The object store {where} refused access ({exc.code}): check "
                "MINIO_ACCESS_KEY, MINIO_SECRET_KEY and the key's policy."
            )
        return StorageError(
            f"The object store {where} refused the request: {exc.code}: {exc.message}"
        )
    if isinstance(exc, ServerError | InvalidResponseError):
        return StorageUnavailable(f"{where}: {exc}")
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return StorageUnavailable(f"{where}: {type(exc).__name__}")
    return exc


def setup_bucket(client: Minio, bucket: str, *, object_lock: bool) -> bool:
    """Create the bucket if missing and enable versioning; whether it has Object Lock."""
    if not client.bucket_exists(bucket):
        try:
            # Object Lock can only be switched on when a bucket is created.
            client.make_bucket(bucket, object_lock=object_lock)
            logger.info("created bucket %s (object lock: %s)", bucket, object_lock)
        except S3Error as exc:
            if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise
    try:
        client.get_object_lock_config(bucket)
        lock_enabled = True
    except S3Error as exc:
        if exc.code not in _NO_LOCK_CONFIG and exc.code != "AccessDenied":
            raise
        lock_enabled = False
        if object_lock:
            logger.warning(
                "bucket %s has no Object Lock (%s): puts with a retention date will be refused; "
                "recreate the bucket with object lock to keep records immutable",
                bucket,
                exc.code,
            )
    try:
        if client.get_bucket_versioning(bucket).status != ENABLED:
            client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    except S3Error as exc:
        if exc.code != "AccessDenied":
            raise
        # A least-privilege key may not manage the bucket; its administrator then does.
        logger.warning("cannot check versioning of bucket %s: %s", bucket, exc.code)
    return lock_enabled


_EXISTS = {"PreconditionFailed", "ConditionalRequestConflict"}


def upload(
    client: Minio,
    bucket: str,
    key: str,
    reader: HashingReader,
    *,
    content_type: str,
    part_size: int,
    parallel: int,
) -> tuple[bool, str | None]:
    """Send what `reader` yields to `key`: (created, version id); (False, None) if it existed.

    An object that fits in one part goes in one conditional PUT (If-None-Match: *): the server
    creates it only if absent, atomically, in one round trip. Larger objects go in parts of
    `part_size`, `parallel` at a time. The reader verifies the hash in the read that reaches the
    end, before the last part is sent, so a mismatch never completes an upload.

    This drives the SDK's internal request helpers (_put_object, _upload_part, ...; minio is
    pinned and the contract tests cover them) because its put_object() cannot send
    If-None-Match, and its parallel mode leaves threads blocked forever and parts still in flight
    when the caller's stream fails: here the pool is shut down and in-flight parts finish before
    the upload is aborted, so no part outlives the abort.
    """
    part = reader.read(part_size)
    if reader.finished or len(part) < part_size:
        reader.drain()  # raises if the stream was other than announced
        try:
            result = client._put_object(
                bucket, key, part, headers={"Content-Type": content_type, "If-None-Match": "*"}
            )
        except S3Error as exc:
            if exc.code in _EXISTS:
                return False, None
            raise
        return True, result.version_id
    # Handed over in a list, so that this frame does not keep the first part alive throughout.
    first = [part]
    del part
    return True, _upload_parts(
        client,
        bucket,
        key,
        reader,
        first,
        content_type=content_type,
        part_size=part_size,
        parallel=parallel,
    )


def _upload_parts(
    client: Minio,
    bucket: str,
    key: str,
    reader: HashingReader,
    first: list[bytes],
    *,
    content_type: str,
    part_size: int,
    parallel: int,
) -> str | None:
    """A multipart upload starting with the part in `first`; the new version's id."""
    upload_id = client._create_multipart_upload(bucket, key, {"Content-Type": content_type})
    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="storage-upload")
    in_flight: dict[Future[str], int] = {}
    parts: list[Part] = []

    def collect(when: str) -> None:
        done, _ = wait(in_flight, return_when=when)
        for future in done:
            parts.append(Part(in_flight.pop(future), future.result()))

    part = first.pop()  # one reference only: a part leaves memory as soon as it is sent
    try:
        number = 0
        while part:
            if len(in_flight) >= parallel:  # memory: `parallel` parts in flight, one being read
                collect(FIRST_COMPLETED)
            number += 1
            in_flight[
                pool.submit(client._upload_part, bucket, key, part, None, upload_id, number)
            ] = number
            part = b""  # drop our reference before reading the next part
            part = reader.read(part_size)
        collect(ALL_COMPLETED)
        parts.sort(key=lambda p: p.part_number)
        completed = client._complete_multipart_upload(bucket, key, upload_id, parts)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        try:
            client._abort_multipart_upload(bucket, key, upload_id)
        except Exception:  # the store is down: it expires stale uploads itself (MinIO: 24 h)
            logger.warning("could not abort multipart upload %s of %s", upload_id, key)
        raise
    finally:
        pool.shutdown(wait=True)
    return completed.version_id
