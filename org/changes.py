"""After the organisation changes: the layers above that hold work for posts and people re-check it.

Posts change holders (人事異動) and people are marked absent in the admin, by the CSV import, or by
changes dated in advance that take effect at 00:00. The workflow keeps open tasks for posts and
people, so it must hear of each change; org sits below it and cannot call it. So every place that
changes posts or absences calls `changed()` explicitly (no Django signals), and the workflow
registers what to do (workflow.apps: personnel.apply_personnel_changes), after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

_followers: list[Callable[[], object]] = []


def follow(callback: Callable[[], object]) -> None:
    if callback not in _followers:
        _followers.append(callback)


def changed() -> None:
    """Posts or absences changed in the current transaction: tell the followers after it
    commits. A follower that fails is logged; the periodic run (manage.py
    apply_personnel_changes) catches up."""

    def run() -> None:
        for callback in list(_followers):
            try:
                callback()
            except Exception:
                logger.exception("following an organisation change failed")

    transaction.on_commit(run)
