"""Web origins (`https://www.chiefs.com`): the one rule for every `allowed_origins` entry.

An origin lands inside the widget's `Content-Security-Policy: frame-ancestors` and is compared
with the loader's `?host=`, so anything beyond scheme, host and port could widen or extend that
policy (`https://*`, `https://a.example *`, `https://a.example; script-src *`). So only exact
origins are accepted, written the way browsers serialise them:

- scheme `https`, or `http` for loopback hosts only (local development and the demo);
- host: a DNS name (internationalised names are stored in their ASCII/IDNA form), a dotted IPv4
  address, or an IPv6 address in brackets; lower-cased;
- an optional port 1-65535 (the scheme's default port is dropped, as browsers do);
- nothing else: no path (a single trailing `/` is tolerated and removed), query, fragment,
  credentials, wildcard, space, `;`, `,`, quote or control character.

Loopback is what browsers treat as a potentially trustworthy local origin: all of 127.0.0.0/8,
`[::1]`, and `localhost` with its subdomains (`app.localhost`).
"""

from __future__ import annotations

import ipaddress
import re

ORIGIN_MAX_LENGTH = 300
DEFAULT_PORTS = {"https": 443, "http": 80}

# scheme://host[:port][/] with host a name, dotted digits, or [IPv6]; checked further below.
_ORIGIN = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\[\]:/?#@\s]+)"
    r"(?::(?P<port>[0-9]{1,5}))?/?$"
)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def is_loopback_host(host: str) -> bool:
    """True for hosts browsers treat as this machine: 127.0.0.0/8, [::1], localhost, *.localhost."""
    host = host.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _normal_host(raw: str) -> str:
    """The host as a browser serialises it, or ValueError."""
    if raw.startswith("["):
        try:
            address = ipaddress.IPv6Address(raw[1:-1])
        except ValueError:
            raise ValueError("has an IPv6 address that is not valid") from None
        return f"[{address.compressed}]"
    try:
        host = raw.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError("has a host name that is not valid") from None
    if re.fullmatch(r"[0-9.]+", host):
        try:
            address = ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError("has an IPv4 address that is not valid") from None
        return str(address)
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError("has a host name that is not valid (letters, digits, dashes and dots)")
    if labels[-1].isdigit():
        raise ValueError("has a host name that is not valid")
    return host


def normalize_origin(value: object) -> str:
    """`value` as an exact origin (see the module docstring), or ValueError saying why not."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if len(value) > ORIGIN_MAX_LENGTH:
        raise ValueError(f"must be at most {ORIGIN_MAX_LENGTH} characters")
    match = _ORIGIN.match(value)
    if not match or any(char.isspace() or not char.isprintable() for char in value):
        raise ValueError(
            "must be an origin only, like https://www.example.com (scheme, host and optional "
            "port; no path, wildcard, space or other characters)"
        )
    scheme = match["scheme"].lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("must start with https:// (or http:// for localhost)")
    host = _normal_host(match["host"])
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("has a port that is not from 1 to 65535")
    if scheme == "http" and not is_loopback_host(host):
        raise ValueError("must use https (http is only allowed for localhost and 127.0.0.1)")
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def safe_origins(values: object) -> list[str]:
    """The valid origins among stored `values`, normalised, without duplicates. Used where an
    origin list becomes a header, so a value stored before these rules can never widen it."""
    origins: list[str] = []
    for value in values if isinstance(values, list) else []:
        try:
            origin = normalize_origin(value)
        except ValueError:
            continue
        if origin not in origins:
            origins.append(origin)
    return origins
