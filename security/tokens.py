"""API tokens and second factors.

The rule for programs (Bearer tokens), which cannot show a second factor on each request:
- a token carries the time its holder last passed a second factor (`TokenAssurance`): the
  browser session's, when the token was made within the step-up window of one, and then each
  renewal through `POST /api/v1/step-up` (a code from the authenticator app, or a security key:
  security.stepup_api);
- like a session, a token signs (approves, submits) only while that time is within
  MFA_STEP_UP_MINUTES: a token is no longer a second factor for its whole 90-day life;
- a token without one (made without a recent second factor, or by `issue_token` on the server)
  signs for a user who has a second factor only after a renewal;
- if an administrator requires a second factor for one of the user's roles, only tokens that
  carry one are accepted at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.signals import post_save
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from api.models import ApiToken
from org.models import User
from security import mfa
from security.models import TokenAssurance

# The request being handled, so that a token created anywhere during it (the API, the settings
# page) learns whether the session behind it passed a second factor.
_current_request: ContextVar[HttpRequest | None] = ContextVar("security_request", default=None)


@contextmanager
def handling(request: HttpRequest) -> Iterator[None]:
    reset = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(reset)


def has_assurance(token: ApiToken) -> bool:
    """Whether a second factor ever vouched for this token (its creation or a renewal)."""
    return TokenAssurance.objects.filter(token=token).exists()


def second_factor_at(token: ApiToken) -> datetime | None:
    return (
        TokenAssurance.objects.filter(token=token)
        .values_list("second_factor_at", flat=True)
        .first()
    )


def has_recent_second_factor(token: ApiToken) -> bool:
    """Whether the token's holder passed a second factor within MFA_STEP_UP_MINUTES."""
    return mfa.is_recent(second_factor_at(token))


def renew(token: ApiToken, moment: datetime) -> None:
    """The token's holder passed a second factor at `moment` (security.stepup.renew)."""
    TokenAssurance.objects.update_or_create(token=token, defaults={"second_factor_at": moment})


def with_refusal_facts(tokens: QuerySet[ApiToken]) -> QuerySet[ApiToken]:
    """`tokens` with what `refusal` needs to know, read in the same statement (Bearer
    authentication runs on every API request: two statements fewer each time)."""
    return tokens.annotate(
        refusal_mfa_required=mfa.required_condition("user_id"),
        refusal_assured=Exists(TokenAssurance.objects.filter(token=OuterRef("pk"))),
    )


def refusal(user: User, token: ApiToken) -> str | None:
    """Why this token may not be used at all, or None. Called by Bearer authentication."""
    required = getattr(token, "refusal_mfa_required", None)
    if required is None:
        required = mfa.required_for(user)
    if not required:
        return None
    assured = getattr(token, "refusal_assured", None)
    if not (has_assurance(token) if assured is None else assured):
        return str(
            _(
                "Your role requires two-factor authentication, and this API token was not "
                "created after one. Sign in with your second factor and create a new token on "
                "the API tokens page."
            )
        )
    return None


def _token_created(sender: Any, instance: ApiToken, created: bool, **kwargs: Any) -> None:
    request = _current_request.get()
    if not created or request is None or not hasattr(request, "session"):
        return
    if request.META.get("HTTP_AUTHORIZATION"):
        return  # only a browser session vouches for a new token
    moment = mfa.second_factor_at(request.session)
    if moment is not None and mfa.is_recent(moment) and request.user.pk == instance.user_id:
        TokenAssurance.objects.create(token=instance, second_factor_at=moment)


def connect_signals() -> None:
    post_save.connect(_token_created, sender=ApiToken, dispatch_uid="security-token-created")
