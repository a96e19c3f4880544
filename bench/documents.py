"""The documents benchmarks of issue 3, in one run:

1. record generation for 20 attachments / 200 pages, against reading those bytes from storage
   (bench/documents_record.py);
2. time to the first page image of a 200-page attachment, against reading the file
   (bench/documents_preview.py);
3. search p95 over 1,000,000 documents with combined conditions on PostgreSQL, against a primary
   key lookup (bench/documents_search.py; generates its data once into its own database).

    .venv/bin/python bench/documents.py [--documents 1000000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", default="1000000", help="documents for the search bench")
    args = parser.parse_args()
    runs = [
        ["documents_record.py"],
        ["documents_preview.py"],
        ["documents_search.py", "--documents", args.documents],
    ]
    status = 0
    for script, *rest in runs:
        print(f"== {script}", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / script), *rest])
    return status


if __name__ == "__main__":
    sys.exit(main())
