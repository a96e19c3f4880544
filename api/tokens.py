"""Use cases for API tokens, shared by the management command, the API and the settings page."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from knox.settings import knox_settings

from api.models import ApiToken, TokenScope
from audit import services as audit
from org.models import User

# Sent with user_id and tokens (the digests of the revoked tokens), inside the revoking
# transaction; notifications closes the sockets opened with them (notifications.apps).
tokens_revoked = Signal()


@transaction.atomic
def create_token(
    user: User,
    *,
    name: str = "",
    scope: str = TokenScope.ACT,
    expires_in: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Returns the row and the token string, which exists nowhere else after this call."""
    ttl = expires_in if expires_in is not None else knox_settings.TOKEN_TTL
    # The user's expired tokens go now (knox's authentication swept them on every request;
    # api.authentication refuses and deletes an expired token when it is presented).
    ApiToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    token, key = ApiToken.objects.create(user=user, expiry=ttl, name=name, scope=scope)
    audit.record(
        "token.create",
        actor=user,
        data={"token": token.token_key, "name": name, "scope": scope, "expiry": token.expiry},
    )
    return token, key


@transaction.atomic
def revoke_token(user: User, token_id: str) -> bool:
    rows = ApiToken.objects.filter(user=user, token_key=token_id)
    digests = [str(pk) for pk in rows.values_list("pk", flat=True)]
    deleted, _ = rows.delete()
    if deleted:
        audit.record("token.revoke", actor=user, data={"token": token_id})
        # A socket opened with the token closes now, not at its next check.
        tokens_revoked.send(sender=ApiToken, user_id=user.pk, tokens=digests)
    return deleted > 0
