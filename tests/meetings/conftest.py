from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.security import scenario


@pytest.fixture
def clients(demo_org: None) -> Any:
    made: dict[str, APIClient] = {}

    def client(username: str) -> APIClient:
        if username not in made:
            made[username] = scenario.session(username)
        return made[username]

    return client


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response.json() if response.content and status != 204 else None
