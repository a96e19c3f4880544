"""The flow's own node types, and a faster way of running the flow on from a human task.

DynamicSplit: viewflow 2.4's free Split only fans out to branches declared in the graph
(task_data_source is a PRO feature). SplitActivation already gives each outgoing task a split token,
which Join uses to find the siblings it waits for; the subclass only changes what is created.

run_on(): completing a human task makes viewflow walk join → settle → switch → split (or end), one
activation at a time: every node is an INSERT, a link INSERT, an UPDATE and often a savepoint,
about 30 statements per approval before our own rows. run_on() walks the same declared graph,
calls the same node callbacks in the same order, and writes the same Task rows (same nodes,
statuses, tokens, owners, seeds, data, timestamps set, `previous` links) in a handful of bulk
statements at the end. It knows the node types this flow uses (View, Join, Function, Switch,
DynamicSplit, End) and refuses any other. tests/workflow/test_direct_run.py checks that both ways
leave the same rows. Starting and cancelling a process still go through viewflow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone
from viewflow import this
from viewflow.workflow import Activation
from viewflow.workflow.exceptions import FlowRuntimeError
from viewflow.workflow.flow import End, Function, Join, Split, Switch, View
from viewflow.workflow.nodes import SplitActivation
from viewflow.workflow.signals import flow_finished, task_finished, task_started
from viewflow.workflow.status import PROCESS, STATUS
from viewflow.workflow.token import Token

from config.db import insert_rows

# (node, task data, seed object) for every task to create.
Item = tuple[Any, dict[str, Any], Any]

FINISHED = (STATUS.DONE, STATUS.CANCELED, STATUS.REVIVED)


class DynamicSplitActivation(SplitActivation):
    @Activation.status.super()
    def activate(self) -> None:
        self.next_tasks = self.flow_task.items(self)

    @Activation.status.super()
    def create_next(self) -> Iterator[Any]:
        token_source = Token.split_token_source(self.task.token, self.task.pk)
        for node, data, seed in self.next_tasks:
            yield node._create(prev_activation=self, token=next(token_source), data=data, seed=seed)


class DynamicSplit(Split):
    """Split whose fan-out is `items_source(activation) -> [(node, data, seed), ...]`.

    Every node the source may return must still be declared with .Next(node), so the graph
    (incoming edges, Join wiring) stays correct.
    """

    activation_class = DynamicSplitActivation

    def __init__(self, items_source: Callable[..., list[Item]] | Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._items_source = items_source

    def _resolve(self, instance: Any) -> None:
        super()._resolve(instance)
        self._items_source = this.resolve(instance, self._items_source)

    def items(self, activation: Any) -> list[Item]:
        declared = [node for node, _condition, _source in self._branches]
        items: list[Item] = list(self._items_source(activation))
        if not items:
            raise FlowRuntimeError(f"{self.name}: no task to create")
        for node, _data, _seed in items:
            if not any(node is d for d in declared):
                raise FlowRuntimeError(f"{self.name}: {node} is not a declared branch")
        return items


# --- Running the flow on without viewflow's per-node activations --------------------------------


@dataclass
class DirectActivation:
    """What a node callback is handed: the process, the task row being made, and whatever the
    caller put in `context` (the flow reads its locked route from there)."""

    process: Any
    task: Any
    flow_task: Any
    context: dict[str, Any]

    @property
    def flow_class(self) -> Any:
        return self.flow_task.flow_class


@dataclass
class _Split:
    """A split row whose pk the children's tokens need: 'token/<split pk>_<n>'."""

    task: Any
    children: list[Any] = field(default_factory=list)


class DirectRun:
    def __init__(self, process: Any, open_tasks: list[Any], context: dict[str, Any]) -> None:
        self.flow = process.flow_class
        self.task_class = self.flow.task_class
        self.process = process
        self.now = timezone.now()
        self.context = context
        self.open = [t for t in open_tasks if t.status not in FINISHED]
        self.new: list[Any] = []  # rows to insert, in the order viewflow would create them
        self.updated: dict[int, tuple[Any, set[str]]] = {}  # existing rows to update
        self.links: list[tuple[Any, Any]] = []  # (task, previous task)
        self.splits: list[_Split] = []
        self.started: list[Any] = []
        self.finished: list[Any] = []
        self.process_done = False

    # -- walking the graph ----------------------------------------------------------------------

    def complete(self, task: Any) -> None:
        """A human task done by its owner (ViewActivation.start + execute)."""
        if task.status != STATUS.ASSIGNED:
            raise FlowRuntimeError(f"{task} is not assigned")
        task.started = self.now
        task.status = STATUS.DONE
        task.finished = self.now
        self._update(task, "started", "status", "finished")
        self.finished.append(task)
        self._next(task.flow_task, task)

    def _activation(self, node: Any, task: Any) -> DirectActivation:
        return DirectActivation(self.process, task, node, self.context)

    def _next(self, node: Any, task: Any) -> None:
        if node._next is None:
            return
        data = node._task_data(self._activation(node, task)) if node._task_data else {}
        seed = node._task_seed(self._activation(node, task)) if node._task_seed else None
        self._enter(node._next, task, Token(str(task.token)), data, seed)

    def _row(self, node: Any, token: Token | None, data: Any = None, seed: Any = None) -> Any:
        if node._boundary_events:
            raise FlowRuntimeError(f"{node.name}: boundary events are not supported here")
        row = self.task_class(
            process=self.process, flow_task=node, flow_task_type=node.task_type, token=token
        )
        row.data = data if data is not None else {}
        row.seed = seed
        row.created = timezone.now()
        self.new.append(row)
        return row

    def _enter(
        self, node: Any, previous: Any, token: Token | None, data: Any = None, seed: Any = None
    ) -> None:
        if isinstance(node, View):
            self._view(node, previous, token, data, seed)
        elif isinstance(node, Join):
            self._join(node, previous, token or Token("start"), data, seed)
        elif isinstance(node, DynamicSplit):
            self._split(node, previous, token, data, seed)
        elif isinstance(node, Switch):
            self._switch(node, previous, token, data, seed)
        elif isinstance(node, Function):
            self._function(node, previous, token, data, seed)
        elif isinstance(node, End):
            self._end(node, previous, token, data, seed)
        else:
            raise FlowRuntimeError(f"{node.name}: {type(node).__name__} is not supported here")

    def _view(self, node: Any, previous: Any, token: Token | None, data: Any, seed: Any) -> None:
        """ViewActivation.create: assigned at once when the node names an owner."""
        row = self._row(node, token, data, seed)
        activation = self._activation(node, row)
        permission = node.calc_owner_permission(activation)
        if permission:
            row.owner_permission = permission
            row.owner_permission_obj = node.calc_owner_permission_obj(activation)
        owner = node.calc_owner(activation)
        if owner:
            row.owner = owner
            row.status = STATUS.ASSIGNED
        self.links.append((row, previous))
        if node._on_create is not None:
            node._on_create(activation)
        self.open.append(row)

    def _join(self, node: Any, previous: Any, token: Token, data: Any, seed: Any) -> None:
        """JoinActivation: one join row per process and wait; done when the condition says so or
        no sibling is left, and then the siblings still open are cancelled."""
        joins = [t for t in self.open if t.flow_task is node and t.status in _JOIN_OPEN]
        if len(joins) > 1:
            raise FlowRuntimeError("More than one join instance for process found")
        if joins:
            row = joins[0]
        else:
            row = self._row(
                node, token.get_base_split_token() if token.is_split_token() else token, data, seed
            )
            self.open.append(row)
        self.links.append((row, previous))
        if row.status != STATUS.STARTED:  # JoinActivation.activate, on the first arrival
            row.started = row.started or self.now
            row.status = STATUS.STARTED
            self._update(row, "started", "status")
        prefix = Token(str(previous.token)).get_common_split_prefix(row.token, previous.pk)
        siblings = [
            t
            for t in self.open
            if t is not row and t.status not in FINISHED and str(t.token).startswith(prefix)
        ]
        condition = node._continue_on_condition
        decided = bool(condition and condition(self._activation(node, row), siblings))
        if siblings and not decided:
            return  # waiting for the others
        for sibling in siblings if decided else []:
            if sibling.status not in (STATUS.NEW, STATUS.ASSIGNED) or not isinstance(
                sibling.flow_task, View
            ):
                raise FlowRuntimeError(f"Can't cancel {sibling}")
            sibling.status = STATUS.CANCELED
            sibling.finished = self.now
            self._update(sibling, "status", "finished")
        self._done(row)
        self._next(node, row)

    def _function(
        self, node: Any, previous: Any, token: Token | None, data: Any, seed: Any
    ) -> None:
        row = self._row(node, token, data, seed)
        self.links.append((row, previous))
        row.started = self.now
        self.started.append(row)
        node._func(self._activation(node, row))
        self._done(row)
        self._next(node, row)

    def _switch(self, node: Any, previous: Any, token: Token | None, data: Any, seed: Any) -> None:
        row = self._row(node, token, data, seed)
        self.links.append((row, previous))
        activation = self._activation(node, row)
        chosen = None
        for branch, condition in node._branches:
            if condition is None or condition(activation):
                chosen = branch
                break
        if chosen is None:
            raise FlowRuntimeError(f"No next task available for {node.name}")
        self._done(row)
        self._enter(chosen, row, token)

    def _split(self, node: Any, previous: Any, token: Token | None, data: Any, seed: Any) -> None:
        row = self._row(node, token, data, seed)
        self.links.append((row, previous))
        items = node.items(self._activation(node, row))
        self._done(row)
        split = _Split(row)
        self.splits.append(split)
        for child, child_data, child_seed in items:
            if not isinstance(child, View):
                raise FlowRuntimeError(f"{node.name}: only human tasks may follow it here")
            self._view(child, row, None, child_data, child_seed)  # token once the split has a pk
            split.children.append(self.new[-1])

    def _end(self, node: Any, previous: Any, token: Token | None, data: Any, seed: Any) -> None:
        """EndActivation: the process is done when no other task is unfinished."""
        row = self._row(node, token, data, seed)
        self.links.append((row, previous))
        row.started = self.now
        self.started.append(row)
        self._done(row)
        if not any(t.finished is None for t in self.open if t is not row):
            self.process_done = True

    def _done(self, row: Any) -> None:
        row.status = STATUS.DONE
        row.finished = self.now
        if row.pk is not None:
            self._update(row, "status", "finished")
        self.finished.append(row)

    def _update(self, row: Any, *fields: str) -> None:
        if row.pk is None:
            return
        _, known = self.updated.setdefault(row.pk, (row, set()))
        known.update(fields)

    # -- writing --------------------------------------------------------------------------------

    def save(self) -> None:
        for row, fields in self.updated.values():
            row.save(update_fields=sorted(fields))
        children = {id(child) for split in self.splits for child in split.children}
        self._insert([row for row in self.new if id(row) not in children])
        for split in self.splits:
            tokens = Token.split_token_source(str(split.task.token), split.task.pk)
            for child in split.children:
                child.token = next(tokens)
        self._insert([row for row in self.new if id(row) in children])
        through = self.task_class.previous.through
        insert_rows(
            through,
            [through(from_task_id=task.pk, to_task_id=prev.pk) for task, prev in self.links],
            ignore_conflicts=True,
        )
        if self.process_done:
            self.process.status = PROCESS.DONE
            self.process.finished = self.now
            self.process.save(update_fields=["status", "finished"])
        for row in self.started:
            task_started.send(sender=self.flow, process=self.process, task=row)
        for row in self.finished:
            task_finished.send(sender=self.flow, process=self.process, task=row)
        if self.process_done:
            flow_finished.send(sender=self.flow, process=self.process, task=self.new[-1])

    def _insert(self, rows: list[Any]) -> None:
        if connection.features.can_return_rows_from_bulk_insert:
            insert_rows(self.task_class, rows)
        else:
            for row in rows:
                row.save()


_JOIN_OPEN = (STATUS.NEW, STATUS.STARTED)
# What run_on can walk (the start node is run by viewflow, at submission).
SUPPORTED = (View, Join, DynamicSplit, Switch, Function, End)


def run_on(process: Any, task: Any, open_tasks: list[Any], context: dict[str, Any]) -> None:
    """Complete the human `task` of `process` and run the flow on to its next human tasks or its
    end, as viewflow would (ViewActivation.start + execute).

    `open_tasks` are the process's unfinished tasks (task among them), read under the process
    lock; `context` is handed to the node callbacks as `activation.context`.
    """
    run = DirectRun(process, open_tasks, context)
    run.complete(task)
    run.save()
