"""``python manage.py verify_pdf FILE [--json] [--language en]``: check the signatures of a signed
record. The problems and changes are told in LANGUAGE_CODE (Japanese) unless asked otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from signing.verify import verify_pdf


class Command(BaseCommand):
    help = "Verify the signatures, timestamps and later changes of a PDF (exit 1 if invalid)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="the language of the problems and changes (default: %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as e:
            raise CommandError(f"cannot read {path}: {e}") from e
        with translation.override(options["language"]):
            report = verify_pdf(data)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(f"{path}: {'VALID' if report.valid else 'INVALID'}")
            if report.problem:
                self.stdout.write(f"  problem: {report.problem}")
            for s in report.signatures:
                mark = "OK " if s.valid else "NG "
                who = f"{s.position} / {s.section} / {s.organisation}"
                self.stdout.write(f"  {mark}{s.field_name} [{s.kind}] {who}")
                if s.signer_name or s.reason:
                    self.stdout.write(f"      {s.signer_name or ''}  {s.reason or ''}")
                self.stdout.write(
                    f"      signed_at={s.signed_at} timestamp={s.timestamp} tsa={s.tsa}"
                )
                self.stdout.write(
                    f"      intact={s.intact} trusted={s.trusted} modification={s.modification}"
                )
                for change in s.changes:
                    self.stdout.write(f"      - {change}")
                if s.problem:
                    self.stdout.write(f"      problem: {s.problem}")
        if not report.valid:
            raise SystemExit(1)
