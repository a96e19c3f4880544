"""The 専決規程 decides who decides: the one place that says whether a drafter may use a route.

The selection rules (RouteSelectionRule) fix, for a document, a route and with it the deciding
authority: the rank of the position at its last blocking stage. A drafter may choose another
route only if its decider ranks at least as high and it still asks everyone the rules' route asks
(a stage the rules require cannot be dropped), or if an administrator allowed that route on the
rule as a named exception (RouteException, with a reason). Whenever the route used is not the
rules' own, the route row, the submission's history and audit entry, and the cover sheet say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from documents.models import Document
from workflow.definitions import SelectionDef
from workflow.models import RouteTemplate
from workflow.resolution import PlannedRoute, RouteError, deciding_post, resolve, select_rule
from workflow.versions import route_on

HIGHER = "higher"  # the drafter chose a route whose decider ranks at least as high
EXCEPTION = "exception"  # a route the rule allows as a named exception


@dataclass(frozen=True)
class Authority:
    """What the rules asked for, beside the route used."""

    rule_name: str
    rule_template: RouteTemplate
    decider: str  # the position that decides under the rules, e.g. 副市長
    deviation: str = ""  # "", HIGHER or EXCEPTION
    reason: str = ""  # the exception's reason

    def note(self, used: RouteTemplate) -> str:
        """For history, audit and the cover, e.g.
        部長決裁（規程: 課長専決、起案者が上位の決裁を選択）."""
        if not self.deviation:
            return ""
        why = (
            _("the drafter chose a higher decision")
            if self.deviation == HIGHER
            else _("exception: %(reason)s") % {"reason": self.reason}
        )
        return _("%(used)s (rules: %(rule)s, %(why)s)") % {
            "used": used.name,
            "rule": self.rule_template.name,
            "why": why,
        }


def check(
    document: Document,
    chosen: RouteTemplate,
    planned: PlannedRoute,
    on: date | None = None,
    rule: SelectionDef | None = None,
) -> Authority:
    """May the drafter use `chosen` (resolved as `planned`) for this document, under the rules
    valid on `on` (today)? The Authority to record if so; a 422 naming the rule's decider and the
    route if not. `rule`: the rule the caller already selected, so it is not read again."""
    rule = rule or select_rule(document, on)
    template = rule.template
    own = planned.definition if chosen.pk == template.pk else None
    rank, decider = deciding_post(own or route_on(template, on), document)
    authority = Authority(rule.name, template, decider)
    if chosen.pk == template.pk:
        return authority
    reason = next((r for code, r in rule.exceptions if code == chosen.code), None)
    if reason is not None:
        return Authority(rule.name, template, decider, EXCEPTION, reason)
    chosen_rank, _chosen_decider = deciding_post(
        planned.definition or route_on(chosen, on), document
    )
    if rank is not None and (chosen_rank is None or chosen_rank < rank):
        raise RouteError(
            "route_below_authority",
            _(
                "The deciding authority for this document is %(decider)s (rule: %(rule)s). "
                "The route %(route)s cannot be chosen."
            )
            % {"decider": decider, "rule": rule.name, "route": chosen.name},
        )
    missing = _missing_stages(document, template, planned, on)
    if missing:
        raise RouteError(
            "route_drops_stage",
            _(
                "The rules (%(rule)s) ask %(who)s to act on this document; the route %(route)s "
                "leaves them out. Choose a route that includes them."
            )
            % {"rule": rule.name, "who": "、".join(missing), "route": chosen.name},
        )
    return Authority(rule.name, template, decider, HIGHER)


def _missing_stages(
    document: Document, template: RouteTemplate, planned: PlannedRoute, on: date | None
) -> list[str]:
    """The posts the rules' route asks to approve or agree that the chosen route does not."""
    try:
        required = resolve(template, document, definition=route_on(template, on))
    except RouteError:
        return []  # the rules' own route cannot be resolved now (a vacant post): rank decides
    chosen = {_post_key(slot) for stage in planned.stages if stage.blocking for slot in stage.slots}
    return [
        f"{slot.department_name} {slot.position_name}".strip() or str(slot.user)
        for stage in required.stages
        if stage.blocking
        for slot in stage.slots
        if _post_key(slot) not in chosen
    ]


def _post_key(slot: object) -> tuple[object, ...]:
    department = getattr(slot, "post_department", None)
    position = getattr(slot, "post_position", None)
    if department is not None and position is not None:
        return ("post", department.pk, position.pk)
    on_behalf_of = getattr(slot, "on_behalf_of", None)
    user = on_behalf_of or getattr(slot, "user", None)
    return ("user", getattr(user, "pk", None))
