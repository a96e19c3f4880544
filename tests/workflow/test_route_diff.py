"""What a new version changes, in words (workflow.route_diff)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from workflow.definitions import route_from_rows, rules_as_json, rules_from_rows
from workflow.models import RouteTemplate
from workflow.route_diff import route_changes, rules_changes


def stage(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "mode": "sequential", "role": "approve", "rules": [], **fields}


def texts(changes: list[Any]) -> list[str]:
    with translation.override("en"):
        return [c.text for c in changes]


def test_a_stage_added_removed_moved_and_changed() -> None:
    old = {
        "name": "課長専決",
        "after_send_back": "restart",
        "stages": [stage("係長"), stage("審査"), stage("課長", role="decide")],
    }
    new = {
        "name": "課長専決",
        "after_send_back": "resume",
        "stages": [
            stage("審査", mode="quorum", quorum=1),
            stage("係長"),
            stage("合議", mode="parallel"),
            stage("課長", role="decide", rules=[{"kind": "position", "position": "kacho"}]),
        ],
    }
    found = texts(route_changes(old, new))
    assert found == [
        "route after a send-back: Start again from the first stage → Resume at the stage that "
        "sent it back",
        "審査: moved from position 2 to 1",
        "審査: mode Sequential (one after another) → A quorum of them",
        "審査: quorum (none) → 1",
        "合議: added",
        "課長: approvers (none) → position(kacho)",
    ], found


def test_nothing_changed_is_no_change() -> None:
    route = {"name": "x", "after_send_back": "restart", "stages": [stage("a"), stage("b")]}
    assert route_changes(route, route) == []
    assert texts(route_changes(route, {**route, "stages": [stage("a")]})) == ["b: removed"]


@pytest.mark.django_db
def test_the_demo_rules_against_a_changed_copy(demo_org) -> None:
    rules = rules_as_json(rules_from_rows())
    assert rules_changes(rules, rules) == []
    changed = [dict(r) for r in rules]
    changed[0]["amount_max"] = 123
    dropped = changed.pop()
    found = rules_changes(rules, changed)
    assert [(c.what, c.name, c.field) for c in found] == [
        ("changed", rules[0]["name"], "amount_max"),
        ("removed", dropped["name"], ""),
    ]
    template = RouteTemplate.objects.get(code="kacho-senketsu")
    assert route_changes(None, route_from_rows(template).as_json())[0].what == "added"
