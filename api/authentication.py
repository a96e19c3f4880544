"""`Authorization: Bearer <token>` for API clients, and token scopes."""

from __future__ import annotations

import binascii
from hmac import compare_digest
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from api.models import ApiToken, TokenScope
from security.tokens import refusal as security_refusal
from security.tokens import with_refusal_facts

if TYPE_CHECKING:  # importing DRF's views here would be circular: DRF imports this module
    from rest_framework.request import Request
    from rest_framework.views import APIView

# Writing last_used on every request would turn every read into a write; once a minute is enough.
LAST_USED_RESOLUTION_SECONDS = 60


class BearerTokenAuthentication(TokenAuthentication):
    """knox's tokens with the header prefix from settings (Bearer); marks last use.

    One statement finds the token, its user and what the second-factor rule needs to know
    (security.tokens.with_refusal_facts). knox's own lookup also read all the user's other
    tokens on every request to delete the expired ones; that is done when a token is created
    (api.tokens.create_token), and an expired token presented here is deleted and refused as
    knox does."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, ApiToken]:
        failed = exceptions.AuthenticationFailed(_("Invalid token."))
        try:
            text = token.decode("ascii")
        except UnicodeDecodeError:
            # knox would let this escape as a 500.
            raise failed from None
        now = timezone.now()
        candidates = with_refusal_facts(
            ApiToken.objects.filter(token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related(
                "user"
            )
        )
        for auth_token in candidates:
            if auth_token.expiry is not None and auth_token.expiry < now:
                auth_token.delete()
                continue
            try:
                digest = hash_token(text)
            except (TypeError, binascii.Error):
                raise failed from None
            if compare_digest(digest, auth_token.digest):
                return self._accepted(auth_token, now)
        raise failed

    def _accepted(self, auth_token: ApiToken, now: Any) -> tuple[Any, ApiToken]:
        user, auth_token = self.validate_user(auth_token)  # knox: an inactive user is refused
        if user.is_demo_account and not settings.DEMO_MODE:
            raise exceptions.AuthenticationFailed(_("Demo accounts are disabled."))
        if reason := security_refusal(user, auth_token):  # a role that requires a second factor
            raise exceptions.AuthenticationFailed(reason)
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
