"""What the security app keeps: which roles must use a second factor, and how a token was made."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from org import roles


class RoleMfaPolicy(models.Model):
    """An administrator's rule: everyone holding this role signs in with a second factor."""

    role: models.CharField[str, str] = models.CharField(
        _("role"), max_length=32, unique=True, choices=list(roles.ROLES.items())
    )
    mfa_required: models.BooleanField[bool, bool] = models.BooleanField(
        _("second factor required"),
        default=True,
        help_text=_(
            "People with this role must register an authenticator app or a security key and "
            "use it at every sign-in."
        ),
    )

    class Meta:
        verbose_name = _("two-factor rule for a role")
        verbose_name_plural = _("two-factor rules for roles")
        ordering = ["role"]

    def __str__(self) -> str:
        return str(roles.ROLES.get(self.role, self.role))


class TokenAssurance(models.Model):
    """When the browser session that created an API token had last passed a second factor.

    A token made in a session without a recent second factor has no row: it may read, and act
    where the rules allow it, but it never counts as a second factor for approvals.
    """

    token = models.OneToOneField(
        "api.ApiToken",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="assurance",
        verbose_name=_("API token"),
    )
    second_factor_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        _("second factor passed at")
    )

    class Meta:
        verbose_name = _("API token assurance")
        verbose_name_plural = _("API token assurances")

    def __str__(self) -> str:
        return f"{self.token_id} {self.second_factor_at:%Y-%m-%d %H:%M}"
