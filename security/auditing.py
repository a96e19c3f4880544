"""Security events for the audit trail: lockouts, second factors, devices added or removed.

Each event is logged on the `security` logger, and recorded through `audit.services.record` when
the audit app is installed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.http import HttpRequest

logger = logging.getLogger("security")


def record(
    action: str,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    logger.warning("%s actor=%s data=%s", action, getattr(actor, "username", None), data or {})
    if not apps.is_installed("audit"):
        return
    from audit import services  # type: ignore[import-not-found,unused-ignore]

    services.record(action, actor=actor, request=request, data=data or {})
