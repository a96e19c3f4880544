"""The API's list pages: cursor pagination (stable while rows are added), 50 rows unless the
client asks for `page_size` rows, at most 200. A list sets only its `ordering`."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class Pages(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
