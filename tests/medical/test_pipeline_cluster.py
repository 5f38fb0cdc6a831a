"""A real qcluster takes newly saved posts through the pipeline."""

import pytest

from healthcare_cms.content.models import Post
from healthcare_cms.content.services import post_create
from tests.factories import UserFactory
from tests.medical.test_pipeline import CLEAN_MEDICAL
from tests.support.polling import wait_until
from workflows.medical.models import StageResult

pytestmark = pytest.mark.cluster


def test_a_real_cluster_validates_saved_posts_through_all_three_stages(clusters):
    clusters.start(concurrency=2)
    author = UserFactory()
    clean = post_create(
        author=author, title="Pressão", body=CLEAN_MEDICAL, medical_category="cardiology"
    )
    claim = post_create(
        author=author,
        title="Novidade",
        body=f"{CLEAN_MEDICAL} Este tratamento cura a hipertensão em 90% dos casos",
        medical_category="cardiology",
    )
    final = {"approved", "needs_review", "blocked"}
    wait_until(lambda: Post.objects.get(pk=clean.pk).workflow_status in final, timeout=60)
    wait_until(lambda: Post.objects.get(pk=claim.pk).workflow_status in final, timeout=60)
    assert Post.objects.get(pk=clean.pk).workflow_status == "approved"
    assert StageResult.objects.filter(post=clean, outcome="passed").count() == 3
    assert Post.objects.get(pk=claim.pk).workflow_status == "needs_review"
    claims = StageResult.objects.get(post=claim, stage="s31_claims_extraction")
    assert claims.outcome == "needs_review" and "without a nearby reference" in claims.reasons[0]
