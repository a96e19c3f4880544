"""The document types every office starts with; administrators add or rename them in the admin.

Plain data, imported by the migration that creates them and by seed_demo (which also runs after
a test has emptied the database).
"""

from __future__ import annotations

from typing import Any

# code, name, default retention (years; 0 = permanent), transaction record, order
DOCUMENT_TYPES = [
    ("contract", "契約", 10, True, 10),
    ("expenditure", "支出", 5, True, 20),
    ("notice", "通知", 3, False, 30),
    ("inquiry", "照会", 1, False, 40),
    ("plan", "計画", 30, False, 50),
    ("regulation", "例規", 0, False, 60),
    # 廃棄・移管: requests to dispose of or transfer expired records (retention/), on a route.
    ("disposal", "廃棄・移管", 30, False, 95),
    ("other", "その他", 5, False, 90),
]


def ensure_document_types(model: Any) -> None:
    """Create the missing ones; `model` is DocumentType (or its historical version)."""
    for code, name, years, transaction, order in DOCUMENT_TYPES:
        model.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "default_retention_years": years,
                "is_transaction": transaction,
                "sort_order": order,
            },
        )
