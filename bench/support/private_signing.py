"""bench/private_code.py: the private code of pyHanko, certvalidator and fpdf2 (signing and the
record), each timed beside the public way."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from bench.support.pdfs import make_pdf
from bench.support.timing import compare, django_setup

# --- signing.fastpath ---------------------------------------------------------------------------


class Patches:
    """Switch signing.fastpath's patches on and off one by one."""

    def __init__(self) -> None:
        from asn1crypto import x509 as asn1_x509
        from pyhanko.pdf_utils import generic, xref

        from signing import fastpath

        assert fastpath.install(), "fastpath not active (untested library versions?)"
        self.fastpath = fastpath
        self.targets: dict[str, list[tuple[Any, str, str]]] = {
            "xref": [
                (xref, "parse_xref_table", "parse_xref_table"),
                (xref.XRefSectionData, "process_entries", "process_entries"),
            ],
            "hex": [(generic, "read_hex_string_from_stream", "read_hex")],
            "array": [(generic.ArrayObject, "read_from_stream", "read_array")],
            "rdn": [(asn1_x509.RelativeDistinguishedName, "_get_values", "rdn_values")],
        }
        self.patched = {
            (id(owner), attr): owner.__dict__[attr]
            for entries in self.targets.values()
            for owner, attr, _ in entries
        }

    def set(self, off: Sequence[str]) -> None:
        for name, entries in self.targets.items():
            for owner, attr, key in entries:
                if name in off:
                    original = self.fastpath._ORIGINAL[key]
                    value = staticmethod(original) if attr == "read_from_stream" else original
                else:
                    value = self.patched[(id(owner), attr)]
                setattr(owner, attr, value)


def bench_fastpath(rounds: int) -> None:
    tmp = tempfile.mkdtemp(prefix="bench-private-")
    os.environ["EKESSAI_PKI_DIR"] = tmp
    os.environ.setdefault("EKESSAI_KEY_PASSPHRASE", "bench-passphrase")
    os.environ.pop("TSA_URL", None)
    django_setup()
    from signing.keystore import get_keystore
    from signing.seal import render_seal
    from signing.signer import sign_approval
    from signing.verify import verify_pdf

    patches = Patches()
    store = get_keystore()
    store.ca.issue_position("somu-kacho", position="総務課長", section="総務部 総務課")
    seal = render_seal("佐藤", None, None)
    data = make_pdf(500)

    def sign() -> bytes:
        out = io.BytesIO()
        sign_approval(
            data,
            out,
            position_key_id="somu-kacho",
            reason="承認 総務課長",
            signer_name="佐藤 太郎",
            field_name="stamp-1",
            box=(0, 400, 700, 470, 770),
            seal_png=seal,
        )
        return out.getvalue()

    signed = sign()
    assert verify_pdf(signed).valid
    every = list(patches.targets)

    def way(off: Sequence[str], fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> None:
            patches.set(off)
            try:
                fn()
            finally:
                patches.set(())

        return run

    print("signing.fastpath (500-page record, internal TSA)")
    for label, fn in (("verify_pdf", lambda: verify_pdf(signed)), ("sign_approval", sign)):
        ways = {
            "all patches (private)": way((), fn),
            "none (pyHanko/asn1crypto's own)": way(every, fn),
        }
        for name in every:
            ways[f"all but {name}"] = way((name,), fn)
        compare(label, ways, rounds)


# --- signing.trust ------------------------------------------------------------------------------


def bench_trust(rounds: int) -> None:
    import datetime as dt
    from types import SimpleNamespace

    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko_certvalidator.registry import CertificateRegistry

    from signing import trust as trust_module

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ekessai 内部認証局")])
    now = dt.datetime.now(dt.UTC)

    def cert(name: x509.Name, key: Any, issuer: x509.Name) -> asn1_x509.Certificate:
        built = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(ca_key, hashes.SHA256())
        )
        return asn1_x509.Certificate.load(built.public_bytes(serialization.Encoding.DER))

    certs = [cert(ca_name, ca_key, ca_name)]
    for i in range(500):
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ekessai"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"総務部 第{i}課"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"第{i}課長"),
            ]
        )
        certs.append(cert(name, ec.generate_private_key(ec.SECP256R1()), ca_name))
    state = SimpleNamespace(certificates=certs)
    trust_module._registry(state)  # type: ignore[arg-type]  # the template, built once
    print("signing.trust (a validation context's certificate registry, 501 certificates)")
    compare(
        "registry per validation context",
        {
            "copy of the cached registry (private)": lambda: trust_module._registry(state),  # type: ignore[arg-type]
            "CertificateRegistry.build": lambda: CertificateRegistry.build(certs),
        },
        rounds * 3,
    )


# --- signing.signer seal image ------------------------------------------------------------------


def bench_seal(rounds: int) -> None:
    django_setup()
    from PIL import Image
    from pyhanko.pdf_utils.images import PdfImage
    from pyhanko.pdf_utils.writer import PdfFileWriter

    from signing import signer
    from signing.seal import render_seal

    seal = render_seal("佐藤", None, None)

    def private() -> None:
        image = signer._SealImage(signer._decode_seal(seal))
        image.writer = PdfFileWriter()
        _ = image.image_ref

    def public() -> None:
        image = PdfImage(Image.open(io.BytesIO(seal)))
        image.writer = PdfFileWriter()
        _ = image.image_ref

    print("signing.signer (the seal's image XObject, once per signature)")
    compare("seal image", {"_SealImage (private)": private, "PdfImage": public}, rounds * 5)


# --- documents.record.cover (fpdf2) -------------------------------------------------------------


def bench_cover(rounds: int) -> None:
    from fpdf import FPDF

    from documents.record import cover

    text = "起案用紙 総務部 総務課 通知文の発出について 決裁 承認 " * 20

    def page(add: Callable[[FPDF], None]) -> Callable[[], bytes]:
        def run() -> bytes:
            pdf = FPDF()
            add(pdf)
            pdf.add_page()
            pdf.set_font(cover.FONT_FAMILY, size=10)
            pdf.multi_cell(0, 6, text)
            return bytes(pdf.output())

        return run

    def public(pdf: FPDF) -> None:
        pdf.add_font(cover.FONT_FAMILY, fname=cover.font_path())

    page(cover.add_japanese_font)()  # the template, built once per process
    print("documents.record.cover (a page in Noto Sans JP, fpdf2)")
    compare(
        "one page written",
        {
            "add_japanese_font (copied template, private)": page(cover.add_japanese_font),
            "FPDF.add_font": page(public),
        },
        rounds,
    )
