"""Roll up the decision analytics of every closed month not rolled up yet (analytics.rollups).

Beat runs it daily: a month is rolled up the night after it closes, and a month whose facts
changed afterwards (a late action, a calendar change) the night after its cells were dropped;
until then the figures read that month's facts, so they are true either way, only slower.
`--again` drops every month's cells first and rolls them all up anew.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from analytics import rollups


class Command(BaseCommand):
    help = "Roll up the lead times and stage times of every closed month not rolled up yet."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--again", action="store_true", help="drop every roll-up first")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["again"]:
            rollups.drop_all()

        def progress(month: Any) -> None:
            if options["verbosity"] > 1:
                self.stdout.write(f"  {month:%Y-%m}")

        months = rollups.roll_up_closed(progress=progress)
        self.stdout.write(f"analytics: {len(months)} months rolled up")
