"""Time to the first page image of a long attachment, against reading the file's bytes.

An approver on a phone opens a 200-page attachment: what it waits for before anything shows is
the first page rendered at width 800 as WebP (documents.previews.render_page). Baseline in the
same run: reading the file's bytes (what the page-image view does before rendering, and the least
any preview could cost). For information, the same first page of a 1-page PDF built the same way,
to show that the time does not grow with the length.

Two kinds of attachment: "text", pages like the record builder's (fpdf2, vector text), and
"scanned", every page a different greyscale JPEG as a scanner would produce (a larger file).
Medians of --runs runs each; the files are written once, so reads come from the page cache.

    .venv/bin/python bench/documents_preview.py [--pages 200] [--runs 9] [--kind text|scanned|both]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fpdf import FPDF  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

from documents.previews import page_count, render_page  # noqa: E402

WIDTH = 800
# Goal: the first page of the long PDF within 1.5x (+10 ms of noise) of the 1-page one.
INDEPENDENCE_GOAL = 1.5


def build_pdf(pages: int, *, scanned: bool = False, seed: int = 7) -> bytes:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_font("helvetica", size=14)
    rng = random.Random(seed)
    for number in range(1, pages + 1):
        pdf.add_page()
        if scanned:
            # Different on every page, or fpdf2 would store one image once.
            noise = Image.effect_noise((620, 877), 40 + number % 20).point(lambda v: 200 + v // 5)
            noise = noise.filter(ImageFilter.GaussianBlur(1))  # paper grain, not pure noise
            scan = io.BytesIO()
            noise.save(scan, "JPEG", quality=40)
            pdf.image(scan, x=0, y=0, w=210, h=297)
        for line in range(40):
            words = " ".join(rng.choice(["budget", "contract", "approval", "section", "amount"])
                             for _ in range(10))  # fmt: skip
            pdf.text(15, 20 + line * 6.5, f"{number}-{line}: {words}")
    return bytes(pdf.output())


def _medians(actions: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median seconds of each action, taken in turns so that a busy moment hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def measure_first_page(pages: int = 200, *, runs: int = 9, scanned: bool = False) -> dict[str, Any]:
    """Medians in seconds, for the long PDF and for a 1-page PDF built the same way."""
    with tempfile.TemporaryDirectory() as directory:
        long_path, short_path = Path(directory, "long.pdf"), Path(directory, "short.pdf")
        long_path.write_bytes(build_pdf(pages, scanned=scanned))
        short_path.write_bytes(build_pdf(1, scanned=scanned))
        assert page_count(long_path) == pages
        render_page(short_path, 1, width=WIDTH)  # warm up: fonts, codecs, the library itself
        medians = _medians(
            {
                "read_file_s": long_path.read_bytes,
                "first_page_s": lambda: render_page(long_path, 1, width=WIDTH),
                "first_page_from_bytes_s": lambda: render_page(
                    long_path.read_bytes(), 1, width=WIDTH
                ),
                "last_page_s": lambda: render_page(long_path, pages, width=WIDTH),
                "first_page_of_1_page_pdf_s": lambda: render_page(short_path, 1, width=WIDTH),
            },
            runs,
        )
        first, short, read = (medians[k] for k in ("first_page_s", "first_page_of_1_page_pdf_s",
                                                     "read_file_s"))  # fmt: skip
        return {
            "kind": "scanned" if scanned else "text",
            "pages": pages,
            "file_bytes": long_path.stat().st_size,
            "image_bytes": len(render_page(long_path, 1, width=WIDTH)),
            "runs": runs,
            **medians,
            "first_vs_1_page": first / short,
            "first_vs_read": first / read if read else float("inf"),
            "independent_of_length": first <= short * INDEPENDENCE_GOAL + 0.010,
        }


def _report(result: dict[str, Any]) -> None:
    ms = {k: v * 1000 for k, v in result.items() if k.endswith("_s")}
    print(f"\n{result['kind']}: {result['pages']} pages, {result['file_bytes'] / 1024:,.0f} KiB; "
          f"page image {result['image_bytes'] / 1024:,.1f} KiB (width {WIDTH}, WebP); "
          f"median of {result['runs']}")  # fmt: skip
    print(f"  read the file's bytes          {ms['read_file_s']:8.2f} ms")
    print(f"  first page image (from path)   {ms['first_page_s']:8.2f} ms  "
          f"({result['first_vs_read']:.0f}x the read)")  # fmt: skip
    print(f"  first page image (from bytes)  {ms['first_page_from_bytes_s']:8.2f} ms")
    print(f"  last page image                {ms['last_page_s']:8.2f} ms")
    print(f"  first page of a 1-page PDF     {ms['first_page_of_1_page_pdf_s']:8.2f} ms  "
          f"(long/short {result['first_vs_1_page']:.2f})")  # fmt: skip
    verdict = "met" if result["independent_of_length"] else "MISSED"
    print(f"  goal (within {INDEPENDENCE_GOAL}x of the 1-page PDF): {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--kind", choices=["text", "scanned", "both"], default="both")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args()
    kinds = [False, True] if args.kind == "both" else [args.kind == "scanned"]
    results = [measure_first_page(args.pages, runs=args.runs, scanned=s) for s in kinds]
    for result in results:
        _report(result)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
