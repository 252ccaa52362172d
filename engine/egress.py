"""Egress policy for webhooks: where the server and workers may POST on an order's behalf.

Only http(s), only to public addresses or to the hosts and networks the operator allows. Loopback,
link-local, private and reserved ranges are refused unless allowed explicitly, so an order cannot
turn the farm into a port scanner of its own network. Delivery errors are summarised for the
submitter in two shapes only ("delivery failed (HTTP 503)", "could not connect").

Configuration (server: `--webhook-allow` or the environment; worker: the environment):
`HARTOMAT_WEBHOOK_ALLOW="public,hooks.internal,10.0.0.0/8,127.0.0.1"`; unset means `public`.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

ALLOW_ENV = "HARTOMAT_WEBHOOK_ALLOW"
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
COULD_NOT_CONNECT = "could not connect"


class EgressRefused(ValueError):
    """A webhook URL the policy does not allow; the message says why without probing further."""


def delivery_failed(status: int) -> str:
    return f"delivery failed (HTTP {status})"


@dataclass(frozen=True)
class EgressPolicy:
    allow_public: bool = True
    hosts: frozenset[str] = frozenset()
    networks: tuple[IpNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, text: str | None) -> EgressPolicy:
        """'public' (any global address), host names and IP networks, comma-separated; empty = public."""
        entries = [e.strip().lower() for e in (text if text is not None else "public").split(",") if e.strip()]
        hosts, networks = set(), []
        for entry in entries:
            if entry == "public":
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry)
        return cls(allow_public="public" in entries or not entries, hosts=frozenset(hosts), networks=tuple(networks))

    @classmethod
    def from_env(cls) -> EgressPolicy:
        return cls.parse(os.environ.get(ALLOW_ENV))

    def check(self, url: str) -> None:
        """Raise EgressRefused unless `url` is http(s) to an allowed host or network (a host name
        counts by every address it resolves to; one that does not resolve passes, unreachable)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise EgressRefused("webhook_url: only http and https URLs are allowed")
        host = (parts.hostname or "").lower()
        if not host:
            raise EgressRefused("webhook_url: the URL names no host")
        if host in self.hosts:
            return
        for address in _addresses(host, parts):
            if not self._allows(address):
                raise EgressRefused(f"webhook_url: host '{host}' is not allowed: {_kind(address)} addresses need "
                                    f"the operator's allow list ({ALLOW_ENV})")

    def _allows(self, address: IpAddress) -> bool:
        if any(address in network for network in self.networks if network.version == address.version):
            return True
        return self.allow_public and address.is_global and not address.is_multicast


def _addresses(host: str, parts: Any) -> list[IpAddress]:
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        return [_unmapped(literal)]
    except ValueError:
        pass
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError):
        return []  # unreachable now, so harmless now; every delivery attempt checks again
    return [_unmapped(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in infos]


def _unmapped(address: IpAddress) -> IpAddress:
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def _kind(address: IpAddress) -> str:
    for name in ("loopback", "link_local", "private", "multicast", "unspecified", "reserved"):
        if getattr(address, f"is_{name}"):
            return name.replace("_", "-")
    return "non-public"


def post(policy: EgressPolicy | None, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int | str:
    """POST once under the policy (checked again here: DNS may have changed since submit); the
    HTTP status, or COULD_NOT_CONNECT. Redirects are not followed (they could lead anywhere)."""
    import requests

    if policy is not None:
        policy.check(url)
    try:
        reply = requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException:
        return COULD_NOT_CONNECT
    return reply.status_code
