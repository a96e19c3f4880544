"""A missing or malformed environment variable stops start-up with a message naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def start(env_overrides: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "MINIO_ENDPOINT", "SECRET_KEY", "EKESSAI_MODE"}
    }
    env |= {"EKESSAI_DATA_DIR": str(tmp_path), **env_overrides}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "nosuchdb://x/y"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
        ({"MINIO_ENDPOINT": "http://minio:9000"}, "MINIO_ENDPOINT"),
        ({"MINIO_ENDPOINT": "minio:9000"}, "MINIO_ACCESS_KEY"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"EKESSAI_MODE": "staging"}, "EKESSAI_MODE"),
        ({"EKESSAI_MODE": "production"}, "SECRET_KEY"),
        ({"EKESSAI_MODE": "production", "SECRET_KEY": "x" * 50}, "DATABASE_URL"),
        ({"SESSION_COOKIE_AGE": "ten"}, "SESSION_COOKIE_AGE"),
    ],
)
def test_bad_environment_names_the_variable(overrides, variable, tmp_path):
    result = start(overrides, tmp_path)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line
    assert f"Environment variable {variable}" in last_line


def test_embedded_defaults_need_no_service(tmp_path):
    result = start({}, tmp_path)
    assert result.returncode == 0, result.stderr
    # The per-installation secret key is created outside the repository, readable by us only.
    key_file = tmp_path / "secret_key"
    assert key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
