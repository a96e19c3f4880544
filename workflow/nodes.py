"""A split whose branches are decided at run time: one human task per approver slot.

viewflow 2.4's free Split only fans out to branches declared in the graph (task_data_source is a
PRO feature). SplitActivation already gives each outgoing task a split token, which Join uses to
find the siblings it waits for; this subclass only changes what is created.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from viewflow import this
from viewflow.workflow import Activation
from viewflow.workflow.exceptions import FlowRuntimeError
from viewflow.workflow.flow import Split
from viewflow.workflow.nodes import SplitActivation
from viewflow.workflow.token import Token

# (node, task data, seed object) for every task to create.
Item = tuple[Any, dict[str, Any], Any]


class DynamicSplitActivation(SplitActivation):
    @Activation.status.super()
    def activate(self) -> None:
        declared = [node for node, _condition, _source in self.flow_task._branches]
        items: list[Item] = list(self.flow_task._items_source(self))
        if not items:
            raise FlowRuntimeError(f"{self.flow_task.name}: no task to create")
        for node, _data, _seed in items:
            if not any(node is d for d in declared):
                raise FlowRuntimeError(f"{self.flow_task.name}: {node} is not a declared branch")
        self.next_tasks = items

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
