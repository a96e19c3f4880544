"""The states of a document, a route's stages and each approver's slot, and every transition
between them, declared once with viewflow.fsm.

Each transition names its source and target states, the conditions under which it may be taken
and who may take it. Transitions that people take (approve, send back, reject, withdraw, submit,
skip a stage) name a permission; those the route itself takes as it moves (open a slot, decide,
cancel what is left) are refused to every person (`_route_only`): only workflow.progression and
workflow.services call them, after the checks here.

Everything that asks "what may this user do now" asks this module: the services before acting
(`require`), the API and the workspace for their buttons, bulk approval, the inbox and the
reminders (`task_actions`, `document_actions`). None of them re-derives a rule.

The methods change the rows in memory only; the callers save them with the fields they changed,
so that an approval stays a handful of statements (tests/workflow/test_query_budget.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from viewflow.fsm import State
from viewflow.this_object import this

from documents.models import Document, Status
from org import roles
from org.models import User
from org.services import superior_of
from workflow.models import (
    BLOCKING_KINDS,
    Route,
    RouteStage,
    RouteStatus,
    Slot,
    SlotKind,
    SlotStatus,
    StageStatus,
)


class Refusal(State.CONDITION):
    """A condition's answer: true, or false with the API's error code and a message for people."""

    def __init__(self, is_true: bool, code: str = "", message: str = "") -> None:
        super().__init__(is_true, message)
        self.code = code


ALLOWED = Refusal(True)


def is_administrator(user: User) -> bool:
    return bool(user.is_superuser or user.groups.filter(name=roles.ADMINISTRATOR).exists())


def _route_only(flow: Any, user: User) -> bool:
    """Permission of the transitions the route takes as it moves: no person takes them."""
    return False


# --- Slots --------------------------------------------------------------------------------------


class SlotFlow:
    """One person's part in a stage (Slot.status)."""

    status = State(SlotStatus, default=SlotStatus.WAITING)

    def __init__(self, slot: Slot, route: Route | None = None) -> None:
        self.slot = slot
        self.route = route if route is not None else slot.stage.route

    @status.getter()
    def _get_status(self) -> str:
        return self.slot.status

    @status.setter()
    def _set_status(self, value: str) -> None:
        self.slot.status = value

    # -- conditions and permissions --

    def route_running(self) -> Refusal:
        if self.route.status == RouteStatus.WITHDRAWN:
            return Refusal(
                False,
                "withdrawn",
                _("The drafter has withdrawn this document; there is nothing to do."),
            )
        return ALLOWED

    def reviewable(self) -> Refusal:
        """Anything but the drafter's revision is approved (or agreed, read, reviewed)."""
        if self.slot.kind == SlotKind.REVISE:
            return Refusal(False, "revise_task", _("Revise the document and submit it again."))
        if self.slot.kind == SlotKind.ANSWER:
            return Refusal(False, "answer_task", _("Answer the question instead."))
        return ALLOWED

    def not_own_draft(self) -> Refusal:
        """Separation of duties, the last line: nobody approves or decides their own draft."""
        if self.slot.blocking and self.slot.assignee_id == self.route.document.drafter_id:
            return Refusal(False, "own_draft", _("Nobody may approve or decide their own draft."))
        return ALLOWED

    def may_ask(self) -> Refusal:
        if not self.slot.blocking:
            return Refusal(False, "cannot_ask", _("Only approvers can ask a question (質疑)."))
        return ALLOWED

    def is_answer(self) -> Refusal:
        if self.slot.kind != SlotKind.ANSWER:
            return Refusal(False, "not_a_question", _("This task is not a question to answer."))
        return ALLOWED

    def may_act(self, user: User) -> bool:
        """The assignee; or, during a handover period (引継ぎ), the one the task moved from."""
        if user.pk is None:
            return False
        if user.pk == self.slot.assignee_id:
            return True
        until = self.slot.handover_until
        return (
            until is not None
            and user.pk == self.slot.previous_assignee_id
            and timezone.localdate() <= until
        )

    def may_reassign(self, user: User) -> bool:
        """An administrator, or the superior of the assignee's post."""
        if user.pk is None:
            return False
        if is_administrator(user):
            return True
        superior = superior_of(self.slot.assignee, self.slot.department_name)
        return superior is not None and superior.pk == user.pk

    def may_send_back(self) -> Refusal:
        if not self.slot.blocking:
            return Refusal(False, "cannot_send_back", _("Only approvers can send a document back."))
        return ALLOWED

    def may_reject(self) -> Refusal:
        if not self.slot.blocking:
            return Refusal(False, "cannot_reject", _("Only approvers can reject a document."))
        return ALLOWED

    def is_revision(self) -> Refusal:
        if self.slot.kind != SlotKind.REVISE:
            return Refusal(False, "task_closed", _("This document is not waiting for a revision."))
        return ALLOWED

    def is_assignee(self, user: User) -> bool:
        return self.may_act(user)

    def _done_state(self) -> str:
        return SlotStatus.READ if self.slot.kind == SlotKind.CIRCULATE else SlotStatus.APPROVED

    # -- what people do --

    @status.transition(
        source=SlotStatus.OPEN,
        target=State.GET_STATE(
            lambda flow, *args, **kwargs: flow._done_state(),
            states=[SlotStatus.APPROVED, SlotStatus.READ],
        ),
        label=gettext_lazy("Approve"),
        conditions=[this.route_running, this.reviewable, this.not_own_draft],
        permission=this.is_assignee,
    )
    def approve(self, actor: User, comment: str = "") -> None:
        """承認 (合議 agreement, 供覧 read, 後閲 reviewed, by the kind of slot)."""
        self._acted(actor, comment)

    @status.transition(
        source=SlotStatus.OPEN,
        target=SlotStatus.SENT_BACK,
        label=gettext_lazy("Send back"),
        conditions=[this.route_running, this.may_send_back, this.not_own_draft],
        permission=this.is_assignee,
    )
    def send_back(self, actor: User, reason: str) -> None:
        """差し戻し."""
        self._acted(actor, reason)

    @status.transition(
        source=SlotStatus.OPEN,
        target=SlotStatus.REJECTED,
        label=gettext_lazy("Reject"),
        conditions=[this.route_running, this.may_reject, this.not_own_draft],
        permission=this.is_assignee,
    )
    def reject(self, actor: User, reason: str) -> None:
        """却下 / 否決."""
        self._acted(actor, reason)

    @status.transition(
        source=SlotStatus.OPEN,
        target=SlotStatus.APPROVED,
        label=gettext_lazy("Resubmit"),
        conditions=[this.is_revision],
        permission=this.is_assignee,
    )
    def resubmit(self, actor: User) -> None:
        """The drafter's revision is done: the document goes back on its route."""
        self._acted(actor, "")

    @status.transition(
        source=SlotStatus.OPEN,
        target=SlotStatus.OPEN,
        label=gettext_lazy("Ask a question"),
        conditions=[this.route_running, this.may_ask],
        permission=this.is_assignee,
    )
    def ask(self) -> None:
        """質疑: the task stays with its approver; the question is a task of its own."""

    @status.transition(
        source=SlotStatus.OPEN,
        target=SlotStatus.ANSWERED,
        label=gettext_lazy("Answer"),
        conditions=[this.route_running, this.is_answer],
        permission=this.is_assignee,
    )
    def answer(self, actor: User, text: str) -> None:
        self._acted(actor, text)

    @status.transition(
        source=SlotStatus.OPEN,
        target=SlotStatus.OPEN,
        label=gettext_lazy("Reassign"),
        conditions=[this.route_running],
        permission=this.may_reassign,
    )
    def reassign(self) -> None:
        """An administrator or the assignee's superior gives the open task to someone else."""

    def _acted(self, actor: User, comment: str) -> None:
        self.slot.acted_at = timezone.now()
        self.slot.acted_by = actor
        self.slot.comment = comment

    # -- what the route does --

    @status.transition(source=SlotStatus.WAITING, target=SlotStatus.OPEN, permission=_route_only)
    def open(self) -> None:
        self.slot.opened_at = timezone.now()

    @status.transition(
        source=[SlotStatus.WAITING, SlotStatus.OPEN],
        target=SlotStatus.CANCELLED,
        permission=_route_only,
    )
    def cancel(self) -> None:
        """The stage was decided without this person, or the route ended."""

    @status.transition(
        source=[SlotStatus.WAITING, SlotStatus.OPEN],
        target=SlotStatus.SKIPPED,
        permission=_route_only,
    )
    def skip(self, actor: User | None = None, reason: str = "") -> None:
        """Not needed: its stage was skipped or approved before this person's turn."""
        if actor is not None:
            self._acted(actor, reason)


# --- Stages -------------------------------------------------------------------------------------


class StageFlow:
    """A stage of a resolved route (RouteStage.status)."""

    status = State(StageStatus, default=StageStatus.PENDING)

    def __init__(self, stage: RouteStage) -> None:
        self.stage = stage

    @status.getter()
    def _get_status(self) -> str:
        return self.stage.status

    @status.setter()
    def _set_status(self, value: str) -> None:
        self.stage.status = value

    def skippable(self) -> Refusal:
        if self.stage.route.status != RouteStatus.IN_PROGRESS:
            return Refusal(False, "not_in_review", _("This route is not running."))
        if not self.stage.skippable:
            return Refusal(False, "not_skippable", _("This stage may not be skipped."))
        return ALLOWED

    def is_administrator(self, user: User) -> bool:
        return is_administrator(user)

    @status.transition(
        source=[StageStatus.PENDING, StageStatus.ACTIVE],
        target=StageStatus.SKIPPED,
        label=gettext_lazy("Skip the stage"),
        conditions=[this.skippable],
        permission=this.is_administrator,
    )
    def skip(self, reason: str) -> None:
        self.stage.skip_reason = reason

    @status.transition(
        source=StageStatus.PENDING, target=StageStatus.ACTIVE, permission=_route_only
    )
    def activate(self) -> None:
        pass

    @status.transition(
        source=[StageStatus.ACTIVE, StageStatus.PENDING],
        target=StageStatus.DONE,
        permission=_route_only,
    )
    def complete(self) -> None:
        """The stage has its result (a circulation stage is done as soon as it is opened)."""

    @status.transition(
        source=[StageStatus.ACTIVE, StageStatus.DONE, StageStatus.SKIPPED],
        target=StageStatus.PENDING,
        permission=_route_only,
    )
    def rerun(self) -> None:
        """Sent back to or before this stage: it runs again, in a new round."""
        self.stage.round += 1


# --- Documents ----------------------------------------------------------------------------------


class DocumentFlow:
    """A document on its route (Document.status; the running Route's status moves with it)."""

    status = State(Status, default=Status.DRAFT)

    def __init__(
        self,
        document: Document,
        route: Route | None = None,
        current: tuple[RouteStage, list[Slot]] | None = None,
    ) -> None:
        self.document = document
        self.route = route
        self.current = current  # the route's current stage and its slots, if already read

    @status.getter()
    def _get_status(self) -> str:
        return self.document.status

    @status.setter()
    def _set_status(self, value: str) -> None:
        self.document.status = value

    def is_drafter(self, user: User) -> bool:
        return user.pk is not None and user.pk == self.document.drafter_id

    def not_acted_on(self) -> Refusal:
        """引き戻し: only while the current stage's approvers (this round) have not acted."""
        route = self.route
        if route is None or route.status not in (RouteStatus.IN_PROGRESS, RouteStatus.SENT_BACK):
            return Refusal(False, "not_in_review", _("This document is not on a route."))
        if route.status == RouteStatus.SENT_BACK:
            return ALLOWED
        if self.current is None:
            stage = route.stages.get(index=route.current_stage)
            slots = list(stage.slots.filter(kind__in=BLOCKING_KINDS, round=stage.round))
        else:
            stage, slots = self.current
        acted = (SlotStatus.APPROVED, SlotStatus.SENT_BACK)
        if any(s.status in acted and s.blocking and s.round == stage.round for s in slots):
            return Refusal(
                False,
                "already_acted",
                _("The current approver has already acted; ask them to send it back instead."),
            )
        return ALLOWED

    # -- what the drafter does --

    @status.transition(
        source=[Status.DRAFT, Status.WITHDRAWN],
        target=Status.IN_REVIEW,
        label=gettext_lazy("Submit"),
        permission=this.is_drafter,
    )
    def submit(self) -> None:
        """起案."""
        self.document.submitted_at = timezone.now()

    @status.transition(
        source=Status.SENT_BACK,
        target=Status.IN_REVIEW,
        label=gettext_lazy("Resubmit"),
        permission=this.is_drafter,
    )
    def resubmit(self) -> None:
        route = self._route()
        route.status = RouteStatus.IN_PROGRESS
        route.document_version = self.document.version

    @status.transition(
        source=[Status.IN_REVIEW, Status.SENT_BACK],
        target=Status.WITHDRAWN,
        label=gettext_lazy("Withdraw"),
        conditions=[this.not_acted_on],
        permission=this.is_drafter,
    )
    def withdraw(self) -> None:
        """引き戻し / 取り下げ."""
        self._end(RouteStatus.WITHDRAWN)

    # -- what the route does --

    @status.transition(source=Status.IN_REVIEW, target=Status.SENT_BACK, permission=_route_only)
    def send_back(self) -> None:
        self._route().status = RouteStatus.SENT_BACK

    @status.transition(source=Status.IN_REVIEW, target=Status.DECIDED, permission=_route_only)
    def decide(self) -> None:
        """決裁: the decision date now; the number at the end of the action (progression)."""
        self.document.decided_at = self._end(RouteStatus.DECIDED)

    @status.transition(source=Status.IN_REVIEW, target=Status.REJECTED, permission=_route_only)
    def reject(self) -> None:
        self._end(RouteStatus.REJECTED)

    def _end(self, route_status: str) -> Any:
        route = self._route()
        now = timezone.now()
        route.status = route_status
        route.finished_at = now
        return now

    def _route(self) -> Route:
        if self.route is None:
            raise RuntimeError("this transition moves the document's route: pass it")
        return self.route


# --- Asking what a user may do ------------------------------------------------------------------


def refusal(flow: Any, name: str, user: User | None) -> Refusal:
    """Why `user` may not take the transition `name` of `flow` now (ALLOWED if they may; None
    as the user: the route itself, which skips the permission). A transition's permission is the
    same from every source state, so a person without it is told so before anything else."""
    transitions = list(getattr(type(flow), name).get_transitions())
    if user is not None and not transitions[0].has_perm(flow, user):
        if isinstance(flow, SlotFlow) and user.pk == flow.slot.previous_assignee_id:
            return Refusal(
                False,
                "task_reassigned",
                _("This task has moved to %(name)s; they act on it now.")
                % {"name": flow.slot.assignee},
            )
        return Refusal(False, "permission_denied", _forbidden_message(flow, name))
    state = type(flow).status.get(flow)
    transition = _transition(flow, name, state)
    if transition is None:
        return _closed(flow, name)
    unmet = transition.get_unmet_condition(flow)
    if unmet is None:
        return ALLOWED
    result = unmet[1]
    if isinstance(result, Refusal):
        return result
    return Refusal(False, "not_allowed", _("This is not possible now."))


def _transition(flow: Any, name: str, state: str) -> Any:
    for transition in getattr(type(flow), name).get_transitions():
        if transition.source in (state, State.ANY):
            return transition
    return None


def _forbidden_message(flow: Any, name: str) -> str:
    if isinstance(flow, SlotFlow):
        return _("This task is not yours.")
    if isinstance(flow, StageFlow):
        return _("Only an administrator can skip a stage.")
    return {
        "submit": _("Only the drafter can submit this document."),
        "resubmit": _("Only the drafter can submit this document."),
        "withdraw": _("Only the drafter can withdraw this document."),
    }.get(name, _("You do not have permission to do this."))


def _closed(flow: Any, name: str) -> Refusal:
    """No transition `name` from the flow's state: the task, stage or document has moved on."""
    if isinstance(flow, SlotFlow):
        route_running = flow.route_running()
        if not route_running:
            return route_running
        return Refusal(
            False,
            "task_closed",
            _(
                "This task is already closed (%(status)s); someone "
                "may have acted on it a moment ago."
            )
            % {"status": flow.slot.get_status_display()},
        )
    if isinstance(flow, StageFlow):
        return Refusal(False, "not_skippable", _("Only a pending or active stage can be skipped."))
    if name == "withdraw":
        return Refusal(False, "not_in_review", _("This document is not on a route."))
    return Refusal(
        False,
        "not_submittable",
        _("This document is already %(status)s.") % {"status": flow.document.get_status_display()},
    )


TASK_ACTIONS = ("approve", "send_back", "reject", "resubmit", "ask", "answer")
DOCUMENT_ACTIONS = ("submit", "resubmit", "withdraw")


def task_actions(user: User, slot: Slot, route: Route | None = None) -> frozenset[str]:
    """What `user` may do on the task `slot` now: names of SlotFlow transitions, plus
    "annotate" (marks on the record go with reviewing: whoever may approve may mark)."""
    flow = SlotFlow(slot, route)
    allowed = {name for name in TASK_ACTIONS if refusal(flow, name, user)}
    if "approve" in allowed:
        allowed.add("annotate")
    return frozenset(allowed)


def document_actions(user: User, document: Document, route: Route | None) -> frozenset[str]:
    """What `user` may do on the document as a whole now (submit, resubmit, withdraw)."""
    flow = DocumentFlow(document, route)
    return frozenset(name for name in DOCUMENT_ACTIONS if refusal(flow, name, user))


def skippable_stages(user: User, stages: Iterable[RouteStage]) -> frozenset[int]:
    """The indexes of the stages `user` may skip now."""
    return frozenset(s.index for s in stages if refusal(StageFlow(s), "skip", user))
