"""Position keys (職責の鍵) and what happens to them when a post is abolished.

A post's signing key is named ``post-{department_pk}-{position_pk}`` (see
``workflow.sealing._signer``); its certificate is issued on first use. When the post is
abolished (廃止), :func:`revoke_position` revokes the current certificate with the reason
``cessationOfOperation`` and publishes a new CRL:

* no new signature can be made with it: :meth:`~signing.keystore.KeyStore.get` refuses a revoked
  certificate, so an approval from that post fails before anything is written;
* signatures made **before** the revocation stay valid: each carries a trusted timestamp, and
  :func:`signing.verify.verify_pdf` validates the certificate at that time (the revocation date
  and reason come from our CRL) and reports the revocation as later than the signature. Only
  compromise reasons (``keyCompromise`` …) withdraw trust from earlier signatures too.

``python manage.py revoke_position KEY_ID`` is the command line for the same.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from .crl import REASONS
from .keystore import KeyStore, get_keystore
from .pki import PKIError, name_parts

logger = logging.getLogger(__name__)

POSITION_KEY_RE = re.compile(r"^post-(\d+)-(\d+)$")
POST_ABOLISHED = "cessation_of_operation"


def position_key_id(department_pk: int, position_pk: int) -> str:
    """The key id of the post (department, position): ``post-12-3``."""
    return f"post-{int(department_pk)}-{int(position_pk)}"


def parse_position_key_id(key_id: str) -> tuple[int, int] | None:
    """(department pk, position pk) of a position key id, or None for another kind of key."""
    match = POSITION_KEY_RE.match(key_id)
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class Revocation:
    key_id: str
    serial: int
    subject: dict[str, str]  # cn / ou / o of the certificate
    reason: str
    revoked_at: dt.datetime
    already: bool  # it was revoked before this call

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "serial": f"{self.serial:x}",
            "subject": self.subject,
            "reason": self.reason,
            "revoked_at": self.revoked_at.isoformat(),
            "already_revoked": self.already,
        }


def revoke_position(
    key_id: str,
    *,
    reason: str = POST_ABOLISHED,
    store: KeyStore | None = None,
    actor: Any = None,
    audit: bool = True,
) -> Revocation:
    """Revoke the current certificate of ``key_id`` (default reason: the post was abolished)
    and publish a new CRL. Idempotent: a certificate already revoked keeps its first date and
    reason. Raises :class:`~signing.pki.PKIError` for an unknown key or reason.

    With ``audit`` (the default) the revocation is appended to the audit trail, in the caller's
    transaction if there is one."""
    if reason not in REASONS:
        raise PKIError(f"unknown revocation reason {reason!r}; one of {sorted(REASONS)}")
    reason = REASONS[reason].name
    store = store or get_keystore()
    ca = store.ca
    if not ca.cert_path(key_id).exists():
        raise PKIError(f"unknown signing key {key_id!r}")
    cert = ca.current_cert(key_id)
    serial = cert.serial_number
    before = ca.revoked().get(serial)
    ca.revoke(serial, reason)
    entry = ca.revoked()[serial]
    revocation = Revocation(
        key_id=key_id,
        serial=serial,
        subject=name_parts(cert.subject),
        reason=entry.reason,
        revoked_at=entry.revoked_at,
        already=before is not None,
    )
    store.forget(key_id)
    if before is None:
        logger.info("revoked the certificate of %s (%x): %s", key_id, serial, entry.reason)
        if audit:
            _audit(revocation, actor)
    return revocation


def reissue_position(key_id: str, *, store: KeyStore | None = None) -> x509.Certificate:
    """A new key and certificate for ``key_id`` (e.g. a post re-established under the same
    department and position after its certificate was revoked). The old certificate stays in
    the key's history, so earlier signatures still find it."""
    store = store or get_keystore()
    cert = store.ca.rotate_key(key_id)
    store.forget(key_id)
    return cert


def _audit(revocation: Revocation, actor: Any) -> None:
    try:
        from audit.services import record
    except ImportError:  # pragma: no cover - the audit app is part of every deployment
        return
    record("signing.certificate_revoked", actor=actor, data=revocation.as_dict())
