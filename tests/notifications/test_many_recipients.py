"""A notice to many people: one INSERT (a plain one on PostgreSQL from PLAIN_INSERT_FROM rows on),
every row as the ORM would have written it, ids in the order of the recipients."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import Notification
from org.models import User

pytestmark = pytest.mark.django_db


def test_sixty_recipients_get_their_rows_in_order(django_assert_max_num_queries) -> None:
    users = User.objects.bulk_create(User(username=f"staff{i:03d}") for i in range(60))
    ids = sorted(u.pk for u in User.objects.filter(username__startswith="staff"))
    data = {"reason": "金額を確認してください", "n": 1, "nested": {"a": [1, 2]}}
    assert len(ids) >= services.PLAIN_INSERT_FROM and len(users) == 60
    with django_assert_max_num_queries(6):
        rows = services.notify("comment.added", reversed(ids), task=7, data=data)
    assert [r.recipient_id for r in rows] == ids
    assert all(r.pk is not None and r.created is not None for r in rows)
    assert [r.pk for r in rows] == sorted(r.pk for r in rows)
    stored = {n.pk: n for n in Notification.objects.filter(pk__in=[r.pk for r in rows])}
    for row in rows:
        again = stored[row.pk]
        assert (again.recipient_id, again.type, again.task, again.data) == (
            row.recipient_id,
            "comment.added",
            7,
            data,
        )
        assert again.document_id is None and again.read_at is None
        assert services.to_frame(again) == services.to_frame(row)
