"""The workflow API (DESIGN.md section 6): submission, withdrawal, tasks and task actions."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.api import visible_document
from org.auth import user_of
from org.models import User
from security.stepup import require_recent_second_factor
from workflow import personnel, questions, responses, services, states
from workflow.models import Question, Route, RouteStage, Slot, SlotStatus
from workflow.resolution import PlannedRoute


class UsernamesField(serializers.ListField):
    child = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True)
    )


class SubmitSerializer(serializers.Serializer):
    route = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="A route template code; chosen by the rules if empty",
    )
    add_approvers = UsernamesField(required=False, default=list)
    add_readers = UsernamesField(required=False, default=list)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class SendBackSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    to = serializers.CharField(
        required=False, default="drafter", help_text="'drafter' or the index of an earlier stage"
    )

    def validate_to(self, value: str) -> str | int:
        if value == "drafter":
            return value
        if value.isdigit():
            return int(value)
        raise serializers.ValidationError(_("Use 'drafter' or a stage index."))


class BulkSerializer(serializers.Serializer):
    task_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=200)
    comment = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


def person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"username": user.username, "name": str(user)}


def slot_data(slot: Slot) -> dict[str, Any]:
    return {
        "id": slot.pk,
        "kind": slot.kind,
        "status": slot.status,
        "assignee": person(slot.assignee),
        "on_behalf_of": person(slot.on_behalf_of),
        "position": slot.position_name,
        "department": slot.department_name,
        "previous_assignee": person(slot.previous_assignee),
        "acted_at": slot.acted_at,
        "comment": slot.comment,
    }


def rules_data(route: Route) -> dict[str, Any]:
    """What the 専決規程 asked for, beside the route used (workflow.authority)."""
    return {
        "rule": route.rule_name,
        "template": route.rule_template_code,
        "template_name": route.rule_template_name,
        "deviation": route.deviation,
        "reason": route.deviation_reason,
    }


def route_data(route: Route) -> dict[str, Any]:
    stages: list[RouteStage] = list(
        route.stages.prefetch_related(
            "slots__assignee", "slots__on_behalf_of", "slots__previous_assignee"
        )
    )
    return {
        "id": route.pk,
        "status": route.status,
        "template": route.template_code,
        "template_name": route.template_name,
        "rules": rules_data(route),
        "after_send_back": route.after_send_back,
        "questions": questions.thread(route),
        "current_stage": route.current_stage,
        "stages": [
            {
                "index": s.index,
                "name": s.name,
                "mode": s.mode,
                "role": s.role,
                "status": s.status,
                "slots": [slot_data(x) for x in s.slots.all()],
            }
            for s in stages
        ],
    }


def plan_data(planned: PlannedRoute) -> dict[str, Any]:
    rules = planned.authority
    return {
        "template": planned.template.code if planned.template else None,
        "template_name": planned.template.name if planned.template else None,
        "rules": {
            "rule": rules.rule_name,
            "template": rules.rule_template.code,
            "template_name": rules.rule_template.name,
            "decider": rules.decider,
            "deviation": rules.deviation,
            "reason": rules.reason,
            "note": rules.note(planned.template) if planned.template else "",
        }
        if rules is not None
        else None,
        "passed_over": list(planned.passed_over),
        "stages": [
            {
                "name": s.name,
                "mode": s.mode,
                "role": s.role,
                # A stage or person the drafter added to the rules' route.
                "added": bool(s.slots) and all(x.added_by_drafter for x in s.slots),
                "slots": [
                    {
                        "assignee": person(x.user),
                        "on_behalf_of": person(x.on_behalf_of),
                        "position": x.position_name,
                        "department": x.department_name,
                        "added": x.added_by_drafter,
                    }
                    for x in s.slots
                ],
            }
            for s in planned.stages
        ],
    }


class RoutePreviewView(APIView):
    @extend_schema(
        parameters=[SubmitSerializer],
        responses={
            200: responses.RoutePlanSerializer,
            422: OpenApiResponse(
                description="No route resolves (no rule matches, a post is vacant), the route "
                "chosen ranks below the 専決規程's decider, or the drafter added themself"
            ),
        },
        summary="The route and people this document would get if submitted now",
    )
    def get(self, request: Request, document_id: int) -> Response:
        document = visible_document(request, document_id)
        form = SubmitSerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        # The people the drafter would add count too, as they do on submission.
        planned = services.plan(
            document,
            template_code=form.validated_data.get("route") or None,
            approvers=form.validated_data["add_approvers"],
            readers=form.validated_data["add_readers"],
        )
        return Response(plan_data(planned))


class SubmitView(APIView):
    @extend_schema(
        request=SubmitSerializer,
        responses=responses.RouteSerializer,
        summary="Submit (or resubmit) a document",
    )
    def post(self, request: Request, document_id: int) -> Response:
        document = visible_document(request, document_id)
        require_recent_second_factor(request)  # submitting seals the drafter's box: step-up
        form = SubmitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        route = services.submit(
            user_of(request),
            document.pk,
            template_code=form.validated_data.get("route") or None,
            approvers=form.validated_data["add_approvers"],
            readers=form.validated_data["add_readers"],
        )
        return Response(route_data(route), status=status.HTTP_200_OK)


class WithdrawView(APIView):
    @extend_schema(
        request=ReasonSerializer,
        responses=responses.RouteSerializer,
        summary="Withdraw a submitted document (引き戻し)",
    )
    def post(self, request: Request, document_id: int) -> Response:
        document = visible_document(request, document_id)
        form = ReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        route = services.withdraw(user_of(request), document.pk, form.validated_data["reason"])
        return Response(route_data(route))


class RouteView(APIView):
    @extend_schema(
        responses=responses.DocumentRoutesSerializer,
        summary="The document's routes, newest first, with stages, slots and history",
    )
    def get(self, request: Request, document_id: int) -> Response:
        document = visible_document(request, document_id)
        history = [
            {
                "action": h.action,
                "actor": person(h.actor),
                "on_behalf_of": person(h.on_behalf_of),
                "stage": h.stage_name,
                "comment": h.comment,
                "at": h.at,
                "version": h.document_version,
                "details": h.details,
            }
            for h in document.history.select_related("actor", "on_behalf_of")
        ]
        routes = list(document.routes.all())
        running = next((r for r in routes if r.finished_at is None), None)
        # What the caller may do on the document as a whole now (workflow.states), and which
        # stages of the running route they may skip (administrators, skippable stages).
        user = user_of(request)
        actions = states.document_actions(user, document, running)
        skippable = states.skippable_stages(user, running.stages.all()) if running else ()
        return Response(
            {
                "routes": [route_data(r) for r in routes],
                "history": history,
                "actions": sorted(actions),
                "skippable_stages": sorted(skippable),
            }
        )


class TaskListView(APIView):
    @extend_schema(responses=responses.TaskListSerializer, summary="My open tasks")
    def get(self, request: Request) -> Response:
        user = user_of(request)
        slots = (
            Slot.objects.filter(assignee=user, status=SlotStatus.OPEN)
            .select_related("stage__route__document__drafter", "on_behalf_of")
            .order_by("opened_at", "id")
        )
        return Response(
            {
                "results": [
                    {
                        "id": s.pk,
                        "kind": s.kind,
                        "stage": s.stage.name,
                        # What the caller may do on it now (workflow.states), e.g. approve.
                        "actions": sorted(states.task_actions(user, s)),
                        "opened_at": s.opened_at,
                        "on_behalf_of": person(s.on_behalf_of),
                        "document": {
                            "id": s.stage.route.document_id,
                            "title": s.stage.route.document.title,
                            "amount": s.stage.route.document.amount,
                            "drafter": str(s.stage.route.document.drafter),
                        },
                    }
                    for s in slots
                ]
            }
        )


def _slot_response(slot_id: int) -> Response:
    slot = get_object_or_404(
        Slot.objects.select_related("assignee", "on_behalf_of", "previous_assignee"), pk=slot_id
    )
    return Response(slot_data(slot))


def _person(username: str) -> User:
    found = User.objects.filter(username=username, is_active=True).first()
    if found is None:
        raise services.WorkflowError(
            "invalid", _("No active user %(name)s.") % {"name": username[:150]}
        )
    return found


class ReassignSerializer(serializers.Serializer):
    to = serializers.CharField(max_length=150, help_text="The username of the new assignee")
    reason = serializers.CharField(max_length=2000)


class ReassignView(APIView):
    @extend_schema(
        request=ReassignSerializer,
        responses=responses.TaskSerializer,
        summary="Reassign an open task (administrators, or the assignee's superior)",
    )
    def post(self, request: Request, task_id: int) -> Response:
        form = ReassignSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        personnel.reassign(
            user_of(request),
            task_id,
            _person(form.validated_data["to"]),
            form.validated_data["reason"],
        )
        return _slot_response(task_id)


class AskSerializer(serializers.Serializer):
    to = serializers.CharField(
        max_length=150, help_text="The drafter or an earlier approver (username)"
    )
    text = serializers.CharField(max_length=questions.MAX_TEXT)


class AnswerSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=questions.MAX_TEXT)


def _question_data(question: Question) -> dict[str, Any]:
    return {
        "id": question.pk,
        "task": question.slot_id,
        "answer_task": question.answer_slot_id,
        "asked_to": person(question.asked_to),
        "text": question.text,
        "answer": question.answer,
        "asked_at": question.asked_at,
        "answered_at": question.answered_at,
    }


class AskView(APIView):
    @extend_schema(
        request=AskSerializer,
        responses={201: responses.QuestionSerializer},
        summary="Ask the drafter or an earlier approver a question (質疑); the task stays yours",
    )
    def post(self, request: Request, task_id: int) -> Response:
        form = AskSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        question = questions.ask(
            user_of(request),
            task_id,
            _person(form.validated_data["to"]),
            form.validated_data["text"],
        )
        return Response(_question_data(question), status=status.HTTP_201_CREATED)


class AnswerView(APIView):
    @extend_schema(
        request=AnswerSerializer,
        responses=responses.QuestionSerializer,
        summary="Answer the question of this task (質疑)",
    )
    def post(self, request: Request, task_id: int) -> Response:
        form = AnswerSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        question = questions.answer(user_of(request), task_id, form.validated_data["text"])
        return Response(_question_data(question))


class ApproveView(APIView):
    @extend_schema(
        request=CommentSerializer,
        responses=responses.TaskSerializer,
        summary="Approve (agree, mark read, post-review)",
    )
    def post(self, request: Request, task_id: int) -> Response:
        require_recent_second_factor(request)  # approving signs: step-up (security.stepup)
        form = CommentSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.approve(user_of(request), task_id, form.validated_data["comment"])
        return _slot_response(task_id)


class SendBackView(APIView):
    @extend_schema(
        request=SendBackSerializer,
        responses=responses.TaskSerializer,
        summary="Send back to the drafter or a stage",
    )
    def post(self, request: Request, task_id: int) -> Response:
        require_recent_second_factor(request)  # every task action signs the record
        form = SendBackSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.send_back(
            user_of(request), task_id, form.validated_data["reason"], form.validated_data["to"]
        )
        return _slot_response(task_id)


class RejectView(APIView):
    @extend_schema(request=ReasonSerializer, responses=responses.TaskSerializer, summary="Reject")
    def post(self, request: Request, task_id: int) -> Response:
        require_recent_second_factor(request)  # every task action signs the record
        form = SendBackSerializer(data={**request.data, "to": "drafter"})
        form.is_valid(raise_exception=True)
        services.reject(user_of(request), task_id, form.validated_data["reason"])
        return _slot_response(task_id)


class SkipSerializer(serializers.Serializer):
    stage = serializers.IntegerField(min_value=0)
    reason = serializers.CharField(max_length=2000)


class SkipStageView(APIView):
    @extend_schema(
        request=SkipSerializer,
        responses=responses.RouteSerializer,
        summary="Skip a skippable stage (administrators)",
    )
    def post(self, request: Request, document_id: int) -> Response:
        document = visible_document(request, document_id)
        form = SkipSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        route = get_object_or_404(Route, document=document, status="in_progress")
        route = services.skip_stage(
            user_of(request), route.pk, form.validated_data["stage"], form.validated_data["reason"]
        )
        return Response(route_data(route))


class BulkApproveView(APIView):
    @extend_schema(
        request=BulkSerializer,
        responses=responses.BulkApprovalSerializer,
        summary="Approve many tasks; a result per task",
    )
    def post(self, request: Request) -> Response:
        require_recent_second_factor(request)  # approving signs: step-up (security.stepup)
        form = BulkSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        results = services.bulk_approve(
            user_of(request), form.validated_data["task_ids"], form.validated_data["comment"]
        )
        done = [r.task_id for r in results if r.ok]
        not_done = [r.task_id for r in results if not r.ok]
        # Always a result per task, also under an outage: which were approved, which were not.
        if not not_done:
            message = _("All %(count)d tasks were approved.") % {"count": len(done)}
        else:
            message = _(
                "%(done)d approved and signed; %(failed)d not approved (tasks %(ids)s): see each "
                "result, then approve those again."
            ) % {
                "done": len(done),
                "failed": len(not_done),
                "ids": ", ".join(str(i) for i in not_done),
            }
        return Response(
            {
                "approved": done,
                "not_approved": not_done,
                "message": message,
                "results": [
                    {
                        "task_id": r.task_id,
                        "ok": r.ok,
                        **({"error": {"code": r.code, "message": r.message}} if not r.ok else {}),
                    }
                    for r in results
                ],
            }
        )
