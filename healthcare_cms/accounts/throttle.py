"""Per-client limits for anonymous forms, counted in PostgreSQL so they hold across processes.

One row per client and form: an atomic INSERT ... ON CONFLICT DO UPDATE counts a request in a
fixed window, so concurrent requests on any number of web processes are counted exactly. The
client is the request's address (REMOTE_ADDR, or the X-Forwarded-For entry TRUSTED_PROXY_COUNT
proxies back); IPv6 addresses count per /64, the block one subscriber usually holds.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpRequest

PRUNE_BATCH = 100  # expired rows removed per counted request: bounded work on every request

HIT = """
INSERT INTO accounts_passwordresetthrottle AS t (client_key, window_start, count)
VALUES (%(key)s, now(), 1)
ON CONFLICT (client_key) DO UPDATE SET
  window_start = CASE WHEN t.window_start <= now() - %(window)s * interval '1 second'
                      THEN now() ELSE t.window_start END,
  count = CASE WHEN t.window_start <= now() - %(window)s * interval '1 second'
               THEN 1 ELSE t.count + 1 END
RETURNING count
"""

PRUNE = """
DELETE FROM accounts_passwordresetthrottle WHERE client_key IN (
  SELECT client_key FROM accounts_passwordresetthrottle
   WHERE window_start < now() - %(window)s * interval '1 second'
   ORDER BY window_start LIMIT %(batch)s
)
"""


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = n proxies in front
    (each appending to X-Forwarded-For), the entry the outermost trusted proxy saw."""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        chain = [part for part in chain if part]
        if len(chain) >= proxies:
            return chain[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def client_key(address: str, *, scope: str) -> str:
    """A keyed hash of the client's network (IPv4 address, IPv6 /64); unparseable addresses
    share one bucket, so garbage in the header cannot mint fresh clients."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        network = "unknown"
    else:
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        network = (
            str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)
        )
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{scope}:{network}".encode(), hashlib.sha256)
    return digest.hexdigest()


def _positive_setting(name: str) -> int:
    value = getattr(settings, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number >= 1; got {value!r}.")
    return value


def password_reset_allowed(*, address: str) -> bool:
    """Count one password-reset request from this client; False once it made more than
    PASSWORD_RESET_CLIENT_LIMIT in PASSWORD_RESET_CLIENT_WINDOW_SECONDS."""
    limit = _positive_setting("PASSWORD_RESET_CLIENT_LIMIT")
    window = _positive_setting("PASSWORD_RESET_CLIENT_WINDOW_SECONDS")
    with connection.cursor() as cursor:
        cursor.execute(HIT, {"key": client_key(address, scope="password_reset"), "window": window})
        (count,) = cursor.fetchone()
        cursor.execute(PRUNE, {"window": window, "batch": PRUNE_BATCH})
    return count <= limit
