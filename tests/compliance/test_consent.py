import pytest
from django.db import IntegrityError

from compliance.consent import consent_grant, consent_revoke
from compliance.models import AuditLog, Consent, ConsentPurpose, LegalBasis
from tests.factories import ConsentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_revoking_keeps_the_record_and_audits_it():
    consent = ConsentFactory()
    consent_revoke(consent=consent)
    consent.refresh_from_db()
    assert consent.revoked_at is not None and not consent.is_active
    assert Consent.objects.filter(pk=consent.pk).exists()
    assert AuditLog.objects.filter(action="consent.revoke", object_id=str(consent.pk)).exists()


def test_granting_again_after_revoking_makes_a_new_record():
    user = UserFactory()
    first = consent_grant(
        user=user,
        purpose=ConsentPurpose.NEWSLETTER,
        legal_basis=LegalBasis.CONSENT,
        terms_version="v1",
    )
    consent_revoke(consent=first)
    second = consent_grant(
        user=user,
        purpose=ConsentPurpose.NEWSLETTER,
        legal_basis=LegalBasis.CONSENT,
        terms_version="v1",
    )
    assert second.pk != first.pk
    assert Consent.objects.filter(user=user).count() == 2


def test_only_one_active_consent_per_user_purpose_and_terms_version():
    consent = ConsentFactory()
    again = consent_grant(
        user=consent.user,
        purpose=consent.purpose,
        legal_basis=consent.legal_basis,
        terms_version=consent.terms_version,
    )
    assert again.pk == consent.pk
    with pytest.raises(IntegrityError):
        ConsentFactory(
            user=consent.user, purpose=consent.purpose, terms_version=consent.terms_version
        )
