"""Authentication backend: the model backend, but demo accounts only work in demo mode."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from org.models import User


class DemoAwareModelBackend(ModelBackend):
    """Refuses the well-known demo passwords once an installation leaves demo mode.

    seed_demo prints its passwords, so an installation that went live with the demo users still
    present must not let anyone in with them.
    """

    def user_can_authenticate(self, user: User | AnonymousUser | None) -> bool:
        if getattr(user, "is_demo_account", False) and not settings.DEMO_MODE:
            return False
        return super().user_can_authenticate(user)


def user_of(request: HttpRequest) -> User:
    """The signed-in user of a request that authentication has already let through."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionError("an authenticated user was expected")
    return user
