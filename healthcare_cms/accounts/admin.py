"""Admin for users: administrators manage accounts; the data protection officer may look.
Also the sign-in lockouts, which administrators see and lift here."""

from __future__ import annotations

from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from healthcare_cms.accounts import services, throttling, two_factor
from healthcare_cms.accounts.models import User

# django-otp's own device pages show TOTP secrets and recovery codes to whoever may view them;
# here a device is only ever reset (UserAdmin's action), never read by another person.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


class UserCreateForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "role", "crm")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreateForm
    ordering = ("email",)
    list_display = (
        "email",
        "full_name",
        "role",
        "is_active",
        "two_factor",
        "last_activity_at",
        "deleted_at",
    )
    actions = ["reset_two_factor"]
    list_filter = ("role", "is_active", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("email", "full_name")
    readonly_fields = ("last_activity_at", "deleted_at", "date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "role", "crm")}),
        (
            "Status",
            {
                "fields": (
                    "is_active",
                    "last_activity_at",
                    "deleted_at",
                    "date_joined",
                    "last_login",
                )
            },
        ),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "role", "crm", "password1", "password2"),
            },
        ),
    )
    filter_horizontal = ()

    @admin.display(boolean=True, description="two-factor")
    def two_factor(self, obj: User) -> bool:
        return two_factor.two_factor_enrolled(obj)

    @admin.action(permissions=["change"], description="Reset two-factor sign-in (lost phone)")
    def reset_two_factor(self, request, queryset) -> None:
        for user in queryset:
            two_factor.two_factor_reset(user=user, actor=request.user)
        self.message_user(
            request,
            f"Two-factor sign-in reset for {queryset.count()} account(s): their sessions ended "
            "and they enroll again at their next sign-in.",
            messages.SUCCESS,
        )

    def save_model(self, request, obj: User, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.user_set_role(user=obj, role=obj.role)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Accounts are soft-deleted by the retention policy, never removed from the admin.
        return False


@admin.register(AccessAttempt)
class LockoutAdmin(admin.ModelAdmin):
    """Failed sign-ins that count towards a lockout (the history is in the audit log). Rows
    are lifted with the action, which audits the unlock, never edited or deleted directly."""

    list_display = ("attempt_time", "username", "ip_address", "failures_since_start", "locked")
    search_fields = ("username", "ip_address")
    ordering = ("-attempt_time",)
    fields = ("attempt_time", "username", "ip_address", "failures_since_start", "path_info")
    readonly_fields = fields
    actions = ["lift"]

    @admin.display(boolean=True, description="locked now")
    def locked(self, obj: AccessAttempt) -> bool:
        return throttling.lockouts_current().filter(pk=obj.pk).exists()

    @admin.action(permissions=["view"], description="Lift the lockout (allow sign-in again)")
    def lift(self, request, queryset) -> None:
        removed = 0
        for attempt in list(queryset):
            removed += throttling.lockout_lift(
                actor=request.user, email=attempt.username or None, address=attempt.ip_address
            )
        self.message_user(
            request, f"Lifted: {removed} failed-attempt record(s) removed.", messages.SUCCESS
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
