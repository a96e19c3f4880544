"""The speed-ups must change nothing but the speed: same parse results as pyHanko's own
parsers on every test PDF, the same DER as pyHanko/asn1crypto would write, tokens that OpenSSL
accepts."""

from __future__ import annotations

import asyncio
import hashlib
import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms, tsp
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_cms import Signer

from signing import fastpath
from signing.cms import PositionSigner
from signing.keystore import KeyStore
from signing.signer import sign_approval
from signing.tsa import InternalTimeStamper, issue_token

from .conftest import TESTDATA, make_pdf


def _snapshot(data: bytes) -> dict:
    """Everything the reader derives from the xref tables, plus every object's value."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    out: dict = {
        "revisions": reader.xrefs.total_revisions,
        "trailer": _serialise(reader.trailer.flatten()),
    }
    sections = []
    for section in reader.xrefs._xref_sections:
        x = section.xref_data
        sections.append(
            (
                dict(x.standard_xrefs),
                dict(x.freed),
                sorted(x.explicit_refs_in_revision),
                section.meta_info.end_location,
            )
        )
    out["sections"] = sections
    objects: dict[int, Any] = {}
    for idnum, (gen, _) in reader.xrefs._xref_sections[0].xref_data.standard_xrefs.items():
        try:
            obj = reader.get_object(generic.Reference(idnum, gen))
        except Exception as e:
            objects[idnum] = f"error {type(e).__name__}"
            continue
        objects[idnum] = _serialise(obj)
    out["objects"] = objects
    return out


def _serialise(obj: generic.PdfObject) -> bytes:
    buf = io.BytesIO()
    obj.write_to_stream(buf)
    return buf.getvalue()


def _samples() -> list[tuple[str, bytes]]:
    files = [
        (p.name, p.read_bytes())
        for p in sorted(TESTDATA.glob("*.pdf"))
        if "password" not in p.name  # encrypted: objects cannot be read without it
    ]
    return [*files, ("fpdf-120-pages", make_pdf(120))]


@pytest.mark.parametrize(
    ("name", "data"), _samples(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_parsers_agree_with_pyhanko(name: str, data: bytes) -> None:
    assert fastpath.install()
    fast = _snapshot(data)
    fastpath.uninstall()
    try:
        slow = _snapshot(data)
    finally:
        assert fastpath.install()
    assert fast == slow, name


def test_parsers_agree_on_a_signed_record(pki: KeyStore) -> None:
    out = io.BytesIO()
    sign_approval(
        make_pdf(3),
        out,
        position_key_id="somu-kacho",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name="stamp-1",
        box=(0, 380, 700, 450, 770),
    )
    data = out.getvalue()
    fast = _snapshot(data)
    contents = PdfFileReader(io.BytesIO(data)).embedded_signatures[0].pkcs7_content
    fastpath.uninstall()
    try:
        assert _snapshot(data) == fast
        assert PdfFileReader(io.BytesIO(data)).embedded_signatures[0].pkcs7_content == contents
    finally:
        fastpath.install()


@pytest.mark.parametrize(
    "raw",
    [
        b"<48656c6c6f>",
        b"<48 65 6c\n6c 6f>",
        b"<4865 6c6c 6>",  # odd: a trailing 0 is implied
        b"<>",
        b"<FEFF0041>",  # UTF-16 text
    ],
)
def test_hex_strings(raw: bytes) -> None:
    fast_stream = io.BytesIO(raw + b" rest")
    fast = generic.read_hex_string_from_stream(fast_stream)
    slow_stream = io.BytesIO(raw + b" rest")
    slow = fastpath._ORIGINAL["read_hex"](slow_stream)
    assert (type(fast), fast, fast_stream.tell()) == (type(slow), slow, slow_stream.tell())


def test_bad_hex_string_still_fails() -> None:
    from pyhanko.pdf_utils.misc import PdfStreamError

    with pytest.raises(PdfStreamError):
        generic.read_hex_string_from_stream(io.BytesIO(b"<48zz>"))


def test_der_helpers_match_asn1crypto() -> None:
    from asn1crypto import core

    for value in (0, 1, 127, 128, 255, 256, -1, -129, 2**120 + 5):
        assert fastpath.der_integer(value) == core.Integer(value).dump()
    for oid in ("1.2.840.113549.1.9.16.2.14", "2.25.163994180317284349520470117520830089557"):
        assert fastpath.der_oid(oid) == core.ObjectIdentifier(oid).dump()
    long = b"x" * 70000
    assert fastpath.tlv(0x04, long) == core.OctetString(long).dump()


def test_signer_writes_what_pyhanko_would(pki: KeyStore) -> None:
    """Same signed attributes (hence the same signed bytes) as pyHanko's own assembly, and a
    SignedData that differs only in dropping the duplicate signer certificate."""
    key = pki.get("somu-kacho")
    ours = PositionSigner(key)
    digest = hashlib.sha256(b"document").digest()

    async def both() -> tuple[cms.ContentInfo, cms.CMSAttributes]:
        fast = await ours.async_sign(digest, "sha256", use_pades=True)
        reference = await Signer.signed_attrs(ours, digest, "sha256", use_pades=True)
        return fast, reference

    fast, reference = asyncio.run(both())
    info = fast["content"]["signer_infos"][0]
    assert info["signed_attrs"].untag().dump() == reference.untag().dump()
    assert info["signed_attrs"].dump(force=True) == info["signed_attrs"].dump()
    assert fast.dump(force=True) == fast.dump()  # valid DER, as asn1crypto re-encodes it
    certs = [c.chosen for c in fast["content"]["certificates"]]
    assert sorted(c.dump() for c in certs) == sorted(
        {key.asn1_certificate.dump(), *(c.dump() for c in key.chain)}
    )


def test_internal_token_verifies_with_openssl(pki: KeyStore, tmp_path: Path) -> None:
    """The in-process token (no request) and the HTTP TSA's reply both pass `openssl ts`."""
    data = b"the record"
    digest = hashlib.sha256(data).digest()
    token = asyncio.run(InternalTimeStamper().async_timestamp(digest, "sha256"))
    assert token.dump(force=True) == token.dump()
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "token.der").write_bytes(token.dump())
    tsa = pki.tsa()
    chain = tmp_path / "chain.pem"
    chain.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in (tsa.certificate, pki.root())))
    result = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-data",
            str(tmp_path / "data"),
            "-in",
            str(tmp_path / "token.der"),
            "-token_in",
            "-CAfile",
            str(chain),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    _, req = InternalTimeStamper().request_cms(digest, "sha256")
    reply = tsp.TimeStampResp(
        {"status": {"status": "granted"}, "time_stamp_token": issue_token(tsa, req)}
    )
    (tmp_path / "reply.der").write_bytes(reply.dump())
    result = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-data",
            str(tmp_path / "data"),
            "-in",
            str(tmp_path / "reply.der"),
            "-CAfile",
            str(chain),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_fast_paths_are_taken() -> None:
    """Not just correct by always falling back: the common shapes take the fast path."""
    data = make_pdf(30)
    at = int(data[data.rindex(b"startxref") + 9 :].split()[0])
    stream = io.BytesIO(data)
    stream.seek(at + len(b"xref"))
    entries = fastpath._parse_xref_table_fast(stream)
    assert len(entries.rows) == int(data.split(b"/Size ")[1].split()[0])
    assert data[stream.tell() : stream.tell() + 2] == b"<<"

    reader = PdfFileReader(io.BytesIO(data))
    kids = io.BytesIO(b"[3 0 R 4 0 R\n5 0 R] tail")
    arr = fastpath._read_ref_array_fast(kids, reader.root.container_ref)
    assert [r.idnum for r in arr] == [3, 4, 5] and kids.read() == b" tail"
    assert fastpath._read_hex_fast(io.BytesIO(b"<41 42>")) == b"AB"
