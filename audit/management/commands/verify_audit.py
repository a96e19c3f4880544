"""python manage.py verify_audit [--json]: check the whole audit trail; non-zero exit if broken."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from audit.verification import verify


class Command(BaseCommand):
    help = "Check every hash, link and anchor of the audit trail; name the first broken entry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--slow",
            action="store_true",
            help="rebuild every message field by field (the exact walk) even on PostgreSQL",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify(fast=not options["slow"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self._print(report)
        if not report.valid:
            if report.problem is not None:
                raise CommandError(
                    _("The audit trail is broken at entry %(seq)s (%(kind)s).")
                    % {"seq": report.problem.seq, "kind": report.problem.kind},
                    returncode=1,
                )
            raise CommandError(_("An anchor of the audit trail does not verify."), returncode=1)

    def _print(self, report: Any) -> None:
        out = self.stdout
        if report.problem is None:
            out.write(
                _("Audit trail intact: %(n)s entries, head %(hash)s (checked in %(s).2f s).")
                % {"n": report.entries, "hash": report.head_hash, "s": report.seconds}
            )
        else:
            out.write(
                _("BROKEN at entry %(seq)s (%(kind)s): %(message)s")
                % {
                    "seq": report.problem.seq,
                    "kind": report.problem.kind,
                    "message": report.problem.message,
                }
            )
            out.write(
                _("Entries 1 to %(last)s are intact.") % {"last": report.entries}
                if report.entries
                else _("No entry before it is intact.")
            )
        for anchor in report.anchors:
            if anchor.valid:
                out.write(
                    _("Anchor at entry %(seq)s: timestamped %(time)s by %(tsa)s, verified.")
                    % {"seq": anchor.seq, "time": anchor.gen_time, "tsa": anchor.tsa}
                )
            else:
                out.write(
                    _("Anchor at entry %(seq)s: NOT VALID: %(problem)s")
                    % {"seq": anchor.seq, "problem": anchor.problem}
                )
        if not report.anchors:
            out.write(_("No anchor yet: run anchor_audit to timestamp the chain head."))
