"""select_for_update_lock that also works inside an outer transaction.

viewflow's SelectForUpdateLock catches the NOWAIT error inside its own atomic block; when that
block is a savepoint (our services always run in a transaction), the savepoint is not rolled back
and PostgreSQL refuses the retry with "current transaction is aborted". Here each probe runs in a
savepoint of its own, so a failed probe is rolled back and the retry runs in a healthy
transaction. The row lock taken in a released savepoint is held until the outer commit.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, transaction
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.lock import SelectForUpdateLock


class SavepointSelectForUpdateLock(SelectForUpdateLock):
    @contextmanager
    def __call__(self, flow_class: Any, process_pk: Any) -> Iterator[None]:
        with transaction.atomic():
            for attempt in range(self.attempts):
                try:
                    with transaction.atomic():
                        flow_class.process_class._default_manager.filter(
                            pk=process_pk
                        ).select_for_update(nowait=self.nowait).exists()
                except DatabaseError:
                    if attempt == self.attempts - 1:
                        raise FlowLockFailed(f"Lock failed for {flow_class}") from None
                    time.sleep((((attempt + 1) * random.random()) + 2**attempt) / 10)  # noqa: S311
                else:
                    break
            yield


select_for_update_lock = SavepointSelectForUpdateLock()
