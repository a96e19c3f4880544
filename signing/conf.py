"""Signing settings, read from Django settings with environment fallbacks.

Settings (all optional; config/settings.py need not define them):

``SIGNING_PKI_DIR``
    Directory of the internal CA (keys, certificates, CRL). Default: ``DATA_DIR / "pki"``;
    environment ``EKESSAI_PKI_DIR``.
``SIGNING_KEY_PASSPHRASE``
    Passphrase that encrypts private keys at rest; environment ``EKESSAI_KEY_PASSPHRASE``
    (the environment wins). Mandatory in production.
``SIGNING_TSA_URL``, ``SIGNING_TSA_USERNAME``, ``SIGNING_TSA_PASSWORD``
    External RFC 3161 TSA; environment ``TSA_URL``, ``TSA_USERNAME``, ``TSA_PASSWORD``.
    Without a URL the internal TSA signs timestamps in process.
``SIGNING_TSA_TIMEOUT``
    Seconds to wait for the external TSA (default 10).
``SIGNING_EXTRA_TRUST_ROOTS``
    Paths of PEM/DER files with further trust roots for verification (e.g. an LGPKI root);
    environment ``EKESSAI_EXTRA_TRUST_ROOTS`` (``os.pathsep``-separated).
``SIGNING_CRL_URL``
    The CRL distribution point written into issued certificates (position and TSA), for
    validators outside the deployment. Default: ``SITE_URL`` + :data:`CRL_PATH`, served
    without login by :class:`signing.api.CrlView`; an empty string leaves it out.
``SIGNING_ORGANISATION``
    O= of the internal CA (default サンプル市); environment ``EKESSAI_ORGANISATION``.
``SIGNING_BYTES_RESERVED``
    Space reserved for each CMS signature, in hex digits as pyHanko counts it (two per byte):
    default 16384 (8 KiB; our signatures with timestamp are ~4 KiB), 32768 with an external TSA.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings


def setting(name: str, env: str | None = None, default: Any = None) -> Any:
    """An environment variable (if named and set) wins over a Django setting."""
    if env and os.environ.get(env):
        return os.environ[env]
    return getattr(settings, name, default)


def pki_dir() -> Path:
    value = setting("SIGNING_PKI_DIR", "EKESSAI_PKI_DIR")
    if value:
        return Path(value)
    return Path(getattr(settings, "DATA_DIR", Path("var"))) / "pki"


def is_production() -> bool:
    return bool(getattr(settings, "PRODUCTION", False))


def tsa_url() -> str | None:
    return setting("SIGNING_TSA_URL", "TSA_URL") or None


def tsa_auth() -> tuple[str, str] | None:
    user = setting("SIGNING_TSA_USERNAME", "TSA_USERNAME")
    if not user:
        return None
    return str(user), str(setting("SIGNING_TSA_PASSWORD", "TSA_PASSWORD", "") or "")


def tsa_timeout() -> float:
    return float(setting("SIGNING_TSA_TIMEOUT", "TSA_TIMEOUT", 10))


def extra_trust_root_files() -> list[Path]:
    env = os.environ.get("EKESSAI_EXTRA_TRUST_ROOTS")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path(p) for p in getattr(settings, "SIGNING_EXTRA_TRUST_ROOTS", ()) or ()]


CRL_PATH = "/api/v1/trust/crl.crl"


def crl_url() -> str | None:
    value = setting("SIGNING_CRL_URL", "EKESSAI_CRL_URL")
    if value is None:
        site = str(getattr(settings, "SITE_URL", "") or "").rstrip("/")
        return f"{site}{CRL_PATH}" if site else None
    return str(value) or None


def bytes_reserved() -> int:
    default = 32768 if tsa_url() else 16384
    return int(setting("SIGNING_BYTES_RESERVED", None, default))


def organisation() -> str:
    """The organisation (O=) of the internal CA and its certificates."""
    return str(setting("SIGNING_ORGANISATION", "EKESSAI_ORGANISATION", "サンプル市"))
