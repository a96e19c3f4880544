"""`Authorization: Bearer <token>` for API clients, and token scopes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from api.models import ApiToken, TokenScope
from security.tokens import refusal as security_refusal

if TYPE_CHECKING:  # importing DRF's views here would be circular: DRF imports this module
    from rest_framework.request import Request
    from rest_framework.views import APIView

# Writing last_used on every request would turn every read into a write; once a minute is enough.
LAST_USED_RESOLUTION_SECONDS = 60


class BearerTokenAuthentication(TokenAuthentication):
    """knox's authentication with the header prefix from settings (Bearer); marks last use."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, ApiToken]:
        try:
            token.decode("ascii")
        except UnicodeDecodeError:
            # knox would let this escape as a 500.
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        user, auth_token = super().authenticate_credentials(token)
        if user.is_demo_account and not settings.DEMO_MODE:
            raise exceptions.AuthenticationFailed(_("Demo accounts are disabled."))
        if reason := security_refusal(user, auth_token):  # a role that requires a second factor
            raise exceptions.AuthenticationFailed(reason)
        now = timezone.now()
        last = auth_token.last_used
        if last is None or (now - last).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiToken.objects.filter(pk=auth_token.pk).update(last_used=now)
        return user, auth_token


class TokenScopePermission(BasePermission):
    """A read-scoped token may only read, whatever else the user could do."""

    message = "This API token is read-only; create a token with the 'act' scope to act."

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and token.scope == TokenScope.READ:
            return request.method in SAFE_METHODS
        return True
