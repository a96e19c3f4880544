"""One generic viewflow flow that runs any resolved route.

    start → open_stage (one task per slot) → approve … → stage_join → settle → route_switch
              ↑                                                                  │
              └──────────── next stage / next person of a sequential stage ──────┤
              └── resubmitted ← revise (the drafter, after a send-back) ←────────┤
                                                                 decided / ended ┘

The nodes only call workflow.progression; what a person may do is checked by workflow.services
before any task is touched (viewflow checks no permissions itself). Human tasks are completed by
the services, never through viewflow's views, which are not mounted: `complete_task` runs the
flow on with workflow.nodes.run_on (the same graph and callbacks, viewflow's rows written in
bulk); `run_with_viewflow` is viewflow's own way, kept as the reference the tests compare with.
A callback reads the route from `activation.context` when the caller handed over its locked row,
else from the database.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.status import STATUS

from org.models import User
from workflow import progression
from workflow.locks import select_for_update_lock
from workflow.models import ApprovalProcess, Route, RouteStatus
from workflow.nodes import DynamicSplit, run_on


def no_ui(request: HttpRequest, *args: Any, **kwargs: Any) -> None:
    raise PermissionDenied


def route_of(process: Any) -> Route:
    return Route.objects.select_related("document").get(process_id=process.pk)


def _context(activation: Any) -> dict[str, Any] | None:
    context = getattr(activation, "context", None)
    return context if isinstance(context, dict) else None


def _route(activation: Any) -> Route:
    context = _context(activation)
    if context is not None and "route" in context:
        route: Route = context["route"]
        return route
    return route_of(activation.process)


def _rows(activation: Any) -> progression.RouteRows | None:
    """The route's stages and slots, read once per run (progression.RouteRows) and again only
    once stale; None under viewflow's own activations, which read what they need each time."""
    context = _context(activation)
    if context is None:
        return None
    rows: progression.RouteRows | None = context.get("rows")
    if rows is None or rows.stale:
        rows = context["rows"] = progression.RouteRows.read(_route(activation))
    return rows


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
        route = _route(activation)
        return [
            (self.approve, {"slot": slot.pk, "stage": route.current_stage}, slot)
            for slot in progression.slots_to_open(route, _rows(activation))
        ]

    def slot_assignee(self, activation: Any) -> Any:
        return activation.task.seed.assignee

    def stamp_assigned(self, activation: Any) -> None:
        activation.task.assigned = timezone.now()
        if activation.task.pk is not None:  # run_on inserts the row later, with the stamp
            activation.task.save(update_fields=["assigned"])

    def drafter(self, activation: Any) -> Any:
        return _route(activation).document.drafter

    def stage_decided(self, activation: Any, active_tasks: Any) -> bool:
        """True once the stage has its result: the join fires and cancels the other tasks."""
        route = _route(activation)
        return progression.outcome(*progression.current_stage(route, _rows(activation))) is not None

    def settle(self, activation: Any) -> None:
        route = _route(activation)
        context = _context(activation) or {}
        rows = _rows(activation)
        progression.settle(
            route, *progression.current_stage(route, rows), actor=context.get("actor"), rows=rows
        )

    def noop(self, activation: Any) -> None:
        pass

    def is_running(self, activation: Any) -> bool:
        return _route(activation).status == RouteStatus.IN_PROGRESS

    def is_sent_back(self, activation: Any) -> bool:
        return _route(activation).status == RouteStatus.SENT_BACK

    def is_decided(self, activation: Any) -> bool:
        return _route(activation).status == RouteStatus.DECIDED


def open_tasks(route: Route) -> list[Any]:
    """The route's unfinished viewflow tasks; read under the process lock."""
    return list(
        ApprovalFlow.task_class._default_manager.filter(process_id=route.process_id).exclude(
            status__in=[STATUS.DONE, STATUS.CANCELED, STATUS.REVIVED]
        )
    )


def complete_task(route: Route, task: Any, tasks: list[Any], actor: User) -> None:
    """Complete the open human `task` (one of `tasks`, from open_tasks) as its owner would, and
    run the flow on. `route` is the locked row: the callbacks read and move it in memory."""
    run_on(route.process, task, tasks, {"route": route, "actor": actor})


def run_with_viewflow(task: Any) -> None:
    """The same through viewflow's activations (one node at a time): the reference."""
    activation = task.flow_task.activation_class(task)
    activation.start(None)
    activation.execute()
