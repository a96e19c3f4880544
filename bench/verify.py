"""Verification benchmark: hostile PDFs (issue 18) against the plain decided record they were
made from, in the same run. Every input must be answered in a few seconds.

    .venv/bin/python bench/verify.py [--runs N] [--revisions N]

The record: two approvals and B-LTA on two pages. The inputs: the forged overlay (an empty
signature field that paints), a FreeText overlay, /Encrypt as an array, a negative offset, a
broken startxref, a CMS with two SignerInfos, an adbe.pkcs7.sha1 signature, and N unsigned
revisions of one annotation each (the case whose work grows with the square of the revisions:
signing.verify.MAX_REVIEWED_REVISIONS bounds it). Goal: each <= 10 x the record + 2 s (medians).
A missed goal is reported as FAIL; the exit status is non-zero only if something breaks.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/storage.py would shadow our storage package (bench/ is first on the path of a script)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--revisions", type=int, default=120)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-verify-")
    os.environ["EKESSAI_PKI_DIR"] = tmp
    os.environ.setdefault("EKESSAI_KEY_PASSPHRASE", "bench-passphrase")
    os.environ.pop("TSA_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from signing.keystore import get_keystore
    from signing.signer import add_validation_data_and_doc_timestamp, sign_approval
    from signing.verify import verify_pdf
    from tests.signing import hostile
    from tests.signing.conftest import make_pdf

    store = get_keystore()
    store.ca.ensure_position("bench-kacho", position="総務課長", section="総務部 総務課")

    def sign(data: bytes, field: str, y: float) -> bytes:
        out = io.BytesIO()
        sign_approval(
            data,
            out,
            position_key_id="bench-kacho",
            reason="承認 総務課長",
            signer_name="佐藤 太郎",
            field_name=field,
            box=(0, 380, y, 450, y + 70),
        )
        return out.getvalue()

    out = io.BytesIO()
    add_validation_data_and_doc_timestamp(sign(sign(make_pdf(2), "s1", 700), "s2", 600), out)
    record = out.getvalue()
    piled = record
    for _ in range(args.revisions):
        piled = hostile.annotation_overlay(piled, "/Square")
    cases = {
        "forged overlay (empty signature field)": hostile.field_overlay(record),
        "FreeText overlay": hostile.annotation_overlay(record, "/FreeText"),
        "/Encrypt as an array": hostile.encrypt_array(record),
        "negative offset": hostile.negative_offset(record),
        "broken startxref": hostile.broken_startxref(record),
        "two SignerInfos": hostile.patch_cms(record, hostile.two_signer_infos),
        "adbe.pkcs7.sha1": hostile.sign_pkcs7_sha1(record, store, "bench-kacho"),
        f"{args.revisions} unsigned revisions": piled,
    }

    def median(data: bytes) -> float:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            verify_pdf(data)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    baseline = median(record)
    print(f"baseline: the decided record           {baseline * 1000:8.0f} ms")
    goal = 10 * baseline + 2.0
    for name, data in cases.items():
        took = median(data)
        verdict = "ok" if took <= goal else "FAIL"
        print(f"{name:38} {took * 1000:8.0f} ms  (goal {goal * 1000:.0f} ms) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
