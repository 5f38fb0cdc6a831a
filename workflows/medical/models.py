"""What each validation stage found for one content version of a post."""

from __future__ import annotations

from django.db import models

from healthcare_cms.content.models import Post


class Stage(models.TextChoices):
    LGPD = "s21_lgpd_analysis", "S.2.1 LGPD analysis"
    CLAIMS = "s31_claims_extraction", "S.3.1 Claims extraction"
    CFM = "s41_cfm_validation", "S.4.1 CFM validation"


class StageOutcome(models.TextChoices):
    PASSED = "passed", "Passed"
    NEEDS_REVIEW = "needs_review", "Needs review"
    BLOCKED = "blocked", "Blocked"
    ERROR = "error", "Could not be analysed"


class StageResult(models.Model):
    """Findings name a rule, character offsets, severity and legal reference: never the
    matched text, so patient data found in a post is not copied anywhere."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="stage_results")
    stage = models.CharField(max_length=32, choices=Stage.choices)
    content_version = models.PositiveIntegerField()
    analyzer = models.CharField(max_length=32)
    analyzer_version = models.CharField(max_length=32, blank=True)
    analyzer_sha256 = models.CharField(max_length=64, blank=True)
    findings = models.JSONField(default=list, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=StageOutcome.choices)
    reasons = models.JSONField(default=list, blank=True, help_text="Why, for reviewers.")
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post", "content_version", "stage"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "stage", "content_version"],
                name="medical_one_result_per_stage_and_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} v{self.content_version}: {self.outcome}"
