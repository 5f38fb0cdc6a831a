"""Patient data is audited when read in the admin; the audit log itself is read-only."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from compliance.models import AuditLog
from tests.factories import AuditLogFactory, PostFactory

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

    page.goto("/admin/compliance/auditlog/")
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
