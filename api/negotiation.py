"""Content negotiation for views that answer a file (CSV) themselves.

Such a view returns its own HttpResponse, so DRF's renderers only ever render its errors, as
JSON. With the default negotiation a client that sends what the schema documents for the answer
(`Accept: text/csv`) was refused with 406 before the view ran: no renderer of ours makes CSV.
"""

from __future__ import annotations

from typing import Any

from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.request import Request


class FileAnswer(BaseContentNegotiation):
    """Whatever Accept says: the file on success, errors with the view's first renderer (JSON)."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(
        self, request: Request, renderers: Any, format_suffix: str | None = None
    ) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type
