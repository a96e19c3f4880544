"""OpenAPI: how clients authenticate (`Authorization: Bearer <token>`), for drf-spectacular."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `manage.py issue_token USER` or the settings page.",
        }


# --- error responses: the contract says how each operation can fail ------------------------------

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error of the API (api.errors)",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable, for programs"},
                "message": {"type": "string", "description": "For people: what to do"},
                "fields": {
                    "type": ["object", "array"],
                    "description": "400 invalid: the messages of each field (an object), or of "
                    "the request as a whole (a list)",
                },
                "field": {"type": "string", "description": "The field or parameter refused"},
            },
            "additionalProperties": True,
        }
    },
}

ERRORS: dict[str, str] = {
    "400": "The request is not valid (fields, JSON, control characters, numbers out of range)",
    "401": "Not signed in: send 'Authorization: Bearer <token>'",
    "403": "Not allowed, or a recent second factor is needed (second_factor_required)",
    "404": "No such object, or one the caller may not see",
    "409": "The object's state does not allow this now (e.g. task_closed)",
    "413": "The request body is larger than the limit the message names",
    "422": "Understood but refused (an upload's content, a rule of the route)",
    "429": "Too many requests for this token, or sign-in locked for a while",
    "503": "A service is unavailable (database, document store, time-stamping); try again later",
}
_WRITES = {"post", "put", "patch", "delete"}


def _errors_for(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """Which errors apply: every operation may be refused as bad input, for a missing sign-in or
    a permission, a rate limit or an outage, and may not find an object it names (in its path,
    query or body); one that writes may find a state that forbids it, a content refused, or a
    body too large."""
    codes = ["400", "404", "503"]  # 404: an id in the path, the query or the body
    if operation.get("security") != [{}]:
        codes += ["401", "403", "429"]
    if method in _WRITES:
        codes += ["409", "422"]
    if "requestBody" in operation or method in _WRITES:
        codes.append("413")
    return sorted(codes)


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: Any) -> Any:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS): the Error component, and the
    error responses that apply to each operation, so that a generated client knows them."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", *_WRITES}:
                continue
            responses = operation.setdefault("responses", {})
            for code in _errors_for(path, method, operation):
                responses.setdefault(code, {"description": ERRORS[code]})
            for code, response in responses.items():
                if code in ERRORS:  # also those a view declared itself, with a description only
                    response.setdefault("content", {"application/json": {"schema": reference}})
    return result
