"""The internal CA's revocation list: the file of revoked serials and the CRL signed from it.

`revoked.json` in the PKI directory is the record (serial, reason, time); `crl.pem` is signed
from it by the root whenever it changes, and re-signed daily so that it never goes stale
(`CertificateAuthority.crl`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

CRL_DAYS = 7
CRL_REFRESH = dt.timedelta(days=1)

REASONS = {flag.name: flag for flag in x509.ReasonFlags} | {f.value: f for f in x509.ReasonFlags}


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    reason: str
    revoked_at: dt.datetime


def read_revoked(path: Path) -> dict[int, RevokedEntry]:
    try:
        rows = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return {
        int(r["serial"]): RevokedEntry(
            int(r["serial"]), r["reason"], dt.datetime.fromisoformat(r["revoked_at"])
        )
        for r in rows
    }


def revoked_json(entries: dict[int, RevokedEntry]) -> bytes:
    rows = [
        {"serial": str(e.serial), "reason": e.reason, "revoked_at": e.revoked_at.isoformat()}
        for e in entries.values()
    ]
    return json.dumps(rows, indent=1).encode()


def build_crl(
    root: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    entries: dict[int, RevokedEntry],
    now: dt.datetime,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=CRL_DAYS))
        .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            critical=False,
        )
    )
    for entry in entries.values():
        revoked = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.revoked_at)
        )
        if REASONS[entry.reason] != x509.ReasonFlags.unspecified:
            revoked = revoked.add_extension(x509.CRLReason(REASONS[entry.reason]), critical=False)
        builder = builder.add_revoked_certificate(revoked.build())
    return builder.sign(root_key, hashes.SHA256())
