"""What a new version of a route or of the 専決規程 changes, in words: the designer shows it beside
a draft and each version waiting for its date, so that the personnel division reads "the 課長 stage
gets a quorum of 1 from April 1" rather than two tables side by side.

Works on the JSON forms (`workflow.definitions`: `RouteDef.as_json`, `rules_as_json`), which is
what drafts and versions hold. Stages are matched by name, rules of the 専決規程 by name too (a
renamed one reads as removed and added); the order of stages matters, and a moved stage is named.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from workflow.models import AfterSendBack, StageMode, StageRole

# The fields of a stage and of a rule that a change is reported for, in the order shown.
STAGE_FIELDS = (
    "mode",
    "role",
    "quorum",
    "quorum_percent",
    "skippable",
    "same_person_again",
    "amount_min",
    "amount_max",
    "doc_types",
    "departments",
    "rules",
)
RULE_FIELDS = (
    "priority",
    "template",
    "amount_min",
    "amount_max",
    "doc_types",
    "departments",
    "exceptions",
)


LABELS = {
    "name": gettext_lazy("name"),
    "after_send_back": gettext_lazy("after a send-back"),
    "mode": gettext_lazy("mode"),
    "role": gettext_lazy("role"),
    "quorum": gettext_lazy("quorum"),
    "quorum_percent": gettext_lazy("quorum in percent"),
    "skippable": gettext_lazy("may be skipped"),
    "same_person_again": gettext_lazy("the same person again"),
    "amount_min": gettext_lazy("amount from"),
    "amount_max": gettext_lazy("amount below"),
    "doc_types": gettext_lazy("document types"),
    "departments": gettext_lazy("departments"),
    "rules": gettext_lazy("approvers"),
    "priority": gettext_lazy("priority"),
    "template": gettext_lazy("route"),
    "exceptions": gettext_lazy("exceptions"),
}
CHOICES: dict[str, Any] = {
    "mode": StageMode,
    "role": StageRole,
    "after_send_back": AfterSendBack,
}


@dataclass(frozen=True)
class Change:
    what: str  # "added" | "removed" | "moved" | "changed" | "route"
    name: str  # the stage or rule (or the route's field, for "route")
    field: str = ""
    before: Any = None
    after: Any = None

    @property
    def text(self) -> str:
        where = {"name": self.name, "field": LABELS.get(self.field, self.field)}
        values = {
            **where,
            "before": _shown(self.before, self.field),
            "after": _shown(self.after, self.field),
        }
        if self.what == "added":
            return _("%(name)s: added") % where
        if self.what == "removed":
            return _("%(name)s: removed") % where
        if self.what == "moved":
            return _("%(name)s: moved from position %(before)s to %(after)s") % values
        if self.what == "route":
            return _("route %(field)s: %(before)s → %(after)s") % values
        return _("%(name)s: %(field)s %(before)s → %(after)s") % values

    def as_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "name": self.name,
            "field": self.field,
            "before": self.before,
            "after": self.after,
            "text": self.text,
        }


def _shown(value: Any, field: str = "") -> str:
    if field in CHOICES and isinstance(value, str) and value in CHOICES[field].values:
        return str(CHOICES[field](value).label)
    if value is None or value == [] or value == "":
        return _("(none)")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(_rule_text(v) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


def _rule_text(rule: dict[str, Any]) -> str:
    """An approver rule or a 例外 in a few words: its kind and what it names."""
    named = [
        str(rule[k]) for k in ("user", "position", "department", "group", "level") if rule.get(k)
    ]
    if "template" in rule:  # an exception of the 専決規程
        return str(rule["template"])
    return f"{rule.get('kind', '')}({' '.join(named)})" if named else str(rule.get("kind", ""))


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(item.get("name", "")): item for item in items}


def _field_changes(
    name: str, old: dict[str, Any], new: dict[str, Any], fields: tuple[str, ...]
) -> list[Change]:
    return [
        Change("changed", name, field, old.get(field), new.get(field))
        for field in fields
        if old.get(field) != new.get(field)
    ]


def route_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    """From route `old` (None: a route with no version yet) to `new`."""
    old = old or {"stages": []}
    changes = [
        Change("route", key, key, old.get(key), new.get(key))
        for key in ("name", "after_send_back")
        if key in old and old.get(key) != new.get(key)
    ]
    old_stages, new_stages = list(old.get("stages") or []), list(new.get("stages") or [])
    before, after = _by_name(old_stages), _by_name(new_stages)
    old_order = [n for n in (str(s.get("name", "")) for s in old_stages) if n in after]
    new_order = [n for n in (str(s.get("name", "")) for s in new_stages) if n in before]
    moved = _moved(old_order, new_order)
    for index, stage in enumerate(new_stages, start=1):
        name = str(stage.get("name", ""))
        if name not in before:
            changes.append(Change("added", name, after=index))
            continue
        if name in moved:
            changes.append(
                Change(
                    "moved", name, before=old_order.index(name) + 1, after=new_order.index(name) + 1
                )
            )
        changes.extend(_field_changes(name, before[name], stage, STAGE_FIELDS))
    changes.extend(Change("removed", name) for name in before if name not in after)
    return changes


def _moved(old_order: list[str], new_order: list[str]) -> set[str]:
    """The stages kept whose place among the kept ones changed: those outside the longest run
    the two orders share."""
    matcher = difflib.SequenceMatcher(a=old_order, b=new_order, autojunk=False)
    kept = {
        old_order[i]
        for block in matcher.get_matching_blocks()
        for i in range(block.a, block.a + block.size)
    }
    return set(new_order) - kept


def rules_changes(old: list[dict[str, Any]] | None, new: list[dict[str, Any]]) -> list[Change]:
    """From the 専決規程 `old` (its rules as JSON) to `new`."""
    before, after = _by_name(list(old or [])), _by_name(list(new))
    changes: list[Change] = []
    for name, rule in after.items():
        if name not in before:
            changes.append(Change("added", name))
        else:
            changes.extend(_field_changes(name, before[name], rule, RULE_FIELDS))
    changes.extend(Change("removed", name) for name in before if name not in after)
    return changes
