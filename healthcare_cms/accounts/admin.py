"""Admin for users: administrators manage accounts; the data protection officer may look."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from healthcare_cms.accounts import services
from healthcare_cms.accounts.models import User


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
    list_display = ("email", "full_name", "role", "is_active", "last_activity_at", "deleted_at")
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

    def save_model(self, request, obj: User, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.user_set_role(user=obj, role=obj.role)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Accounts are soft-deleted by the retention policy, never removed from the admin.
        return False
