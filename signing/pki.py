"""The internal certification authority (内部認証局), built on ``cryptography``.

Everything lives as files under one directory (settings ``SIGNING_PKI_DIR``, by default
``DATA_DIR / "pki"``)::

    root/cert.pem, root/key.pem          self-signed root CA (ECDSA P-256)
    tsa/cert.pem, tsa/key.pem            the internal RFC 3161 TSA (EKU timeStamping, critical)
    keys/<key_id>/cert.pem, key.pem      current certificate and key of a position or a person
    keys/<key_id>/meta.json              kind and subject, for re-issuing on rotation
    keys/<key_id>/history/<serial>.pem   earlier certificates, kept to validate old signatures
    revoked.json, crl.pem                revocation list (source of truth) and the signed CRL
    .generation                          touched whenever a certificate is issued (for caches)

Private keys are PKCS#8 PEM encrypted with ``BestAvailableEncryption`` under the passphrase
(see :func:`signing.keystore.resolve_passphrase`). Writes are atomic (temp file + rename) and
serialised between processes with an ``flock`` on ``.lock``.

Position certificates (職責証明書) are the signing identity: CN = position (総務課長),
OU = section (総務部 総務課), O = organisation (サンプル市), C = JP; key usage
digitalSignature + nonRepudiation (pyHanko requires nonRepudiation by default).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .crl import (
    CRL_REFRESH,
    REASONS,
    RevokedEntry,
    build_crl,
    read_revoked,
    revoked_json,
)

KEY_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
ROOT_DAYS = 20 * 365
LEAF_DAYS = 3 * 365
TSA_DAYS = 10 * 365

SigningKey = ec.EllipticCurvePrivateKey


class PKIError(Exception):
    """A problem with the internal CA (unknown key id, bad passphrase, revoked certificate…)."""


class KeyRevoked(PKIError):
    """The key's current certificate is revoked (its post was abolished): it signs nothing."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _check_key_id(key_id: str) -> str:
    if not KEY_ID_RE.match(key_id) or key_id in {".", ".."}:
        raise PKIError(f"invalid key id {key_id!r} (letters, digits, '_', '.', '-')")
    return key_id


def _atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _name(cn: str, *, ou: str | None = None, o: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "JP")]
    if o:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def name_parts(name: x509.Name) -> dict[str, str]:
    """CN / OU / O of a certificate subject as plain strings (multiple OUs joined by a space)."""

    def get(oid: x509.ObjectIdentifier) -> str:
        return " ".join(str(a.value) for a in name.get_attributes_for_oid(oid))

    return {
        "cn": get(NameOID.COMMON_NAME),
        "ou": get(NameOID.ORGANIZATIONAL_UNIT_NAME),
        "o": get(NameOID.ORGANIZATION_NAME),
    }


class KeyBackend(Protocol):
    """Where position keys are generated instead of files (see signing.hsm)."""

    def generate(self, key_id: str) -> tuple[dict[str, str], ec.EllipticCurvePublicKey]: ...

    def retire(self, meta: dict[str, Any]) -> None: ...

    def load(self, meta: dict[str, Any]) -> SigningKey: ...


BACKEND_META = ("hsm_label", "hsm_id")


class CertificateAuthority:
    """File-backed internal CA. Cheap to construct; every method reads what it needs."""

    def __init__(
        self, directory: Path | str, passphrase: bytes, organisation: str = "サンプル市"
    ) -> None:
        self.directory = Path(directory)
        self.passphrase = passphrase
        self.organisation = organisation
        self._crl_url: str | None = None
        self.key_backend: KeyBackend | None = None
        self._thread_lock = threading.RLock()
        self._depth = 0

    def set_crl_url(self, url: str | None) -> None:
        self._crl_url = url

    def set_key_backend(self, backend: KeyBackend | None) -> None:
        """Generate new position keys there (an HSM) instead of as files."""
        self.key_backend = backend

    def key_meta(self, key_id: str) -> dict[str, Any]:
        try:
            meta: dict[str, Any] = json.loads((self.key_dir(key_id) / "meta.json").read_text())
        except FileNotFoundError:
            raise PKIError(f"unknown key id {key_id!r}") from None
        return meta

    # --- files and locking ------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive between processes (flock) and threads; re-entrant within a thread."""
        with self._thread_lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            with open(self.directory / ".lock", "a+b") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                self._depth = 1
                try:
                    yield
                finally:
                    self._depth = 0
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _write_key(self, path: Path, key: SigningKey) -> None:
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self.passphrase),
        )
        _atomic_write(path, pem, 0o600)

    @staticmethod
    def _write_cert(path: Path, cert: x509.Certificate) -> None:
        _atomic_write(path, cert.public_bytes(serialization.Encoding.PEM))

    @property
    def generation_path(self) -> Path:
        """Rewritten whenever a certificate is issued: caches of the certificate set compare
        its mtime/size instead of reading every certificate file."""
        return self.directory / ".generation"

    def _bump_generation(self) -> None:
        _atomic_write(self.generation_path, str(dt.datetime.now(dt.UTC).timestamp()).encode())

    def load_private_key(self, path: Path) -> SigningKey:
        """Decrypt one PEM key file. Costly (KDF): callers cache the result (see KeyStore)."""
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=self.passphrase)
        except FileNotFoundError:
            raise PKIError(f"no private key at {path}") from None
        except (ValueError, TypeError) as e:
            raise PKIError(f"cannot decrypt {path}: wrong passphrase or damaged file") from e
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PKIError(f"{path}: unsupported key type {type(key).__name__}")
        return key

    @staticmethod
    def load_cert(path: Path) -> x509.Certificate:
        try:
            return x509.load_pem_x509_certificate(path.read_bytes())
        except FileNotFoundError:
            raise PKIError(f"no certificate at {path}") from None

    # --- paths -------------------------------------------------------------------------------

    @property
    def root_cert_path(self) -> Path:
        return self.directory / "root" / "cert.pem"

    @property
    def root_key_path(self) -> Path:
        return self.directory / "root" / "key.pem"

    @property
    def tsa_cert_path(self) -> Path:
        return self.directory / "tsa" / "cert.pem"

    @property
    def tsa_key_path(self) -> Path:
        return self.directory / "tsa" / "key.pem"

    def key_dir(self, key_id: str) -> Path:
        return self.directory / "keys" / _check_key_id(key_id)

    def cert_path(self, key_id: str) -> Path:
        return self.key_dir(key_id) / "cert.pem"

    def key_path(self, key_id: str) -> Path:
        return self.key_dir(key_id) / "key.pem"

    # --- root --------------------------------------------------------------------------------

    def ensure_root(self) -> x509.Certificate:
        """Create the self-signed root CA (ECDSA P-256) unless it exists."""
        if self.root_cert_path.exists():
            return self.root_cert
        with self._locked():
            if self.root_cert_path.exists():
                return self.root_cert
            key = ec.generate_private_key(ec.SECP256R1())
            name = _name(f"{self.organisation} 電子決裁認証局", o=self.organisation)
            now = _now()
            ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=ROOT_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=False,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=True,
                        crl_sign=True,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(ski, critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                    critical=False,
                )
                .sign(key, hashes.SHA256())
            )
            self._write_key(self.root_key_path, key)
            self._write_cert(self.root_cert_path, cert)
            self._bump_generation()
            return cert

    @property
    def root_cert(self) -> x509.Certificate:
        return self.load_cert(self.root_cert_path)

    def _root_key(self) -> SigningKey:
        return self.load_private_key(self.root_key_path)

    # --- issuing -----------------------------------------------------------------------------

    def _issue(
        self,
        subject: x509.Name,
        public_key: ec.EllipticCurvePublicKey,
        *,
        days: float,
        eku: list[x509.ObjectIdentifier] | None = None,
        eku_critical: bool = False,
    ) -> x509.Certificate:
        root = self.ensure_root()
        root_key = self._root_key()
        now = _now()
        not_after = min(now + dt.timedelta(days=days), root.not_valid_after_utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(root.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,  # = nonRepudiation
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                ),
                critical=False,
            )
        )
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=eku_critical)
        if self._crl_url:
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            full_name=[x509.UniformResourceIdentifier(self._crl_url)],
                            relative_name=None,
                            reasons=None,
                            crl_issuer=None,
                        )
                    ]
                ),
                critical=False,
            )
        return builder.sign(root_key, hashes.SHA256())

    def _issue_into(self, key_id: str, meta: dict[str, Any], days: float) -> x509.Certificate:
        """Generate a key (a file, or in the key backend), issue its certificate, archive the
        previous certificate (and retire the previous key of the backend)."""
        directory = self.key_dir(key_id)
        meta = {k: v for k, v in meta.items() if k not in BACKEND_META}
        try:
            previous_meta = self.key_meta(key_id)
        except PKIError:
            previous_meta = {}
        key: SigningKey | None = None
        if self.key_backend is not None:
            backend_meta, public_key = self.key_backend.generate(key_id)
            meta.update(backend_meta)
        else:
            key = ec.generate_private_key(ec.SECP256R1())
            public_key = key.public_key()
        subject = _name(meta["cn"], ou=meta.get("ou") or None, o=meta.get("o") or None)
        cert = self._issue(subject, public_key, days=days)
        old = directory / "cert.pem"
        if old.exists():
            previous = self.load_cert(old)
            history = directory / "history" / f"{previous.serial_number:x}.pem"
            history.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(old, history)
        if key is not None:
            self._write_key(directory / "key.pem", key)
        else:
            with contextlib.suppress(FileNotFoundError):
                (directory / "key.pem").unlink()  # superseded by the key in the backend
        self._write_cert(old, cert)
        _atomic_write(
            directory / "meta.json", json.dumps({**meta, "days": days}, ensure_ascii=False).encode()
        )
        if self.key_backend is not None and previous_meta.get("hsm_id"):
            self.key_backend.retire(previous_meta)
        self._bump_generation()
        return cert

    def issue_position(
        self,
        key_id: str,
        *,
        position: str,
        section: str,
        organisation: str | None = None,
        days: float = LEAF_DAYS,
    ) -> x509.Certificate:
        """Issue a position certificate (職責証明書) and a new key under ``key_id``.

        ``position`` becomes the CN (e.g. 総務課長), ``section`` the OU (総務部 総務課).
        An existing certificate for ``key_id`` is moved to its history.
        """
        meta = {
            "kind": "position",
            "cn": position,
            "ou": section,
            "o": organisation or self.organisation,
        }
        with self._locked():
            return self._issue_into(key_id, meta, days)

    def ensure_position(self, key_id: str, *, position: str, section: str) -> None:
        """Issue the position certificate on first use; a no-op (one stat) afterwards."""
        if self.cert_path(key_id).exists():
            return
        with self._locked():
            if not self.cert_path(key_id).exists():
                self.issue_position(key_id, position=position, section=section)

    def rotate_key(self, key_id: str) -> x509.Certificate:
        """Issue a new key and certificate with the same subject; the old certificate stays in
        ``history/`` (for validating earlier signatures) and the old key is overwritten."""
        meta_path = self.key_dir(key_id) / "meta.json"
        with self._locked():
            try:
                meta = json.loads(meta_path.read_text())
            except FileNotFoundError:
                raise PKIError(f"unknown key id {key_id!r}") from None
            days = float(meta.pop("days", LEAF_DAYS))
            return self._issue_into(key_id, meta, days)

    def ensure_tsa(self, days: float = TSA_DAYS) -> x509.Certificate:
        """Create the internal TSA's key and certificate (EKU timeStamping, critical)."""
        if self.tsa_cert_path.exists():
            return self.load_cert(self.tsa_cert_path)
        with self._locked():
            if self.tsa_cert_path.exists():
                return self.load_cert(self.tsa_cert_path)
            return self._issue_tsa(days)

    def rotate_tsa(self, days: float = TSA_DAYS) -> x509.Certificate:
        """A new key and certificate for the internal TSA, e.g. before the current certificate
        expires (archival timestamps must be renewed by a TSA that will outlive them). The old
        certificate moves to ``tsa/history/`` and stays in :meth:`all_certificates`."""
        with self._locked():
            if self.tsa_cert_path.exists():
                previous = self.load_cert(self.tsa_cert_path)
                history = self.tsa_history_dir / f"{previous.serial_number:x}.pem"
                history.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self.tsa_cert_path, history)
            return self._issue_tsa(days)

    @property
    def tsa_history_dir(self) -> Path:
        return self.directory / "tsa" / "history"

    def _issue_tsa(self, days: float) -> x509.Certificate:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(f"{self.organisation} タイムスタンプ局", o=self.organisation)
        cert = self._issue(
            subject,
            key.public_key(),
            days=days,
            eku=[ExtendedKeyUsageOID.TIME_STAMPING],
            eku_critical=True,
        )
        self._write_key(self.tsa_key_path, key)
        self._write_cert(self.tsa_cert_path, cert)
        self._bump_generation()
        return cert

    def tsa_certificates(self) -> list[x509.Certificate]:
        """The internal TSA's current certificate first, then the earlier ones (newest first)."""
        certs = [self.load_cert(self.tsa_cert_path)] if self.tsa_cert_path.exists() else []
        if self.tsa_history_dir.exists():
            old = [self.load_cert(p) for p in self.tsa_history_dir.glob("*.pem")]
            certs.extend(sorted(old, key=lambda c: c.not_valid_before_utc, reverse=True))
        return certs

    # --- listing -----------------------------------------------------------------------------

    def key_ids(self) -> list[str]:
        keys = self.directory / "keys"
        return (
            sorted(p.name for p in keys.iterdir() if (p / "cert.pem").exists())
            if keys.exists()
            else []
        )

    def current_cert(self, key_id: str) -> x509.Certificate:
        return self.load_cert(self.cert_path(key_id))

    def certificates(self, key_id: str) -> list[x509.Certificate]:
        """Current certificate first, then the earlier ones (newest first)."""
        certs = [self.current_cert(key_id)]
        history = self.key_dir(key_id) / "history"
        if history.exists():
            old = [self.load_cert(p) for p in history.glob("*.pem")]
            certs.extend(sorted(old, key=lambda c: c.not_valid_before_utc, reverse=True))
        return certs

    def all_certificates(self) -> list[x509.Certificate]:
        """Every certificate this CA issued that is still on file (for embedding / lookups)."""
        certs: list[x509.Certificate] = []
        for key_id in self.key_ids():
            certs.extend(self.certificates(key_id))
        certs.extend(self.tsa_certificates())
        return certs

    # --- revocation --------------------------------------------------------------------------

    @property
    def _revoked_path(self) -> Path:
        return self.directory / "revoked.json"

    @property
    def crl_path(self) -> Path:
        return self.directory / "crl.pem"

    def revoked(self) -> dict[int, RevokedEntry]:
        return read_revoked(self._revoked_path)

    def revoke(
        self, serial: int, reason: x509.ReasonFlags | str = x509.ReasonFlags.cessation_of_operation
    ) -> x509.CertificateRevocationList:
        """Revoke a certificate by serial number and publish a new CRL.

        Typical reasons: ``cessation_of_operation`` (the post was abolished),
        ``superseded`` (the key was rotated), ``key_compromise``, ``affiliation_changed``.
        """
        flag = reason if isinstance(reason, x509.ReasonFlags) else REASONS.get(reason)
        if flag is None:
            raise PKIError(f"unknown revocation reason {reason!r}; one of {sorted(REASONS)}")
        with self._locked():
            entries = self.revoked()
            if serial not in entries:
                entries[serial] = RevokedEntry(serial, flag.name, _now())
                _atomic_write(self._revoked_path, revoked_json(entries))
            return self._publish_crl(entries)

    def _publish_crl(self, entries: dict[int, RevokedEntry]) -> x509.CertificateRevocationList:
        crl = build_crl(self.ensure_root(), self._root_key(), entries, _now())
        _atomic_write(self.crl_path, crl.public_bytes(serialization.Encoding.PEM))
        return crl

    def crl(self, *, refresh: bool = False) -> x509.CertificateRevocationList:
        """The current CRL, re-signed when missing or older than a day (or when asked)."""
        if not refresh and self.crl_path.exists():
            crl = x509.load_pem_x509_crl(self.crl_path.read_bytes())
            if _now() - crl.last_update_utc < CRL_REFRESH:
                return crl
        with self._locked():
            return self._publish_crl(self.revoked())
