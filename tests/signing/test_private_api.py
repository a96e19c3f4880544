"""pyHanko, pyhanko-certvalidator and asn1crypto internals that signing relies on
(docs/architecture.md, "Private code of libraries"): still there, shaped as relied upon.
signing/fastpath.py's parsers are compared with pyHanko's own in test_fastpath.py."""

from __future__ import annotations

import inspect
from collections import defaultdict
from importlib.metadata import version

from asn1crypto import x509 as asn1_x509
from PIL import Image
from pyhanko.pdf_utils import generic, xref
from pyhanko.pdf_utils.images import PdfImage
from pyhanko_certvalidator.registry import CertificateRegistry

from signing import fastpath, trust
from signing.keystore import KeyStore


def _params(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_fastpath_is_active_on_the_pinned_versions() -> None:
    """A version bump past fastpath.TESTED silently turns the speed-ups off: fail instead."""
    assert version("pyHanko").startswith(fastpath.TESTED["pyHanko"])
    assert version("asn1crypto").startswith(fastpath.TESTED["asn1crypto"])
    assert fastpath.install()


def test_the_patched_functions_keep_their_signatures() -> None:
    originals = fastpath._ORIGINAL if fastpath.install() else {}
    assert _params(originals["parse_xref_table"]) == ["stream", "strict"]
    assert _params(originals["process_entries"]) == ["self", "entries", "strict"]
    assert _params(originals["read_hex"]) == ["stream"]
    assert _params(originals["read_array"])[:3] == ["stream", "container_ref", "in_content_stream"]
    assert _params(originals["rdn_values"]) == ["self", "rdn"]
    # process_entries fills these three of the section (FastXrefEntries bypasses the parser).
    section = xref.XRefSectionData()
    assert isinstance(section.standard_xrefs, dict)
    assert isinstance(section.freed, dict)
    assert isinstance(section.explicit_refs_in_revision, set)
    assert generic.ContentOpReading.NO is not None


def test_rdn_values_is_how_asn1crypto_compares_names() -> None:
    def name(cn: str) -> asn1_x509.Name:
        return asn1_x509.Name.build({"common_name": cn, "organization_name": "ekessai"})

    assert name("総務課長") == name("総務課長")
    assert name("総務課長") != name("財政課長")
    assert isinstance(asn1_x509.RelativeDistinguishedName.__dict__["_get_values"], object)


def test_certificate_registry_indexes_copied_by_trust(pki: KeyStore) -> None:
    """signing.trust._registry copies CertificateRegistry's three private indexes."""
    state = pki.trust()
    built = CertificateRegistry.build(state.certificates)
    for index in ("_subject_map", "_key_identifier_map", "_key_hash_map"):
        value = getattr(built, index)
        assert isinstance(value, defaultdict) and value.default_factory is list
    copy = trust._registry(state)
    assert copy.certs == built.certs
    for cert in state.certificates:
        assert copy.retrieve_many_by_key_identifier(cert.key_identifier) == (
            built.retrieve_many_by_key_identifier(cert.key_identifier)
        )
        assert copy.retrieve_by_name(cert.subject) == built.retrieve_by_name(cert.subject)
    # A copy is its own: what one context learns does not reach the next.
    assert trust._registry(state)._subject_map is not copy._subject_map


def test_pdf_image_caches_its_reference_in_image_ref() -> None:
    """signing.signer._SealImage reads and writes PdfImage._image_ref."""
    image = PdfImage(Image.new("RGB", (4, 4)))
    assert image._image_ref is None
    assert isinstance(inspect.getattr_static(PdfImage, "image_ref"), property)
    assert "self._image_ref" in inspect.getsource(PdfImage.image_ref.fget)  # type: ignore[attr-defined]
