"""Parsed signing keys, loaded once per process.

Decrypting a PKCS#8 key runs a KDF and parsing it validates the key: far too slow to do per
signature (pyHanko's ``SimpleSigner`` re-parses its key on every signature). :class:`KeyStore`
decrypts each key once, keeps the parsed ``cryptography`` key object with its certificate in
both ``cryptography`` and ``asn1crypto`` form, and is safe to share between threads. The cache
notices a rotation or revocation done by another process (it compares the certificate file's
mtime/size, a ``stat`` per signature).

Passphrase (see :func:`resolve_passphrase`): environment ``EKESSAI_KEY_PASSPHRASE``, else
settings ``SIGNING_KEY_PASSPHRASE``. In production (``EKESSAI_MODE=production``) one of them is
mandatory and :class:`~django.core.exceptions.ImproperlyConfigured` names the variable. In the
embedded mode, when neither is set, a random passphrase is generated **once** into
``<pki dir>/passphrase`` (mode 0600) and reused: convenient for ``make run`` but it sits next to
the keys it protects, so it only guards against copying the key files alone.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ImproperlyConfigured
from pyhanko_certvalidator.revinfo.archival import CRLContainer

from . import conf
from .crl import CRL_REFRESH, RevokedEntry
from .pki import CertificateAuthority, KeyRevoked, PKIError, SigningKey

PASSPHRASE_ENV = "EKESSAI_KEY_PASSPHRASE"  # noqa: S105  (a variable name)


def resolve_passphrase(directory: Path | None = None) -> bytes:
    value = os.environ.get(PASSPHRASE_ENV) or conf.setting("SIGNING_KEY_PASSPHRASE")
    if value:
        return value.encode() if isinstance(value, str) else bytes(value)
    if conf.is_production():
        raise ImproperlyConfigured(
            f"Environment variable {PASSPHRASE_ENV} must be set in production: it encrypts "
            "the signing keys at rest (settings SIGNING_KEY_PASSPHRASE also works)."
        )
    directory = directory or conf.pki_dir()
    path = directory / "passphrase"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_urlsafe(32).encode())
    return path.read_bytes().strip()


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@dataclass(frozen=True)
class LoadedKey:
    """A decrypted key with its certificate; what a signature needs, parsed once."""

    key_id: str
    private_key: SigningKey
    certificate: x509.Certificate
    asn1_certificate: asn1_x509.Certificate
    chain: tuple[asn1_x509.Certificate, ...]  # issuers up to and including the root
    stamp: tuple[int, int] = field(default=(0, 0), compare=False)


@dataclass(frozen=True)
class TrustState:
    """What validation needs from our CA, parsed once per change of the PKI directory:
    the root, every certificate on file, the current CRL and the revocation entries."""

    stamp: tuple[tuple[int, int], ...]
    root: asn1_x509.Certificate
    certificates: tuple[asn1_x509.Certificate, ...]
    crl_der: bytes
    crl: CRLContainer
    crl_last_update: dt.datetime
    revoked: dict[int, RevokedEntry]

    def revocation(self, serial: int) -> RevokedEntry | None:
        return self.revoked.get(serial)


class KeyStore:
    """Process-wide cache of parsed keys of one :class:`CertificateAuthority`."""

    TSA = "__tsa__"

    def __init__(self, ca: CertificateAuthority) -> None:
        self.ca = ca
        self._lock = threading.Lock()
        self._cache: dict[str, LoadedKey] = {}
        self._root: tuple[x509.Certificate, asn1_x509.Certificate] | None = None
        self._revoked: tuple[tuple[int, int], frozenset[int]] = ((0, 0), frozenset())
        self._trust: TrustState | None = None
        self.loads = 0  # number of key decryptions, for tests and the benchmark
        self.trust_loads = 0  # number of TrustState rebuilds

    @staticmethod
    def _stamp(path: Path) -> tuple[int, int]:
        try:
            st = path.stat()
        except FileNotFoundError:
            return (0, 0)
        return (st.st_mtime_ns, st.st_size)

    def root(self) -> x509.Certificate:
        return self._root_pair()[0]

    def root_asn1(self) -> asn1_x509.Certificate:
        return self._root_pair()[1]

    def _root_pair(self) -> tuple[x509.Certificate, asn1_x509.Certificate]:
        if self._root is None:
            cert = self.ca.ensure_root()
            self._root = (cert, to_asn1(cert))
        return self._root

    def revoked_serials(self) -> frozenset[int]:
        path = self.ca.directory / "revoked.json"
        stamp = self._stamp(path)
        if stamp != self._revoked[0]:
            self._revoked = (stamp, frozenset(self.ca.revoked()))
        return self._revoked[1]

    def _trust_stamp(self) -> tuple[tuple[int, int], ...]:
        ca = self.ca
        return (
            self._stamp(ca.generation_path),
            self._stamp(ca.crl_path),
            self._stamp(ca.directory / "revoked.json"),
            self._stamp(ca.tsa_cert_path),
            self._stamp(ca.root_cert_path),
        )

    def _parsed(self, certs: list[x509.Certificate]) -> tuple[asn1_x509.Certificate, ...]:
        """asn1crypto forms, reusing those of the previous trust state: asn1crypto parses
        lazily and caches on the object, so a reused one is already warm."""
        previous = {c.dump(): c for c in self._trust.certificates} if self._trust else {}
        out = []
        for cert in certs:
            der = cert.public_bytes(serialization.Encoding.DER)
            out.append(previous.get(der) or asn1_x509.Certificate.load(der))
        return tuple(out)

    def trust(self) -> TrustState:
        """The root, certificates and CRL of our CA, re-read only when a file changed (a few
        ``stat`` calls) or the CRL is due to be re-signed."""
        state = self._trust
        if state is not None:
            now = dt.datetime.now(dt.UTC)
            if now - state.crl_last_update >= CRL_REFRESH:
                state = None  # ca.crl() below re-signs it
            elif state.stamp != self._trust_stamp():
                state = None
        if state is None:
            with self._lock:
                state = self._trust
                if (
                    state is None
                    or state.stamp != self._trust_stamp()
                    or dt.datetime.now(dt.UTC) - state.crl_last_update >= CRL_REFRESH
                ):
                    for _ in range(3):  # until no file changed while we read them
                        before = self._trust_stamp()
                        self._root = None
                        root = self.root_asn1()
                        crl = self.ca.crl()  # re-signed when missing or older than a day
                        crl_der = crl.public_bytes(serialization.Encoding.DER)
                        certificates = self._parsed(self.ca.all_certificates())
                        revoked = self.ca.revoked()
                        if self._trust_stamp() == before:
                            break
                    state = TrustState(
                        stamp=before,
                        root=root,
                        certificates=certificates,
                        crl_der=crl_der,
                        crl=CRLContainer(asn1_crl.CertificateList.load(crl_der)),
                        crl_last_update=crl.last_update_utc,
                        revoked=revoked,
                    )
                    self._trust = state
                    self.trust_loads += 1
        return state

    def get(self, key_id: str) -> LoadedKey:
        """The parsed key and current certificate of ``key_id``; refuses a revoked one."""
        if key_id == self.TSA:
            cert_path, key_path = self.ca.tsa_cert_path, self.ca.tsa_key_path
        else:
            cert_path, key_path = self.ca.cert_path(key_id), self.ca.key_path(key_id)
        stamp = self._stamp(cert_path)
        loaded = self._cache.get(key_id)
        if loaded is None or loaded.stamp != stamp:
            with self._lock:
                loaded = self._cache.get(key_id)
                if loaded is None or loaded.stamp != stamp:
                    if stamp == (0, 0):
                        raise PKIError(f"unknown signing key {key_id!r}")
                    cert = self.ca.load_cert(cert_path)
                    backend = self.ca.key_backend
                    if backend is not None and key_id != self.TSA and not key_path.exists():
                        private_key = backend.load(self.ca.key_meta(key_id))
                    else:
                        private_key = self.ca.load_private_key(key_path)
                    self.loads += 1
                    loaded = LoadedKey(
                        key_id=key_id,
                        private_key=private_key,
                        certificate=cert,
                        asn1_certificate=to_asn1(cert),
                        chain=(self.root_asn1(),),
                        stamp=stamp,
                    )
                    self._cache[key_id] = loaded
        if loaded.certificate.serial_number in self.revoked_serials():
            raise KeyRevoked(
                f"the certificate of {key_id!r} (serial {loaded.certificate.serial_number:x}) "
                "is revoked"
            )
        return loaded

    def tsa(self) -> LoadedKey:
        if not self.ca.tsa_cert_path.exists():
            self.ca.ensure_tsa()
        return self.get(self.TSA)

    def forget(self, key_id: str | None = None) -> None:
        with self._lock:
            if key_id is None:
                self._cache.clear()
            else:
                self._cache.pop(key_id, None)


_lock = threading.Lock()
_stores: dict[tuple[str, bytes, str, str], KeyStore] = {}


def get_keystore() -> KeyStore:
    """The process-wide :class:`KeyStore` for the configured PKI directory."""
    directory = conf.pki_dir()
    passphrase = resolve_passphrase(directory)
    cache_key = (
        str(directory.resolve()),
        passphrase,
        str(conf.setting("SIGNING_PKCS11_MODULE", "EKESSAI_PKCS11_MODULE") or ""),
        str(conf.setting("SIGNING_PKCS11_TOKEN", "EKESSAI_PKCS11_TOKEN") or ""),
    )
    store = _stores.get(cache_key)
    if store is None:
        with _lock:
            store = _stores.get(cache_key)
            if store is None:
                from .hsm import get_backend

                ca = CertificateAuthority(directory, passphrase, conf.organisation())
                ca.set_crl_url(conf.crl_url())
                ca.set_key_backend(get_backend())
                store = KeyStore(ca)
                _stores[cache_key] = store
    return store


def reset_keystores() -> None:
    """Drop every cached store (tests switch PKI directories)."""
    with _lock:
        _stores.clear()
