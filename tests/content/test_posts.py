import pytest

from compliance.models import AuditLog
from healthcare_cms.accounts.roles import Role
from healthcare_cms.content.models import Post
from healthcare_cms.content.selectors import post_list_visible_to, post_read
from healthcare_cms.content.services import post_create, post_publish, post_update
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_creating_a_post_audits_it_and_starts_as_draft():
    author = UserFactory()
    post = post_create(author=author, title="T", body="B", medical_category="cardiology")
    assert post.workflow_status == "draft" and post.content_version == 1
    assert AuditLog.objects.filter(action="post.create", object_id=str(post.pk)).exists()


def test_changing_title_or_body_makes_a_new_content_version():
    post = PostFactory()
    post = post_update(post=post, actor=post.author, body="New body")
    assert post.content_version == 2
    post = post_update(post=post, actor=post.author, medical_category="oncology")
    assert post.content_version == 2
    same = post_update(post=post, actor=post.author, body="New body")
    assert same.content_version == 2


def test_post_update_refuses_fields_it_does_not_own():
    post = PostFactory()
    with pytest.raises(ValueError, match="cannot change workflow_status"):
        post_update(post=post, actor=post.author, workflow_status="approved")


def test_reading_a_post_with_patient_data_is_audited_and_others_are_not():
    reader = UserFactory(role=Role.MEDICAL_REVIEWER)
    with_phi = PostFactory(phi_detected=True)
    without = PostFactory()
    post_read(post=with_phi, actor=reader, channel="admin")
    post_read(post=without, actor=reader, channel="admin")
    reads = AuditLog.objects.filter(action="post.read_phi")
    assert list(reads.values_list("object_id", flat=True)) == [str(with_phi.pk)]


def test_authors_see_their_own_posts_and_reviewers_see_all():
    author, other = UserFactory(), UserFactory()
    mine, theirs = PostFactory(author=author), PostFactory(author=other)
    assert list(post_list_visible_to(user=author)) == [mine]
    reviewer = UserFactory(role=Role.MEDICAL_REVIEWER)
    assert set(post_list_visible_to(user=reviewer)) == {mine, theirs}


def test_only_approved_posts_can_be_published():
    post = PostFactory(workflow_status="needs_review")
    with pytest.raises(ValueError, match="only approved posts"):
        post_publish(post=post, actor=post.author)
    Post.objects.filter(pk=post.pk).update(workflow_status="approved")
    post.refresh_from_db()
    assert post_publish(post=post, actor=post.author).published_at is not None
