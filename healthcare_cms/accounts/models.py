"""The custom user: login by e-mail, a role, last activity, and soft delete."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

from healthcare_cms.accounts.roles import Role


class UserQuerySet(models.QuerySet):
    def alive(self) -> UserQuerySet:
        return self.filter(deleted_at__isnull=True)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields) -> User:
        if not email:
            raise ValueError("A user needs an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("role", Role.AUTHOR)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(role=Role.ADMIN, is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.AUTHOR)
    crm = models.CharField(
        "CRM",
        max_length=32,
        blank=True,
        help_text="Physician's council registration, e.g. CRM/SP 123456.",
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    session_generation = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Raised to end every session of this user at once (e.g. on a two-factor reset).",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")
        ]
        indexes = [
            models.Index(fields=["last_activity_at"], name="accounts_user_last_activity"),
            # The retention policy's question: who has not been seen since the cut-off?
            models.Index(
                Coalesce("last_activity_at", "last_login", "date_joined"),
                name="accounts_user_last_seen_alive",
                condition=models.Q(deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's session hash (password-derived, so a password change ends other sessions),
        extended with session_generation so that raising it ends every session of the user.
        Overrides a private hook of AbstractBaseUser: it is the one both the current hash and
        the SECRET_KEY_FALLBACKS hashes are built from."""
        key_salt = "healthcare_cms.accounts.User.get_session_auth_hash"
        value = f"{self.password}:{self.session_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class PasswordResetThrottle(models.Model):
    """Password-reset requests one client made in its current window (see accounts.throttle).

    The client is a keyed hash of its address (an IP address is personal data), never the
    address itself. Rows whose window is long over are pruned as requests come in."""

    client_key = models.CharField(max_length=64, primary_key=True)
    window_start = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.client_key[:12]}…: {self.count} since {self.window_start:%H:%M}"
