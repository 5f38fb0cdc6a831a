"""Patient data is audited when read in the admin; the audit log itself is read-only."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from compliance.models import AuditLog
from tests.browser.admin_ui import result_rows, run_action
from tests.factories import AuditLogFactory, PostFactory
from workflows.analyzers import registry

pytestmark = pytest.mark.browser


def phi_reads(post):
    return AuditLog.objects.filter(
        action="post.read_phi", object_type="content.post", object_id=str(post.pk)
    )


def test_reviewer_opening_a_post_with_patient_data_is_audited(page, make_user, login):
    reviewer = make_user("medical_reviewer")
    with_phi = PostFactory(title="Case notes with patient data", phi_detected=True)
    without_phi = PostFactory(title="Hydration tips")
    login(reviewer)

    page.goto("/admin/content/post/")
    expect(page.locator("#result_list")).to_contain_text(with_phi.title)
    assert not phi_reads(with_phi).exists()  # listing shows no patient data: not audited

    page.goto(f"/admin/content/post/{without_phi.pk}/change/")
    expect(page.locator("input[name=title]")).to_have_value(without_phi.title)
    assert not AuditLog.objects.filter(action="post.read_phi").exists()

    page.goto(f"/admin/content/post/{with_phi.pk}/change/")
    expect(page.locator("input[name=title]")).to_have_value(with_phi.title)
    entry = phi_reads(with_phi).get()
    assert entry.actor_id == reviewer.pk
    assert entry.actor_label == f"user:{reviewer.pk}"
    assert entry.details["channel"] == "admin"
    assert entry.details["content_version"] == with_phi.content_version


def test_dpo_reads_the_audit_log_but_cannot_add_or_change_it(page, make_user, login):
    entry = AuditLogFactory(action="post.read_phi", actor_label="user:99", object_id="31337")
    login(make_user("dpo"))

    # Filtered to the entry made here: signing in writes its own signin.* entries.
    page.goto("/admin/compliance/auditlog/?action=post.read_phi")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("post.read_phi")
    expect(page.locator("#result_list")).to_contain_text("31337")
    expect(page.locator(".object-tools .addlink, a[href$='/auditlog/add/']")).to_have_count(0)
    expect(page.locator("input[name=_selected_action], select[name=action]")).to_have_count(0)

    page.goto(f"/admin/compliance/auditlog/{entry.pk}/change/")
    expect(page.locator("#content h1")).to_contain_text("View audit log")
    expect(page.locator("#content-main")).to_contain_text("user:99")
    form = page.locator("#content-main form")
    expect(form.locator("input[type=submit]")).to_have_count(0)
    expect(form.locator("textarea, select, input:not([type=hidden])")).to_have_count(0)
    expect(page.get_by_role("link", name="Close")).to_be_visible()

    response = page.goto("/admin/compliance/auditlog/add/")
    assert response is not None and response.status == 403


def test_a_medical_reviewer_sees_why_a_post_was_blocked(page, make_user, login):
    from healthcare_cms.content.services import post_create
    from workflows.jobs.testing import drain_queue

    author = make_user("author")
    post = post_create(
        author=author,
        title="Skin care",
        body="MÉDICO: Dr. Bruno Lima, CRM/RJ 654321. O melhor dermatologista do Brasil! "
        "Primeira consulta grátis.",
        medical_category="dermatology",
    )
    drain_queue("medical_workflow")
    login(make_user("medical_reviewer"))

    page.goto(f"/admin/content/post/{post.pk}/change/")
    cfm_row = page.locator("#stage_results-group tr", has_text="CFM validation")
    expect(cfm_row).to_contain_text("Blocked")
    expect(cfm_row).to_contain_text("2.336/2023")  # the reasons, with their legal reference
    expect(cfm_row).to_contain_text("superlative_title")
    # the analyzer and the version that decided (the plugin's version as its manifest says)
    version = registry.manifest_entry("cfm")["version"]
    expect(cfm_row).to_contain_text(f"cfm {version}")
    expect(cfm_row).not_to_contain_text("melhor dermatologista")  # offsets, never the text


def test_dpo_and_operations_see_alerts_and_acknowledge_them(page, make_user, login):
    from compliance.alerts import alert_raise
    from compliance.models import Alert

    alert = alert_raise(
        kind="security",
        code="unaudited_access",
        summary="A read of patient data has no audit entry",
        severity="critical",
    )
    dpo = make_user("dpo")
    login(dpo)
    page.goto("/admin/compliance/alert/")
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page)).to_contain_text("A read of patient data has no audit entry")
    run_action(page, "Acknowledge selected alerts", str(alert.pk))
    expect(page.locator(".messagelist .success")).to_have_text("1 alert(s) acknowledged.")
    alert = Alert.objects.get(pk=alert.pk)
    assert alert.acknowledged_by_id == dpo.pk and alert.acknowledged_at is not None

    page.context.clear_cookies()
    login(make_user("operations"))
    page.goto("/admin/compliance/alert/")
    expect(result_rows(page)).to_contain_text("A read of patient data has no audit entry")


def test_an_author_cannot_open_alerts_or_health_results(page, make_user, login):
    login(make_user("author"))
    for path in ("/admin/compliance/alert/", "/admin/compliance/healthcheckresult/"):
        response = page.goto(path)
        assert response.status == 403, path


def test_the_dpo_changes_a_retention_period_but_cannot_add_or_delete_policies(
    page, make_user, login
):
    from compliance.models import RetentionPolicy

    # The defaults come from a data migration, which a transactional test's flush removes.
    policy, _ = RetentionPolicy.objects.get_or_create(
        key="inactive_users",
        defaults={"retention_days": 5 * 365, "legal_basis": "Policy choice: LGPD art. 15 I."},
    )
    login(make_user("dpo"))
    page.goto("/admin/compliance/retentionpolicy/")
    expect(page.locator("a[href$='/retentionpolicy/add/']")).to_have_count(0)
    page.goto(f"/admin/compliance/retentionpolicy/{policy.pk}/change/")
    expect(page.locator("#content-main")).to_contain_text(policy.legal_basis[:40])
    page.fill("input[name=retention_days]", str(policy.retention_days + 365))
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert RetentionPolicy.objects.get(pk=policy.pk).retention_days == policy.retention_days + 365
    expect(page.locator(".deletelink")).to_have_count(0)


def test_operations_sees_the_latest_health_check_results(page, make_user, login):
    from compliance.models import HealthCheckResult

    HealthCheckResult.objects.create(name="database", ok=True, latency_ms=3, detail="")
    HealthCheckResult.objects.create(
        name="regulator_api", ok=False, latency_ms=5000, detail="timed out after 5 s"
    )
    login(make_user("operations"))
    page.goto("/admin/compliance/healthcheckresult/")
    expect(result_rows(page)).to_have_count(2)
    expect(result_rows(page).first).to_contain_text("regulator_api")
    expect(result_rows(page).first).to_contain_text("timed out after 5 s")
