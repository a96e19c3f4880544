from __future__ import annotations

import socket

import pytest
from django.test import Client

import storage


def test_healthz_reports_every_part(db):
    response = Client().get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "object_store", "channel_layer", "jobs"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_reports_an_unreachable_object_store(db, settings):
    settings.OBJECT_STORE = {
        "BACKEND": "minio",
        "ENDPOINT": f"127.0.0.1:{closed_port()}",
        "ACCESS_KEY": "x",
        "SECRET_KEY": "y" * 16,
        "BUCKET": "ekessai",
        "SECURE": False,
        "REGION": "us-east-1",
        "OBJECT_LOCK": False,
        "TIMEOUT": 2,
    }
    storage.reset_store()
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["object_store"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.redis
def test_healthz_uses_redis_when_configured(db, settings):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    assert "RedisPubSub" in settings.CHANNEL_LAYERS["default"]["BACKEND"]
    assert Client().get("/healthz").json()["checks"]["channel_layer"]["status"] == "ok"
