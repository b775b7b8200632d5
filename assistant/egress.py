"""The egress allow-list: the one place that decides whether Dalil may connect to a remote host.

Every remote endpoint (the chat model, an embedding server, a Qdrant server, the Ragas judge) is
checked here BEFORE its client is built, so a refused host is never resolved (no DNS query) nor
connected to. Loopback (`localhost`, 127.0.0.0/8, ::1) is always allowed; any other host must be
listed in `DALIL_ALLOWED_HOSTS` (comma-separated `host` or `host:port`), whatever way the endpoint
was configured (environment, configuration file, command-line option, argument).

The check is syntactic: the host is compared as written, never resolved. A name that resolves to
a loopback address on this machine (other than `localhost`) must be listed like any other host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from assistant.errors import ConfigError, EgressError

ALLOW_SETTING = "DALIL_ALLOWED_HOSTS"
LOOPBACK_NAMES = frozenset({"localhost"})
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Endpoint:
    """A remote endpoint as written: its normalised host and port (None: the scheme's default is
    unknown, and only a port-less allow-list entry matches it)."""

    host: str
    port: int | None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def _normalise_host(host: str) -> str:
    host = host.strip().strip("[]").lower().rstrip(".")
    try:
        return host.encode("idna").decode("ascii") if host and not host.isascii() else host
    except UnicodeError:
        return host


def parse_endpoint(url: str, setting: str) -> Endpoint:
    """The host and port of `url` (with or without a scheme), without any network access."""
    text = url.strip()
    if not text:
        raise ConfigError(f"{setting} is empty: give a URL such as http://host:port, or unset it.")
    parts = urlsplit(text if "://" in text else f"http://{text}")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(
            f"{setting}={url!r} has an invalid port: write it as scheme://host:port (e.g. http://10.0.0.5:8000)."
        ) from None
    host = _normalise_host(parts.hostname or "")
    if not host:
        raise ConfigError(
            f"{setting}={url!r} names no host: write it as scheme://host:port (e.g. http://10.0.0.5:8000)."
        )
    if port is None:
        port = DEFAULT_PORTS.get(parts.scheme.lower())
    return Endpoint(host, port)


def parse_allowed(entry: str) -> Endpoint:
    """One allow-list entry: `host`, `host:port`, `[v6]:port`, or a URL (its host and explicit port)."""
    text = entry.strip()
    parts = urlsplit(text if "://" in text else f"//{text}")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(
            f"{ALLOW_SETTING} entry {entry!r} has an invalid port: write host or host:port, comma-separated."
        ) from None
    host = _normalise_host(parts.hostname or "")
    if not host:
        raise ConfigError(
            f"{ALLOW_SETTING} entry {entry!r} names no host: write host or host:port, comma-separated "
            "(e.g. DALIL_ALLOWED_HOSTS=llm.interieur.gov.ma,10.0.0.7:6333)."
        )
    return Endpoint(host, port)


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback IP literals (127.0.0.0/8, ::1, ::ffff:127.x.y.z)."""
    host = _normalise_host(host)
    if host in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_allowed(endpoint: Endpoint, allowed: Iterable[str]) -> bool:
    if is_loopback(endpoint.host):
        return True
    for entry in allowed:
        if not entry.strip():
            continue
        rule = parse_allowed(entry)
        if rule.host == endpoint.host and (rule.port is None or rule.port == endpoint.port):
            return True
    return False


def check_url(url: str, setting: str, allowed: Iterable[str]) -> str:
    """Return `url` unchanged when its host may be contacted, else raise EgressError naming the
    host, the setting that configured it and the allow-list to change. No DNS lookup is made."""
    allowed = list(allowed)
    endpoint = parse_endpoint(url, setting)
    if is_allowed(endpoint, allowed):
        return url
    listed = ", ".join(a.strip() for a in allowed if a.strip()) or "empty"
    raise EgressError(
        f"refused to connect to {endpoint} (configured by {setting}={url!r}): the host is not in "
        f"{ALLOW_SETTING} ({listed}), and Dalil only connects to loopback and to the hosts listed there. "
        f'If this server is under your control, add "{endpoint.host}" (or "{endpoint}") to {ALLOW_SETTING}; '
        f"otherwise point {setting} at an allowed server, or unset it."
    )
