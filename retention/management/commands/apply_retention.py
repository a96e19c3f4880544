"""Catch up on retention: whatever the after-commit listener could not do, done now.

Run it periodically (cron, or the queue's scheduler); every step is idempotent:

1. decided records without a RetentionState get one;
2. records whose objects are not locked until the end of their period (the store was down at
   the decision, or the listener never ran) are locked; so is a decision record stored after the
   lock (an archival timestamp renewal); permanent records' rolling lock is extended once a
   fiscal year;
3. decided disposal requests not yet carried out are carried out;
4. objects of disposed records that could not be deleted yet are deleted.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import OuterRef, Q, Subquery

from documents.models import Document, DocumentVersion, Status
from retention import execution, locking, periods
from retention.models import DisposalRequest, RetentionState


class Command(BaseCommand):
    help = "Lock decided records until the end of their retention period and finish disposals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=int, default=0, help="Lock at most this many records (0: all)."
        )

    def handle(self, *args: Any, limit: int = 0, **options: Any) -> None:
        created = 0
        missing = Document.objects.filter(status=Status.DECIDED, retention__isnull=True)
        for document in missing.iterator(chunk_size=500):
            locking.ensure_state(document)
            created += 1

        today = periods.today()
        current = DocumentVersion.objects.filter(
            document=OuterRef("document_id"), number=OuterRef("document__version")
        ).values("record_sha256")[:1]
        states = (
            RetentionState.objects.filter(document__status=Status.DECIDED)
            .filter(
                # A fixed period not over yet, or permanent (its rolling lock may be due).
                Q(retention_end__isnull=True) | Q(retention_end__gte=today)
            )
            .annotate(current_record=Subquery(current))
        )
        locked = failed = 0
        for state in states.select_related("document").iterator(chunk_size=500):
            record = state.current_record or ""
            if locking.needs_lock(state, today, record) is None:
                continue
            result = locking.protect(state.document, on=today)
            if result.error:
                failed += 1
                self.stderr.write(f"record {state.document_id}: {result.error}")
            else:
                locked += 1
            if limit and locked + failed >= limit:
                break

        carried = 0
        requests = DisposalRequest.objects.filter(
            executed_at__isnull=True, document__status=Status.DECIDED
        )
        for request in requests:
            outcome = execution.carry_out(request)
            carried += outcome.disposed

        purged = 0
        for tombstone in execution.pending_tombstones():
            outcome_counts = execution.purge(tombstone)
            purged += outcome_counts.get("deleted", 0) + outcome_counts.get("gone", 0)

        self.stdout.write(
            f"retention: {created} states created, {locked} records locked, {failed} failed, "
            f"{carried} records disposed of, {purged} objects deleted"
        )
        if failed:
            raise CommandError(f"{failed} records could not be locked; run again later.")
