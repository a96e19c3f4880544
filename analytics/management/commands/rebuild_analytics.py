"""Recompute every document's decision analytics from workflow's rows.

Run it once after installing the analytics app over existing data, and after changing the office
calendar by other means than the admin (which recomputes the days it changes by itself). The
closed months' roll-ups (analytics.rollups) are dropped first and made again at the end.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from analytics import facts


class Command(BaseCommand):
    help = "Recompute the lead times and stage times of every submitted document."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--chunk", type=int, default=5000)

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(done: int) -> None:
            if options["verbosity"] > 1:
                self.stdout.write(f"  {done:,} documents")

        total = facts.rebuild(options["chunk"], progress)
        self.stdout.write(f"analytics: {total:,} documents recomputed, closed months rolled up")
