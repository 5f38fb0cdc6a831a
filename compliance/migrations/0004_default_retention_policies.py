from django.db import migrations

# The product spec's periods, with the honest basis from ../shared/reference/compliance-rules.md.
DEFAULTS = [
    (
        "inactive_users",
        5 * 365,
        "Policy choice, not a legal period. LGPD art. 15 I: processing ends when its purpose is "
        "achieved (here: 5 years without activity); art. 16: data is then deleted, and may be "
        "kept to meet a legal obligation (art. 16 I). The ANPD sets no general period; 5 years "
        "follows CDC art. 27 (consumer claims), CTN arts. 173/174 (tax records) and ANPD "
        "Resolution 15/2024 art. 10 (incident records kept 5 years). Accounts are soft-deleted "
        "and pseudonymised, not erased, so authored posts keep their author.",
    ),
    (
        "medical_posts",
        20 * 365,
        "Lei 13.787/2018 art. 6: patient records are kept at least 20 years from the last entry; "
        "afterwards they may be destroyed (allowed, not required). CFM Resolução 1.821/2007 is "
        "the older rule. Medical posts are archived (not deleted) after 20 years.",
    ),
    (
        "audit_log",
        6 * 365,
        "Policy choice: 6 years is a defensible period for access logs. HIPAA 45 CFR "
        "164.316(b)(2)(i) concerns Security Rule documentation, not audit logs. Brazil: Marco "
        "Civil da Internet art. 15 requires access logs for at least 6 months; LGPD art. 37 "
        "requires records of processing operations.",
    ),
]


def create_defaults(apps, schema_editor):
    RetentionPolicy = apps.get_model("compliance", "RetentionPolicy")
    for key, days, basis in DEFAULTS:
        RetentionPolicy.objects.get_or_create(
            key=key, defaults={"retention_days": days, "legal_basis": basis}
        )


class Migration(migrations.Migration):
    dependencies = [("compliance", "0003_accessledgerentry_alert_emaildelivery_and_more")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
