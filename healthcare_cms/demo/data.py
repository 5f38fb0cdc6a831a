"""Create the demo data set. Idempotent: running it twice changes nothing the second time.

Every identifier is synthetic: CPFs and CNS numbers are generated with valid check digits
from a fixed seed and belong to nobody.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from compliance.consent import consent_grant, consent_revoke
from compliance.models import ConsentPurpose, LegalBasis
from healthcare_cms.accounts.models import User
from healthcare_cms.accounts.roles import Role
from healthcare_cms.accounts.services import user_create, user_set_role
from healthcare_cms.content.models import MedicalCategory, Post
from healthcare_cms.content.services import post_create
from healthcare_cms.privacy.identifiers import cns_generate, cpf_generate

ADMIN_EMAIL = "admin@demo.local"
PEOPLE = [
    ("dra.ana@demo.local", "Dra. Ana Souza", Role.AUTHOR, "CRM/SP 123456"),
    ("dr.bruno@demo.local", "Dr. Bruno Lima", Role.AUTHOR, "CRM/RJ 654321"),
    ("revisora@demo.local", "Carla Reviewer", Role.MEDICAL_REVIEWER, "CRM/SP 222333"),
    ("dpo@demo.local", "Diego DPO", Role.DATA_PROTECTION_OFFICER, ""),
    ("ops@demo.local", "Olga Operations", Role.OPERATIONS, ""),
]


def _posts(rng: random.Random) -> list[tuple[str, str, str, str]]:
    cpf = cpf_generate(rng)
    cns = cns_generate(rng)
    return [
        (
            "dra.ana@demo.local",
            "Como manter a pressão sob controle",
            MedicalCategory.CARDIOLOGY,
            "MÉDICO: Dra. Ana Souza, CRM/SP 123456 — Cardiologista: RQE nº 6789.\n"
            "A hipertensão é comum. Medir a pressão com regularidade ajuda no acompanhamento; "
            "converse com seu médico sobre o tratamento adequado. Consulta: R$ 350,00.",
        ),
        (
            "dra.ana@demo.local",
            "Relato de caso",
            MedicalCategory.ENDOCRINOLOGY,
            f"MÉDICO: Dra. Ana Souza, CRM/SP 123456.\nPaciente João da Silva, diabético, "
            f"CPF {cpf}, CNS {cns}, nascido em 02/03/1961, telefone (11) 98765-4321.",
        ),
        (
            "dr.bruno@demo.local",
            "Tratamento revolucionário",
            MedicalCategory.DERMATOLOGY,
            "O melhor dermatologista do Brasil! Técnica revolucionária, resultados milagrosos. "
            "Resultado garantido em 30 dias e primeira consulta grátis.",
        ),
        (
            "dr.bruno@demo.local",
            "Horário de atendimento da clínica",
            MedicalCategory.NONE,
            "A clínica funciona de segunda a sexta, das 8h às 18h. Garantimos atendimento pontual.",
        ),
        (
            "dr.bruno@demo.local",
            "Patient story",
            MedicalCategory.GENERAL,
            "Patient John Doe has diabetes",
        ),
    ]


@dataclass
class DemoSummary:
    admin_email: str
    created_users: int
    created_posts: int


@transaction.atomic
def seed_demo(*, admin_password: str) -> DemoSummary:
    rng = random.Random(20261128)
    admin = User.objects.filter(email=ADMIN_EMAIL).first()
    if admin is None:
        admin = user_create(
            email=ADMIN_EMAIL,
            full_name="Demo Administrator",
            role=Role.ADMIN,
            password=admin_password,
        )
    else:
        admin.set_password(admin_password)
        admin.save(update_fields=["password"])
        user_set_role(user=admin, role=Role.ADMIN)

    created_users = 0
    for email, name, role, crm in PEOPLE:
        if not User.objects.filter(email=email).exists():
            user_create(email=email, full_name=name, role=role, crm=crm, password=admin_password)
            created_users += 1

    terms = settings.CURRENT_TERMS_VERSION
    for user in User.objects.filter(email__endswith="@demo.local").exclude(email="ops@demo.local"):
        consent_grant(
            user=user,
            purpose=ConsentPurpose.TERMS_OF_USE,
            legal_basis=LegalBasis.CONSENT,
            terms_version=terms,
        )
    ana = User.objects.get(email="dra.ana@demo.local")
    newsletter = consent_grant(
        user=ana,
        purpose=ConsentPurpose.NEWSLETTER,
        legal_basis=LegalBasis.CONSENT,
        terms_version=terms,
    )
    consent_revoke(consent=newsletter)

    created_posts = 0
    for author_email, title, category, body in _posts(rng):
        if Post.objects.filter(title=title).exists():
            continue
        post_create(
            author=User.objects.get(email=author_email),
            title=title,
            body=body,
            medical_category=category,
        )
        created_posts += 1
    return DemoSummary(ADMIN_EMAIL, created_users, created_posts)
