"""One generic viewflow flow that runs any resolved route.

    start → open_stage (one task per slot) → approve … → stage_join → settle → route_switch
              ↑                                                                  │
              └──────────── next stage / next person of a sequential stage ──────┤
              └── resubmitted ← revise (the drafter, after a send-back) ←────────┤
                                                                 decided / ended ┘

The nodes only call workflow.progression; what a person may do is checked by workflow.services
before any task is touched (viewflow checks no permissions itself). Human tasks are completed by
the services, never through viewflow's views, which are not mounted.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from viewflow import this
from viewflow.workflow import flow

from workflow import progression
from workflow.locks import select_for_update_lock
from workflow.models import ApprovalProcess, Route, RouteStatus
from workflow.nodes import DynamicSplit


def no_ui(request: HttpRequest, *args: Any, **kwargs: Any) -> None:
    raise PermissionDenied


def route_of(process: Any) -> Route:
    return Route.objects.select_related("document").get(process_id=process.pk)


class ApprovalFlow(flow.Flow):
    """決裁ルート"""

    process_class = ApprovalProcess
    lock_impl = select_for_update_lock

    start = flow.StartHandle(this.start_route).Next(this.open_stage)
    open_stage = DynamicSplit(this.stage_tasks).Next(this.approve)
    approve = (
        flow.View(no_ui)
        .Assign(this.slot_assignee)
        .onCreate(this.stamp_assigned)  # viewflow 2.4 never fills Task.assigned itself
        .Next(this.stage_join)
    )
    stage_join = flow.Join(continue_on_condition=this.stage_decided).Next(this.settle_stage)
    settle_stage = flow.Function(this.settle).Next(this.route_switch)
    route_switch = (
        flow.Switch()
        .Case(this.open_stage, this.is_running)
        .Case(this.revise, this.is_sent_back)
        .Case(this.decided, this.is_decided)
        .Default(this.ended)
    )
    revise = flow.View(no_ui).Assign(this.drafter).Next(this.resubmitted)
    resubmitted = flow.Function(this.noop).Next(this.open_stage)
    decided = flow.End()
    ended = flow.End()

    def start_route(self, activation: Any, route: Route) -> Any:
        # The process row must exist before the route can point at it.
        activation.process.save()
        route.process = activation.process
        route.save(update_fields=["process"])
        progression.advance(route)
        return activation.process

    def stage_tasks(self, activation: Any) -> list[tuple[Any, dict[str, Any], Any]]:
        route = route_of(activation.process)
        return [
            (self.approve, {"slot": slot.pk, "stage": route.current_stage}, slot)
            for slot in progression.slots_to_open(route)
        ]

    def slot_assignee(self, activation: Any) -> Any:
        return activation.task.seed.assignee

    def stamp_assigned(self, activation: Any) -> None:
        activation.task.assigned = timezone.now()
        activation.task.save(update_fields=["assigned"])

    def drafter(self, activation: Any) -> Any:
        return route_of(activation.process).document.drafter

    def stage_decided(self, activation: Any, active_tasks: Any) -> bool:
        """True once the stage has its result: the join fires and cancels the other tasks."""
        route = route_of(activation.process)
        return progression.outcome(route.stages.get(index=route.current_stage)) is not None

    def settle(self, activation: Any) -> None:
        progression.settle(route_of(activation.process))

    def noop(self, activation: Any) -> None:
        pass

    def is_running(self, activation: Any) -> bool:
        return route_of(activation.process).status == RouteStatus.IN_PROGRESS

    def is_sent_back(self, activation: Any) -> bool:
        return route_of(activation.process).status == RouteStatus.SENT_BACK

    def is_decided(self, activation: Any) -> bool:
        return route_of(activation.process).status == RouteStatus.DECIDED
