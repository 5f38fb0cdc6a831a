"""Posts and their compliance status."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class MedicalCategory(models.TextChoices):
    NONE = "none", "Not medical"
    GENERAL = "general_practice", "General practice"
    CARDIOLOGY = "cardiology", "Cardiology"
    DERMATOLOGY = "dermatology", "Dermatology"
    ENDOCRINOLOGY = "endocrinology", "Endocrinology"
    NUTRITION = "nutrition", "Nutrition"
    ONCOLOGY = "oncology", "Oncology"
    PEDIATRICS = "pediatrics", "Pediatrics"
    PSYCHIATRY = "psychiatry", "Psychiatry"


class WorkflowStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ANALYZING = "analyzing", "Analyzing"
    NEEDS_REVIEW = "needs_review", "Needs review"
    APPROVED = "approved", "Approved"
    BLOCKED = "blocked", "Blocked"


class Post(models.Model):
    title = models.CharField(max_length=300)
    body = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="posts"
    )
    medical_category = models.CharField(
        max_length=32, choices=MedicalCategory.choices, default=MedicalCategory.NONE
    )
    phi_detected = models.BooleanField("patient data detected", default=False)
    lgpd_risk_score = models.PositiveSmallIntegerField(
        "LGPD risk score", default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    workflow_status = models.CharField(
        max_length=16, choices=WorkflowStatus.choices, default=WorkflowStatus.DRAFT
    )
    # Incremented whenever the title or body changes: validation results name the version
    # they judged, so an edit makes older results stale.
    content_version = models.PositiveIntegerField(default=1)
    published_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("review_post", "Can review every post and its compliance findings")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lgpd_risk_score__gte=0, lgpd_risk_score__lte=100),
                name="content_post_risk_score_range",
            ),
        ]
        indexes = [
            models.Index(
                fields=["medical_category", "created_at"], name="content_post_cat_created"
            ),
            models.Index(fields=["workflow_status"], name="content_post_status"),
            # The retention policy's question: which medical posts are old and not archived?
            models.Index(
                fields=["created_at"],
                name="content_post_med_unarchived",
                condition=models.Q(archived_at__isnull=True) & ~models.Q(medical_category="none"),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_medical(self) -> bool:
        return self.medical_category != MedicalCategory.NONE
