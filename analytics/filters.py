"""The filters every figure takes: a period, a department (with those below it) and a type.

Parsed once here for the API and the page alike; a department outside the caller's scope is
refused (403), an unknown type or a reversed period is a 400 that says what to send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers, status

from analytics.scope import Scope, descendants
from api.errors import ApiError
from documents.models import DocumentType
from org.models import Department, User

# The longest period one request may ask for: ten fiscal years are what offices compare.
MAX_DAYS = 3660


class FilterSerializer(serializers.Serializer):
    date_from = serializers.DateField(
        required=False, help_text="First day of the period (default: a year before date_to)."
    )
    date_to = serializers.DateField(
        required=False, help_text="Last day of the period (default: today)."
    )
    department = serializers.IntegerField(
        required=False, min_value=1, help_text="A department id; the departments below it count."
    )
    doc_type = serializers.SlugField(required=False, help_text="A document type code.")


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    departments: frozenset[int] | None  # None: every department
    department: Department | None
    doc_type: DocumentType | None
    reader: User | None = None  # whose titles the lists show (analytics.scope.titles)

    def on(self, date_field: str) -> Q:
        """The condition on a fact table whose date is `date_field`."""
        q = Q(**{f"{date_field}__gte": self.date_from, f"{date_field}__lte": self.date_to})
        return q & self.where()

    def where(self) -> Q:
        """Department and type only (open tasks have no period)."""
        q = Q()
        if self.departments is not None:
            q &= Q(department_id__in=self.departments)
        if self.doc_type is not None:
            q &= Q(doc_type_id=self.doc_type.pk)
        return q

    def as_query(self) -> dict[str, str]:
        query = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat()}
        if self.department is not None:
            query["department"] = str(self.department.pk)
        if self.doc_type is not None:
            query["doc_type"] = self.doc_type.code
        return query


def parse(params: Any, scope: Scope) -> Filters:
    form = FilterSerializer(data=params)
    form.is_valid(raise_exception=True)
    data = form.validated_data
    date_to = data.get("date_to") or timezone.localdate()
    date_from = data.get("date_from") or (date_to - timedelta(days=364))
    if date_from > date_to:
        raise ApiError("invalid", _("date_from must be on or before date_to."))
    if (date_to - date_from).days > MAX_DAYS:
        raise ApiError("invalid", _("Ask for ten years at most at a time."))
    doc_type = None
    if "doc_type" in data:
        doc_type = DocumentType.objects.filter(code=data["doc_type"]).first()
        if doc_type is None:
            raise ApiError("invalid", _("Unknown document type: use one of the type codes."))
    department = None
    departments: frozenset[int] | None = None if scope.everything else scope.departments
    if "department" in data:
        department = Department.objects.filter(pk=data["department"]).first()
        if department is None:
            raise ApiError("invalid", _("Unknown department."))
        if not scope.allows(department.pk):
            raise ApiError(
                "permission_denied",
                _("You may see the figures of your own department and those below it only."),
                status.HTTP_403_FORBIDDEN,
            )
        departments = frozenset(descendants([department.pk]))
    return Filters(date_from, date_to, departments, department, doc_type, scope.user)
