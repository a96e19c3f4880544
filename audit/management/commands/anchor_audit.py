"""python manage.py anchor_audit: timestamp the audit chain's head with the TSA (run it hourly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from audit.services import anchor_head
from signing.tsa import TimestampUnavailable


class Command(BaseCommand):
    help = "Timestamp the hash of the last audit entry (RFC 3161) and keep the token."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            anchor = anchor_head()
        except TimestampUnavailable as e:
            raise CommandError(
                _("No timestamp could be obtained: %(error)s") % {"error": e}, returncode=2
            ) from e
        if anchor is None:
            self.stdout.write(_("The audit trail is empty: nothing to anchor."))
            return
        # Printed so that the operator's log keeps a copy outside the database, too.
        self.stdout.write(
            _("Anchored entry %(seq)s, hash %(hash)s, timestamped %(time)s by %(tsa)s.")
            % {
                "seq": anchor.seq,
                "hash": bytes(anchor.hash).hex(),
                "time": anchor.gen_time.isoformat(),
                "tsa": anchor.tsa,
            }
        )
