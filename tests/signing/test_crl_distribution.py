"""Revocation that outside validators can fetch (issue 18): our position and TSA certificates
name a CRL distribution point at SITE_URL, served without login, and pyHanko's validator, left
to fetch for itself, finds our signatures trusted (and a revoked one revoked) through it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from signing.keystore import KeyStore, get_keystore, reset_keystores
from signing.signer import sign_approval

from .conftest import make_pdf


@pytest.fixture
def served_pki(tmp_path: Path, settings, monkeypatch, live_server) -> Iterator[KeyStore]:
    for var in ("EKESSAI_PKI_DIR", "EKESSAI_KEY_PASSPHRASE", "TSA_URL", "EKESSAI_CRL_URL"):
        monkeypatch.delenv(var, raising=False)
    settings.SIGNING_PKI_DIR = tmp_path / "pki"
    settings.SIGNING_KEY_PASSPHRASE = "correct horse battery staple"
    settings.SITE_URL = live_server.url
    reset_keystores()
    store = get_keystore()
    store.ca.issue_position("somu-kacho", position="総務課長", section="総務部 総務課")
    yield store
    reset_keystores()


def points(cert: x509.Certificate) -> list[str]:
    ext = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    return [name.value for dp in ext for name in dp.full_name or []]


def fetching_context(store: KeyStore) -> ValidationContext:
    """An outside validator: it knows our root and nothing else, and fetches what it needs."""
    return ValidationContext(
        trust_roots=[store.root_asn1()], allow_fetching=True, revocation_mode="hard-fail"
    )


def signed(store: KeyStore) -> bytes:
    out = io.BytesIO()
    sign_approval(
        make_pdf(1),
        out,
        position_key_id="somu-kacho",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name="stamp-1",
        box=(0, 380, 700, 450, 770),
    )
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_certificates_name_the_served_crl(served_pki: KeyStore, live_server, client) -> None:
    url = f"{live_server.url}/api/v1/trust/crl.crl"
    assert points(served_pki.ca.current_cert("somu-kacho")) == [url]
    assert points(served_pki.ca.ensure_tsa()) == [url]
    response = client.get("/api/v1/trust/crl.crl")  # anonymous
    assert response.status_code == 200 and response["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    assert crl.issuer == served_pki.root().subject


@pytest.mark.django_db(transaction=True)
def test_pyhanko_fetches_the_crl_and_trusts_then_sees_the_revocation(
    served_pki: KeyStore,
) -> None:
    data = signed(served_pki)
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    status = validate_pdf_signature(sig, fetching_context(served_pki))
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert not status.revoked

    serial = served_pki.ca.current_cert("somu-kacho").serial_number
    served_pki.ca.revoke(serial, "key_compromise")
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    status = validate_pdf_signature(sig, fetching_context(served_pki))
    assert status.revoked and not status.trusted
