"""API tokens: knox's hashed, expiring tokens, with a name and a scope of our own."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken


class TokenScope(models.TextChoices):
    READ = "read", _("Read only")
    ACT = "act", _("Read and act")


class ApiToken(AbstractAuthToken):
    """Only a digest is stored (knox); the token itself is shown once, when it is made."""

    name: models.CharField[str, str] = models.CharField(_("name"), max_length=100, blank=True)
    scope: models.CharField[str, str] = models.CharField(
        _("scope"), max_length=8, choices=TokenScope.choices, default=TokenScope.ACT
    )
    last_used: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        _("last used"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created"]
