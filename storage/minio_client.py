"""Plumbing of the MinIO backend: the HTTP pool, error translation, bucket setup."""

from __future__ import annotations

import logging
import os

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.versioningconfig import VersioningConfig

from storage.errors import ObjectNotFound, StorageError, StorageUnavailable

logger = logging.getLogger("storage.minio_backend")

_NOT_FOUND = {"NoSuchKey", "NoSuchVersion", "NoSuchObject"}
_OUTAGE = {
    "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout",
    "XMinioServerNotInitialized", "XMinioStorageFull", "XMinioReadQuorum", "XMinioWriteQuorum",
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
                bucket, exc.code,
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
