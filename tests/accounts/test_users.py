import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError
from django.test import RequestFactory

from healthcare_cms.accounts.models import User
from healthcare_cms.accounts.roles import Role, group_name
from healthcare_cms.accounts.services import user_create, user_set_role, user_soft_delete
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_users_log_in_by_email():
    user_create(email="Ana@Example.test", full_name="Ana", password="a-long-test-password")
    request = RequestFactory().post("/admin/login/")  # sign-in throttling needs the request
    user = authenticate(request, email="ana@example.test", password="a-long-test-password")
    assert user is not None and user.email == "ana@example.test"


def test_emails_are_unique_whatever_their_case():
    UserFactory(email="same@example.test")
    with pytest.raises(IntegrityError):
        User.objects.create(email="SAME@example.test")


def test_a_role_puts_the_user_in_that_roles_group_only():
    user = UserFactory(role=Role.AUTHOR)
    assert list(user.groups.values_list("name", flat=True)) == [group_name(Role.AUTHOR)]
    user_set_role(user=user, role=Role.DATA_PROTECTION_OFFICER)
    assert list(user.groups.values_list("name", flat=True)) == [
        group_name(Role.DATA_PROTECTION_OFFICER)
    ]
    assert user.has_perm("compliance.view_auditlog")
    user = User.objects.get(pk=user.pk)
    assert not user.has_perm("content.add_post")


def test_administrators_are_superusers():
    admin = user_create(email="root@example.test", role=Role.ADMIN, password="a-long-test-password")
    assert admin.is_superuser and admin.is_staff


def test_an_unknown_role_is_refused():
    with pytest.raises(ValueError, match="Unknown role 'wizard'"):
        user_set_role(user=UserFactory(), role="wizard")


def test_soft_delete_keeps_the_row_and_deactivates():
    user = UserFactory()
    user_soft_delete(user=user)
    user.refresh_from_db()
    assert user.deleted_at is not None and not user.is_active
    assert User.objects.filter(pk=user.pk).exists()
    assert not User.objects.alive().filter(pk=user.pk).exists()


def test_activity_is_recorded_at_most_every_few_minutes(client):
    user = UserFactory()
    client.force_login(user)
    client.get("/admin/")
    user.refresh_from_db()
    first = user.last_activity_at
    assert first is not None
    client.get("/admin/")
    user.refresh_from_db()
    assert user.last_activity_at == first
