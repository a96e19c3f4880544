"""Signing benchmark: one approval signature (PAdES B-T, internal TSA) and its validation,
against the time to SHA-256 the same file in the same run.

    .venv/bin/python bench/signing.py [--runs N]

Records of 1, 50 and 500 pages are generated with fpdf2. Goals:
signature <= 3 x T_sha256 + 20 ms, validation <= 2 x T_sha256 + 30 ms (medians of N runs; the
minimum is printed too, in brackets: on a shared machine it shows the cost without the noise).
The key is parsed once per process (KeyStore); the run prints how many times it was decrypted.
A missed goal is reported as FAIL; the exit status is non-zero only if something breaks.

Where the time went and what was done about it: see signing/fastpath.py and the speed notes in
signing/signer.py.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support.pdfs import make_pdf  # noqa: E402 (after the path is set)


def timings(fn, runs: int) -> tuple[float, float]:
    """(median, minimum) of ``runs`` calls."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def median_time(fn, runs: int) -> float:
    return timings(fn, runs)[0]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-signing-")
    os.environ["EKESSAI_PKI_DIR"] = tmp
    os.environ.setdefault("EKESSAI_KEY_PASSPHRASE", "bench-passphrase")
    os.environ.pop("TSA_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()

    from signing.keystore import get_keystore
    from signing.seal import render_seal
    from signing.signer import sign_approval
    from signing.verify import verify_pdf

    store = get_keystore()
    store.ca.issue_position("somu-kacho", position="総務課長", section="総務部 総務課")
    seal = render_seal("佐藤", None, None)
    # warm up: imports, key decryption, TSA key, font
    warm = io.BytesIO()
    sign_approval(
        make_pdf(1),
        warm,
        position_key_id="somu-kacho",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name="warm",
        box=(0, 400, 700, 470, 770),
        seal_png=seal,
    )
    verify_pdf(warm.getvalue())
    loads_after_warmup = store.loads

    failed = False
    print(
        f"{'pages':>5} {'size':>7} {'sha256':>8} {'sign [min]':>16} {'ratio':>6} {'goal':>8}"
        f"      {'verify [min]':>16} {'ratio':>6} {'goal':>8}"
    )
    for pages in (1, 50, 500):
        data = make_pdf(pages)
        t_sha = median_time(lambda data=data: hashlib.sha256(data).digest(), max(args.runs, 15))
        signed: list[bytes] = []

        def sign(data: bytes = data, signed: list[bytes] = signed) -> None:
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
            signed[:] = [out.getvalue()]

        t_sign, min_sign = timings(sign, args.runs)
        result = verify_pdf(signed[0])
        if not result.valid:
            print(f"  {pages} pages: the signed file does not verify: {result.problem}")
            return 2
        t_verify, min_verify = timings(lambda s=signed[0]: verify_pdf(s), args.runs)
        goal_sign = 3 * t_sha + 0.020
        goal_verify = 2 * t_sha + 0.030
        ok_sign = t_sign <= goal_sign
        ok_verify = t_verify <= goal_verify
        failed |= not (ok_sign and ok_verify)
        print(
            f"{pages:>5} {len(data) / 1024:>5.0f}KB {t_sha * 1000:>6.2f}ms "
            f"{t_sign * 1000:>6.1f}ms [{min_sign * 1000:>5.1f}] {t_sign / t_sha:>6.0f} "
            f"{goal_sign * 1000:>6.1f}ms {'PASS' if ok_sign else 'FAIL'} "
            f"{t_verify * 1000:>6.1f}ms [{min_verify * 1000:>5.1f}] {t_verify / t_sha:>6.0f} "
            f"{goal_verify * 1000:>6.1f}ms {'PASS' if ok_verify else 'FAIL'}"
        )
    print(
        f"key decryptions: {loads_after_warmup} during warm-up (position key + TSA key), "
        f"{store.loads - loads_after_warmup} during the runs: the key is parsed once per process."
    )
    print("overall:", "FAIL (goal missed)" if failed else "PASS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
