"""factory-boy factories for every model. Test data is synthetic."""

from __future__ import annotations

import factory
from django.conf import settings
from django.utils import timezone

from compliance.models import AuditLog, Consent, ConsentPurpose, LegalBasis
from healthcare_cms.accounts.models import User
from healthcare_cms.accounts.roles import Role
from healthcare_cms.content.models import MedicalCategory, Post, WorkflowStatus
from workflows.jobs.models import Job, Node, Queue


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Sequence(lambda n: f"Test Person {n}")
    role = Role.AUTHOR
    is_staff = True
    password = factory.django.Password("a-long-test-password")

    @factory.post_generation
    def with_role_group(self, create, extracted, **kwargs):
        if create:
            from healthcare_cms.accounts.services import user_set_role

            user_set_role(user=self, role=self.role)


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    title = factory.Sequence(lambda n: f"Post {n}")
    body = "A post about healthy habits."
    author = factory.SubFactory(UserFactory)
    medical_category = MedicalCategory.GENERAL
    workflow_status = WorkflowStatus.DRAFT


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    user = factory.SubFactory(UserFactory)
    purpose = ConsentPurpose.TERMS_OF_USE
    legal_basis = LegalBasis.CONSENT
    terms_version = factory.LazyFunction(lambda: settings.CURRENT_TERMS_VERSION)
    granted_at = factory.LazyFunction(timezone.now)


class AuditLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditLog

    actor_label = "system:test"
    action = "test.event"
    object_type = "content.post"
    object_id = factory.Sequence(str)


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        django_get_or_create = ("name",)

    name = "default"
    limit = 10
    configured_limit = 10


class NodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Node

    name = factory.Sequence(lambda n: f"test-node-{n}")
    host = "test-host"
    pid = factory.Sequence(lambda n: 100000 + n)
    queues = factory.LazyFunction(lambda: list(settings.JOBS["queues"]))
    concurrency = 2


class JobFactory(factory.Factory):
    """Jobs are written by the engine, so the factory inserts through it."""

    class Meta:
        model = Job

    worker = "tests.support.workers.RecordingWorker"
    args = factory.Dict({})
    options = factory.Dict({})

    @classmethod
    def _create(cls, model_class, worker, args, options):
        from workflows.jobs import insert
        from workflows.jobs.api.worker import resolve_worker

        return insert(resolve_worker(worker).new(args, **options))

    @classmethod
    def _build(cls, model_class, worker, args, options):
        from workflows.jobs.api.worker import resolve_worker

        return resolve_worker(worker).new(args, **options)
