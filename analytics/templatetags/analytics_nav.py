"""The navigation's link to /analytics/, shown to those analytics.scope lets see the figures."""

from __future__ import annotations

from typing import Any

from django import template

from analytics.scope import may_see

register = template.Library()


@register.filter
def sees_analytics(user: Any) -> bool:
    # Asked once per request and user: the base template renders on every page.
    cached = getattr(user, "_sees_analytics", None)
    if cached is None:
        cached = bool(getattr(user, "is_authenticated", False)) and may_see(user)
        user._sees_analytics = cached
    return cached
