"""Where a webhook may be sent: the address rules, written once.

`relay webhooks add` checks a URL with `check_target` before it is stored, and the delivery
adapter checks it again before every POST (an endpoint stored before a rule existed, or written
to the table by hand), then checks the address the host resolved to with `address_refusal`,
right before connecting to exactly that address. Whatever one refuses the other refuses too,
with the same reason.

Refused, with the reason:
- anything but https (http too on a local stack that allows local targets, CONTRACT.md);
- URLs over MAX_URL_BYTES, user names or passwords in the URL, a port that is not a number;
- a port other than 443, unless asked for (`any_port`: `relay webhooks add --any-port`, and
  delivery, which sends to what was registered);
- a host that cannot be encoded for DNS (IDNA 2008 with UTS 46, as `requests` encodes it; a
  label over 63 bytes, a name over 253): refused, never retried, since it never will encode;
- `localhost` and names under `.localhost`, and literal addresses that are not public:
  loopback, private, link-local (169.254.169.254, the metadata service), CGNAT, multicast,
  reserved and documentation ranges, IPv4 or IPv6, including the IPv6 forms that carry an
  IPv4 address (mapped ::ffff:0:0/96, IPv4-compatible ::/96, 6to4 2002::/16, NAT64
  64:ff9b::/96) and the deprecated site-local fec0::/10, which Python's `is_global` calls
  global. IPv4 written the way `inet_aton` reads it (127.1, 2130706433, 0x7f.0.0.1) counts
  as the address it names. A local stack that allows local targets may use loopback.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import idna

from activity_relay.core.webhooks_out.ports import WebhookConfigError

MAX_URL_BYTES = 2048
"""The longest endpoint URL accepted (UTF-8 bytes)."""

DEFAULT_PORT = 443

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges that are not public although Python's `is_global` says they are, or that carry an
# IPv4 address which must be judged instead (the v4 inside is checked where it can be read).
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_EXTRA_REFUSED: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.IPv4Network("100.64.0.0/10"),  # CGNAT: reaches the provider's inside
    ipaddress.IPv4Network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.IPv4Network("192.88.99.0/24"),  # 6to4 relay anycast
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64
    ipaddress.IPv6Network("5f00::/16"),  # segment routing
    ipaddress.IPv6Network("2001:20::/28"),  # ORCHIDv2
    ipaddress.IPv6Network("3fff::/20"),  # documentation
)

_LEGACY_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


@dataclass(frozen=True, slots=True)
class Target:
    """A URL that passed the rules, taken apart."""

    url: str
    scheme: str
    host: str  # as DNS sees it: lower case, IDNA-encoded, IPv6 without brackets
    port: int
    address: IPAddress | None  # the host, when it is a literal address


def check_target(url: str, *, allow_local: bool = False, any_port: bool = False) -> Target:
    """`url` taken apart when a webhook may be sent to it; else WebhookConfigError saying why.

    `allow_local`: a local stack that says so (WEBHOOK_ALLOW_LOCAL_TARGETS): http, loopback
    and any port. `any_port`: a port other than 443 was asked for.
    """
    size = len(url.encode("utf-8", "surrogatepass"))
    if size > MAX_URL_BYTES:
        raise WebhookConfigError(f"the URL is {size} bytes long; at most {MAX_URL_BYTES}")
    if not url or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise WebhookConfigError(f"not a URL: {_shown(url)} (blank or control characters)")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise WebhookConfigError(f"not a URL to send webhooks to (https://host/…): {_shown(url)}")
    if scheme != "https" and not allow_local:
        raise WebhookConfigError(f"webhook URLs must be https: {_shown(url)}")
    if "@" in parts.netloc:
        raise WebhookConfigError("user names and passwords do not belong in a webhook URL")
    host = _dns_host(parts)
    port = _port(parts, scheme)
    if port != DEFAULT_PORT and not (any_port or allow_local):
        raise WebhookConfigError(
            f"port {port}: webhooks go to 443 unless another port is asked for (--any-port)"
        )
    address = _literal_address(host)
    if address is not None:
        refusal = address_refusal(address, allow_loopback=allow_local)
        if refusal is not None:
            raise WebhookConfigError(f"{host} {refusal}")
    elif (host == "localhost" or host.endswith(".localhost")) and not allow_local:
        raise WebhookConfigError(f"{host} is a loopback name, not a public host")
    return Target(url=url, scheme=scheme, host=host, port=port, address=address)


def address_refusal(address: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why nothing may be sent to `address` (a phrase: "is ... "), or None when it is public.
    `allow_loopback`: a local stack that allows local targets."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            inner = address_refusal(address.ipv4_mapped, allow_loopback=allow_loopback)
            return None if inner is None else f"maps to {address.ipv4_mapped}, which {inner}"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            # Deprecated (::a.b.c.d) or translated (6to4, NAT64) forms: refused whatever
            # they carry, as the address inside may be anything behind the translator.
            return f"carries the IPv4 address {embedded}, not a public IPv6 address"
        if address in _SITE_LOCAL:
            return "is a site-local IPv6 address (fec0::/10), not a public address"
    if address.is_loopback:
        return None if allow_loopback else "is a loopback address, not a public address"
    if address.is_link_local:
        return "is a link-local address (the metadata service among them), not a public address"
    if address.is_private:
        return "is a private address, not a public address"
    if address.is_multicast:
        return "is a multicast address, not a public address"
    if not address.is_global or any(address in network for network in _EXTRA_REFUSED):
        return "is a reserved or special-purpose address, not a public address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-compatible, 6to4 or NAT64 address carries, if any."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _dns_host(parts: SplitResult) -> str:
    netloc = parts.netloc
    if netloc.startswith("["):
        closing = netloc.find("]")
        if closing < 0:
            raise WebhookConfigError(f"unclosed [ in the host of {_shown(parts.geturl())}")
        literal = netloc[1:closing]
        try:
            return str(ipaddress.IPv6Address(literal))
        except ValueError:
            raise WebhookConfigError(f"[{literal}] is not an IPv6 address") from None
    host = netloc.rsplit(":", 1)[0] if ":" in netloc else netloc
    if not host:
        raise WebhookConfigError(f"no host in {_shown(parts.geturl())}")
    if host.isascii():
        encoded = host.lower()
    else:
        try:
            # What `requests` does to a non-ASCII host before connecting.
            encoded = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as error:
            raise WebhookConfigError(
                f"the host {host!r} cannot be encoded for DNS: {error}"
            ) from None
    name = encoded.rstrip(".")
    labels = name.split(".")
    if not name or len(name) > 253 or any(not label or len(label) > 63 for label in labels):
        raise WebhookConfigError(
            f"the host {host!r} is not a DNS name (empty labels, labels over 63 or names over "
            "253 characters)"
        )
    return name


def _port(parts: SplitResult, scheme: str) -> int:
    try:
        port = parts.port
    except ValueError:
        raise WebhookConfigError(f"the port of {_shown(parts.geturl())} is not valid") from None
    if port == 0:
        raise WebhookConfigError("port 0 is not a port to send to")
    return port if port is not None else (443 if scheme == "https" else 80)


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _legacy_ipv4(host)


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address in a form `inet_aton` (and so `getaddrinfo`) reads: 1 to 4 parts, each
    decimal, octal (0…) or hex (0x…), the last filling the remaining bytes."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_LEGACY_IPV4_PART.fullmatch(p) for p in parts):
        return None
    values = [_legacy_part(part) for part in parts]
    *leading, last = values
    if any(v > 255 for v in leading) or last >= 256 ** (4 - len(leading)):
        return None
    number = 0
    for value in leading:
        number = number << 8 | value
    return ipaddress.IPv4Address(number << (8 * (4 - len(leading))) | last)


def _legacy_part(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if part.startswith("0"):
        return int(part, 8)
    return int(part)


def _shown(url: str) -> str:
    """A URL as error messages quote it: bounded."""
    return repr(url if len(url) <= 120 else url[:117] + "...")
