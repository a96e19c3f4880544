"""The organisation: departments, positions, the posts people hold, and absences with deputies.

Routes (workflow/) resolve approvers from these rows at submission and snapshot the result, so the
organisation can change freely without touching a running approval.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


# knox declares the token relation on an abstract model the stubs cannot follow.
class User(AbstractUser):  # type: ignore[django-manager-missing]
    """A person. Names are kept as Japanese people write them (family name first)."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    employee_id = models.CharField(
        _("employee ID"), max_length=32, unique=True, null=True, blank=True
    )
    # Accounts made by seed_demo; they may log in only while DEMO_MODE is on (org.auth).
    is_demo_account = models.BooleanField(_("demo account"), default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def get_full_name(self) -> str:
        # Japanese order: family name, then given name.
        return " ".join(part for part in (self.last_name, self.first_name) if part)

    @property
    def primary_post(self) -> Post | None:
        posts = [p for p in self.posts.all() if p.is_current()]
        primary = [p for p in posts if p.is_primary]
        return next(iter(primary or posts), None)


class Department(models.Model):
    """A node of the organisation chart: 部, 課, 係, 室 …, nested without limit."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # The prefix of document numbers decided in this department, e.g. 総総 in 総総第12号.
    number_prefix = models.CharField(_("document number prefix"), max_length=16, blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    is_organisation = models.BooleanField(
        _("the organisation itself"),
        default=False,
        help_text=_("The root, e.g. サンプル市; left out when department names are written."),
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="department_not_own_parent"
            )
        ]

    def __str__(self) -> str:
        return self.full_name

    def ancestors(self) -> list[Department]:
        """From the parent up to the root. Guards against cycles an import might create."""
        chain: list[Department] = []
        seen = {self.pk}
        node = self.parent
        while node is not None and node.pk not in seen:
            chain.append(node)
            seen.add(node.pk)
            node = node.parent
        return chain

    @property
    def full_name(self) -> str:
        # The organisation itself is left out: 総務部 総務課, as people say it.
        chain = [*reversed(self.ancestors()), self]
        names = [d.name for d in chain if not d.is_organisation]
        return " ".join(names) or self.name


def with_ancestors(path: str) -> str:
    """The select_related() path that loads the department at `path` with three levels above
    it: `full_name` then needs no query per level in the usual tree (the organisation, 部, 課,
    係); a deeper one still answers, with a query for each further level."""
    return f"{path}__parent__parent__parent"


class Position(models.Model):
    """A job title (職名) with a rank; a higher rank is more senior (主事 < 係長 < 課長 < 部長)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    rank = models.PositiveIntegerField(_("rank"), help_text=_("Higher is more senior."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        ordering = ["-rank", "code"]

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    """One person holding one position in one department (配置). People may hold several (兼務)."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="posts"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="posts"
    )
    position = models.ForeignKey(
        Position, verbose_name=_("position"), on_delete=models.PROTECT, related_name="posts"
    )
    is_primary = models.BooleanField(_("primary post"), default=True)
    # The standing deputy (代決者) for decisions of this post while its holder is absent.
    deputy = models.ForeignKey(
        User,
        verbose_name=_("designated deputy"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deputy_for_posts",
    )
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    # 引継ぎ: after the post ends, its holder may still act on the tasks that moved to the new
    # holder until this date.
    handover_until = models.DateField(
        _("handover until"),
        null=True,
        blank=True,
        help_text=_(
            "After the post ends, its holder may still act on the tasks that moved to the new "
            "holder until this date."
        ),
    )

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["department__sort_order", "-position__rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "department", "position"], name="post_unique_assignment"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_primary=True), name="post_one_primary_per_user"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True)
                | Q(starts_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
                name="post_ends_after_start",
            ),
            models.CheckConstraint(
                condition=~Q(deputy=models.F("user")), name="post_deputy_not_holder"
            ),
            models.CheckConstraint(
                condition=Q(handover_until__isnull=True)
                | Q(ends_on__isnull=False, handover_until__gte=models.F("ends_on")),
                name="post_handover_after_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department} {self.position} {self.user}"

    def is_current(self, on: datetime | None = None) -> bool:
        today = timezone.localdate(on) if on else timezone.localdate()
        return (self.starts_on is None or self.starts_on <= today) and (
            self.ends_on is None or today <= self.ends_on
        )


class Absence(models.Model):
    """A period in which a person cannot decide: the deputy decides (代決), they post-review."""

    user = models.ForeignKey(
        User, verbose_name=_("absent user"), on_delete=models.CASCADE, related_name="absences"
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    deputy = models.ForeignKey(
        User,
        verbose_name=_("deputy"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deputising_absences",
        help_text=_("Leave empty to use the designated deputy of the absent user's post."),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="absence_ends_after_start"
            ),
            models.CheckConstraint(
                condition=~Q(deputy=models.F("user")), name="absence_deputy_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"
