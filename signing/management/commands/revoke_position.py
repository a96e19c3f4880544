"""``python manage.py revoke_position KEY_ID [--reason REASON] [--json]``: a post was abolished.

Revokes the current certificate of the position key (``post-{department}-{position}``) with
the reason cessationOfOperation (or ``--reason``), publishes a new CRL and records it in the
audit trail. Signatures made before stay valid (their timestamps are earlier than the
revocation); the key can sign nothing more. ``--reissue`` gives a re-established post a new key.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from signing.crl import REASONS
from signing.pki import PKIError
from signing.positions import (
    POST_ABOLISHED,
    parse_position_key_id,
    reissue_position,
    revoke_position,
)


class Command(BaseCommand):
    help = "Revoke the certificate of a position key (the post was abolished)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key_id", help="e.g. post-12-3 (department 12, position 3)")
        parser.add_argument(
            "--reason",
            default=POST_ABOLISHED,
            choices=sorted({flag.name for flag in REASONS.values()}),
            help=f"revocation reason (default {POST_ABOLISHED})",
        )
        parser.add_argument(
            "--reissue",
            action="store_true",
            help="instead: issue a new key and certificate for a re-established post",
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        key_id: str = options["key_id"]
        if parse_position_key_id(key_id) is None:
            self.stderr.write(f"note: {key_id} is not a position key (post-<dept>-<position>)")
        try:
            if options["reissue"]:
                cert = reissue_position(key_id)
                self.stdout.write(f"{key_id}: new certificate {cert.serial_number:x}")
                return
            revocation = revoke_position(key_id, reason=options["reason"])
        except PKIError as e:
            raise CommandError(str(e)) from e
        if options["json"]:
            self.stdout.write(json.dumps(revocation.as_dict(), ensure_ascii=False, indent=2))
            return
        subject = revocation.subject
        what = f"{subject['cn']} ({subject['ou']})" if subject["ou"] else subject["cn"]
        if revocation.already:
            self.stdout.write(
                f"{key_id}: {what}, certificate {revocation.serial:x} was already revoked "
                f"at {revocation.revoked_at.isoformat()} ({revocation.reason})"
            )
        else:
            self.stdout.write(
                f"{key_id}: {what}, certificate {revocation.serial:x} revoked at "
                f"{revocation.revoked_at.isoformat()} ({revocation.reason}); new CRL published"
            )
