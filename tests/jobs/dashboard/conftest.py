"""Users of each role signed in with Django's test client (the login form itself is driven by
the browser tests)."""

from __future__ import annotations

import pytest


@pytest.fixture
def client_as(db, client):
    """client_as(role) -> the test client signed in as a new staff user of that role."""
    import factory

    from tests.factories import UserFactory

    def sign_in(role: str, **fields):
        # An unusable password: no hashing cost, and force_login does not need one.
        fields.setdefault("password", factory.Transformer.Force("!"))
        user = UserFactory(role=role, **fields)
        client.force_login(user)
        client.user = user
        return client

    return sign_in
