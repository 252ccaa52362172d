"""Webhooks out of the farm: one URL rule and one delivery, for the server and the `notify` node.

One parser: a webhook URL is read here, strictly, and refused when two URL parsers could read it
differently (backslashes, userinfo, percent-escapes or non-ASCII in the host, numeric hosts that
are not dotted quads, stray brackets). The host is resolved once, every address is checked against
the policy (IPv4 forms inside IPv6 addresses included), and the request goes to a checked address
with the URL's Host header and TLS name: nothing resolves the name a second time.

One delivery: each attempt has a total deadline (connect, send, reply head); every answer but a
2xx is retried with doubling backoff; a delivery id header, the same over retries and restarts,
lets the receiver deduplicate (delivery is at least once). A body is signed only with a non-empty
secret. What a submitter sees is "delivered" or NOT_DELIVERED, never which of refused, timed out
or an HTTP status: that would map the ports behind the farm.

Policy (server: `--webhook-allow` or the environment; worker: the environment):
`HARTOMAT_WEBHOOK_ALLOW="public,hooks.internal,10.0.0.0/8,127.0.0.1"`; unset means `public`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

ALLOW_ENV = "HARTOMAT_WEBHOOK_ALLOW"
SIGNATURE_HEADER = "X-Hartomat-Signature"
DELIVERY_HEADER = "X-Hartomat-Delivery"
NOT_DELIVERED = "not delivered (no 2xx reply within the deadline)"
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class EgressRefused(ValueError):
    """A webhook URL that is malformed or that the policy does not allow; the message names why."""


# --- the URL rule -----------------------------------------------------------------------------------
_URL = re.compile(r"(?i)(https?)://([^/?#]*)([^#]*)")
_AUTHORITY = re.compile(r"(?i)(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}))?")
_LABEL = re.compile(r"(?i)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_NUMERIC = re.compile(r"(?i)(?:0x[0-9a-f]*|[0-9]+)")


@dataclass(frozen=True)
class Target:
    """A webhook URL as it is sent: scheme, host (no brackets), port, request target, Host header."""
    scheme: str
    host: str
    port: int
    path: str
    literal: IpAddress | None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if isinstance(self.literal, ipaddress.IPv6Address) else self.host
        return host if self.port == (443 if self.scheme == "https" else 80) else f"{host}:{self.port}"


def parse_url(url: str) -> Target:
    """The one reading of a webhook URL; EgressRefused names what is malformed or ambiguous."""
    if not re.fullmatch(r"[\x21-\x7e]+", url or ""):
        raise EgressRefused("webhook_url: must be printable ASCII without spaces (percent-encode the path; "
                            "write an international host name in punycode)")
    if "\\" in url:
        raise EgressRefused("webhook_url: backslashes are not allowed (URL parsers read them differently)")
    whole = _URL.fullmatch(url)
    if whole is None:
        raise EgressRefused("webhook_url: only http:// and https:// URLs without a #fragment are allowed")
    scheme, authority, path = whole.group(1).lower(), whole.group(2), whole.group(3) or "/"
    if "@" in authority:
        raise EgressRefused("webhook_url: user names and passwords in the URL are not allowed")
    if "%" in authority:
        raise EgressRefused("webhook_url: percent-escapes in the host are not allowed")
    if not path.startswith("/"):
        path = "/" + path  # "http://host?x" asks for "/?x"
    parts = _AUTHORITY.fullmatch(authority)
    if parts is None:
        raise EgressRefused(f"webhook_url: malformed host {authority[:100]!r}")
    host, literal = _host(parts.group(1))
    port = int(parts.group(2)) if parts.group(2) else (443 if scheme == "https" else 80)
    if not 1 <= port <= 65535:
        raise EgressRefused(f"webhook_url: port {port} is out of range")
    return Target(scheme, host, port, path, literal)


def _host(text: str) -> tuple[str, IpAddress | None]:
    """A lower-case host and its IP when it is a literal; refuses what resolvers read loosely."""
    if text.startswith("["):
        try:
            v6 = ipaddress.IPv6Address(text[1:-1])
        except ValueError:
            raise EgressRefused(f"webhook_url: {text[:100]!r} is not an IPv6 address") from None
        return str(v6), v6
    host = text.lower().removesuffix(".")
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise EgressRefused(f"webhook_url: malformed host name {text[:100]!r}")
    if _NUMERIC.fullmatch(labels[-1]):  # "127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1"
        try:
            v4 = ipaddress.IPv4Address(host)
        except ValueError:
            raise EgressRefused(f"webhook_url: write an IPv4 host as four decimal numbers, not {text[:100]!r}") \
                from None
        return str(v4), v4
    return host, None


# --- the address policy -----------------------------------------------------------------------------
def _nets(table: dict[str, str]) -> tuple[tuple[IpNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), kind) for net, kind in table.items())


_V4_REFUSED = _nets({
    "0.0.0.0/8": "this-network", "10.0.0.0/8": "private", "100.64.0.0/10": "shared (carrier NAT)",
    "127.0.0.0/8": "loopback", "169.254.0.0/16": "link-local", "172.16.0.0/12": "private",
    "192.0.0.0/24": "IETF protocol", "192.0.2.0/24": "documentation", "192.88.99.0/24": "6to4 relay",
    "192.168.0.0/16": "private", "198.18.0.0/15": "benchmarking", "198.51.100.0/24": "documentation",
    "203.0.113.0/24": "documentation", "224.0.0.0/4": "multicast", "240.0.0.0/4": "reserved"})
# IPv6 forms that carry an IPv4 address in their last 32 bits: checked as that IPv4 address.
_V6_EMBEDDING = _nets({"::ffff:0:0/96": "IPv4-mapped", "::/96": "IPv4-compatible",
                       "::ffff:0:0:0/96": "IPv4-translated", "64:ff9b::/96": "NAT64"})
_V6_REFUSED = _nets({
    "64:ff9b:1::/48": "local NAT64", "100::/64": "discard", "2001::/23": "IETF protocol (Teredo, ...)",
    "2001:db8::/32": "documentation", "2002::/16": "6to4", "3fff::/20": "documentation", "5f00::/16": "SRv6",
    "fc00::/7": "unique-local", "fe80::/10": "link-local", "fec0::/10": "site-local", "ff00::/8": "multicast"})
_V6_GLOBAL = ipaddress.IPv6Network("2000::/3")


def refusal_kind(address: IpAddress) -> str | None:
    """Why an address is not public ('loopback', 'NAT64 form of a loopback', ...), or None."""
    if isinstance(address, ipaddress.IPv4Address):
        return next((kind for net, kind in _V4_REFUSED if address in net), None)
    for net, form in _V6_EMBEDDING:
        if address in net:
            inner = refusal_kind(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
            return f"{form} form of a {inner}" if inner else None
    if address == ipaddress.IPv6Address("::1"):
        return "loopback"
    found = next((kind for net, kind in _V6_REFUSED if address in net), None)
    return found or (None if address in _V6_GLOBAL else "reserved")


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
                hosts.add(entry.removesuffix("."))
        return cls(allow_public="public" in entries or not entries, hosts=frozenset(hosts), networks=tuple(networks))

    @classmethod
    def from_env(cls) -> EgressPolicy:
        return cls.parse(os.environ.get(ALLOW_ENV))

    def check(self, url: str) -> Target:
        """At submit: the URL parsed and every address its host has now allowed (a host that does not
        resolve now passes: each delivery attempt resolves and checks again)."""
        target = parse_url(url)
        try:
            self.addresses(target)
        except OSError:
            pass
        return target

    def addresses(self, target: Target) -> list[IpAddress]:
        """Resolve once and check every address; the ones to connect to. OSError: does not resolve."""
        found = resolve(target)
        if target.host in self.hosts:
            return found
        for address in found:
            if not self.allows(address):
                kind = refusal_kind(address) or "public"
                raise EgressRefused(f"webhook_url: host '{target.host}' is not allowed: {kind} address, which "
                                    f"needs the operator's allow list ({ALLOW_ENV})")
        return found

    def allows(self, address: IpAddress) -> bool:
        forms = [address]
        if isinstance(address, ipaddress.IPv6Address) and any(address in net for net, _ in _V6_EMBEDDING):
            forms.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(form in net for form in forms for net in self.networks if net.version == form.version):
            return True
        return self.allow_public and refusal_kind(address) is None


def resolve(target: Target) -> list[IpAddress]:
    """The host's addresses (a literal is itself); OSError when it does not resolve."""
    if target.literal is not None:
        return [target.literal]
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OSError(f"host {target.host!r} does not resolve") from exc
    found: list[IpAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


# --- one delivery ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, the first retry's delay (doubled per attempt, capped) and each attempt's deadline."""
    attempts: int = 5
    backoff_s: float = 0.5
    deadline_s: float = 10.0
    max_backoff_s: float = 300.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt `attempt` (1-based)."""
        return float(min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


@dataclass(frozen=True)
class Attempt:
    """One attempt's result: `delivered`, and `detail` for the operator's log only."""
    delivered: bool
    detail: str


def delivery_id(event: str, subject: str) -> str:
    """The same id for every attempt to tell `subject` about `event`, whichever process sends it."""
    return "whd-" + hashlib.sha256(f"{event}:{subject}".encode()).hexdigest()[:32]


def webhook_headers(body: bytes, secret: str, delivery: str) -> dict[str, str]:
    """Headers of a webhook POST; the signature only with a secret (never an HMAC under an empty key)."""
    headers = {"Content-Type": "application/json", "User-Agent": "HartOMat", DELIVERY_HEADER: delivery}
    if secret:
        headers[SIGNATURE_HEADER] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return headers


def post_once(policy: EgressPolicy | None, url: str, body: bytes, headers: dict[str, str],
              deadline_s: float) -> Attempt:
    """One POST under the policy (EgressRefused when it does not allow the URL now), to a checked
    address, within `deadline_s` from connect to the reply's status line. Redirects are not followed."""
    target = parse_url(url)
    try:
        addresses = (policy or EgressPolicy(hosts=frozenset([target.host]))).addresses(target)
    except OSError as exc:
        return Attempt(False, str(exc))
    end = time.monotonic() + deadline_s
    detail = "no address"
    for address in addresses:
        try:
            status = _exchange(target, address, _request(target, body, headers), end)
        except (OSError, ValueError) as exc:
            detail = f"{address}: {exc.__class__.__name__}: {exc}"
            continue
        return Attempt(200 <= status < 300, f"{address}: HTTP {status}")
    return Attempt(False, detail)


def _request(target: Target, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {target.path} HTTP/1.1", f"Host: {target.host_header}", f"Content-Length: {len(body)}",
             "Connection: close", *(f"{name}: {value}" for name, value in headers.items())]
    if any(ch in line for line in lines for ch in "\r\n"):
        raise ValueError("a header holds a line break")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _exchange(target: Target, address: IpAddress, request: bytes, end: float) -> int:
    """Connect, send and read the status line, every step bounded by what is left until `end`."""
    sock: socket.socket = socket.create_connection((str(address), target.port), timeout=_left(end))
    try:
        if target.scheme == "https":
            sock.settimeout(_left(end))
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=target.host)
        sock.settimeout(_left(end))
        sock.sendall(request)
        head = b""
        while b"\n" not in head and len(head) < 8192:
            sock.settimeout(_left(end))  # a receiver dripping bytes cannot stretch the deadline
            chunk = sock.recv(8192)
            if not chunk:
                break
            head += chunk
    finally:
        sock.close()
    status = re.match(rb"HTTP/1\.[01] ([1-5][0-9][0-9])[ \r\n]", head)
    if status is None:
        raise ValueError(f"no HTTP status line in the reply ({head[:40]!r})")
    return int(status.group(1))


def _left(end: float) -> float:
    left = end - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


def deliver(policy: EgressPolicy | None, url: str, body: bytes, headers: dict[str, str], retry: RetryPolicy,
            wait: Callable[[float], None] = time.sleep,
            on_attempt: Callable[[int, Attempt], None] | None = None) -> tuple[bool, int]:
    """Every attempt the retry policy allows until a 2xx: (delivered, attempts made). `wait` sleeps
    between attempts (a node's checks for cancel); EgressRefused is never retried."""
    for attempt in range(1, retry.attempts + 1):
        result = post_once(policy, url, body, headers, retry.deadline_s)
        if on_attempt is not None:
            on_attempt(attempt, result)
        if result.delivered:
            return True, attempt
        if attempt < retry.attempts:
            wait(retry.delay(attempt))
    return False, retry.attempts
