"""minio's private request helpers that storage.minio_client drives (docs/architecture.md,
"Private code of libraries"): still there, with the parameters in the order we pass them."""

from __future__ import annotations

import inspect

import pytest
from minio import Minio

EXPECTED = {
    # _put_object(bucket, key, part, headers=...)
    "_put_object": ["bucket_name", "object_name", "data", "headers"],
    # _create_multipart_upload(bucket, key, {"Content-Type": ...})
    "_create_multipart_upload": ["bucket_name", "object_name", "headers"],
    # _upload_part(bucket, key, part, None, upload_id, number), positional
    "_upload_part": [
        "bucket_name",
        "object_name",
        "data",
        "headers",
        "upload_id",
        "part_number",
    ],
    # _complete_multipart_upload(bucket, key, upload_id, parts)
    "_complete_multipart_upload": ["bucket_name", "object_name", "upload_id", "parts"],
    # _abort_multipart_upload(bucket, key, upload_id)
    "_abort_multipart_upload": ["bucket_name", "object_name", "upload_id"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_minio_request_helpers_keep_their_parameters(name: str) -> None:
    method = getattr(Minio, name)
    params = list(inspect.signature(method).parameters)[1:]  # without self
    assert params[: len(EXPECTED[name])] == EXPECTED[name]
    # Anything after those must be optional: we never pass it.
    for extra in list(inspect.signature(method).parameters.values())[1 + len(EXPECTED[name]) :]:
        assert extra.default is not inspect.Parameter.empty, f"{name}: {extra.name} is required"


def test_put_object_sends_our_headers_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """_put_object hands `headers` to the request as they are (If-None-Match is no metadata)."""
    client = Minio("127.0.0.1:9", access_key="a", secret_key="b", secure=False)
    seen: dict[str, object] = {}

    class Response:
        headers = {"etag": '"x"', "x-amz-version-id": "v1"}

    def execute(method: str, bucket: str, key: str, **kwargs: object) -> Response:
        seen.update(kwargs, method=method)
        return Response()

    monkeypatch.setattr(client, "_execute", execute)
    result = client._put_object(
        "bucket", "key", b"data", headers={"Content-Type": "text/plain", "If-None-Match": "*"}
    )
    assert seen["method"] == "PUT"
    headers = seen["headers"]
    assert isinstance(headers, dict) and headers["If-None-Match"] == "*"
    assert result.version_id == "v1"
