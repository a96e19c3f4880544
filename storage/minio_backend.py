"""The production object store: MinIO (or any S3 server) through the `minio` SDK.

The bucket is set up on first use, never at import or construction: created if missing (with
Object Lock when asked), versioning enabled. Retention uses S3 Object Lock in COMPLIANCE mode by
default: a public record's retention period is set by law (公文書管理法) and nobody, not even the
storage administrator, may shorten it; COMPLIANCE still allows extending it. GOVERNANCE (which a
privileged user can bypass) can be chosen with RETENTION_MODE for staging systems.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import IO, Any

from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.error import S3Error
from minio.helpers import check_bucket_name
from minio.retention import Retention

from storage.base import (
    ObjectInfo,
    ObjectStore,
    _url_lifetime,
    content_disposition,
    is_key,
    key_for,
    sha256_of_key,
)
from storage.errors import ObjectNotFound, RetentionError, StorageError, StorageUnavailable
from storage.minio_client import http_pool, setup_bucket, translate_error, upload
from storage.streams import (
    SPOOL_MEMORY,
    HashingReader,
    ObjectReader,
    Readable,
    measure_seekable,
    spool,
)

# Parts of 8 MiB, 3 in flight: measured faster than 16 MiB one at a time, and the memory an
# upload holds, (parallel + 1) parts plus one being assembled, stays near 40 MiB.
PART_SIZE = 8 * 1024 * 1024
PARALLEL_UPLOADS = 3


class MinioStore(ObjectStore):
    backend = "minio"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str | None,
        secret_key: str | None,
        bucket: str,
        secure: bool = True,
        region: str | None = None,
        object_lock: bool = True,
        timeout: float = 30,
        connect_timeout: float = 3.0,
        retries: int = 2,
        part_size: int = PART_SIZE,
        parallel_uploads: int = PARALLEL_UPLOADS,
        retention_mode: str = COMPLIANCE,
        public_endpoint: str | None = None,
        public_secure: bool | None = None,
        spool_dir: str | None = None,
    ) -> None:
        if retention_mode not in (COMPLIANCE, GOVERNANCE):
            raise ValueError(f"retention_mode must be {COMPLIANCE} or {GOVERNANCE}")
        check_bucket_name(bucket)  # a bad name fails at configuration, not on first use
        if not 5 * 1024 * 1024 <= part_size <= 5 * 1024**3:
            raise ValueError("part_size must be between 5 MiB and 5 GiB (S3 multipart limits)")
        self._endpoint = endpoint
        self._bucket = bucket
        self._object_lock = object_lock
        self._part_size = part_size
        self._parallel = max(1, parallel_uploads)
        self._mode = retention_mode
        self._spool_dir = spool_dir
        self._http = http_pool(timeout=timeout, connect_timeout=connect_timeout, retries=retries)
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key or ("" if access_key else None),
            secure=secure,
            region=region,
            http_client=self._http,
        )
        # Presigned URLs name the host the browser will fetch from; signing needs no request
        # when the region is known.
        self._presigner = self._client
        if public_endpoint:
            self._presigner = Minio(
                public_endpoint,
                access_key=access_key,
                secret_key=secret_key or ("" if access_key else None),
                secure=secure if public_secure is None else public_secure,
                region=region or "us-east-1",
                http_client=self._http,
            )
        self._setup_lock = threading.Lock()
        self._ready = False
        self._lock_enabled = False

    def __repr__(self) -> str:
        return f"MinioStore({self._endpoint!r}, bucket={self._bucket!r})"

    # --- errors and setup -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(
        self, key: str | None = None, source: HashingReader | None = None
    ) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except Exception as exc:
            if source is not None and exc is source.source_error:
                raise  # the caller's stream failed, not the store
            translated = self._translate(exc, key)
            if translated is exc:
                raise
            raise translated from exc

    def _translate(self, exc: Exception, key: str | None) -> Exception:
        if isinstance(exc, S3Error) and exc.code == "NoSuchBucket":
            self._ready = False  # recreate it on the next call
        return translate_error(exc, f"{self._endpoint}/{self._bucket}", key)

    def _ready_client(self) -> Minio:
        if not self._ready:
            with self._setup_lock, self._errors():
                if not self._ready:
                    self._lock_enabled = setup_bucket(
                        self._client, self._bucket, object_lock=self._object_lock
                    )
                    self._ready = True
        return self._client

    def supports_retention(self) -> bool:
        self._ready_client()
        return self._lock_enabled

    # --- objects --------------------------------------------------------------------------------

    def _info(self, key: str, size: int, content_type: str | None, headers: Any) -> ObjectInfo:
        until = headers.get("x-amz-object-lock-retain-until-date") if headers else None
        mode = headers.get("x-amz-object-lock-mode") if headers else None
        return ObjectInfo(
            key=key,
            sha256=sha256_of_key(key),
            size=size,
            content_type=content_type,
            retain_until=datetime.fromisoformat(until) if until and mode else None,
        )

    def stat(self, key: str) -> ObjectInfo:
        sha256_of_key(key)
        client = self._ready_client()
        with self._errors(key):
            obj = client.stat_object(self._bucket, key)
        return self._info(key, obj.size or 0, obj.content_type, obj.metadata)

    def _stat_or_none(self, key: str) -> ObjectInfo | None:
        try:
            return self.stat(key)
        except ObjectNotFound:
            return None

    def _put(
        self,
        source: Readable,
        *,
        length: int | None,
        sha256: str | None,
        content_type: str,
        retain_until: datetime | None,
    ) -> ObjectInfo:
        self._ready_client()  # an outage fails here, before the caller's stream is read
        spooled: IO[bytes] | None = None
        try:
            claimed = sha256 is not None
            if sha256 is None:
                measured = measure_seekable(source, length)
                if measured is None:
                    spooled, sha256, length = spool(
                        source, length, directory=self._spool_dir, max_memory=SPOOL_MEMORY
                    )
                    source = spooled
                else:
                    sha256, length = measured
            key = key_for(sha256)
            if length is None or length > self._part_size:
                # Too big for one conditional PUT: skip the upload if the bytes are stored.
                existing = self._stat_or_none(key)
                if existing is not None:
                    if claimed:  # the caller's claim is checked even when nothing is sent
                        HashingReader(
                            source, expected_sha256=sha256, expected_length=length
                        ).drain()
                    return self._keep(existing, retain_until)
            reader = HashingReader(source, expected_sha256=sha256, expected_length=length)
            with self._errors(key, source=reader):
                created, version_id = upload(
                    self._client,
                    self._bucket,
                    key,
                    reader,
                    content_type=content_type,
                    part_size=self._part_size,
                    parallel=self._parallel,
                )
            if not created:
                return self._keep(self.stat(key), retain_until)
            if retain_until is not None:
                self._retain(key, version_id, retain_until, fresh=True)
            return ObjectInfo(key, sha256, reader.size, content_type, retain_until)
        finally:
            if spooled is not None:
                spooled.close()

    def _retain(self, key: str, version_id: str | None, until: datetime, *, fresh: bool) -> None:
        """Lock a version until `until`.

        A separate PutObjectRetention rather than lock headers on the upload: S3 requires
        Content-MD5 on uploads with lock headers, which minio-py sends only over TLS (and not per
        part). If locking fails, a version just uploaded is removed so nothing unlocked remains
        that a retry would mistake for a locked record.
        """
        try:
            with self._errors(key):
                self._client.set_object_retention(
                    self._bucket, key, Retention(self._mode, until), version_id=version_id
                )
        except StorageError:
            if fresh:
                with contextlib.suppress(StorageError):
                    self._remove_version(key, version_id)
            raise

    def _keep(self, existing: ObjectInfo, retain_until: datetime | None) -> ObjectInfo:
        if retain_until is None or (
            existing.retain_until is not None and existing.retain_until >= retain_until
        ):
            return existing
        self._retain(existing.key, None, retain_until, fresh=False)
        return ObjectInfo(
            existing.key, existing.sha256, existing.size, existing.content_type, retain_until
        )

    def _remove_version(self, key: str, version_id: str | None) -> None:
        with self._errors(key):
            self._client.remove_object(self._bucket, key, version_id=version_id)

    def open(self, key: str, *, verify: bool = False) -> ObjectReader:
        return self._get(key, verify=verify)

    def open_range(self, key: str, start: int, length: int) -> ObjectReader:
        return self._get(key, start=start, length=length)

    def _get(
        self, key: str, *, verify: bool = False, start: int = 0, length: int | None = None
    ) -> ObjectReader:
        sha256_of_key(key)
        client = self._ready_client()
        with self._errors(key):
            if length is None:
                response = client.get_object(self._bucket, key)
            else:
                response = client.get_object(self._bucket, key, offset=start, length=length)
        try:
            length = int(response.headers.get("content-length", "0"))
            info = self._info(key, length, response.headers.get("content-type"), response.headers)
        except BaseException:
            response.close()
            response.release_conn()
            raise

        def release() -> None:
            # close() drops a half-read connection; release_conn() returns a finished one.
            response.close()
            response.release_conn()

        return ObjectReader(
            response, info, on_close=release, verify=verify, errors=lambda: self._errors(key)
        )

    def delete(self, key: str) -> None:
        info = self.stat(key)
        if info.is_retained():
            raise RetentionError(
                f"Object {key} is under retention until {info.retain_until:%Y-%m-%d %H:%M} UTC "
                "and cannot be deleted before then."
            )
        client = self._ready_client()
        # Every version goes: a plain DELETE on a versioned bucket only hides the bytes behind a
        # delete marker, and disposal (廃棄) must really dispose.
        with self._errors(key):
            versions = [
                obj.version_id
                for obj in client.list_objects(self._bucket, prefix=key, include_version=True)
                if obj.object_name == key
            ]
        for version_id in versions or [None]:
            try:
                with self._errors(key):
                    client.remove_object(self._bucket, key, version_id=version_id)
            except StorageError as exc:
                if isinstance(exc.__cause__, S3Error) and exc.__cause__.code in {
                    "AccessDenied",
                    "InvalidRequest",
                    "ObjectLocked",
                }:
                    raise RetentionError(
                        f"The object store refused to delete {key} (version {version_id}): it "
                        "is locked, or the access key may not delete object versions."
                    ) from exc
                raise

    def download_url(
        self, key: str, *, filename: str, expires: timedelta = timedelta(minutes=10)
    ) -> str | None:
        _url_lifetime(expires)
        info = self.stat(key)
        headers: dict[str, str | list[str] | tuple[str]] = {
            "response-content-disposition": content_disposition(filename)
        }
        if info.content_type:
            headers["response-content-type"] = info.content_type
        with self._errors(key):
            return self._presigner.presigned_get_object(
                self._bucket, key, expires=expires, response_headers=headers
            )

    def check(self) -> None:
        try:
            if self._ready:
                with self._errors():
                    present = self._client.bucket_exists(self._bucket)
                if not present:
                    self._ready = False
                    raise StorageUnavailable(f"bucket {self._bucket} does not exist")
            else:
                self._ready_client()
        except StorageUnavailable:
            raise
        except StorageError as exc:
            raise StorageUnavailable(str(exc)) from exc

    def close(self) -> None:
        self._http.clear()

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        client = self._ready_client()
        with self._errors():
            for obj in client.list_objects(self._bucket, prefix=prefix or None, recursive=True):
                name = obj.object_name or ""
                if obj.is_dir or not is_key(name):
                    continue
                yield ObjectInfo(name, sha256_of_key(name), obj.size or 0)
