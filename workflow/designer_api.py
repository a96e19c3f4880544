"""The route designer's API (administrators): routes and their versions, drafts, publishing,
simulation, the check of every route, and the 専決規程 as a versioned table with CSV."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.negotiation import FileAnswer
from documents.models import DocumentType
from org.auth import user_of
from org.models import Department, User
from workflow import designer, responses, rules_csv
from workflow.api import person, plan_data
from workflow.definitions import RouteDef, rules_as_json
from workflow.models import RouteTemplate, RouteVersion, RulesVersion
from workflow.states import is_administrator
from workflow.versions import route_on, rules_on


class IsAdministrator(BasePermission):
    message = "Only administrators can design routes."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and is_administrator(user))


def version_data(version: RouteVersion | RulesVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "valid_from": version.valid_from,
        "note": version.note,
        "published_at": version.published_at,
        "published_by": person(version.published_by),
        "in_force": version.applied_at is not None,
    }


def route_summary(template: RouteTemplate, on: dt.date | None = None) -> dict[str, Any]:
    definition = route_on(template, on)
    return {
        "code": template.code,
        "name": template.name,
        "version": definition.version,
        "definition": definition.as_json(),
    }


class RouteListView(APIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        responses=responses.RouteListSerializer,
        summary="Route templates with the version valid today (administrators)",
    )
    def get(self, request: Request) -> Response:
        return Response(
            {"results": [route_summary(t) for t in RouteTemplate.objects.filter(is_active=True)]}
        )


class RouteDetailView(APIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        responses=responses.RouteDetailSerializer,
        summary="A route: in force, its draft, and its versions by date",
    )
    def get(self, request: Request, code: str) -> Response:
        template = get_object_or_404(RouteTemplate, code=code)
        draft, row = designer.draft_of(template)
        return Response(
            {
                **route_summary(template),
                "draft": draft if row is not None else None,
                "draft_edited_by": person(row.edited_by) if row is not None else None,
                "versions": [version_data(v) for v in designer.versions_of(template)],
            }
        )


class DraftSerializer(serializers.Serializer):
    definition = serializers.JSONField(help_text="stages, after_send_back (see the schema docs)")


class RouteDraftView(APIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        request=DraftSerializer,
        responses=responses.RouteDraftSerializer,
        summary="Save the route's draft (nothing changes yet)",
    )
    def put(self, request: Request, code: str) -> Response:
        template = get_object_or_404(RouteTemplate, code=code)
        form = DraftSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        draft = designer.save_draft(template, form.validated_data["definition"], user_of(request))
        return Response({"draft": draft.definition})

    @extend_schema(responses={204: None}, summary="Discard the route's draft")
    def delete(self, request: Request, code: str) -> Response:
        designer.discard_draft(get_object_or_404(RouteTemplate, code=code))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PublishSerializer(serializers.Serializer):
    valid_from = serializers.DateField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RoutePublishView(APIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        request=PublishSerializer,
        responses={201: responses.PublishedVersionSerializer},
        summary="Publish the draft as the version valid from a date (today or later)",
    )
    def post(self, request: Request, code: str) -> Response:
        template = get_object_or_404(RouteTemplate, code=code)
        form = PublishSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        version = designer.publish_route(
            template,
            form.validated_data["valid_from"],
            user_of(request),
            form.validated_data["note"],
        )
        return Response(version_data(version), status=status.HTTP_201_CREATED)


class SimulateSerializer(serializers.Serializer):
    doc_type = serializers.SlugRelatedField(slug_field="code", queryset=DocumentType.objects.all())
    amount = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=10**15
    )
    department = serializers.SlugRelatedField(
        slug_field="code", queryset=Department.objects.filter(is_active=True)
    )
    drafter = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    date = serializers.DateField(required=False, allow_null=True)


def simulation_data(result: designer.Simulation) -> dict[str, Any]:
    return {
        "ok": not result.problems,
        "rule": result.rule,
        "template": result.template.code if result.template else None,
        "template_name": result.template.name if result.template else None,
        "version": result.version,
        "valid_from": result.valid_from,
        "route": plan_data(result.planned) if result.planned else None,
        "problems": result.problems,
    }


class SimulateView(APIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        request=SimulateSerializer,
        responses=responses.SimulationSerializer,
        summary="The route a document would get on a date, people and deputies of that day; "
        "writes nothing",
    )
    def post(self, request: Request) -> Response:
        form = SimulateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        result = designer.simulate(
            doc_type=data["doc_type"],
            amount=data.get("amount"),
            department=data["department"],
            drafter=data.get("drafter"),
            on=data.get("date"),
        )
        return Response(simulation_data(result))


class CheckSerializer(serializers.Serializer):
    date = serializers.DateField(required=False)
    all = serializers.BooleanField(required=False, default=False)


def check_lines(on: dt.date | None, every: bool) -> list[dict[str, Any]]:
    return [
        {
            "department": {"code": line.department.code, "name": line.department.full_name},
            "doc_type": line.doc_type.code,
            "doc_type_name": line.doc_type.name,
            "amount": line.amount,
            "ok": line.ok,
            "rule": line.simulation.rule,
            "template": line.simulation.template.code if line.simulation.template else None,
            "problems": line.simulation.problems,
        }
        for line in designer.check_all(on, only_errors=not every)
    ]


class CheckView(APIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        parameters=[CheckSerializer],
        responses=responses.RouteCheckSerializer,
        summary="Every department × type × amount band on a date whose route does not resolve, "
        "and the tasks of running documents whose post is vacant on that date",
    )
    def get(self, request: Request) -> Response:
        form = CheckSerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        on = form.validated_data.get("date") or timezone.localdate()
        running = [
            {"document": b.document_id, "title": b.title, "stage": b.stage, "post": b.post}
            for b in designer.running_broken(on)
        ]
        return Response(
            {"date": on, "results": check_lines(on, form.validated_data["all"]), "running": running}
        )


# --- The 専決規程 table -------------------------------------------------------------------------


def deciders(on: dt.date | None = None) -> dict[str, str]:
    """Route code → the position that decides on it (for a document with no conditions)."""
    found = {}
    for template in RouteTemplate.objects.filter(is_active=True):
        definition: RouteDef = route_on(template, on)
        blocking = [s for s in definition.stages if s.mode != "circulation"]
        names = [r.position.name for r in (blocking[-1].rules if blocking else ()) if r.position]
        found[template.code] = "・".join(dict.fromkeys(names))
    return found


class RulesView(APIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        parameters=[CheckSerializer],
        responses=responses.RulesTableSerializer,
        summary="The 専決規程 valid on a date, and its versions",
    )
    def get(self, request: Request) -> Response:
        form = CheckSerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        on = form.validated_data.get("date")
        names = deciders(on)
        rules = rules_on(on)
        return Response(
            {
                "date": on or timezone.localdate(),
                "rules": [
                    {**row, "decider": names.get(row["template"], "")}
                    for row in rules_as_json(rules)
                ],
                "versions": [
                    version_data(v)
                    for v in RulesVersion.objects.filter(published_at__isnull=False)
                    .select_related("published_by")
                    .order_by("-valid_from", "-id")
                ],
            }
        )


class RulesCsvView(APIView):
    permission_classes = [IsAdministrator]
    content_negotiation_class = FileAnswer  # Accept: text/csv is what the schema says it answers

    @extend_schema(
        parameters=[CheckSerializer],
        responses={(200, "text/csv"): responses.RULES_CSV},
        summary="The 専決規程 valid on a date as CSV (UTF-8 with BOM)",
    )
    def get(self, request: Request) -> HttpResponse:
        form = CheckSerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        on = form.validated_data.get("date")
        body = rules_csv.export(rules_on(on), deciders(on))
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        day = (on or timezone.localdate()).isoformat()
        response["Content-Disposition"] = f'attachment; filename="senketsu-kitei-{day}.csv"'
        return response


class RulesImportSerializer(serializers.Serializer):
    file = serializers.FileField()
    valid_from = serializers.DateField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RulesImportView(APIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        request={"multipart/form-data": RulesImportSerializer},
        responses={201: responses.PublishedVersionSerializer},
        summary="Import the 専決規程 from CSV as the version valid from a date (whole or nothing)",
    )
    def post(self, request: Request) -> Response:
        form = RulesImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        if upload.size > rules_csv.MAX_BYTES:
            raise designer.DesignError("too_large", _("The file is larger than 2 MB."))
        try:
            rules = rules_csv.parse(upload.read())
        except rules_csv.RulesCsvError as exc:
            raise designer.DesignError(
                "invalid_rules",
                _("The file has %(n)d problems; nothing was imported. %(first)s")
                % {"n": len(exc.problems), "first": exc.problems[0]},
                exc.problems,
            ) from None
        version = designer.publish_rules(
            rules_as_json(rules),
            form.validated_data["valid_from"],
            user_of(request),
            form.validated_data["note"],
        )
        return Response(version_data(version), status=status.HTTP_201_CREATED)
