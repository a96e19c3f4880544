from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from documents.defaults import ensure_document_types
from documents.models import DocumentType
from org.demo import DEMO_PASSWORD, seed
from org.models import User
from workflow.demo import seed_routes


class Command(BaseCommand):
    help = "Create the demo organisation サンプル市 and its routes (idempotent). Demo mode only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has users (used by make run).",
        )

    def handle(self, *args: Any, if_empty: bool = False, **options: Any) -> None:
        if if_empty and User.objects.exists():
            self.stdout.write("The database already has users; demo data not seeded.")
            return
        if not settings.DEMO_MODE:
            raise CommandError(
                "seed_demo only runs in demo mode: its passwords are public. "
                "Set EKESSAI_DEMO=1 on a test installation."
            )
        ensure_document_types(DocumentType)
        users = seed()
        seed_routes()
        self.stdout.write(f"Demo organisation ready: {len(users)} users.")
        self.stdout.write(f"Every demo user's password is: {DEMO_PASSWORD}")
        for user in users:
            post = user.primary_post
            where = f"{post.department} {post.position}" if post else ""
            self.stdout.write(f"  {user.username:<10} {user.display_name:<8} {where}")
