"""SSRF guard for outbound calls to URLs that merchants or shops gave us.

Three layers, all controlled by one ``allow_private`` flag (the backend passes
``CLAIMBRIDGE_ALLOW_PRIVATE_URLS``; tests against loopback fakes pass True):

1. ``validate_public_url(url, allow_private)`` - call it when a merchant submits a shop URL: only http/https,
   a host is required, no credentials in the URL, and every address the host resolves to must be public
   (not loopback, private, shared, link-local, reserved, multicast or unspecified).
2. ``guard_session(session, allow_private)`` - mounts ``GuardedAdapter`` on a ``requests.Session``. The
   adapter checks the peer address of every socket it actually connects, right after connecting and before
   any byte (or TLS handshake) is sent. That defeats DNS rebinding: whatever the resolver answers at
   connect time, a private peer is refused. Proxies are refused on guarded sessions (environment proxies
   are ignored) because the peer would then be the proxy.
3. Redirects are never followed: ``connectors.http.HttpClient`` sends every request with
   ``allow_redirects=False`` and turns a 3xx into ``UnsafeURLError``.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from connectors.errors import UnsafeURLError

ALLOWED_SCHEMES = frozenset({"http", "https"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# IPv6 prefixes that carry an IPv4 address in their last 32 bits and reach it through a translator
# (RFC 6052 NAT64 well-known and local-use prefixes); 6to4 is decoded by ipaddress itself.
_NAT64_PREFIXES = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Return the IPv4 address an IPv6 address leads to (IPv4-mapped, 6to4, NAT64); Teredo is never global."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if any(ip in prefix for prefix in _NAT64_PREFIXES):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def _is_global_unicast(ip: IPAddress) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def is_public_address(address: str | IPAddress) -> bool:
    """Return True when ``address`` is globally routable unicast (the only kind we may call).

    An IPv6 address that embeds an IPv4 address (6to4 ``2002:7f00:1::``, NAT64 ``64:ff9b::10.0.0.1``,
    IPv4-mapped) is public only if the IPv4 address it leads to is public.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded:
            return all(_is_global_unicast(inner) for inner in embedded)
    return _is_global_unicast(ip)


def resolve_host(host: str, port: int) -> list[str]:
    """Return every address ``host`` resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURLError(f"cannot resolve host {host!r}: {exc}") from exc
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


def validate_public_url(url: str, allow_private: bool) -> str:
    """Refuse ``url`` unless it is http(s) to a host whose every address is public; return it unchanged."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"malformed URL {url!r}: {exc}") from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeURLError(f"URL scheme {parts.scheme!r} is not allowed; use http or https")
    if not parts.hostname:
        raise UnsafeURLError(f"URL {url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError("URLs with embedded credentials are not allowed")
    if allow_private:
        return url
    effective_port = port or (443 if parts.scheme.lower() == "https" else 80)
    for address in resolve_host(parts.hostname, effective_port):
        if not is_public_address(address):
            raise UnsafeURLError(f"host {parts.hostname!r} resolves to non-public address {address}")
    return url


def _refuse_private_peer(sock: socket.socket, host: str) -> None:
    peer = sock.getpeername()[0]
    if not is_public_address(peer.split("%", 1)[0]):
        sock.close()
        raise UnsafeURLError(f"refusing to talk to {host!r}: connected address {peer} is not public")


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _refuse_private_peer(sock, self.host)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _refuse_private_peer(sock, self.host)
        return sock


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """Transport adapter that refuses sockets whose connected peer is not a public address."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Create the pool manager with guarded connection pools."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Refuse proxies: the guard can only check the peer it connects to."""
        raise UnsafeURLError("proxies are not supported on SSRF-guarded sessions")


def guard_session(session: requests.Session, allow_private: bool) -> requests.Session:
    """Mount the SSRF guard on ``session`` unless private addresses are allowed; return the session."""
    if allow_private:
        return session
    session.trust_env = False
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
