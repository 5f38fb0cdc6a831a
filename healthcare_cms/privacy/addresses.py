"""Client addresses as the audit log keeps them: never the address itself (personal data that
the log would hold for years), but its network and a keyed digest that matches repeats.

The network (IPv4 /24, IPv6 /48) tells an investigator where attempts came from; the digest,
an HMAC under the deployment's SECRET_KEY, tells whether two entries came from the same
address without letting anyone reading the log recover it.
"""

from __future__ import annotations

import ipaddress

from django.utils.crypto import salted_hmac

IPV4_PREFIX_BITS = 24
IPV6_PREFIX_BITS = 48
DIGEST_HEX_CHARS = 16
_SALT = "healthcare_cms.privacy.addresses"


def keyed_digest(value: str, *, purpose: str) -> str:
    """A short HMAC of `value` for matching equal values in stored records (not reversible)."""
    return salted_hmac(f"{_SALT}.{purpose}", value, algorithm="sha256").hexdigest()[
        :DIGEST_HEX_CHARS
    ]


def client_address_record(address: str | None) -> dict[str, str]:
    """{"client_network": ..., "client_key": ...} for the audit log; {} without an address.

    An address that does not parse is kept only as its digest (the network is "unknown")."""
    if not address:
        return {}
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return {"client_network": "unknown", "client_key": keyed_digest(address, purpose="ip")}
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        parsed = parsed.ipv4_mapped
    bits = IPV4_PREFIX_BITS if parsed.version == 4 else IPV6_PREFIX_BITS
    network = ipaddress.ip_network(f"{parsed}/{bits}", strict=False)
    return {"client_network": str(network), "client_key": keyed_digest(str(parsed), purpose="ip")}
