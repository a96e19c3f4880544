#!/usr/bin/env python3
"""決裁記録の電子署名を検証する / Check a decision record's signatures (evidence package).

This file is copied as it is into every evidence package as ``verify_record.py``, beside
``record_policy.py`` (a copy of `signing.annotation_policy`: the rules the system itself judges
records by). It needs Python 3.11+ and the pinned, published pyHanko (``pip install
pyhanko==0.38.0``), and no network:

    python verify_record.py [record.pdf] [--root certificates/root.pem]
                            [--crl certificates/crl.pem]

For every signature and document timestamp it checks that the signed bytes are intact, that
the certificate chains to the root (and is not revoked, by the CRL given and the validation
data embedded in the record), and what changed after it, by the record policy: marks
(highlights, notes, pen strokes) and later seals are acceptable, anything else is not. Then it
checks that every revision is covered: what follows the last signature or document timestamp
is signed by nobody, and anything there but validation data makes the record invalid.

pyHanko's own ``pyhanko sign validate`` judges the same signatures with its default policy,
which counts any annotation added after a signature as an illegal change (pyHanko issue 209):
the marks of later approvers, which this system's records carry by design. That is the one
line where the two differ; README.txt says so.

Exit status: 0 every signature valid and every revision covered; 1 otherwise; 2 the file or
the certificates could not be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

try:  # in the evidence package: record_policy.py beside this file
    from record_policy import (  # type: ignore[import-not-found, unused-ignore]
        ANNOTATION_DIFF_POLICY,
        TRAILING_POLICY,
        changes_since,
    )
except ImportError:  # in the system's source tree
    from signing.annotation_policy import ANNOTATION_DIFF_POLICY, TRAILING_POLICY, changes_since

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

LEVELS = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "none",
    ModificationLevel.FORM_FILLING: "other",
    ModificationLevel.ANNOTATIONS: "annotations",
}


def _context(root: Path, crl: Path | None, reader: PdfFileReader) -> ValidationContext:
    """Our root; the CRL file and the record's own validation data (DSS); never a fetch."""
    from asn1crypto import crl as asn1_crl
    from asn1crypto import pem

    crls = []
    if crl is not None and crl.exists():
        raw = crl.read_bytes()
        if pem.detect(raw):
            _type, _headers, raw = pem.unarmor(raw)
        crls.append(asn1_crl.CertificateList.load(raw))
    other_certs: list[Any] = []
    try:
        dss = reader.root["/DSS"]
        from asn1crypto import x509

        for ref in dss.get("/Certs", []):
            other_certs.append(x509.Certificate.load(ref.get_object().data))
        for ref in dss.get("/CRLs", []):
            crls.append(asn1_crl.CertificateList.load(ref.get_object().data))
    except (KeyError, TypeError):
        pass
    return ValidationContext(
        trust_roots=[load_cert_from_pemder(str(root))],
        other_certs=other_certs,
        crls=crls,
        allow_fetching=False,
        revocation_mode="soft-fail",
    )


def check(pdf: Path, root: Path, crl: Path | None) -> tuple[bool, list[str]]:
    """(valid, lines to print)."""
    lines: list[str] = []
    with pdf.open("rb") as f:
        reader = PdfFileReader(f, strict=False)
        sigs = list(reader.embedded_signatures)
        if not sigs:
            return False, [f"{pdf}: 署名がありません / no signature"]
        vc = _context(root, crl, reader)
        valid = True
        for sig in sigs:
            name = sig.field_name
            if sig.sig_object_type == "/DocTimeStamp":
                ts = validate_pdf_timestamp(sig, vc, diff_policy=ANNOTATION_DIFF_POLICY)
                ok = bool(ts.intact and ts.valid and ts.trusted)
                level = ts.modification_level
                what = f"document timestamp {ts.timestamp}"
            else:
                st = validate_pdf_signature(sig, vc, diff_policy=ANNOTATION_DIFF_POLICY)
                tsv = st.timestamp_validity
                ok = bool(
                    st.intact
                    and st.valid
                    and st.trusted
                    and not st.revoked
                    and tsv is not None
                    and tsv.intact
                    and tsv.valid
                    and tsv.trusted
                )
                level = st.modification_level
                subject = st.signing_cert.subject.human_friendly
                when = tsv.timestamp if tsv is not None else None
                what = f"{subject}, timestamp {when}"
            modification = LEVELS.get(level, "other") if level is not None else "other"
            ok = ok and modification != "other"
            valid = valid and ok
            verdict = "VALID" if ok else "INVALID"
            lines.append(f"{verdict:8} {name}: {what}; changes after it: {modification}")
        last = max(s.signed_revision for s in sigs)
        total = reader.xrefs.total_revisions
        if last + 1 < total:
            unsigned = [
                f"revision {rev}: {c.what} {c.subtype or ''} {c.name or ''} page {c.page}".strip()
                for rev, changes in changes_since(reader, last)
                for c in changes
                if c.visible or c.what == "metadata"
            ]
            if unsigned or isinstance(
                TRAILING_POLICY.review_file(reader, last), SuspiciousModification
            ):
                valid = False
                lines.append("INVALID  signed by nobody after the last signature:")
                lines.extend(
                    f"         {u}" for u in unsigned or ["changes other than validation data"]
                )
            else:
                lines.append("         revisions after the last signature: validation data only")
    return valid, lines


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("pdf", nargs="?", default=str(here / "record.pdf"))
    parser.add_argument("--root", default=str(here / "certificates" / "root.pem"))
    parser.add_argument("--crl", default=str(here / "certificates" / "crl.pem"))
    args = parser.parse_args(argv)
    try:
        valid, lines = check(Path(args.pdf), Path(args.root), Path(args.crl))
    except Exception as e:  # unreadable file or certificates: say so, never a traceback
        print(f"ERROR: {args.pdf}: {type(e).__name__}: {e}")
        return 2
    print("\n".join(lines))
    if valid:
        print(
            "OK: すべての署名が有効で、記録の全体が署名されています / every signature valid, "
            "every revision covered"
        )
        return 0
    print(
        "NG: 無効な署名、または署名されていない変更があります / "
        "invalid signature or unsigned change"
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
