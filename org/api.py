"""The organisation's API: finding people by name, for the drafting page's pickers."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from org.people import MAX_RESULTS, find_people


class PeopleQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        default="",
        help_text="Words that must each match a name, user name, department or position",
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_RESULTS, default=20)


class PersonSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    department = serializers.CharField(allow_null=True)
    position = serializers.CharField(allow_null=True)


class PeopleSerializer(serializers.Serializer):
    results = PersonSerializer(many=True)
    truncated = serializers.BooleanField(help_text="More people match: narrow the search")


class PeopleView(APIView):
    """Any signed-in user may look people up, as in the staff directory on the office's desk."""

    @extend_schema(
        parameters=[PeopleQuerySerializer],
        responses=PeopleSerializer,
        summary="Active staff matching a search: user name, name, department, position",
    )
    def get(self, request: Request) -> Response:
        form = PeopleQuerySerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        people, truncated = find_people(form.validated_data["q"], form.validated_data["limit"])
        return Response({"results": [asdict(p) for p in people], "truncated": truncated})
