"""The demo organisation of DESIGN.md section 7: サンプル市 (Sample City)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction

from org import roles
from org.models import Department, Position, Post, User

DEMO_PASSWORD = "kessai-demo-2026"  # noqa: S105  refused outside demo mode (org.auth)

# code, name, parent code, document number prefix
DEPARTMENTS = [
    ("city", "サンプル市", None, "サ"),
    ("somu", "総務部", "city", "総"),
    ("somu-somu", "総務課", "somu", "総総"),
    ("zaimu", "財務部", "city", "財"),
    ("zaimu-zaisei", "財政課", "zaimu", "財財"),
    ("mayor", "市長室", "city", "市"),
    ("audit", "監査委員事務局", "city", "監"),
    ("johoseisaku", "情報政策課", "somu", "情"),
]

# code, name, rank
POSITIONS = [
    ("shuji", "主事", 10),
    ("kakaricho", "係長", 20),
    ("kachohosa", "課長補佐", 30),
    ("kacho", "課長", 40),
    ("bucho", "部長", 50),
    ("fukushicho", "副市長", 70),
    ("shicho", "市長", 80),
    ("kansa", "監査担当", 15),
    ("sysadmin", "システム管理者", 15),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    family: str
    given: str
    department: str
    position: str
    roles: tuple[str, ...]


USERS = [
    DemoUser("tanaka", "田中", "一郎", "somu-somu", "shuji", (roles.DRAFTER,)),
    DemoUser("suzuki", "鈴木", "花子", "somu-somu", "kakaricho", (roles.DRAFTER, roles.APPROVER)),
    DemoUser("yamamoto", "山本", "健", "somu-somu", "kachohosa", (roles.DRAFTER, roles.APPROVER)),
    DemoUser("sato", "佐藤", "誠", "somu-somu", "kacho", (roles.APPROVER,)),
    DemoUser("takahashi", "高橋", "明", "somu", "bucho", (roles.APPROVER,)),
    DemoUser("ito", "伊藤", "直子", "zaimu-zaisei", "kacho", (roles.APPROVER,)),
    DemoUser("kobayashi", "小林", "茂", "mayor", "fukushicho", (roles.APPROVER,)),
    DemoUser("watanabe", "渡辺", "恵", "audit", "kansa", (roles.AUDITOR,)),
    DemoUser("admin", "管理者", "", "johoseisaku", "sysadmin", (roles.ADMINISTRATOR,)),
]


@transaction.atomic
def seed() -> list[User]:
    """Create or update the demo organisation; running it twice changes nothing the second time."""
    for name in roles.ROLES:
        Group.objects.get_or_create(name=name)
    depts: dict[str, Department] = {}
    for order, (code, name, parent, prefix) in enumerate(DEPARTMENTS):
        depts[code], _ = Department.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "parent": depts[parent] if parent else None,
                "number_prefix": prefix,
                "sort_order": order,
                "is_organisation": parent is None,
            },
        )
    positions = {
        code: Position.objects.update_or_create(code=code, defaults={"name": name, "rank": rank})[0]
        for code, name, rank in POSITIONS
    }
    users: list[User] = []
    for spec in USERS:
        user, _ = User.objects.update_or_create(
            username=spec.username,
            defaults={
                "last_name": spec.family,
                "first_name": spec.given,
                "display_name": f"{spec.family} {spec.given}".strip(),
                "email": f"{spec.username}@example.jp",
                "is_demo_account": True,
                "is_staff": roles.ADMINISTRATOR in spec.roles,
                "is_superuser": roles.ADMINISTRATOR in spec.roles,
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        user.groups.set(Group.objects.filter(name__in=spec.roles))
        Post.objects.update_or_create(
            user=user,
            department=depts[spec.department],
            position=positions[spec.position],
            defaults={"is_primary": True},
        )
        users.append(user)
    # 課長補佐 yamamoto is the standing deputy (代決者) of the section chief sato.
    Post.objects.filter(user__username="sato", position__code="kacho").update(
        deputy=User.objects.get(username="yamamoto")
    )
    return users
