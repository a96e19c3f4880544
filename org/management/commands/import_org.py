from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from org.importing import KINDS, OrgImportError, import_csv


class Command(BaseCommand):
    help = (
        "Import departments, positions or staff from a personnel-system CSV (see org/importing.py)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, kind: str, file: Path, **options: Any) -> None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from exc
        try:
            result = import_csv(data, kind)
        except OrgImportError as exc:
            raise CommandError("Nothing was imported:\n" + "\n".join(exc.errors)) from exc
        self.stdout.write(
            f"{kind}: {result.created} created, {result.updated} updated, "
            f"{result.ended_posts} posts ended"
        )
