from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.models import TokenScope
from api.tokens import create_token
from org.models import User


class Command(BaseCommand):
    help = "Print a new API token for USER on stdout (nothing else goes to stdout)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="issued by manage.py issue_token")
        parser.add_argument("--scope", choices=TokenScope.values, default=TokenScope.ACT)
        parser.add_argument("--days", type=int, default=None, help="Lifetime in days.")

    def handle(
        self, *args: Any, username: str, name: str, scope: str, days: int | None, **options: Any
    ) -> None:
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {username!r} is deactivated.")
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        _, key = create_token(
            user, name=name, scope=scope, expires_in=timedelta(days=days) if days else None
        )
        self.stdout.write(key)
