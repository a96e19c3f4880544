"""Search conditions for documents: what drafters, approvers and auditors look for.

The Electronic Books Maintenance Act asks for transaction date, amount and counterparty, with
ranges on date and amount, combinable; the rest (status, number, department, type, free text) is
what people in the office look for. Results are always limited to what the user may see.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from documents.access import visibility
from documents.models import Document, DocumentType, Status
from documents.search import COUNTERPARTY, filter_text
from org.models import Department, User


class SearchSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    status = serializers.MultipleChoiceField(choices=Status.choices, required=False)
    number = serializers.CharField(required=False, allow_blank=True, max_length=64)
    counterparty = serializers.CharField(required=False, allow_blank=True, max_length=200)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    amount_min = serializers.IntegerField(required=False, min_value=0)
    amount_max = serializers.IntegerField(required=False, min_value=0)
    department = serializers.SlugRelatedField(
        slug_field="code", queryset=Department.objects.all(), required=False
    )
    doc_type = serializers.SlugRelatedField(
        slug_field="code", queryset=DocumentType.objects.all(), required=False
    )
    mine = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            attrs.get("date_from")
            and attrs.get("date_to")
            and attrs["date_from"] > attrs["date_to"]
        ):
            raise serializers.ValidationError({"date_to": _("date_to is before date_from.")})
        low, high = attrs.get("amount_min"), attrs.get("amount_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"amount_max": _("amount_max is below amount_min.")})
        return attrs


def _subtree(department: Department) -> list[int]:
    ids, frontier = [department.pk], [department.pk]
    while frontier:
        frontier = list(
            Department.objects.filter(parent_id__in=frontier)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        ids.extend(frontier)
    return ids


def search(user: User, conditions: dict[str, Any]) -> QuerySet[Document]:
    qs = Document.objects.filter(visibility(user))
    if conditions.get("mine"):
        qs = qs.filter(drafter=user)
    if conditions.get("status"):
        qs = qs.filter(status__in=sorted(conditions["status"]))
    if conditions.get("number"):
        qs = qs.filter(number=conditions["number"].strip())
    if conditions.get("date_from"):
        qs = qs.filter(transaction_date__gte=conditions["date_from"])
    if conditions.get("date_to"):
        qs = qs.filter(transaction_date__lte=conditions["date_to"])
    if conditions.get("amount_min") is not None:
        qs = qs.filter(amount__gte=conditions["amount_min"])
    if conditions.get("amount_max") is not None:
        qs = qs.filter(amount__lte=conditions["amount_max"])
    if conditions.get("department"):
        qs = qs.filter(department_id__in=_subtree(conditions["department"]))
    if conditions.get("doc_type"):
        qs = qs.filter(doc_type=conditions["doc_type"])
    if conditions.get("counterparty"):
        qs = filter_text(qs, conditions["counterparty"], field=COUNTERPARTY)
    if conditions.get("q"):
        qs = filter_text(qs, conditions["q"])
    return qs
