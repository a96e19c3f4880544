from __future__ import annotations

from rest_framework import serializers

from api.models import ApiToken, TokenScope


class PostSerializer(serializers.Serializer):
    department = serializers.CharField(source="department.full_name")
    department_code = serializers.CharField(source="department.code")
    position = serializers.CharField(source="position.name")
    position_code = serializers.CharField(source="position.code")
    is_primary = serializers.BooleanField()


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    department = serializers.CharField(allow_null=True)
    position = serializers.CharField(allow_null=True)
    roles = serializers.ListField(child=serializers.CharField())
    posts = PostSerializer(many=True)


class TokenSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="token_key", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "scope", "created", "expiry", "last_used"]
        read_only_fields = ["created", "expiry", "last_used"]


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    scope = serializers.ChoiceField(choices=TokenScope.choices, default=TokenScope.ACT)
    expires_in_days = serializers.IntegerField(min_value=1, max_value=365, required=False)


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
