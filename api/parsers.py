"""The API's default parsers: DRF's, with every text part of a form checked like any other input.

JSON bodies are checked before any view by `api.inputs.InputLimitsMiddleware`; a multipart body
cannot be (its files stream to disk through the upload handlers), so its text parts are checked
here once parsed: control characters refused with 400 naming the part (PostgreSQL cannot store
NUL). Uploads of documents use `documents.uploads.StrictMultiPartParser`, which also refuses
unusable file names and undecodable part headers, and checks its text parts the same way.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework import parsers


def check_form(data: QueryDict) -> None:
    # Imported here: DRF imports this module while its settings load, which api.errors (through
    # rest_framework.views) is in the middle of doing.
    from api.inputs import check_text

    for key, values in data.lists():
        check_text(key, key)
        for value in values:
            check_text(value, key)


class MultiPartParser(parsers.MultiPartParser):
    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> parsers.DataAndFiles[Any, Any]:
        parsed = super().parse(stream, media_type, parser_context)
        check_form(parsed.data)
        return parsed
