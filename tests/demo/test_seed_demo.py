import pytest

from healthcare_cms.accounts.models import User
from healthcare_cms.content.models import Post
from healthcare_cms.demo.data import seed_demo
from healthcare_cms.privacy.identifiers import cpf_is_valid

pytestmark = pytest.mark.django_db


def test_demo_data_is_created_once_and_uses_valid_synthetic_identifiers():
    first = seed_demo(admin_password="a-long-demo-password")
    second = seed_demo(admin_password="a-long-demo-password")
    assert first.created_posts == 5 and second.created_posts == 0 and second.created_users == 0
    admin = User.objects.get(email=first.admin_email)
    assert admin.is_superuser and admin.check_password("a-long-demo-password")
    case = Post.objects.get(title="Relato de caso")
    cpf = case.body.split("CPF ")[1].split(",")[0]
    assert cpf_is_valid(cpf)
