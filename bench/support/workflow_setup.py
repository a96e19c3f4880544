"""bench/workflow.py: the benchmark's database, settings, sections of the organisation, signing
keys and submitted documents."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ekessai_bench_workflow"


def recreate(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def configure(url: str, data_dir: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["EKESSAI_DATA_DIR"] = str(data_dir)
    # The embedded defaults for signing: the internal CA under the data directory, the internal
    # TSA in process (no TSA_URL).
    os.environ["EKESSAI_PKI_DIR"] = str(data_dir / "pki")
    os.environ.setdefault("EKESSAI_KEY_PASSPHRASE", "bench passphrase, not a secret")
    for name in ("TSA_URL", "TSA_USERNAME", "TSA_PASSWORD"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.conf import settings

    settings.OBJECT_STORE = {"BACKEND": "filesystem", "ROOT": data_dir / "objects"}
    # No mail server here: notifications e-mail offline recipients after commit; keep it in memory.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def make_sections(count: int) -> list[Any]:
    """The drafters of `count` sections of 総務部, each with its 係長 and 課長 and its own number
    counter: 総務課 of the demo (tanaka, suzuki, sato) and count - 1 more made here."""
    from org.models import Department, Position, Post, User

    drafters = [User.objects.get(username="tanaka")]
    parent = Department.objects.get(code="somu")
    positions = {
        p.code: p for p in Position.objects.filter(code__in=["shuji", "kakaricho", "kacho"])
    }
    for k in range(2, count + 1):
        section = Department.objects.create(
            code=f"bench-{k}", name=f"第{k}課", parent=parent, number_prefix=f"総{k}"
        )
        for role in ("shuji", "kakaricho", "kacho"):
            user = User.objects.create(username=f"{role}-{k}", last_name=f"{role}{k}")
            Post.objects.create(user=user, department=section, position=positions[role])
            if role == "shuji":
                drafters.append(user)
    return drafters


def warm_keys() -> None:
    """Every post's signing key issued and loaded, and its holder's dated seal drawn, in this
    process before the actors fork, as a deployment that has run a while has them: a key is
    issued once (first use) and decrypted once per process, a seal drawn once a day for the
    deployment (signing.signer._dated_seal, kept in the shared cache): not what a step costs."""
    import datetime as dt

    from org.services import current_posts
    from signing.keystore import get_keystore
    from signing.signer import JST, _dated_seal, family_name
    from workflow.sealing import _signer

    store = get_keystore()
    today = dt.datetime.now(JST).date()
    for post in current_posts().select_related("user", "department", "position"):
        department = post.department.full_name
        key_id, position, section = _signer(post.user, department, post.position.name)
        store.ca.ensure_position(key_id, position=position, section=section)
        store.get(key_id)
        _dated_seal(family_name(str(post.user)), today, position)
    store.tsa()


def submit_documents(documents: int, signed: bool, drafters: list[Any]) -> list[int]:
    """Submit `documents` notices, by the drafters in turn (sealed by the drafter if `signed`);
    their ids."""
    from django.conf import settings

    from documents.models import DocumentType
    from documents.services import create_document
    from workflow import services

    settings.SIGN_APPROVALS = signed
    notice = DocumentType.objects.get(code="notice")
    ids = []
    for i in range(documents):
        drafter = drafters[i % len(drafters)]
        document = create_document(
            drafter,
            {
                "title": f"通知文の発出について（{i}）",
                "doc_type": notice,
                "amount": 100_000 + i,
                "retention_years": 1,
            },
        )
        services.submit(drafter, document.pk)
        ids.append(document.pk)
    return ids
