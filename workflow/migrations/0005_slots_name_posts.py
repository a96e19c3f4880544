"""Slots of routes already running name their post (issue 15), so that they follow it too.

A slot resolved before migration 0004 names only a person and the post's names as printed. The post
is found again from them: a post of the person (or of the absent person a deputy acts for) whose
department and position read the same. A slot whose post cannot be found keeps naming the person.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _full_name(department: Any, by_id: dict[int, Any]) -> str:
    chain, seen, node = [], set(), department
    while node is not None and node.pk not in seen:
        chain.append(node)
        seen.add(node.pk)
        node = by_id.get(node.parent_id) if node.parent_id else None
    names = [d.name for d in reversed(chain) if not d.is_organisation]
    return " ".join(names) or department.name


def name_posts(apps: Any, schema_editor: Any) -> None:
    Slot = apps.get_model("workflow", "Slot")
    Post = apps.get_model("org", "Post")
    Department = apps.get_model("org", "Department")
    departments = {d.pk: d for d in Department.objects.all()}
    slots = Slot.objects.filter(
        post_department__isnull=True,
        status__in=("waiting", "open"),
        kind__in=("approve", "consult"),
    ).exclude(position_name="")
    for slot in slots:
        person = slot.on_behalf_of_id or slot.assignee_id
        for post in Post.objects.filter(user_id=person).select_related("position"):
            department = departments.get(post.department_id)
            if department is None or post.position.name != slot.position_name:
                continue
            if _full_name(department, departments) == slot.department_name:
                slot.post_department_id = post.department_id
                slot.post_position_id = post.position_id
                slot.save(update_fields=["post_department", "post_position"])
                break


class Migration(migrations.Migration):
    dependencies = [("workflow", "0004_personnel"), ("org", "0003_personnel")]

    operations = [migrations.RunPython(name_posts, migrations.RunPython.noop)]
