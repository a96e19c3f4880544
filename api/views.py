from __future__ import annotations

from datetime import timedelta

from django.db.models import Prefetch, prefetch_related_objects
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError
from api.models import ApiToken
from api.serializers import (
    MeSerializer,
    TokenCreatedSerializer,
    TokenCreateSerializer,
    TokenSerializer,
)
from api.tokens import create_token, revoke_token
from org.auth import user_of
from org.models import Post, with_ancestors
from org.services import roles_of


class MeView(APIView):
    @extend_schema(responses=MeSerializer, summary="The calling user")
    def get(self, request: Request) -> Response:
        user = user_of(request)
        # One query for the posts, their departments' names and positions; primary_post
        # reads the same rows.
        prefetch_related_objects(
            [user],
            Prefetch(
                "posts",
                queryset=Post.objects.select_related(with_ancestors("department"), "position"),
            ),
        )
        posts = list(user.posts.all())
        primary = user.primary_post
        data = {
            "username": user.username,
            "display_name": str(user),
            "department": primary.department.full_name if primary else None,
            "position": primary.position.name if primary else None,
            "roles": roles_of(user),
            "posts": [p for p in posts if p.is_current()],
        }
        return Response(MeSerializer(data).data)


class TokenListView(APIView):
    @extend_schema(responses=TokenSerializer(many=True), summary="My API tokens")
    def get(self, request: Request) -> Response:
        tokens = ApiToken.objects.filter(user=user_of(request))
        return Response(TokenSerializer(tokens, many=True).data)

    @extend_schema(
        request=TokenCreateSerializer,
        responses={201: TokenCreatedSerializer},
        summary="Create an API token (shown once)",
    )
    def post(self, request: Request) -> Response:
        if request.auth is not None:
            # A leaked token must not be able to mint fresh ones that outlive its revocation.
            raise ApiError(
                "session_required",
                "API tokens can only be created from a signed-in browser session.",
                status.HTTP_403_FORBIDDEN,
            )
        form = TokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        days = form.validated_data.get("expires_in_days")
        token, key = create_token(
            user_of(request),
            name=form.validated_data["name"],
            scope=form.validated_data["scope"],
            expires_in=timedelta(days=days) if days else None,
        )
        body = TokenSerializer(token).data | {"token": key}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Revoke one of my API tokens")
    def delete(self, request: Request, token_id: str) -> Response:
        if not revoke_token(user_of(request), token_id):
            raise ApiError("not_found", "No such token of yours.", status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)
