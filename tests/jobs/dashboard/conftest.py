"""Users of each role signed in with Django's test client (the login form itself is driven by
the browser tests)."""

from __future__ import annotations

import pytest


@pytest.fixture
def client_as(db, client):
    """client_as(role) -> the test client signed in as a new staff user of that role."""
    from tests.factories import UserFactory

    def sign_in(role: str, **fields):
        user = UserFactory(role=role, password="unused-password", **fields)
        client.force_login(user)
        client.user = user
        return client

    return sign_in
