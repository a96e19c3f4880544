"""Decision record benchmark: building a record against reading its attachments' bytes.

    .venv/bin/python bench/documents_record.py [--attachments 20] [--pages 200] [--runs 5]

Makes `n_attachments` PDFs of `total_pages` pages in all (text pages, one in four with a photo),
puts them into a file-system object store, then times, in the same run: reading every object's
bytes back (`store.open(key).read()`), and building the record from the same store (cover sheet,
every page copied, outline, sanitising). Prints the medians and their ratio. Goal: a 20-attachment,
200-page record in a few seconds at most.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

ROOT = Path(__file__).resolve().parent.parent
# This directory holds bench/storage.py, which would shadow the `storage` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

GOAL_SECONDS = 5.0
LOREM = (
    "The contractor shall clean the offices, corridors and stairs of the main building every "
    "working day before 8:30, and the meeting rooms after each use, as set out in the schedule. "
)


def _photo(seed: int) -> bytes:
    from PIL import Image

    rng = random.Random(seed)
    image = Image.effect_noise((900, 600), 40).convert("RGB")
    image.paste((rng.randrange(256), rng.randrange(256), rng.randrange(256)), (0, 0, 300, 200))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def make_pdf(pages: int, seed: int) -> bytes:
    """A realistic attachment: wrapped text on every page, a photo on one page in four."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=10)
    photo = _photo(seed)
    for page in range(pages):
        pdf.add_page()
        pdf.set_font_size(14)
        pdf.cell(0, 10, f"Attachment {seed} - page {page + 1}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font_size(10)
        pdf.multi_cell(0, 5, LOREM * 12)
        if page % 4 == 0:
            pdf.image(io.BytesIO(photo), x=20, y=150, w=120)
    return bytes(pdf.output())


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def opener(store: Any, key: str) -> Callable[[], BinaryIO]:
    return lambda: store.open(key)


def measure_record(
    n_attachments: int = 20, total_pages: int = 200, runs: int = 5
) -> dict[str, Any]:
    """Median seconds to read the attachments from the store and to build the record."""
    import django

    django.setup()
    from documents.record import CoverInfo, RecordInput, StampBox, build_record

    store_module = __import__("storage")
    with tempfile.TemporaryDirectory(prefix="bench-record-") as tmp:
        store = store_module.build_store({"BACKEND": "filesystem", "ROOT": tmp})
        infos = []
        for i, pages in enumerate(_split(total_pages, n_attachments), start=1):
            data = make_pdf(max(pages, 1), i)
            infos.append(store.put(data, content_type="application/pdf"))

        def read_all() -> int:
            total = 0
            for info in infos:
                with store.open(info.key) as stream:
                    total += len(stream.read())
            return total

        inputs = [
            RecordInput(
                attachment_id=i,
                filename=f"添付資料{i:02d}.pdf",
                content_type="application/pdf",
                kind="pdf",
                sha256=info.sha256,
                size=info.size,
                open=opener(store, info.key),
            )
            for i, info in enumerate(infos, start=1)
        ]
        cover = CoverInfo(
            title="令和8年度 庁舎清掃業務委託契約の締結について",
            department="総務部 総務課",
            drafter="田中 一郎",
            drafted_on=date(2026, 11, 22),
            doc_type="契約",
            amount=3_200_000,
            counterparty="株式会社サンプル清掃",
            transaction_date=date(2026, 12, 1),
            retention="5年",
            classification="公開",
            body="標記の件について、下記のとおり契約を締結してよろしいか伺います。" * 5,
            version=1,
            route=["1. 係長 鈴木 花子", "2. 課長 佐藤 誠", "3. 部長 高橋 明（決裁）"],
            stamp_boxes=[
                StampBox("係長", "鈴木 花子"),
                StampBox("課長", "佐藤 誠"),
                StampBox("部長"),
            ],
        )

        read_all()  # warm the page cache and the font cache alike, so that both are timed warm
        out = io.BytesIO()
        build_record(cover, inputs, out)

        read_times, build_times = [], []
        size = 0
        for _ in range(runs):
            start = time.perf_counter()
            size = read_all()
            read_times.append(time.perf_counter() - start)
            out = io.BytesIO()
            start = time.perf_counter()
            result = build_record(cover, inputs, out)
            build_times.append(time.perf_counter() - start)
        read_s, build_s = statistics.median(read_times), statistics.median(build_times)
        return {
            "attachments": n_attachments,
            "pages": result.page_count,
            "attachment_bytes": size,
            "record_bytes": len(out.getvalue()),
            "runs": runs,
            "read_seconds": round(read_s, 4),
            "record_seconds": round(build_s, 4),
            "ratio": round(build_s / read_s, 1) if read_s else None,
            "goal_seconds": GOAL_SECONDS,
            "goal_met": build_s <= GOAL_SECONDS,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attachments", type=int, default=20)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    figures = measure_record(args.attachments, args.pages, args.runs)
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    print(
        f"record of {figures['attachments']} attachments, {figures['pages']} pages: "
        f"{figures['record_seconds']:.3f} s; reading their {figures['attachment_bytes']:,} bytes: "
        f"{figures['read_seconds']:.4f} s; ratio {figures['ratio']}x "
        f"({'within' if figures['goal_met'] else 'OVER'} the {GOAL_SECONDS:g} s goal)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
