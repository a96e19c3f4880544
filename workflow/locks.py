"""select_for_update_lock that works inside an outer transaction, without savepoints.

viewflow's SelectForUpdateLock probes the process row with FOR UPDATE NOWAIT and catches the error
inside its own atomic block; when that block is a savepoint (our services always run in a
transaction), the savepoint is not rolled back and PostgreSQL refuses the retry with "current
transaction is aborted". A probe in a savepoint of its own would fix that, at the price of three
more round trips on every action. Here the probe is FOR UPDATE SKIP LOCKED: a row someone else
holds is simply not returned, no error is raised, and the transaction stays healthy for the retry.
The lock is held until the outer transaction ends. Same attempts and back-off as viewflow's.

An approval action names a slot, not a process: `take_for_slot` finds the slot's process and takes
its lock in one statement, instead of reading the process id first.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.lock import SelectForUpdateLock

from workflow.models import Route, RouteStage, Slot


class SkipLockedSelectForUpdateLock(SelectForUpdateLock):
    @contextmanager
    def __call__(self, flow_class: Any, process_pk: Any) -> Iterator[None]:
        # savepoint=False: a transaction of its own when called outside one, else nothing extra.
        with transaction.atomic(savepoint=False):
            self._retry(flow_class, lambda: self._take(flow_class, process_pk))
            yield

    def take_for_slot(self, flow_class: Any, slot_id: int) -> None:
        """Take the lock of the process the slot's route runs on, inside the caller's transaction
        (held until it ends). FlowLockFailed if it stays busy; Slot.DoesNotExist if no such slot.
        """
        if not connection.in_atomic_block:
            raise TransactionManagementError("take_for_slot needs a transaction")
        self._retry(flow_class, lambda: self._take_for_slot(flow_class, slot_id))

    def _retry(self, flow_class: Any, take: Any) -> None:
        for attempt in range(self.attempts):
            if take():
                return
            if attempt == self.attempts - 1:
                raise FlowLockFailed(f"Lock failed for {flow_class}")
            time.sleep((((attempt + 1) * random.random()) + 2**attempt) / 10)  # noqa: S311

    def _take(self, flow_class: Any, process_pk: Any) -> bool:
        rows = flow_class.process_class._default_manager.filter(pk=process_pk).order_by()
        if list(rows.select_for_update(skip_locked=True).values_list("pk", flat=True)):
            return True
        # Not returned: held by someone else, or no such row (viewflow lets that pass).
        return not rows.exists()

    def _take_for_slot(self, flow_class: Any, slot_id: int) -> bool:
        # A plain statement: it starts every approval, and the ORM's version of the subquery cost
        # more CPU to build than to run.
        with connection.cursor() as cursor:
            cursor.execute(_process_of_slot(flow_class.process_class), [slot_id])
            if cursor.fetchone() is not None:
                return True
        # Not returned: no such slot, a route without a process or a lost process row (both let
        # pass, as viewflow does), or held by someone else.
        process_id = Slot.objects.values_list("stage__route__process_id", flat=True).get(pk=slot_id)
        rows = flow_class.process_class._default_manager.filter(pk=process_id)
        return process_id is None or not rows.exists()


@cache
def _process_of_slot(process_class: Any) -> str:
    """SELECT … FOR UPDATE SKIP LOCKED of the process row the slot's route runs on."""
    quote = connection.ops.quote_name

    def names(model: Any, *fields: str) -> list[str]:
        meta = model._meta
        return [quote(meta.db_table), *(quote(meta.get_field(f).column) for f in fields)]

    process, process_pk = names(process_class, "id")
    slot, slot_pk, slot_stage = names(Slot, "id", "stage")
    stage, stage_pk, stage_route = names(RouteStage, "id", "route")
    route, route_pk, route_process = names(Route, "id", "process")
    lock = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    # Only quoted names from the models go into the text; the slot id is bound.
    return (
        f"SELECT {process_pk} FROM {process} WHERE {process_pk} = ("  # noqa: S608
        f"SELECT r.{route_process} FROM {slot} s"
        f" JOIN {stage} st ON st.{stage_pk} = s.{slot_stage}"
        f" JOIN {route} r ON r.{route_pk} = st.{stage_route}"
        f" WHERE s.{slot_pk} = %s){lock}"
    )


select_for_update_lock = SkipLockedSelectForUpdateLock()
