"""What decision analytics keeps of its own.

- The office calendar's exceptions (`OfficeDay`): days administrators close the office beyond the
  built-in Japanese national holidays and year-end closure, or open it although the calendar says
  closed. analytics.calendar is the whole rule.
- The paper-decision ledger (紙決裁台帳, `PaperDecision`): decisions still made on paper, and
  electronic decisions whose supporting papers went round on paper, so that the electronic
  decision rate is honest.
- The first time an approver opened a task's document (`SlotView`), which workflow's rows do not
  record: analytics.middleware writes it when the assignee of an open task reads the document.
- Facts (`DocumentFact`, `StageFact`): each document's lead time and each closed task's waiting
  and handling time, in office minutes, written by analytics.facts from workflow's rows after
  every action (and by `rebuild_analytics`), so that a year of figures is one aggregate query.
- Monthly roll-ups (`RolledMonth`, `LeadTimeMonth`, `StageTimeMonth`, `ApproverMonth`): the facts
  of a closed month, one row per cell (department × type × route, and stage or approver) with its
  durations as a sorted list, so that a year is read in a few thousand rows (analytics.rollups).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from analytics.fields import IntListField


class OfficeDay(models.Model):
    """An exception to the built-in calendar (weekends, national holidays, 12/29–1/3)."""

    date = models.DateField(_("date"), unique=True)
    is_open = models.BooleanField(
        _("the office is open"),
        default=False,
        help_text=_(
            "Leave unticked to close the office on this day (e.g. a city holiday); tick to open it "
            "on a day the calendar would close (e.g. an election Sunday)."
        ),
    )
    name = models.CharField(_("name"), max_length=100)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("office calendar day")
        verbose_name_plural = _("office calendar")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class PaperKind(models.TextChoices):
    PAPER = "paper", _("Decided on paper (紙決裁)")
    PAPER_ATTACHMENT = "paper_attachment", _("Decided here, with supporting papers on paper")


class PaperDecision(models.Model):
    """One line of the paper-decision ledger (紙決裁台帳)."""

    kind = models.CharField(
        _("kind"), max_length=20, choices=PaperKind.choices, default=PaperKind.PAPER
    )
    decided_on = models.DateField(_("decision date"))
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.PROTECT
    )
    doc_type = models.ForeignKey(
        "documents.DocumentType", verbose_name=_("document type"), on_delete=models.PROTECT
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    reason = models.CharField(_("reason it was on paper"), max_length=300)
    # For an electronic decision with papers on paper: which one.
    document = models.ForeignKey(
        "documents.Document",
        verbose_name=_("document decided here"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    registered_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("paper decision")
        verbose_name_plural = _("paper-decision ledger (紙決裁台帳)")
        ordering = ["-decided_on", "-id"]
        constraints = [
            models.CheckConstraint(
                name="paper_decision_document",
                condition=Q(kind="paper", document__isnull=True)
                | Q(kind="paper_attachment", document__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["document"],
                condition=Q(document__isnull=False),
                name="paper_attachment_once",
            ),
        ]
        indexes = [models.Index(fields=["decided_on", "department"], name="paper_decided_on")]

    def __str__(self) -> str:
        return f"{self.decided_on} {self.title or self.reason}"

    def clean(self) -> None:
        # Said here so that the admin's form shows it beside the field, not as a server error.
        if self.kind == PaperKind.PAPER_ATTACHMENT and self.document_id is None:
            raise ValidationError(
                {"document": _("Name the document decided here whose papers went round on paper.")}
            )
        if self.kind == PaperKind.PAPER and self.document_id is not None:
            raise ValidationError(
                {"document": _("A decision made on paper has no document here: leave it empty.")}
            )
        if self.document is not None and self.document.decided_at is None:
            raise ValidationError({"document": _("That document has not been decided.")})


class SlotView(models.Model):
    """When the person a task was assigned to first opened its document while it was open."""

    slot = models.OneToOneField(
        "workflow.Slot", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"slot {self.slot_id} first opened {self.at}"


class DocumentFact(models.Model):
    """A submitted document's figures, from its history (analytics.facts)."""

    document = models.OneToOneField(
        "documents.Document", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    department = models.ForeignKey("org.Department", on_delete=models.CASCADE, related_name="+")
    doc_type = models.ForeignKey(
        "documents.DocumentType", on_delete=models.CASCADE, related_name="+"
    )
    # The route that decided it (the last one run): template code and name.
    route_code = models.CharField(max_length=64, blank=True)
    route_name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16)
    submitted_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True)
    decided_on = models.DateField(null=True)  # local date, for periods
    decided_month = models.DateField(null=True)  # the first day of decided_on's month
    lead_minutes = models.PositiveIntegerField(null=True)  # office minutes, submission → decision
    lead_days = models.FloatField(null=True)  # calendar days
    send_backs = models.PositiveSmallIntegerField(default=0)
    resubmissions = models.PositiveSmallIntegerField(default=0)
    questions = models.PositiveSmallIntegerField(default=0)
    deputy_decided = models.BooleanField(default=False)
    secret = models.BooleanField(default=False)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The figures of a period read this index alone (an index-only scan on PostgreSQL):
        # the period and the departments are its keys, everything they count is included.
        indexes = [
            models.Index(
                fields=["decided_on", "department"],
                include=[
                    "doc_type",
                    "decided_month",
                    "route_code",
                    "route_name",
                    "lead_minutes",
                    "lead_days",
                    "send_backs",
                    "resubmissions",
                    "questions",
                ],
                name="docfact_period",
            ),
        ]

    def __str__(self) -> str:
        return f"facts of document {self.document_id}"


class StageFact(models.Model):
    """A closed task's figures: waiting (opened → first opened) and handling (opened → acted)."""

    slot = models.OneToOneField(
        "workflow.Slot", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    document = models.ForeignKey("documents.Document", on_delete=models.CASCADE, related_name="+")
    # The document's department and type, so that filters need no join.
    department = models.ForeignKey("org.Department", on_delete=models.CASCADE, related_name="+")
    doc_type = models.ForeignKey(
        "documents.DocumentType", on_delete=models.CASCADE, related_name="+"
    )
    route_code = models.CharField(max_length=64, blank=True)
    route_name = models.CharField(max_length=100, blank=True)
    stage_index = models.PositiveSmallIntegerField()
    stage_name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16)
    outcome = models.CharField(max_length=16)  # the slot's status when it closed
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    # The approver's department as the slot named it (their post), for load by department.
    actor_department = models.CharField(max_length=200, blank=True)
    opened_at = models.DateTimeField()
    first_viewed_at = models.DateTimeField()
    acted_at = models.DateTimeField()
    acted_on = models.DateField()
    wait_minutes = models.PositiveIntegerField()
    handle_minutes = models.PositiveIntegerField()
    questions = models.PositiveSmallIntegerField(default=0)

    class Meta:
        # As DocumentFact's: the stage figures of a period read this index alone.
        indexes = [
            models.Index(
                fields=["acted_on", "department"],
                include=[
                    "doc_type",
                    "route_code",
                    "route_name",
                    "stage_name",
                    "stage_index",
                    "kind",
                    "outcome",
                    "actor",
                    "on_behalf_of",
                    "actor_department",
                    "wait_minutes",
                    "handle_minutes",
                    "questions",
                ],
                name="stagefact_period",
            ),
        ]

    def __str__(self) -> str:
        return f"facts of slot {self.slot_id}"


class RolledMonth(models.Model):
    """A month whose facts are rolled up: its cells below are whole and true. Dropped (with its
    cells) in the transaction that changes one of its facts; the figures then read the facts."""

    month = models.DateField(primary_key=True)  # its first day
    rolled_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"analytics rolled up for {self.month:%Y-%m}"


class LeadTimeMonth(models.Model):
    """The documents decided in one month, one department, type and route: lead times sorted."""

    month = models.DateField()  # DocumentFact.decided_month
    department = models.ForeignKey("org.Department", on_delete=models.CASCADE, related_name="+")
    doc_type = models.ForeignKey(
        "documents.DocumentType", on_delete=models.CASCADE, related_name="+"
    )
    route_code = models.CharField(max_length=64, blank=True)
    route_name = models.CharField(max_length=100, blank=True)
    documents = models.PositiveIntegerField()
    office_minutes = IntListField()  # sorted
    calendar_hundredths = IntListField()  # sorted; lead_days in hundredths of a day
    # The cell's slowest documents (lead_minutes descending, then id), enough for any period's.
    slowest_ids = IntListField()
    slowest_minutes = IntListField()
    sent_back_documents = models.PositiveIntegerField()
    send_backs = models.PositiveIntegerField()
    resubmissions = models.PositiveIntegerField()
    questions = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["month", "department"], name="leadmonth_cell")]

    def __str__(self) -> str:
        return f"lead times {self.month:%Y-%m} {self.department_id}/{self.doc_type_id}"


class StageTimeMonth(models.Model):
    """The blocking tasks (approve, consult) closed in one month at one stage, for one department
    and type: waiting and handling times sorted."""

    month = models.DateField()  # the first day of StageFact.acted_on's month
    department = models.ForeignKey("org.Department", on_delete=models.CASCADE, related_name="+")
    doc_type = models.ForeignKey(
        "documents.DocumentType", on_delete=models.CASCADE, related_name="+"
    )
    route_code = models.CharField(max_length=64, blank=True)
    stage_name = models.CharField(max_length=100)
    route_name = models.CharField(max_length=100, blank=True)  # the greatest, as Max() reads
    first_index = models.PositiveSmallIntegerField()
    tasks = models.PositiveIntegerField()
    waiting = IntListField()  # office minutes, sorted
    handling = IntListField()
    send_backs = models.PositiveIntegerField()
    rejections = models.PositiveIntegerField()
    questions = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["month", "department"], name="stagemonth_cell")]

    def __str__(self) -> str:
        return f"stage times {self.month:%Y-%m} {self.route_code} {self.stage_name}"


class ApproverMonth(models.Model):
    """One approver's tasks closed in one month on one department's and type's documents."""

    month = models.DateField()
    department = models.ForeignKey("org.Department", on_delete=models.CASCADE, related_name="+")
    doc_type = models.ForeignKey(
        "documents.DocumentType", on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    actor_department = models.CharField(max_length=200, blank=True)  # the greatest
    approvals = models.PositiveIntegerField()
    consultations = models.PositiveIntegerField()
    deputy_decisions = models.PositiveIntegerField()
    post_reviews = models.PositiveIntegerField()
    circulations = models.PositiveIntegerField()
    send_backs = models.PositiveIntegerField()
    handling = IntListField()  # blocking tasks only, sorted

    class Meta:
        indexes = [models.Index(fields=["month", "department"], name="approvermonth_cell")]

    def __str__(self) -> str:
        return f"approver {self.actor_id} {self.month:%Y-%m}"
