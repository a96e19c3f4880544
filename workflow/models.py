"""Approval routes as data: templates administrators edit, and the rows a submission resolves to.

Templates (RouteTemplate → StageTemplate → ApproverRule) and the rules that pick one
(RouteSelectionRule, the 専決規程) are edited in the admin. At submission a template is resolved
into rows (Route → RouteStage → Slot) with real people in them, deputies applied; those rows drive
the run, so later edits of a template or of the organisation never change a running approval.
Wagtail's WorkflowState/TaskState is the model for Route/Slot: plain state rows, no engine beside
them. Their states and transitions are declared in workflow.states (viewflow.fsm); how a route moves
is workflow.progression.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class StageMode(models.TextChoices):
    SEQUENTIAL = "sequential", _("Sequential (one after another)")
    ALL_OF = "all_of", _("All must agree (合議)")
    ANY_OF = "any_of", _("Any one of them (合議)")
    QUORUM = "quorum", _("A quorum of them")
    CIRCULATION = "circulation", _("Circulation for information (供覧)")


class StageRole(models.TextChoices):
    APPROVE = "approve", _("Approval")
    CONSULT = "consult", _("Consultation")
    DECIDE = "decide", _("Decision")
    CIRCULATE = "circulate", _("Circulation")


class AfterSendBack(models.TextChoices):
    """What a route does when the drafter resubmits after a send-back to them."""

    RESTART = "restart", _("Start again from the first stage")
    RESUME = "resume", _("Resume at the stage that sent it back")


class RouteTemplate(models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Bumped on every change (workflow.templates.touch); routes record the version they used.
    version = models.PositiveIntegerField(_("version"), default=1)
    after_send_back = models.CharField(
        _("after a send-back to the drafter"),
        max_length=16,
        choices=AfterSendBack.choices,
        default=AfterSendBack.RESTART,
        help_text=_(
            "Restart: everyone approves the revised version again (the default). Resume: the "
            "stages approved before keep their approval of the earlier version."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("route template")
        verbose_name_plural = _("route templates")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class StageTemplate(models.Model):
    template = models.ForeignKey(
        RouteTemplate, verbose_name=_("route"), on_delete=models.CASCADE, related_name="stages"
    )
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=100)
    mode = models.CharField(
        _("mode"), max_length=16, choices=StageMode.choices, default=StageMode.SEQUENTIAL
    )
    role = models.CharField(
        _("role"), max_length=16, choices=StageRole.choices, default=StageRole.APPROVE
    )
    quorum = models.PositiveSmallIntegerField(_("quorum"), null=True, blank=True)
    quorum_percent = models.BooleanField(
        _("quorum in percent"),
        default=False,
        help_text=_("The quorum is a percentage of the people named (rounded up)."),
    )
    skippable = models.BooleanField(_("may be skipped"), default=False)
    # Separation of duties: a person holds one blocking slot per route, unless this is set.
    same_person_again = models.BooleanField(
        _("may name someone who acts at another stage too"),
        default=False,
        help_text=_("Normally a person approves once per route; tick to allow it here."),
    )
    # Conditions: the stage is part of the route only for these documents (empty = always).
    doc_types = models.ManyToManyField(
        "documents.DocumentType", blank=True, verbose_name=_("document types")
    )
    amount_min = models.BigIntegerField(_("amount from (yen, inclusive)"), null=True, blank=True)
    amount_max = models.BigIntegerField(_("amount below (yen, exclusive)"), null=True, blank=True)
    departments = models.ManyToManyField(
        "org.Department", blank=True, verbose_name=_("drafter's departments")
    )

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["template", "order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "order"], name="stage_template_order"),
            models.CheckConstraint(
                condition=~Q(mode="quorum") | Q(quorum__gte=1), name="stage_quorum_set"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.code} {self.order}. {self.name}"


class RuleKind(models.TextChoices):
    USER = "user", _("A named person")
    RELATIVE = "relative", _("A position relative to the drafter")
    DEPARTMENT_POSITION = "department_position", _("A position in a named department")
    GROUP = "group", _("Everyone in a group")


class RelativeLevel(models.TextChoices):
    """Where to look for the position, counted up from the drafter's own department."""

    OWN = "own", _("The drafter's section (課)")
    PARENT = "parent", _("The drafter's department (部)")
    GRANDPARENT = "grandparent", _("Two levels up")


class ApproverRule(models.Model):
    stage = models.ForeignKey(StageTemplate, on_delete=models.CASCADE, related_name="rules")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    kind = models.CharField(_("kind"), max_length=24, choices=RuleKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("user"),
    )
    position = models.ForeignKey(
        "org.Position", null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("position")
    )
    level = models.CharField(_("level"), max_length=16, choices=RelativeLevel.choices, blank=True)
    department = models.ForeignKey(
        "org.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("department"),
    )
    group = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("group")
    )

    class Meta:
        verbose_name = _("approver rule")
        verbose_name_plural = _("approver rules")
        ordering = ["stage", "order", "id"]
        constraints = [
            models.CheckConstraint(
                name="approver_rule_complete",
                condition=(
                    Q(kind="user", user__isnull=False)
                    | Q(kind="relative", position__isnull=False) & ~Q(level="")
                    | Q(
                        kind="department_position", position__isnull=False, department__isnull=False
                    )
                    | Q(kind="group", group__isnull=False)
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.stage} / {self.get_kind_display()}"


class RouteSelectionRule(models.Model):
    """専決規程: the first matching rule (by priority) picks a document's route."""

    priority = models.PositiveIntegerField(_("priority"), help_text=_("Lower is tried first."))
    name = models.CharField(_("name"), max_length=100)
    template = models.ForeignKey(RouteTemplate, on_delete=models.PROTECT, verbose_name=_("route"))
    doc_types = models.ManyToManyField(
        "documents.DocumentType", blank=True, verbose_name=_("document types")
    )
    amount_min = models.BigIntegerField(_("amount from (yen, inclusive)"), null=True, blank=True)
    amount_max = models.BigIntegerField(_("amount below (yen, exclusive)"), null=True, blank=True)
    departments = models.ManyToManyField(
        "org.Department", blank=True, verbose_name=_("drafter's departments")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("route selection rule")
        verbose_name_plural = _("route selection rules")
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name


class RouteException(models.Model):
    """A route the drafter may choose although its decider ranks below the rule's (例外)."""

    rule = models.ForeignKey(
        RouteSelectionRule,
        verbose_name=_("rule"),
        on_delete=models.CASCADE,
        related_name="exceptions",
    )
    template = models.ForeignKey(
        RouteTemplate, verbose_name=_("route allowed"), on_delete=models.PROTECT
    )
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("route exception")
        verbose_name_plural = _("route exceptions")
        constraints = [
            models.UniqueConstraint(fields=["rule", "template"], name="route_exception_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.template}"


# --- The resolved route of one submission ---------------------------------------------------------


class RouteStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    DECIDED = "decided", _("Decided")
    REJECTED = "rejected", _("Rejected")
    SENT_BACK = "sent_back", _("Sent back")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Route(models.Model):
    document = models.ForeignKey(
        "documents.Document", on_delete=models.CASCADE, related_name="routes"
    )
    document_version = models.PositiveIntegerField()
    template_code = models.CharField(max_length=64, blank=True)
    template_version = models.PositiveIntegerField(null=True, blank=True)
    # What the 専決規程 asked for, kept beside what was used (workflow.authority).
    rule_name = models.CharField(max_length=100, blank=True)
    rule_template_code = models.CharField(max_length=64, blank=True)
    rule_template_name = models.CharField(max_length=100, blank=True)
    template_name = models.CharField(max_length=100, blank=True)
    # "" (the rules' route), "higher" (the drafter chose a higher decider) or "exception".
    deviation = models.CharField(max_length=16, blank=True)
    deviation_reason = models.CharField(max_length=300, blank=True)
    after_send_back = models.CharField(
        max_length=16, choices=AfterSendBack.choices, default=AfterSendBack.RESTART
    )
    status = models.CharField(
        max_length=16, choices=RouteStatus.choices, default=RouteStatus.IN_PROGRESS
    )
    current_stage = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["document", "-created_at"]
        constraints = [
            # One running route per document: two submissions racing cannot both start one.
            models.UniqueConstraint(
                fields=["document"],
                condition=Q(status="in_progress"),
                name="route_one_running_per_document",
            )
        ]

    def __str__(self) -> str:
        return f"route {self.pk} of document {self.document_id}"


class StageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled")


class RouteStage(models.Model):
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="stages")
    index = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    mode = models.CharField(max_length=16, choices=StageMode.choices)
    role = models.CharField(max_length=16, choices=StageRole.choices)
    quorum = models.PositiveSmallIntegerField(null=True, blank=True)
    quorum_percent = models.BooleanField(default=False)
    skippable = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=StageStatus.choices, default=StageStatus.PENDING
    )
    skip_reason = models.CharField(max_length=300, blank=True)
    # Bumped each time the stage runs again after a send-back; only this round's slots count.
    round = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["route", "index"]
        constraints = [models.UniqueConstraint(fields=["route", "index"], name="route_stage_index")]

    def __str__(self) -> str:
        return f"{self.route_id}/{self.index} {self.name}"

    @property
    def blocking(self) -> bool:
        return self.mode != StageMode.CIRCULATION

    def required(self, slot_count: int) -> int:
        """How many approvals complete this stage."""
        if self.mode == StageMode.ANY_OF:
            return 1
        if self.mode == StageMode.QUORUM:
            if self.quorum_percent:
                # n% of the people named, rounded up: 50% of 3 is 2.
                return max(1, min(slot_count, -(-(self.quorum or 100) * slot_count // 100)))
            return min(self.quorum or 1, slot_count)
        return slot_count


class SlotKind(models.TextChoices):
    APPROVE = "approve", _("Approve")
    CONSULT = "consult", _("Consult")
    CIRCULATE = "circulate", _("Circulate")
    REVISE = "revise", _("Revise")
    POST_REVIEW = "post_review", _("Post-review")
    ANSWER = "answer", _("Answer a question")


# The kinds of slot a stage waits for. Circulation (供覧) and post-review (後閲) never block the
# route, and the drafter's revision is not part of any stage's result. The one place this is said.
BLOCKING_KINDS: tuple[str, ...] = (SlotKind.APPROVE, SlotKind.CONSULT)


class SlotStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    OPEN = "open", _("Open")
    APPROVED = "approved", _("Approved")
    SENT_BACK = "sent_back", _("Sent back")
    REJECTED = "rejected", _("Rejected")
    READ = "read", _("Read")
    CANCELLED = "cancelled", _("Cancelled")
    SKIPPED = "skipped", _("Skipped")
    ANSWERED = "answered", _("Answered")


class Slot(models.Model):
    """One person's part in a stage: the row their inbox task points at."""

    stage = models.ForeignKey(RouteStage, on_delete=models.CASCADE, related_name="slots")
    order = models.PositiveSmallIntegerField(default=0)
    round = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(max_length=16, choices=SlotKind.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="slots"
    )
    # 代決: the absent decider this slot acts for ("B for A"); the decider gets a post-review.
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The post (職) the slot names: its holder when the slot opens acts (workflow.personnel),
    # and signs with the post's key. Empty for a named person or group member without a post.
    post_department = models.ForeignKey(
        "org.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    post_position = models.ForeignKey(
        "org.Position", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Names of the post as they were at resolution, for the record and seal.
    position_name = models.CharField(max_length=100, blank=True)
    department_name = models.CharField(max_length=200, blank=True)
    # Who had the task before it moved (reassignment, 人事異動, absence), and until when they
    # may still act on it (a handover period); after that they are told it moved (409).
    previous_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handover_until = models.DateField(null=True, blank=True)
    # The reminder clock: from the opening, moved on by the time a question (質疑) was open.
    clock_from = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=SlotStatus.choices, default=SlotStatus.WAITING)
    added_by_drafter = models.BooleanField(default=False)
    opened_at = models.DateTimeField(null=True, blank=True)
    acted_at = models.DateTimeField(null=True, blank=True)
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["stage", "order", "id"]
        indexes = [models.Index(fields=["assignee", "status"], name="slot_inbox")]

    def __str__(self) -> str:
        return f"slot {self.pk} ({self.kind}, {self.assignee_id}, {self.status})"

    @property
    def blocking(self) -> bool:
        """Whether the stage waits for this slot (see BLOCKING_KINDS)."""
        return self.kind in BLOCKING_KINDS


class ActionKind(models.TextChoices):
    SUBMIT = "submit", _("Submitted")
    APPROVE = "approve", _("Approved")
    DECIDE = "decide", _("Decided")
    CONSULT = "consult", _("Agreed")
    READ = "read", _("Read")
    SEND_BACK = "send_back", _("Sent back")
    REJECT = "reject", _("Rejected")
    WITHDRAW = "withdraw", _("Withdrawn")
    SKIP = "skip", _("Stage skipped")
    POST_REVIEW = "post_review", _("Post-reviewed")
    RESUBMIT = "resubmit", _("Resubmitted")
    REASSIGN = "reassign", _("Reassigned")
    PASS_OVER = "pass_over", _("Passed over")
    ASK = "ask", _("Asked a question")
    ANSWER = "answer", _("Answered a question")


class HistoryEntry(models.Model):
    """Who did what to a document, on behalf of whom, when, and on which version."""

    document = models.ForeignKey(
        "documents.Document", on_delete=models.CASCADE, related_name="history"
    )
    document_version = models.PositiveIntegerField()
    action = models.CharField(max_length=16, choices=ActionKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    slot = models.ForeignKey(
        Slot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stage_name = models.CharField(max_length=100, blank=True)
    comment = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)
    details: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(default=dict)

    class Meta:
        ordering = ["document", "at", "id"]

    def __str__(self) -> str:
        return f"{self.document_id} {self.action} by {self.actor_id}"


class Question(models.Model):
    """質疑: an approver asks the drafter or an earlier approver without sending the document
    back. The approver keeps the task; the person asked gets a task to answer (`answer_slot`)."""

    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="questions")
    answer_slot = models.OneToOneField(Slot, on_delete=models.CASCADE, related_name="question")
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    asked_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField()
    answer = models.TextField(blank=True)
    asked_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slot", "asked_at", "id"]

    def __str__(self) -> str:
        return f"question {self.pk} on slot {self.slot_id}"


class NumberCounter(models.Model):
    """The last document number given in a department in a fiscal year (年度, April–March).

    Incremented under a row lock inside the deciding transaction, so numbers are never duplicated
    or skipped: a rolled-back decision rolls back its increment too.
    """

    department = models.ForeignKey("org.Department", on_delete=models.PROTECT)
    fiscal_year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["department", "fiscal_year"], name="number_counter")
        ]

    def __str__(self) -> str:
        return f"{self.department_id} FY{self.fiscal_year}: {self.last}"


class AnnotationKind(models.TextChoices):
    HIGHLIGHT = "highlight", _("Highlight")
    NOTE = "note", _("Sticky note")
    FREETEXT = "freetext", _("Comment")
    INK = "ink", _("Pen")


class Annotation(models.Model):
    """A mark an approver made on the decision record while their task was open (赤ペン).

    Kept as a row until the approver acts; the action writes it into the record as a real PDF
    annotation under their signature (`revision` is then set) and it can no longer change.
    """

    document = models.ForeignKey(
        "documents.Document", on_delete=models.CASCADE, related_name="annotations"
    )
    version = models.ForeignKey(
        "documents.DocumentVersion", on_delete=models.PROTECT, related_name="annotations"
    )
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="annotations")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations"
    )
    page = models.PositiveIntegerField()  # 1-based, in the record
    kind = models.CharField(max_length=16, choices=AnnotationKind.choices)
    rects: models.JSONField[list[list[float]], list[list[float]]] = models.JSONField(default=list)
    strokes: models.JSONField[list[list[list[float]]], list[list[list[float]]]] = models.JSONField(
        default=list
    )
    text = models.TextField(blank=True)
    color = models.CharField(max_length=7, default="#ffeb3b")
    created_at = models.DateTimeField(auto_now_add=True)
    revision = models.ForeignKey(
        "documents.RecordRevision",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["document", "page", "id"]
        indexes = [models.Index(fields=["document", "version"], name="annotation_document")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.document_id} p{self.page} by {self.author_id}"


# Versions of templates and rules by effective date live in their own module; Django finds an
# app's models through this one.
from workflow.version_models import RouteVersion, RulesVersion  # noqa: E402, F401
