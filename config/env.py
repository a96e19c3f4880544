"""Reading the environment for settings.

Every setting the deployment may change comes from an environment variable read here, so that a
missing or malformed value stops start-up with a message that names the variable, instead of a
stack trace from deep inside a library.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import environ
from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_env = environ.Env()
_MISSING: Any = object()


def _read(name: str, default: Any, parse: Callable[[str], T], hint: str) -> T:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        if default is _MISSING:
            raise ImproperlyConfigured(f"Environment variable {name} is required: {hint}")
        return default
    try:
        return parse(raw)
    except (ValueError, TypeError, KeyError, ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(
            f"Environment variable {name} has an invalid value ({exc}): expected {hint}"
        ) from exc


def string(name: str, default: Any = _MISSING, hint: str = "a string") -> Any:
    return _read(name, default, str, hint)


def boolean(name: str, default: Any = _MISSING) -> Any:
    def parse(raw: str) -> bool:
        value = raw.strip().lower()
        if value in {"1", "true", "yes", "on"}:
            return True
        if value in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"{raw!r} is not a boolean")

    return _read(name, default, parse, "one of 1/0, true/false, yes/no, on/off")


def integer(name: str, default: Any = _MISSING, minimum: int | None = None) -> Any:
    def parse(raw: str) -> int:
        value = int(raw)
        if minimum is not None and value < minimum:
            raise ValueError(f"{value} is below {minimum}")
        return value

    return _read(name, default, parse, "a whole number")


def strings(name: str, default: Any = _MISSING) -> Any:
    def parse(raw: str) -> list[str]:
        return [part.strip() for part in raw.split(",") if part.strip()]

    return _read(name, default, parse, "a comma-separated list")


def path(name: str, default: Any = _MISSING) -> Any:
    return _read(name, default, lambda raw: Path(raw).expanduser().resolve(), "a file system path")


def database(name: str, default: Any = _MISSING) -> Any:
    # PostgreSQL in production, SQLite for the embedded default; nothing else is tested.
    schemes = {"postgres", "postgresql", "pgsql", "sqlite"}

    def parse(raw: str) -> dict[str, Any]:
        scheme, sep, _rest = raw.partition("://")
        if not sep or scheme not in schemes:
            raise ValueError(f"scheme must be one of {', '.join(sorted(schemes))}")
        config = _env.db_url_config(raw)
        if config["ENGINE"] != "django.db.backends.sqlite3" and not config.get("NAME"):
            raise ValueError("no database name")
        return config

    return _read(name, default, parse, "a URL such as postgres://user:password@host:5432/name")


def redis_url(name: str, default: Any = _MISSING) -> Any:
    def parse(raw: str) -> str:
        if not raw.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("scheme must be redis://, rediss:// or unix://")
        return raw

    return _read(name, default, parse, "a URL such as redis://127.0.0.1:6379/0")


def host_port(name: str, default: Any = _MISSING) -> Any:
    def parse(raw: str) -> str:
        host, sep, port = raw.rpartition(":")
        if "/" in raw or not sep or not host or not port.isdigit():
            raise ValueError(f"{raw!r} is not host:port")
        return raw

    return _read(name, default, parse, "host:port without a scheme, e.g. minio.example.jp:9000")
