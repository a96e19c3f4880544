"""Versions of route templates and of the 専決規程 by effective date (workflow.designer)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from workflow.models import RouteTemplate


class RouteVersion(models.Model):
    """A version of a route template valid from a date (workflow.designer).

    The template's rows are the version in force; a version published for a later date waits here
    as JSON (workflow.definitions) until its day, when it replaces the rows (`applied_at`). One
    unpublished version per template is the designer's draft. Each version is valid until the
    next one's date, so there are never overlaps or gaps."""

    template = models.ForeignKey(
        RouteTemplate, verbose_name=_("route"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"), null=True, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    definition: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        _("definition"), default=dict
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    applied_at = models.DateTimeField(_("in force since"), null=True, blank=True)

    class Meta:
        verbose_name = _("route version")
        verbose_name_plural = _("route versions")
        ordering = ["template", "valid_from", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["template"],
                condition=Q(published_at__isnull=True),
                name="route_version_one_draft",
            ),
            models.UniqueConstraint(
                fields=["template", "valid_from"],
                condition=Q(published_at__isnull=False),
                name="route_version_one_per_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.code} v{self.number or '-'} {self.valid_from or ''}"


class RulesVersion(models.Model):
    """A version of the 専決規程 (all selection rules together) valid from a date; like
    RouteVersion, the rows are the version in force and a later one waits here as JSON."""

    number = models.PositiveIntegerField(_("version"), null=True, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    definition: models.JSONField[list[Any], list[Any]] = models.JSONField(
        _("definition"), default=list
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    applied_at = models.DateTimeField(_("in force since"), null=True, blank=True)

    class Meta:
        verbose_name = _("version of the delegation rules")
        verbose_name_plural = _("versions of the delegation rules")
        ordering = ["valid_from", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["valid_from"],
                condition=Q(published_at__isnull=False),
                name="rules_version_one_per_day",
            )
        ]

    def __str__(self) -> str:
        return f"rules v{self.number or '-'} {self.valid_from or ''}"
