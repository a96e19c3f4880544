"""The analytics API: the same figures as the /analytics/ page, under the same access rules.

- GET /api/v1/analytics/lead-times   submission → decision, median and p90, by month, type,
                                      department and route; the slowest decisions
- GET /api/v1/analytics/stages       waiting and handling per stage, ranked; send-backs, questions
                                      and approver load (代決 and 後閲 apart)
- GET /api/v1/analytics/overdue      open tasks past their reminder or escalation time
- GET /api/v1/analytics/rate         the electronic decision rate with the paper-decision ledger
- GET /api/v1/analytics/<figure>.csv?table=<name>   any table of those as CSV (UTF-8 with BOM)
- GET, POST /api/v1/analytics/paper-decisions   the paper-decision ledger (紙決裁台帳) of the
                                      departments the caller's figures cover

Filters: date_from, date_to (the period, default the last twelve months), department (with the
departments below it) and doc_type (a type code). Times are office hours unless named days.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import csvexport, filters, leadtimes, ledger, overdue, rate, stages
from analytics.models import PaperKind
from analytics.scope import scope_of
from analytics.tables import FIGURES, table
from api.errors import ApiError
from api.negotiation import FileAnswer
from org.auth import user_of


def _figures(request: Request, compute: Callable[[filters.Filters], dict[str, Any]]) -> Any:
    scope = scope_of(user_of(request))
    return compute(filters.parse(request.query_params, scope))


# --- Response shapes (for the OpenAPI schema) ---------------------------------------------------


class PeriodSerializer(serializers.Serializer):
    # "from" is a keyword: the field is declared under another name and renamed below.
    to = serializers.DateField()


PeriodSerializer._declared_fields["from"] = serializers.DateField()


class LeadFiguresSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    median_hours = serializers.FloatField(allow_null=True, help_text="Office hours.")
    p90_hours = serializers.FloatField(allow_null=True)
    median_days = serializers.FloatField(allow_null=True, help_text="Calendar days.")
    p90_days = serializers.FloatField(allow_null=True)


class LeadByMonth(LeadFiguresSerializer):
    month = serializers.CharField(help_text="YYYY-MM")


class LeadByType(LeadFiguresSerializer):
    doc_type = serializers.CharField()
    name = serializers.CharField()


class LeadByDepartment(LeadFiguresSerializer):
    department = serializers.IntegerField()
    name = serializers.CharField()


class LeadByRoute(LeadFiguresSerializer):
    route = serializers.CharField()
    name = serializers.CharField()


class SlowDocument(serializers.Serializer):
    document = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    department = serializers.CharField()
    doc_type = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField()
    lead_hours = serializers.FloatField()
    lead_days = serializers.FloatField()
    send_backs = serializers.IntegerField()
    url = serializers.CharField()


class LeadTimesSerializer(serializers.Serializer):
    period = PeriodSerializer()
    overall = LeadFiguresSerializer()
    by_month = LeadByMonth(many=True)
    by_type = LeadByType(many=True)
    by_department = LeadByDepartment(many=True)
    by_route = LeadByRoute(many=True)
    slowest = SlowDocument(many=True)


class StageRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    route = serializers.CharField()
    route_name = serializers.CharField()
    stage = serializers.CharField()
    stage_index = serializers.IntegerField(allow_null=True)
    tasks = serializers.IntegerField()
    wait_median_hours = serializers.FloatField(allow_null=True)
    wait_p90_hours = serializers.FloatField(allow_null=True)
    handle_median_hours = serializers.FloatField(allow_null=True)
    handle_p90_hours = serializers.FloatField(allow_null=True)
    send_backs = serializers.IntegerField()
    send_back_rate = serializers.FloatField(allow_null=True)
    rejections = serializers.IntegerField()
    questions = serializers.IntegerField()
    questions_per_task = serializers.FloatField(allow_null=True)


class ReworkSerializer(serializers.Serializer):
    documents = serializers.IntegerField()
    documents_sent_back = serializers.IntegerField()
    sent_back_share = serializers.FloatField(allow_null=True)
    send_backs = serializers.IntegerField()
    resubmissions = serializers.IntegerField()
    questions = serializers.IntegerField()


class ApproverLoadSerializer(serializers.Serializer):
    user = serializers.CharField()
    name = serializers.CharField()
    department = serializers.CharField()
    approvals = serializers.IntegerField()
    consultations = serializers.IntegerField()
    deputy_decisions = serializers.IntegerField(help_text="代決: acting for an absent decider.")
    post_reviews = serializers.IntegerField(help_text="後閲: reviewing a deputy's decision.")
    circulations = serializers.IntegerField()
    send_backs = serializers.IntegerField()
    handle_median_hours = serializers.FloatField(allow_null=True)


class StagesSerializer(serializers.Serializer):
    period = PeriodSerializer()
    stages = StageRowSerializer(many=True)
    rework = ReworkSerializer()
    approvers = ApproverLoadSerializer(many=True)


class OverdueApproverSerializer(serializers.Serializer):
    user = serializers.CharField()
    name = serializers.CharField()
    department = serializers.CharField()
    overdue = serializers.IntegerField()
    escalated = serializers.IntegerField()
    oldest_hours = serializers.FloatField()


class OverdueDepartmentSerializer(serializers.Serializer):
    department = serializers.IntegerField()
    name = serializers.CharField()
    overdue = serializers.IntegerField()
    escalated = serializers.IntegerField()


class OverdueTaskSerializer(serializers.Serializer):
    task = serializers.IntegerField()
    document = serializers.IntegerField()
    title = serializers.CharField()
    department = serializers.CharField()
    stage = serializers.CharField()
    assignee = serializers.CharField()
    assignee_name = serializers.CharField()
    since = serializers.DateTimeField()
    calendar_hours = serializers.FloatField()
    office_hours = serializers.FloatField()
    level = serializers.ChoiceField(choices=["reminder", "escalation"])
    url = serializers.CharField()


class OverdueSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    reminder_after_hours = serializers.IntegerField()
    escalate_after_hours = serializers.IntegerField()
    total = serializers.IntegerField()
    by_approver = OverdueApproverSerializer(many=True)
    by_department = OverdueDepartmentSerializer(many=True)
    tasks = OverdueTaskSerializer(many=True, help_text="The oldest 200.")


class RateFiguresSerializer(serializers.Serializer):
    electronic = serializers.IntegerField()
    paper = serializers.IntegerField()
    with_paper_attachments = serializers.IntegerField()
    total = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
    fully_digital_rate = serializers.FloatField(allow_null=True)


class RateByMonth(RateFiguresSerializer):
    month = serializers.CharField()


class RateByDepartment(RateFiguresSerializer):
    department = serializers.IntegerField()
    name = serializers.CharField()


class RateSerializer(serializers.Serializer):
    period = PeriodSerializer()
    overall = RateFiguresSerializer()
    by_month = RateByMonth(many=True)
    by_department = RateByDepartment(many=True)


# --- Views ----------------------------------------------------------------------------------------

_ACCESS = " Department heads see their department and those below it; administrators and auditors "
_ACCESS += "see everything."


class LeadTimesView(APIView):
    @extend_schema(
        parameters=[filters.FilterSerializer],
        responses=LeadTimesSerializer,
        summary="Lead time from submission to decision (office hours and calendar days)",
        description=_ACCESS,
    )
    def get(self, request: Request) -> Response:
        return Response(_figures(request, leadtimes.lead_times))


class StagesView(APIView):
    @extend_schema(
        parameters=[filters.FilterSerializer],
        responses=StagesSerializer,
        summary="Waiting and handling time per stage, send-backs, questions, approver load",
        description=_ACCESS,
    )
    def get(self, request: Request) -> Response:
        return Response(_figures(request, stages.stages))


class OverdueView(APIView):
    @extend_schema(
        parameters=[filters.FilterSerializer],
        responses=OverdueSerializer,
        summary="Open tasks past their reminder or escalation time (the period does not apply)",
        description=_ACCESS,
    )
    def get(self, request: Request) -> Response:
        return Response(_figures(request, overdue.overdue))


class RateView(APIView):
    @extend_schema(
        parameters=[filters.FilterSerializer],
        responses=RateSerializer,
        summary="Electronic decision rate (電子決裁率), with the paper-decision ledger",
        description=_ACCESS,
    )
    def get(self, request: Request) -> Response:
        return Response(_figures(request, rate.rate))


class CsvView(APIView):
    content_negotiation_class = FileAnswer  # the documented Accept is not a 406

    @extend_schema(
        parameters=[
            filters.FilterSerializer,
            OpenApiParameter(
                "figure",
                str,
                OpenApiParameter.PATH,
                enum=list(FIGURES),
                description="lead-times, stages, overdue or rate",
            ),
            OpenApiParameter(
                "table",
                str,
                required=True,
                description="A table of the figure, e.g. by_month, stages, approvers, tasks.",
            ),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        summary="One table of a figure as CSV (UTF-8 with BOM, formula cells quoted)",
        description=_ACCESS,
    )
    def get(self, request: Request, figure: str) -> HttpResponse:
        scope = scope_of(user_of(request))  # who asks, before what they ask for
        entry = FIGURES.get(figure)
        if entry is None:
            raise ApiError(
                "not_found",
                _("No such figure: use lead-times, stages, overdue or rate."),
                status.HTTP_404_NOT_FOUND,
            )
        name = request.query_params.get("table", "")
        chosen = table(figure, name)
        if chosen is None:
            raise ApiError(
                "invalid",
                _("Name the table with table=: one of %(names)s.")
                % {"names": ", ".join(t.name for t in entry[1])},
            )
        params = request.query_params.copy()
        params.pop("table", None)
        data = entry[0](filters.parse(params, scope))
        return csvexport.response(figure, chosen, data)


class PaperDecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=PaperKind.choices, default=PaperKind.PAPER)
    decided_on = serializers.DateField()
    department = serializers.IntegerField(min_value=1)
    doc_type = serializers.SlugField(help_text="A document type code.")
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=300)
    document = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text="For kind paper_attachment: the document decided here.",
    )
    registered_by = serializers.CharField(read_only=True)
    registered_at = serializers.DateTimeField(read_only=True)


class PaperDecisionListView(APIView):
    @extend_schema(
        parameters=[filters.FilterSerializer],
        responses=PaperDecisionSerializer(many=True),
        summary="The paper-decision ledger (紙決裁台帳) of the period",
        description=_ACCESS,
    )
    def get(self, request: Request) -> Response:
        scope = scope_of(user_of(request))
        chosen = filters.parse(request.query_params, scope)
        return Response([ledger.as_json(line) for line in ledger.lines(chosen)[:1000]])

    @extend_schema(
        request=PaperDecisionSerializer,
        responses={201: PaperDecisionSerializer},
        summary="Register a decision made on paper, or one whose papers went round on paper",
        description="Department heads for their departments and those below; administrators.",
    )
    def post(self, request: Request) -> Response:
        user = user_of(request)
        scope = scope_of(user)
        ledger.may_register(scope)  # who, before what
        form = PaperDecisionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        line = ledger.register(user, scope, dict(form.validated_data))
        return Response(ledger.as_json(line), status=status.HTTP_201_CREATED)
