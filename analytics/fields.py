"""A list of whole numbers in one column: PostgreSQL's integer[] there, JSON text elsewhere.

The monthly roll-ups (analytics.rollups) keep each cell's durations sorted in one row. On
PostgreSQL an integer array is read and written natively (psycopg adapts Python lists both
ways); SQLite, on which the suite also runs, keeps the same list as JSON. The field is the only
place that knows which, so the roll-ups have one code path.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models


class IntListField(models.Field):
    description = "A list of integers"

    def db_type(self, connection: Any) -> str:
        return "integer[]" if connection.vendor == "postgresql" else "text"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> list[int] | None:
        if value is None or isinstance(value, list):
            return value
        return list(json.loads(value))

    def to_python(self, value: Any) -> list[int] | None:
        if value is None or isinstance(value, list):
            return value
        return list(json.loads(value))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        value = [int(v) for v in value]
        return value if connection.vendor == "postgresql" else json.dumps(value)
