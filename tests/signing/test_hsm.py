"""Position keys in a PKCS#11 token (SoftHSM2): generated in the token, certified by our CA,
used for approval signatures that verify like any other; never on disk, never exportable."""

from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from signing.keystore import KeyStore, get_keystore, reset_keystores
from signing.pki import PKIError
from signing.signer import sign_approval
from signing.verify import verify_pdf

from .conftest import make_pdf

SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/softhsm/libsofthsm.so",
)
MODULE = next((m for m in SOFTHSM_MODULES if Path(m).exists()), None)

pytestmark = [
    pytest.mark.skipif(
        shutil.which("softhsm2-util") is None or MODULE is None,
        reason="SoftHSM2 is not installed (apt-get install softhsm2)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("pkcs11") is None,
        reason="python-pkcs11 is not installed (pip install python-pkcs11)",
    ),
]

PIN = "24681357"


@pytest.fixture
def token(tmp_path: Path, settings, monkeypatch) -> Iterator[KeyStore]:
    """A fresh SoftHSM2 token in a temp dir, and a fresh CA that generates keys in it."""
    from signing import hsm

    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "ekessai-test",
            "--pin",
            PIN,
            "--so-pin",
            "97531864",
        ],
        check=True,
        capture_output=True,
    )
    for var in ("EKESSAI_PKI_DIR", "EKESSAI_KEY_PASSPHRASE", "TSA_URL", "EKESSAI_PKCS11_MODULE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(hsm.PIN_ENV, PIN)
    settings.SIGNING_PKI_DIR = tmp_path / "pki"
    settings.SIGNING_KEY_PASSPHRASE = "correct horse battery staple"
    settings.SIGNING_PKCS11_MODULE = MODULE
    settings.SIGNING_PKCS11_TOKEN = "ekessai-test"
    hsm.reset_tokens()
    # SoftHSM reads its configuration (the token directory) when the module is initialised
    for lib in hsm._libs.values():
        lib.reinitialize()
    reset_keystores()
    yield get_keystore()
    hsm.reset_tokens()
    reset_keystores()


def test_position_key_in_the_token_signs_and_verifies(token: KeyStore, tmp_path: Path) -> None:
    from pkcs11 import Attribute, ObjectClass

    token.ca.ensure_position("post-5-2", position="総務課長", section="総務部 総務課")
    key_dir = token.ca.key_dir("post-5-2")
    assert (key_dir / "cert.pem").exists() and not (key_dir / "key.pem").exists()
    meta = token.ca.key_meta("post-5-2")
    assert meta["hsm_label"] == "post-5-2" and len(bytes.fromhex(meta["hsm_id"])) == 16

    loaded = token.get("post-5-2")
    public = loaded.private_key.public_key()
    assert public == loaded.certificate.public_key()
    with pytest.raises(PKIError, match="cannot be exported"):
        loaded.private_key.private_numbers()
    backend = token.ca.key_backend
    assert backend is not None
    session = backend.token.session()  # type: ignore[attr-defined]
    private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label="post-5-2")
    assert private[Attribute.SENSITIVE] and not private[Attribute.EXTRACTABLE]

    out = io.BytesIO()
    info = sign_approval(
        make_pdf(1),
        out,
        position_key_id="post-5-2",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name="stamp-1",
        box=(0, 380, 700, 450, 770),
    )
    assert info.position == "総務課長" and info.timestamp is not None
    report = verify_pdf(out.getvalue())
    assert report.valid, report.as_dict()
    assert report.signatures[0].signer == "総務課長" and report.signatures[0].trusted
    path = tmp_path / "hsm.pdf"
    path.write_bytes(out.getvalue())
    pdfsig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in pdfsig

    # a rotation makes a new key in the token and destroys the old one
    old_id = meta["hsm_id"]
    token.ca.rotate_key("post-5-2")
    new_meta = token.ca.key_meta("post-5-2")
    assert new_meta["hsm_id"] != old_id
    assert not list(session.get_objects({Attribute.ID: bytes.fromhex(old_id)}))
    again = io.BytesIO()
    sign_approval(
        out.getvalue(),
        again,
        position_key_id="post-5-2",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name="stamp-2",
    )
    report = verify_pdf(again.getvalue())
    assert report.valid, report.as_dict()  # both: the old certificate is kept in the history
    assert report.signatures[0].signer == report.signatures[1].signer == "総務課長"
    keys_on_disk = sorted(
        str(p.relative_to(token.ca.directory)) for p in token.ca.directory.rglob("key.pem")
    )
    assert keys_on_disk == ["root/key.pem", "tsa/key.pem"]


def test_missing_pin_is_a_configuration_error(token: KeyStore, monkeypatch, settings) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from signing import hsm

    monkeypatch.delenv(hsm.PIN_ENV)
    settings.PRODUCTION = True
    with pytest.raises(ImproperlyConfigured, match=hsm.PIN_ENV):
        hsm.hsm_config()
