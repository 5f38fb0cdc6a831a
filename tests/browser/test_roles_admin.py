"""What each role may see: authors are kept out of the job admin and see their own posts;
medical reviewers see every post."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.admin_ui import result_rows
from tests.factories import PostFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def two_authors_posts(make_user):
    ana, bruno = make_user("author"), make_user("author")
    return {
        "ana": (ana, PostFactory(author=ana, title="Ana: sleep and blood pressure")),
        "bruno": (bruno, PostFactory(author=bruno, title="Bruno: vaccines for adults")),
    }


def test_author_has_no_job_admin_and_sees_only_their_own_posts(page, login, two_authors_posts):
    ana, own_post = two_authors_posts["ana"]
    _, other_post = two_authors_posts["bruno"]
    login(ana)

    expect(page.locator(".app-content")).to_be_visible()
    expect(page.locator(".app-jobs")).to_have_count(0)
    expect(page.locator("a[href^='/admin/jobs/']")).to_have_count(0)
    for url in ("/admin/jobs/job/", "/admin/jobs/deadletter/", "/admin/jobs/queue/"):
        response = page.goto(url)
        assert response is not None and response.status == 403, url

    page.goto("/admin/content/post/")
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page).first).to_contain_text(own_post.title)
    expect(page.locator("#result_list")).not_to_contain_text(other_post.title)

    # Nor can the other author's post be opened by its address.
    page.goto(f"/admin/content/post/{other_post.pk}/change/")
    page.wait_for_url(re.compile(r"/admin/$"))
    expect(page.locator(".messagelist .warning")).to_contain_text(re.compile(r"doesn.t exist"))
    expect(page.locator("#content")).not_to_contain_text(other_post.title)


def test_medical_reviewer_sees_every_authors_posts(page, make_user, login, two_authors_posts):
    login(make_user("medical_reviewer"))

    page.goto("/admin/content/post/")
    expect(result_rows(page)).to_have_count(2)
    for _, post in two_authors_posts.values():
        expect(page.locator("#result_list")).to_contain_text(post.title)
    expect(page.locator(".app-jobs, a[href^='/admin/jobs/']")).to_have_count(0)
