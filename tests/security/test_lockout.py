"""Login lockout per user name and per client address, with a message that says when to retry."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client

from org.demo import DEMO_PASSWORD
from security import lockout

pytestmark = pytest.mark.django_db


WRONG = "wrong-password"


def login(username: str, password: str = WRONG, ip: str = "192.0.2.10", **extra) -> Any:
    return Client(REMOTE_ADDR=ip, **extra).post(
        "/login/", {"username": username, "password": password}
    )


def test_five_failures_lock_the_user_name_with_a_message_saying_when(demo_org, caplog):
    for _ in range(4):
        response = login("suzuki")
        assert response.status_code == 200  # the login form with its error
    with caplog.at_level(logging.WARNING, logger="security"):
        locked = login("suzuki")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "以降にもう一度お試しください" in page
    until = lockout.locked_until(None, "suzuki")
    assert until is not None and until.strftime("%H:%M") in page
    assert "security.login_locked" in caplog.text
    # While locked, not even the right password gets in, from any address.
    assert login("suzuki", DEMO_PASSWORD, ip="198.51.100.7").status_code == 429
    assert login("SUZUKI ", DEMO_PASSWORD, ip="198.51.100.7").status_code == 429
    # Others are not concerned.
    assert login("tanaka", DEMO_PASSWORD).status_code == 302
    if apps.is_installed("audit"):
        from audit.models import AuditEntry

        assert AuditEntry.objects.filter(action="security.login_locked").count() == 1


def test_the_lock_ends_by_itself(demo_org, monkeypatch):
    for _ in range(5):
        login("suzuki")
    assert login("suzuki", DEMO_PASSWORD).status_code == 429
    later = time.time() + 15 * 60 + 1
    monkeypatch.setattr(lockout.time, "time", lambda: later)
    assert login("suzuki", DEMO_PASSWORD).status_code == 302


def test_a_success_clears_the_count(demo_org):
    for _ in range(4):
        login("suzuki")
    assert login("suzuki", DEMO_PASSWORD).status_code == 302
    for _ in range(4):
        assert login("suzuki").status_code == 200


def test_an_address_trying_many_names_is_locked(demo_org, settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 6
    for name in ("a", "b", "c", "d", "e"):
        assert login(name).status_code == 200
    assert login("f").status_code == 429
    assert login("tanaka", DEMO_PASSWORD).status_code == 429
    assert login("tanaka", DEMO_PASSWORD, ip="192.0.2.99").status_code == 302


def test_behind_a_proxy_the_forwarded_address_counts(demo_org, settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 2
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    for name in ("a", "b"):
        login(name, ip=proxy, HTTP_X_FORWARDED_FOR="forged, 203.0.113.5")
    same = login("tanaka", DEMO_PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert same.status_code == 429
    other = login("tanaka", DEMO_PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert other.status_code == 302


def test_the_admin_login_is_locked_too(demo_org):
    for _ in range(5):
        login("admin")
    response = Client().post("/admin/login/", {"username": "admin", "password": DEMO_PASSWORD})
    assert response.status_code == 429


def test_an_administrator_can_lift_a_lock(demo_org):
    for _ in range(5):
        login("suzuki")
    call_command("unlock_login", "suzuki", stdout=io.StringIO())
    assert login("suzuki", DEMO_PASSWORD).status_code == 302


LOCK_SCRIPT = """
import sys
import django
django.setup()
from security import lockout
if sys.argv[1] == "fail":
    for _ in range(5):
        lockout.register_failure(None, "tanaka")
print("locked" if lockout.locked_until(None, "tanaka") else "open")
"""


def test_unlock_login_unlocks_what_another_process_counted_in_the_embedded_mode(tmp_path):
    """Issue 17: the lock lived in the server process's memory, so the command did nothing.
    Three processes of one embedded installation: the one that counts, the command, and one
    that checks."""
    base = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        EKESSAI_DATA_DIR=str(tmp_path),
        EKESSAI_MODE="embedded",
        DJANGO_SETTINGS_MODULE="config.settings",
    )

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args], cwd=base, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    run("manage.py", "migrate", "--noinput", "--verbosity", "0")
    assert run("-c", LOCK_SCRIPT, "fail") == "locked"
    assert run("-c", LOCK_SCRIPT, "check") == "locked"  # another process sees the lock
    assert run("manage.py", "unlock_login", "tanaka") == "unlocked tanaka"
    assert run("-c", LOCK_SCRIPT, "check") == "open"
    assert run("manage.py", "unlock_login", "tanaka") == "tanaka was not locked"
