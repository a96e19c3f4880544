"""The internal CA: subjects, key usages, encryption at rest, revocation, rotation."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.exceptions import ImproperlyConfigured

from signing import keystore as keystore_mod
from signing.keystore import KeyStore, get_keystore, reset_keystores, resolve_passphrase
from signing.pki import PKIError


def test_position_certificate_subject_usage_and_chain(pki: KeyStore) -> None:
    cert = pki.ca.current_cert("somu-kacho")
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "総務課長"
    assert (
        subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "総務部 総務課"
    )
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "サンプル市"
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    root = pki.root()
    assert cert.issuer == root.subject
    cert.verify_directly_issued_by(root)
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"


def test_tsa_certificate_has_critical_timestamping_eku(pki: KeyStore) -> None:
    cert = pki.ca.ensure_tsa()
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    cert.verify_directly_issued_by(pki.root())


def test_private_key_is_encrypted_at_rest(pki: KeyStore) -> None:
    pem = pki.ca.key_path("somu-kacho").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert pki.ca.key_path("somu-kacho").stat().st_mode & 0o077 == 0
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(pem, password=None)
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(pem, password=b"wrong")
    key = serialization.load_pem_private_key(pem, password=b"correct horse battery staple")
    assert isinstance(key, ec.EllipticCurvePrivateKey)


def test_keystore_parses_each_key_once(pki: KeyStore) -> None:
    before = pki.loads
    first = pki.get("somu-kacho")
    for _ in range(5):
        assert pki.get("somu-kacho") is first
    assert pki.loads == before + 1


def test_revoke_puts_serial_in_crl_and_blocks_the_key(pki: KeyStore) -> None:
    cert = pki.ca.current_cert("somu-hosa")
    crl = pki.ca.revoke(cert.serial_number, "cessation_of_operation")
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.cessation_of_operation
    )
    root_key = pki.root().public_key()
    assert isinstance(root_key, ec.EllipticCurvePublicKey)
    assert crl.is_signature_valid(root_key)
    assert pki.ca.crl().get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    with pytest.raises(PKIError, match="revoked"):
        pki.get("somu-hosa")


def test_rotate_key_keeps_old_certificate(pki: KeyStore) -> None:
    old = pki.ca.current_cert("somu-kacho")
    old_key = pki.get("somu-kacho")
    new = pki.ca.rotate_key("somu-kacho")
    assert new.serial_number != old.serial_number
    assert new.subject == old.subject
    assert new.public_key() != old.public_key()
    assert [c.serial_number for c in pki.ca.certificates("somu-kacho")] == [
        new.serial_number,
        old.serial_number,
    ]
    assert pki.get("somu-kacho").certificate.serial_number == new.serial_number
    assert pki.get("somu-kacho") is not old_key


def test_unknown_key_and_bad_key_id(pki: KeyStore) -> None:
    with pytest.raises(PKIError):
        pki.get("nobody")
    with pytest.raises(PKIError):
        pki.ca.issue_position("../evil", position="x", section="y")


def test_production_refuses_without_passphrase(settings, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("EKESSAI_KEY_PASSPHRASE", raising=False)
    settings.SIGNING_KEY_PASSPHRASE = None
    settings.PRODUCTION = True
    with pytest.raises(ImproperlyConfigured, match="EKESSAI_KEY_PASSPHRASE"):
        resolve_passphrase(tmp_path)


def test_embedded_mode_generates_a_private_passphrase_file(settings, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("EKESSAI_KEY_PASSPHRASE", raising=False)
    settings.SIGNING_KEY_PASSPHRASE = None
    settings.PRODUCTION = False
    first = resolve_passphrase(tmp_path)
    assert len(first) >= 32
    assert (tmp_path / "passphrase").stat().st_mode & 0o777 == 0o600
    assert resolve_passphrase(tmp_path) == first
    monkeypatch.setenv("EKESSAI_KEY_PASSPHRASE", "from-env")
    assert resolve_passphrase(tmp_path) == b"from-env"


def test_wrong_passphrase_is_a_clear_error(pki: KeyStore, settings) -> None:
    settings.SIGNING_KEY_PASSPHRASE = "not the one"
    reset_keystores()
    store = get_keystore()
    with pytest.raises(PKIError, match="passphrase"):
        store.get("somu-kacho")
    assert keystore_mod.PASSPHRASE_ENV == "EKESSAI_KEY_PASSPHRASE"
