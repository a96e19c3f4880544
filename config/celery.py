"""The Celery application: background jobs (jobs.queue) and the periodic ones (beat).

Workers: `celery -A config worker`; the scheduler: `celery -A config beat` (one per deployment).
Settings are Django's CELERY_* (config/settings.py). Without REDIS_URL there is no broker: every
task runs in the process that sends it, through the same code (task_always_eager).
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ekessai")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _forget_inherited_connections(**_kwargs: object) -> None:
    """A prefork child must not use the database pool of the parent it was forked from (its
    sockets and threads are the parent's): each child opens its own."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.inc_thread_sharing()
        connection.connection = None
        connection.dec_thread_sharing()
        pools = getattr(type(connection), "_connection_pools", None)
        if pools is not None:
            pools.pop(connection.alias, None)
