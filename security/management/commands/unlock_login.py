"""Lifts a login lockout before it runs out: `manage.py unlock_login tanaka` or `--ip ADDRESS`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from security import auditing, lockout


class Command(BaseCommand):
    help = "Lift the sign-in lockout of a user name or a client address."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", default="")
        parser.add_argument("--ip", default="", help="a client address to unlock")

    def handle(self, *args: Any, username: str, ip: str, **options: Any) -> None:
        if not username and not ip:
            raise CommandError("Name a user or give --ip.")
        was_locked = lockout.unlock(username=username, ip=ip)
        auditing.record(
            "security.login_unlocked",
            data={"username": username, "ip": ip, "was_locked": was_locked},
        )
        what = f"{username or ''} {ip or ''}".strip()
        self.stdout.write(f"unlocked {what}" if was_locked else f"{what} was not locked")
