"""Each place where the project drives a library through its private code, timed beside the
public way of doing the same thing, in the same run (rounds interleaved, order alternating).

    .venv/bin/python bench/private_code.py [--rounds N] [--only fastpath,trust,seal,...]

Sections (docs/architecture.md, "Private code of libraries", has the table):

- fastpath  signing.fastpath: pyHanko's xref/hex/array parsers and asn1crypto's name comparison
            patched, against pyHanko's own (all off, and each patch off alone): verify_pdf and
            sign_approval of a 500-page record
- trust     signing.trust._registry (copies certvalidator's private indexes) against
            CertificateRegistry.build, with 500 position certificates
- seal      signing.signer._SealImage (pyHanko's PdfImage._image_ref) against PdfImage
- cover     documents.record.cover.add_japanese_font (fpdf2's TTFFont copied, _hbfont,
            _set_min_pdf_version) against FPDF.add_font: one page in Noto Sans JP
- consumer  notifications.consumers.dispatch against channels' (close_old_connections per
            message): 1,000 consumers, one frame each
- redis     notifications.services._publish_pipelined (channels-redis internals) against
            group_send, 1,000 recipients (needs REDIS_URL or Redis on 127.0.0.1:6379)
- minio     storage.minio_client: _put_object with If-None-Match against stat_object +
            put_object, 64 KiB objects, on moto's S3 server (or MINIO_ENDPOINT)
- hooks     workflow.hooks (run_on_commit, savepoint_ids: one batch per transaction) against
            one transaction.on_commit per event: queries and time of an approval's after-commit
            work (needs PostgreSQL: BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432;
            a test database is made and dropped)

Printed per row: median and [minimum] of each way, and public / private of the medians. On a
shared machine the minimum shows the cost without the noise; a gain is "measured" when both
the medians and the minimums agree on it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))


from bench.support.private_serving import (  # noqa: E402 (after the path is set)
    bench_consumer,
    bench_hooks,
    bench_minio,
    bench_redis,
)
from bench.support.private_signing import (  # noqa: E402
    bench_cover,
    bench_fastpath,
    bench_seal,
    bench_trust,
)

SECTIONS = {
    "fastpath": bench_fastpath,
    "trust": bench_trust,
    "seal": bench_seal,
    "cover": bench_cover,
    "consumer": bench_consumer,
    "redis": bench_redis,
    "minio": bench_minio,
    "hooks": bench_hooks,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    args = parser.parse_args()
    for name in args.only.split(","):
        SECTIONS[name.strip()](args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
