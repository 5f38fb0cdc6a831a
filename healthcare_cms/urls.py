from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.urls import path, reverse_lazy

from healthcare_cms.accounts import two_factor_views
from healthcare_cms.accounts import views as account_views
from workflows.jobs import metrics_view

admin.site.site_header = "Healthcare CMS"
admin.site.site_title = "Healthcare CMS"
admin.site.index_title = "Content, compliance and jobs"

urlpatterns = [
    path("", lambda request: HttpResponseRedirect("/admin/")),
    # Named so the admin login page offers "Forgotten your password?".
    path(
        "admin/password_reset/",
        account_views.PasswordResetRequestView.as_view(),
        name="admin_password_reset",
    ),
    path(
        "accounts/reset/sent/",
        account_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/2fa/enroll/", two_factor_views.enroll, name="two_factor_enroll"),
    path("admin/2fa/verify/", two_factor_views.verify, name="two_factor_verify"),
    path("admin/", admin.site.urls),
    # Prometheus: the job cluster's state, behind METRICS_TOKEN (docs/observability.md).
    path("metrics", metrics_view, name="metrics"),
]
