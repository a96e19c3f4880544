"""What the workflow and route designer APIs answer, as the OpenAPI schema documents it.

Documentation only: the views build their bodies as plain dicts (`workflow.api.route_data`,
`plan_data`, `slot_data`, `workflow.designer_api.version_data`, `route_summary`,
`simulation_data`, `check_lines`, …) and these serializers say what those dicts hold, key by
key. `tests/workflow/test_response_schemas.py` checks real bodies of every operation against
them with no key left undocumented, and the contract test's fuzz checks every answer it gets.
Enum names are fixed in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from workflow import authority, rules_csv
from workflow.models import (
    ActionKind,
    AfterSendBack,
    RelativeLevel,
    RouteStatus,
    RuleKind,
    SlotKind,
    SlotStatus,
    StageMode,
    StageRole,
    StageStatus,
)
from workflow.states import DOCUMENT_ACTIONS, TASK_ACTIONS

# What the caller may do on a task now (workflow.states.task_actions), and on a document.
TASK_ACTION_CHOICES = [*TASK_ACTIONS, "annotate"]
DOCUMENT_ACTION_CHOICES = list(DOCUMENT_ACTIONS)
# Why the route used is not the 専決規程's own (workflow.authority); "" when it is.
DEVIATION_CHOICES = [
    (authority.HIGHER, _("The drafter chose a route whose decider ranks at least as high")),
    (authority.EXCEPTION, _("A route the rule allows as a named exception")),
]


class PersonNameSerializer(serializers.Serializer):
    """Someone, as every workflow body names them (workflow.api.person)."""

    username = serializers.CharField()
    name = serializers.CharField(help_text="The display name")


# --- A document's route ------------------------------------------------------------------------


class TaskSerializer(serializers.Serializer):
    """One person's part in a stage (a slot), as a task action answers (workflow.api.slot_data)."""

    id = serializers.IntegerField(help_text="The task id (/api/v1/tasks/{task_id})")
    kind = serializers.ChoiceField(choices=SlotKind.choices)
    status = serializers.ChoiceField(choices=SlotStatus.choices)
    assignee = PersonNameSerializer()
    on_behalf_of = PersonNameSerializer(
        allow_null=True, help_text="代決: the absent decider this task acts for"
    )
    position = serializers.CharField(help_text="The post's position as named at resolution")
    department = serializers.CharField(help_text="The post's department as named at resolution")
    previous_assignee = PersonNameSerializer(
        allow_null=True, help_text="Who had the task before it moved (reassignment, 人事異動)"
    )
    acted_at = serializers.DateTimeField(allow_null=True)
    comment = serializers.CharField()


class RouteRulesSerializer(serializers.Serializer):
    """What the 専決規程 asked for, beside the route used (workflow.api.rules_data)."""

    rule = serializers.CharField(help_text="The selection rule's name; empty if none was used")
    template = serializers.CharField(help_text="The code of the rules' route")
    template_name = serializers.CharField()
    deviation = serializers.ChoiceField(
        choices=DEVIATION_CHOICES, allow_blank=True, help_text="Empty: the rules' own route"
    )
    reason = serializers.CharField(help_text="The exception's reason")


class RouteQuestionSerializer(serializers.Serializer):
    """A question (質疑) on the route and its answer (workflow.questions.thread)."""

    id = serializers.IntegerField()
    task = serializers.IntegerField(help_text="The asking approver's task")
    answer_task = serializers.IntegerField(help_text="The task of the person asked")
    stage = serializers.CharField()
    asked_by = PersonNameSerializer()
    asked_to = PersonNameSerializer()
    text = serializers.CharField()
    asked_at = serializers.DateTimeField()
    answer = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)
    open = serializers.BooleanField()


class RouteStageSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    name = serializers.CharField()
    mode = serializers.ChoiceField(choices=StageMode.choices)
    role = serializers.ChoiceField(choices=StageRole.choices)
    status = serializers.ChoiceField(choices=StageStatus.choices)
    slots = TaskSerializer(many=True)


class RouteSerializer(serializers.Serializer):
    """A route a document was submitted on, with its people (workflow.api.route_data)."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RouteStatus.choices)
    template = serializers.CharField(help_text="The route template's code")
    template_name = serializers.CharField()
    rules = RouteRulesSerializer()
    after_send_back = serializers.ChoiceField(choices=AfterSendBack.choices)
    questions = RouteQuestionSerializer(many=True)
    current_stage = serializers.IntegerField()
    stages = RouteStageSerializer(many=True)


class HistoryEntrySerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ActionKind.choices)
    actor = PersonNameSerializer()
    on_behalf_of = PersonNameSerializer(allow_null=True)
    stage = serializers.CharField()
    comment = serializers.CharField()
    at = serializers.DateTimeField()
    version = serializers.IntegerField(help_text="The document's version it was done on")
    details = serializers.DictField(help_text="What else the action recorded (by action)")


class DocumentRoutesSerializer(serializers.Serializer):
    routes = RouteSerializer(many=True, help_text="Newest first")
    history = HistoryEntrySerializer(many=True, help_text="Oldest first")
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=DOCUMENT_ACTION_CHOICES),
        help_text="What the caller may do on the document now",
    )
    skippable_stages = serializers.ListField(
        child=serializers.IntegerField(), help_text="Stage indexes of the running route"
    )


# --- The route a document would get ------------------------------------------------------------


class PlannedSlotSerializer(serializers.Serializer):
    assignee = PersonNameSerializer()
    on_behalf_of = PersonNameSerializer(allow_null=True)
    position = serializers.CharField()
    department = serializers.CharField()
    added = serializers.BooleanField(help_text="Added by the drafter")


class PlannedStageSerializer(serializers.Serializer):
    name = serializers.CharField()
    mode = serializers.ChoiceField(choices=StageMode.choices)
    role = serializers.ChoiceField(choices=StageRole.choices)
    added = serializers.BooleanField(help_text="A stage the drafter added to the rules' route")
    slots = PlannedSlotSerializer(many=True)


class PlanRulesSerializer(serializers.Serializer):
    """What the 専決規程 asks for (workflow.authority.Authority)."""

    rule = serializers.CharField()
    template = serializers.CharField(help_text="The code of the rules' route")
    template_name = serializers.CharField()
    decider = serializers.CharField(help_text="The position that decides under the rules")
    deviation = serializers.ChoiceField(choices=DEVIATION_CHOICES, allow_blank=True)
    reason = serializers.CharField()
    note = serializers.CharField(help_text="For people: the route used and why; empty if none")


class RoutePlanSerializer(serializers.Serializer):
    """The route and people a document would get (workflow.api.plan_data)."""

    template = serializers.CharField(allow_null=True)
    template_name = serializers.CharField(allow_null=True)
    rules = PlanRulesSerializer(
        allow_null=True, help_text="null in a simulation, which does not check the authority"
    )
    passed_over = serializers.ListField(
        child=serializers.CharField(), help_text="Whom resolution passed over and why"
    )
    stages = PlannedStageSerializer(many=True)


# --- Tasks ---------------------------------------------------------------------------------------


class InboxDocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    amount = serializers.IntegerField(allow_null=True)
    drafter = serializers.CharField(help_text="The drafter's display name")


class InboxTaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=SlotKind.choices)
    stage = serializers.CharField()
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=TASK_ACTION_CHOICES),
        help_text="What the caller may do on it now",
    )
    opened_at = serializers.DateTimeField()
    on_behalf_of = PersonNameSerializer(allow_null=True)
    document = InboxDocumentSerializer()


class TaskListSerializer(serializers.Serializer):
    results = InboxTaskSerializer(many=True, help_text="Oldest first")


class QuestionSerializer(serializers.Serializer):
    """A question (質疑) as asking or answering it answers (workflow.api._question_data)."""

    id = serializers.IntegerField()
    task = serializers.IntegerField(help_text="The asking approver's task")
    answer_task = serializers.IntegerField(help_text="The task of the person asked")
    asked_to = PersonNameSerializer()
    text = serializers.CharField()
    answer = serializers.CharField()
    asked_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)


class BulkErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    task_id = serializers.IntegerField()
    ok = serializers.BooleanField()
    error = BulkErrorSerializer(required=False, help_text="Only when ok is false")


class BulkApprovalSerializer(serializers.Serializer):
    approved = serializers.ListField(child=serializers.IntegerField())
    not_approved = serializers.ListField(child=serializers.IntegerField())
    message = serializers.CharField()
    results = BulkResultSerializer(many=True, help_text="One per task, in the order sent")


# --- The route designer --------------------------------------------------------------------------


class ApproverRuleDefinitionSerializer(serializers.Serializer):
    """Who acts at a stage (workflow.definitions.RuleDef.as_json); rows by natural key."""

    kind = serializers.ChoiceField(choices=RuleKind.choices)
    level = serializers.ChoiceField(
        choices=RelativeLevel.choices, allow_blank=True, help_text="Only for kind relative"
    )
    user = serializers.CharField(allow_null=True, help_text="A username")
    position = serializers.CharField(allow_null=True, help_text="A position code")
    department = serializers.CharField(allow_null=True, help_text="A department code")
    group = serializers.CharField(allow_null=True, help_text="A group name")


class StageDefinitionSerializer(serializers.Serializer):
    name = serializers.CharField()
    mode = serializers.ChoiceField(choices=StageMode.choices)
    role = serializers.ChoiceField(choices=StageRole.choices)
    quorum = serializers.IntegerField(allow_null=True)
    quorum_percent = serializers.BooleanField()
    skippable = serializers.BooleanField()
    same_person_again = serializers.BooleanField()
    amount_min = serializers.IntegerField(allow_null=True, help_text="Yen, inclusive")
    amount_max = serializers.IntegerField(allow_null=True, help_text="Yen, exclusive")
    doc_types = serializers.ListField(
        child=serializers.CharField(), help_text="Document type codes; empty: every type"
    )
    departments = serializers.ListField(
        child=serializers.CharField(), help_text="Department codes; empty: every department"
    )
    rules = ApproverRuleDefinitionSerializer(many=True)


class RouteDefinitionSerializer(serializers.Serializer):
    """A route as JSON (workflow.definitions.RouteDef.as_json): what a draft holds."""

    code = serializers.CharField()
    name = serializers.CharField()
    after_send_back = serializers.ChoiceField(choices=AfterSendBack.choices)
    stages = StageDefinitionSerializer(many=True)


class RouteSummarySerializer(serializers.Serializer):
    """A route template with the version valid today (workflow.designer_api.route_summary)."""

    code = serializers.CharField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    definition = RouteDefinitionSerializer()


class RouteListSerializer(serializers.Serializer):
    results = RouteSummarySerializer(many=True)


class PublishedVersionSerializer(serializers.Serializer):
    """A published version of a route or of the 専決規程 (workflow.designer_api.version_data)."""

    number = serializers.IntegerField()
    valid_from = serializers.DateField()
    note = serializers.CharField()
    published_at = serializers.DateTimeField()
    published_by = PersonNameSerializer(allow_null=True)
    in_force = serializers.BooleanField(help_text="Written into the rows (its day has come)")


class RouteDetailSerializer(RouteSummarySerializer):
    draft = RouteDefinitionSerializer(allow_null=True, help_text="null: no draft")
    draft_edited_by = PersonNameSerializer(allow_null=True)
    versions = PublishedVersionSerializer(many=True, help_text="Latest date first")


class RouteDraftSerializer(serializers.Serializer):
    draft = RouteDefinitionSerializer()


class ProblemSerializer(serializers.Serializer):
    """A step of a route that does not resolve (workflow.designer._problem)."""

    stage = serializers.CharField(help_text="The stage's name; empty for the route as a whole")
    code = serializers.CharField()
    message = serializers.CharField()


class SimulationSerializer(serializers.Serializer):
    """workflow.designer_api.simulation_data"""

    ok = serializers.BooleanField()
    rule = serializers.CharField(help_text="The selection rule's name; empty if none matched")
    template = serializers.CharField(allow_null=True)
    template_name = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(allow_null=True)
    valid_from = serializers.DateField(
        allow_null=True, help_text="A version published for that date and not yet in force"
    )
    route = RoutePlanSerializer(allow_null=True, help_text="null when there are problems")
    problems = ProblemSerializer(many=True)


class CheckDepartmentSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(help_text="The full name, e.g. 総務部総務課")


class CheckLineSerializer(serializers.Serializer):
    """workflow.designer_api.check_lines"""

    department = CheckDepartmentSerializer()
    doc_type = serializers.CharField()
    doc_type_name = serializers.CharField()
    amount = serializers.IntegerField(allow_null=True)
    ok = serializers.BooleanField()
    rule = serializers.CharField()
    template = serializers.CharField(allow_null=True)
    problems = ProblemSerializer(many=True)


class VacantTaskSerializer(serializers.Serializer):
    """A task of a running document whose post is vacant on the date (designer.BrokenSlot)."""

    document = serializers.IntegerField()
    title = serializers.CharField()
    stage = serializers.CharField()
    post = serializers.CharField()


class RouteCheckSerializer(serializers.Serializer):
    date = serializers.DateField()
    results = CheckLineSerializer(many=True, help_text="Only those with problems unless all=true")
    running = VacantTaskSerializer(many=True)


class RuleExceptionSerializer(serializers.Serializer):
    template = serializers.CharField()
    reason = serializers.CharField()


class DelegationRuleSerializer(serializers.Serializer):
    """One rule of the 専決規程 (workflow.definitions.SelectionDef.as_json), and its decider."""

    priority = serializers.IntegerField(help_text="Lower is tried first")
    name = serializers.CharField()
    template = serializers.CharField(help_text="The route's code")
    amount_min = serializers.IntegerField(allow_null=True, help_text="Yen, inclusive")
    amount_max = serializers.IntegerField(allow_null=True, help_text="Yen, exclusive")
    doc_types = serializers.ListField(child=serializers.CharField())
    departments = serializers.ListField(child=serializers.CharField())
    exceptions = RuleExceptionSerializer(many=True)
    decider = serializers.CharField(help_text="The position deciding on the route; may be empty")


class RulesTableSerializer(serializers.Serializer):
    date = serializers.DateField()
    rules = DelegationRuleSerializer(many=True, help_text="By priority")
    versions = PublishedVersionSerializer(many=True, help_text="Latest date first")


RULES_CSV = OpenApiResponse(
    OpenApiTypes.STR,
    description="UTF-8 with a BOM, CRLF, one rule a line under Japanese headers ("
    + ", ".join(f"{ja} = {en}" for ja, en in rules_csv.COLUMNS.values())
    + "); a cell that would start a formula begins with an apostrophe",
)
