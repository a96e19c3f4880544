"""select_for_update_lock that works inside an outer transaction, without savepoints.

viewflow's SelectForUpdateLock probes the process row with FOR UPDATE NOWAIT and catches the error
inside its own atomic block; when that block is a savepoint (our services always run in a
transaction), the savepoint is not rolled back and PostgreSQL refuses the retry with "current
transaction is aborted". A probe in a savepoint of its own would fix that, at the price of three
more round trips on every action. Here the probe is FOR UPDATE SKIP LOCKED: a row someone else
holds is simply not returned, no error is raised, and the transaction stays healthy for the retry.
The lock is held until the outer transaction ends. Same attempts and back-off as viewflow's.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.lock import SelectForUpdateLock


class SkipLockedSelectForUpdateLock(SelectForUpdateLock):
    @contextmanager
    def __call__(self, flow_class: Any, process_pk: Any) -> Iterator[None]:
        # savepoint=False: a transaction of its own when called outside one, else nothing extra.
        with transaction.atomic(savepoint=False):
            for attempt in range(self.attempts):
                if self._take(flow_class, process_pk):
                    break
                if attempt == self.attempts - 1:
                    raise FlowLockFailed(f"Lock failed for {flow_class}")
                time.sleep((((attempt + 1) * random.random()) + 2**attempt) / 10)  # noqa: S311
            yield

    def _take(self, flow_class: Any, process_pk: Any) -> bool:
        rows = flow_class.process_class._default_manager.filter(pk=process_pk).order_by()
        if list(rows.select_for_update(skip_locked=True).values_list("pk", flat=True)):
            return True
        # Not returned: held by someone else, or no such row (viewflow lets that pass).
        return not rows.exists()


select_for_update_lock = SkipLockedSelectForUpdateLock()
