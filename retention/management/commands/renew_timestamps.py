"""``python manage.py renew_timestamps [--days N] [--dry-run] [--json]``: archival timestamps.

Every decided record whose last document timestamp's TSA certificate expires within N days
(default 365), or whose algorithms are weak, gets the validation data of that timestamp and a
new document timestamp (PAdES B-LTA renewal), one transaction per record. With the internal
TSA, its own certificate is replaced first if it expires within the window. Safe to run from
cron: a second run finds nothing to do. Exit status 1 if any record failed.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from retention.renewal import renew_all
from signing.renewal import DEFAULT_DAYS, ensure_fresh_tsa


class Command(BaseCommand):
    help = "Renew the archival (document) timestamps of decided records before they age out."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=float,
            default=DEFAULT_DAYS,
            help=f"renew when the TSA certificate expires within this many days ({DEFAULT_DAYS})",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="only list what would be renewed"
        )
        parser.add_argument("--json", action="store_true", help="one JSON object per record")

    def handle(self, *args: Any, **options: Any) -> None:
        days: float = options["days"]
        dry_run: bool = options["dry_run"]
        as_json: bool = options["json"]
        if days < 0:
            raise CommandError("--days must not be negative")
        tsa = ensure_fresh_tsa(days, dry_run=dry_run)
        if tsa:
            self.stderr.write(tsa)
        counts: dict[str, int] = {}
        for outcome in renew_all(days=days, dry_run=dry_run):
            counts[outcome.action] = counts.get(outcome.action, 0) + 1
            if as_json:
                self.stdout.write(json.dumps(outcome.as_dict(), ensure_ascii=False))
            elif outcome.action != "up to date" or options["verbosity"] > 1:
                why = "; ".join(outcome.reasons)
                line = f"{outcome.label}: {outcome.action}"
                if why:
                    line += f" ({why})"
                if outcome.detail:
                    line += f": {outcome.detail}"
                self.stdout.write(line)
        summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "none"
        if not as_json:
            self.stdout.write(f"records: {summary}")
        if counts.get("failed"):
            raise CommandError(f"{counts['failed']} record(s) could not be renewed")
