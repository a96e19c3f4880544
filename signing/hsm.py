"""Position keys in a hardware security module, through PKCS#11 (tested with SoftHSM2).

Settings (environment wins over Django settings):

``SIGNING_PKCS11_MODULE`` / ``EKESSAI_PKCS11_MODULE``
    Path of the PKCS#11 module, e.g. ``/usr/lib/softhsm/libsofthsm2.so``. Setting it switches
    position keys to the token: new keys are generated **in** the token
    (non-extractable, sensitive ECDSA P-256) and never exist as files.
``SIGNING_PKCS11_TOKEN`` / ``EKESSAI_PKCS11_TOKEN``
    Label of the token (default ``ekessai``).
``EKESSAI_PKCS11_PIN``
    The user PIN, from the environment only (settings ``SIGNING_PKCS11_PIN`` is read only
    outside production, for development).

The internal CA still issues the certificates (for the token's public keys) and keeps them as
files with the rest of the PKI; the root CA and TSA keys stay encrypted files. Keys already on
file keep working: a key is looked up in the token only when it has no file. In the token, a
key's label is its key id (``post-12-3``) and its CKA_ID is recorded in the key's meta.json,
so a rotated key's predecessor can be told apart (and is destroyed on rotation).

Signing calls ``C_Sign`` with ``CKM_ECDSA`` on the SHA-256 digest (supported by every token),
under a lock: one PKCS#11 session is shared by the process's threads. pyHanko's own helpers find
the token (:func:`pyhanko.sign.pkcs11.find_token`); the CMS is then assembled by
:class:`signing.cms.FastCMSSigner` as for keys on file.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.utils import Buffer
from django.core.exceptions import ImproperlyConfigured

from . import conf
from .pki import PKIError

PIN_ENV = "EKESSAI_PKCS11_PIN"
DEFAULT_TOKEN = "ekessai"  # noqa: S105  (a token label)


@dataclass(frozen=True)
class HSMConfig:
    module: str
    token_label: str
    pin: str


def hsm_config() -> HSMConfig | None:
    """The configured token, or None when keys live in files."""
    module = conf.setting("SIGNING_PKCS11_MODULE", "EKESSAI_PKCS11_MODULE")
    if not module:
        return None
    label = conf.setting("SIGNING_PKCS11_TOKEN", "EKESSAI_PKCS11_TOKEN", DEFAULT_TOKEN)
    pin = os.environ.get(PIN_ENV)
    if not pin and not conf.is_production():
        pin = conf.setting("SIGNING_PKCS11_PIN")
    if not pin:
        raise ImproperlyConfigured(
            f"SIGNING_PKCS11_MODULE is set: the token's user PIN must be in {PIN_ENV}."
        )
    return HSMConfig(module=str(module), token_label=str(label), pin=str(pin))


_libs: dict[str, Any] = {}
_libs_lock = threading.Lock()


def _library(module: str) -> Any:
    """One python-pkcs11 library object per module path (C_Initialize runs once)."""
    import pkcs11

    with _libs_lock:
        lib = _libs.get(module)
        if lib is None:
            try:
                lib = _libs[module] = pkcs11.lib(module)
            except Exception as e:
                raise PKIError(f"cannot load the PKCS#11 module {module}: {e}") from e
        return lib


class Token:
    """An open, logged-in read-write session on the configured token (opened on first use)."""

    def __init__(self, config: HSMConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._session: Any = None

    def session(self) -> Any:
        with self._lock:
            if self._session is None:
                from pyhanko.config.pkcs11 import TokenCriteria
                from pyhanko.sign.pkcs11 import find_token

                lib = _library(self.config.module)
                token = find_token(
                    lib.get_slots(), token_criteria=TokenCriteria(label=self.config.token_label)
                )
                if token is None:
                    raise PKIError(
                        f"no PKCS#11 token labelled {self.config.token_label!r} "
                        f"in {self.config.module}"
                    )
                try:
                    self._session = token.open(user_pin=self.config.pin, rw=True)
                except Exception as e:
                    raise PKIError(f"cannot log in to the token: {e}") from e
            return self._session

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                try:
                    self._session.close()
                finally:
                    self._session = None

    # --- keys ------------------------------------------------------------------------------

    def generate(self, label: str) -> tuple[bytes, ec.EllipticCurvePublicKey]:
        """A new ECDSA P-256 key pair in the token (private part sensitive, never
        extractable). Returns its CKA_ID and public key."""
        from pkcs11 import Attribute, KeyType, ObjectClass
        from pkcs11.util.ec import encode_named_curve_parameters

        key_id = secrets.token_bytes(16)
        with self._lock:
            session = self.session()
            params = session.create_domain_parameters(
                KeyType.EC,
                {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            public, _ = params.generate_keypair(
                store=True,
                label=label,
                id=key_id,
                private_template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.SIGN: True,
                    Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                },
                public_template={Attribute.VERIFY: True},
            )
            return key_id, _public_key(public)

    def private_key(self, label: str, key_id: bytes) -> HSMPrivateKey:
        from pkcs11 import Attribute, ObjectClass

        with self._lock:
            session = self.session()
            try:
                private = session.get_key(
                    object_class=ObjectClass.PRIVATE_KEY, label=label, id=key_id
                )
                public = session.get_key(
                    object_class=ObjectClass.PUBLIC_KEY, label=label, id=key_id
                )
            except Exception as e:
                raise PKIError(f"key {label!r} not found in the token: {e}") from e
            if private[Attribute.EXTRACTABLE]:  # pragma: no cover - we never create those
                raise PKIError(f"key {label!r} in the token is extractable: refused")
            return HSMPrivateKey(self, private, _public_key(public))

    def destroy(self, label: str, key_id: bytes) -> None:
        """Destroy a key pair (its predecessor, after a rotation)."""
        from pkcs11 import Attribute

        with self._lock:
            session = self.session()
            for obj in list(session.get_objects({Attribute.LABEL: label, Attribute.ID: key_id})):
                obj.destroy()

    def sign_digest(self, key: Any, digest: bytes) -> bytes:
        """Raw ECDSA (r || s) over a digest, under the session lock."""
        from pkcs11 import Mechanism

        with self._lock:
            return bytes(key.sign(digest, mechanism=Mechanism.ECDSA))


def _public_key(public: Any) -> ec.EllipticCurvePublicKey:
    from pkcs11.util.ec import encode_ec_public_key

    key = serialization.load_der_public_key(encode_ec_public_key(public))
    if not isinstance(key, ec.EllipticCurvePublicKey):  # pragma: no cover
        raise PKIError("the token returned a key that is not ECDSA")
    return key


class HSMPrivateKey(ec.EllipticCurvePrivateKey):
    """A ``cryptography`` EC private key whose ``sign`` runs in the token: everything that signs
    with a :class:`~signing.keystore.LoadedKey` works unchanged. The key cannot be exported."""

    def __init__(self, token: Token, handle: Any, public: ec.EllipticCurvePublicKey) -> None:
        self._token = token
        self._handle = handle
        self._public = public

    def sign(self, data: Buffer, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        if not isinstance(signature_algorithm, ec.ECDSA):  # pragma: no cover
            raise PKIError("only ECDSA signatures")
        algorithm = signature_algorithm.algorithm
        if isinstance(algorithm, hashes.HashAlgorithm):
            h = hashes.Hash(algorithm)
            h.update(bytes(data))
            digest = h.finalize()
        else:  # Prehashed
            digest = bytes(data)
        raw = self._token.sign_digest(self._handle, digest)
        half = len(raw) // 2
        return encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        raise PKIError("the key is held in the HSM and only signs")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        raise PKIError("the key is held in the HSM and cannot be exported")

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        raise PKIError("the key is held in the HSM and cannot be exported")

    def __copy__(self) -> HSMPrivateKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> HSMPrivateKey:
        return self


class HSMKeyBackend:
    """Where the CA generates position keys when a token is configured."""

    def __init__(self, token: Token) -> None:
        self.token = token

    def generate(self, key_id: str) -> tuple[dict[str, str], ec.EllipticCurvePublicKey]:
        """A key pair for ``key_id`` in the token; returns what meta.json records of it."""
        token_id, public = self.token.generate(key_id)
        return {"hsm_label": key_id, "hsm_id": token_id.hex()}, public

    def retire(self, meta: dict[str, Any]) -> None:
        if meta.get("hsm_id"):
            self.token.destroy(str(meta["hsm_label"]), bytes.fromhex(str(meta["hsm_id"])))

    def load(self, meta: dict[str, Any]) -> HSMPrivateKey:
        if not meta.get("hsm_id"):
            raise PKIError("no key on file and none recorded in the token")
        return self.token.private_key(str(meta["hsm_label"]), bytes.fromhex(str(meta["hsm_id"])))


_tokens: dict[HSMConfig, Token] = {}


def get_backend() -> HSMKeyBackend | None:
    """The key backend for the configured token (one session per process), or None."""
    config = hsm_config()
    if config is None:
        return None
    with _libs_lock:
        token = _tokens.get(config)
        if token is None:
            token = _tokens[config] = Token(config)
    return HSMKeyBackend(token)


def reset_tokens() -> None:
    """Close the sessions (tests switch tokens)."""
    with _libs_lock:
        for token in _tokens.values():
            token.close()
        _tokens.clear()
