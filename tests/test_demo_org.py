from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from org.demo import DEMO_PASSWORD
from org.models import Department, Post, User
from org.services import deputy_for, holders

EXPECTED = {
    # username: (display name, department, position)
    "tanaka": ("田中 一郎", "総務部 総務課", "主事"),
    "suzuki": ("鈴木 花子", "総務部 総務課", "係長"),
    "yamamoto": ("山本 健", "総務部 総務課", "課長補佐"),
    "sato": ("佐藤 誠", "総務部 総務課", "課長"),
    "takahashi": ("高橋 明", "総務部", "部長"),
    "ito": ("伊藤 直子", "財務部 財政課", "課長"),
    "kobayashi": ("小林 茂", "市長室", "副市長"),
    "watanabe": ("渡辺 恵", "監査委員事務局", "監査担当"),
    "admin": ("管理者", "総務部 情報政策課", "システム管理者"),
}


def snapshot() -> list[tuple[object, ...]]:
    return sorted(
        (
            p.user.username,
            p.user.display_name,
            p.department.full_name,
            p.position.name,
            p.is_primary,
            p.deputy_id,
        )
        for p in Post.objects.select_related("user", "department__parent", "position")
    )


@pytest.mark.django_db
def test_seed_demo_creates_every_user_of_the_design(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out
    for username, (name, department, position) in EXPECTED.items():
        user = User.objects.get(username=username)
        post = user.primary_post
        assert (str(user), post.department.full_name, post.position.name) == (
            name,
            department,
            position,
        ), username
        assert username in out
    assert User.objects.get(username="watanabe").groups.filter(name="auditor").exists()
    assert User.objects.get(username="admin").is_superuser


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo", verbosity=0)
    first = snapshot()
    counts = (User.objects.count(), Department.objects.count(), Post.objects.count())
    call_command("seed_demo", verbosity=0)
    assert snapshot() == first
    assert (User.objects.count(), Department.objects.count(), Post.objects.count()) == counts


@pytest.mark.django_db
def test_if_empty_leaves_a_populated_database_alone(capsys):
    User.objects.create_user("someone")
    call_command("seed_demo", "--if-empty")
    assert "not seeded" in capsys.readouterr().out
    assert not User.objects.filter(username="tanaka").exists()


@pytest.mark.django_db
def test_deputy_of_the_section_chief_while_absent(demo_org):
    from datetime import timedelta

    from django.utils import timezone

    from org.models import Absence

    sato = User.objects.get(username="sato")
    section = Department.objects.get(code="somu-somu")
    assert holders(section, "kacho") == [sato]
    assert deputy_for(sato) is None
    now = timezone.now()
    Absence.objects.create(
        user=sato, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1)
    )
    assert deputy_for(sato) == User.objects.get(username="yamamoto")
    assert deputy_for(sato, now + timedelta(days=2)) is None


@pytest.mark.django_db
def test_demo_passwords_work_only_in_demo_mode(demo_org, settings):
    assert authenticate(username="tanaka", password=DEMO_PASSWORD) is not None
    settings.DEMO_MODE = False
    assert authenticate(username="tanaka", password=DEMO_PASSWORD) is None
    with pytest.raises(CommandError, match="demo mode"):
        call_command("seed_demo")
