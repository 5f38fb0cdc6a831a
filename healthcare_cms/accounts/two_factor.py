"""Two-factor sign-in (django-otp): who must use it, enrolling an authenticator app (TOTP)
with single-use recovery codes, checking a code, and resetting a person's devices.

The rule: staff roles that see patient data or control jobs need a second factor when
ADMIN_REQUIRE_2FA is on; anyone who enrolled a device must use it, whatever the setting.
"""

from __future__ import annotations

from base64 import b32encode
from typing import Any

import segno
from django.conf import settings
from django.db import transaction
from django.utils.safestring import SafeString, mark_safe
from django_otp import devices_for_user, user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from healthcare_cms.accounts.models import User
from healthcare_cms.accounts.roles import Role
from healthcare_cms.accounts.signin_audit import SigninEvent, signin_record

# Roles whose accounts reach patient data or job controls (see roles.ROLE_PERMISSIONS).
ROLES_REQUIRING_TWO_FACTOR = frozenset(
    {Role.DATA_PROTECTION_OFFICER, Role.MEDICAL_REVIEWER, Role.OPERATIONS, Role.ADMIN}
)
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
QR_SCALE = 4


def two_factor_required(user: User) -> bool:
    """Whether this account must pass a second factor before using the admin."""
    if not user.is_authenticated or not user.is_staff:
        return False
    if user_has_device(user):
        return True
    if not settings.ADMIN_REQUIRE_2FA:
        return False
    return user.is_superuser or user.role in ROLES_REQUIRING_TWO_FACTOR


def two_factor_enrolled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_enrollment_device(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator being enrolled: the same secret until it is confirmed, so
    reloading the page does not invalidate the code the person already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def totp_secret_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed in."""
    return b32encode(device.bin_key).decode("ascii").rstrip("=")


def totp_qr_svg(device: TOTPDevice) -> SafeString:
    """The otpauth:// URI as an inline SVG QR code, rendered here: nothing leaves the server."""
    qr = segno.make(device.config_url, error="m")
    # segno writes the markup; the URI is only data inside the paths it draws.
    svg = qr.svg_inline(scale=QR_SCALE, light="#ffffff", dark="#000000", title="QR code")
    return mark_safe(svg)


@transaction.atomic
def totp_enrollment_confirm(*, user: User, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the device with a code from the app. Returns the new recovery codes (shown once),
    or None if the code was wrong. Earlier devices of the user are replaced."""
    if device.user_id != user.pk or device.confirmed:
        return None
    if not device.verify_token(_normalise(token)):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_replace(user=user)
    signin_record(event=SigninEvent.TWO_FACTOR_ENROLLED, user=user)
    return codes


@transaction.atomic
def recovery_codes_replace(*, user: User) -> list[str]:
    """A fresh set of single-use recovery codes; the previous set stops working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.TWO_FACTOR_RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def second_factor_check(*, user: User, token: str, request: Any = None) -> Device | None:
    """The device that accepts this code (authenticator first, then a recovery code, which is
    used up), or None. Each device throttles its own failures (django-otp)."""
    token = _normalise(token)
    accepted = None
    if token:
        # Devices are locked while checked (for_verify), so two tries of one code cannot both
        # pass, and the throttling counters they write are not lost.
        with transaction.atomic():
            for device in devices_for_user(user, confirmed=True, for_verify=True):
                if device.verify_token(token):
                    accepted = device
                    break
    if accepted is None:
        signin_record(event=SigninEvent.SECOND_FACTOR_FAILED, request=request, user=user)
    else:
        kind = "recovery_code" if isinstance(accepted, StaticDevice) else "totp"
        details: dict[str, Any] = {"method": kind}
        if kind == "recovery_code":
            details["recovery_codes_left"] = accepted.token_set.count()
        signin_record(
            event=SigninEvent.SECOND_FACTOR_VERIFIED, request=request, user=user, details=details
        )
    return accepted


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def two_factor_reset(*, user: User, actor: Any) -> int:
    """Remove every device of the user (a lost phone) and end all of their sessions; they
    enroll again at their next sign-in. Returns how many devices went."""
    from healthcare_cms.accounts.session_limits import user_sessions_end

    removed = 0
    for model in (TOTPDevice, StaticDevice):
        devices = model.objects.filter(user=user)
        removed += devices.count()
        devices.delete()
    user_sessions_end(user=user)
    signin_record(
        event=SigninEvent.TWO_FACTOR_RESET,
        user=user,
        actor=actor,
        details={"devices_removed": removed},
    )
    return removed


def _normalise(token: str) -> str:
    return "".join((token or "").split()).lower()
