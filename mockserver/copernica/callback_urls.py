"""Copernica callback URLs: what a callback may POST to, and the mock itself refused.

A callback is a POST the mock makes; pointed at the mock's own address it would be a way
around the admin API's gate (``/_mock/reset`` wipes the store) or a loop through the SOAP
API. Such URLs are refused when a callback is created and checked again before each
delivery (fixtures, snapshots, a direct row or a restart on another port bring them in).
"""
from __future__ import annotations

import ipaddress
import socket
import urllib.parse

from mockserver.machinery.errors import InvalidRequest

def _check_url(url) -> str:
    if not isinstance(url, str) or not url.strip():
        raise InvalidRequest("A callback needs a url.")
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"Invalid callback url {url!r}: an absolute http:// or https:// "
                             f"URL is required.")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise InvalidRequest(f"Invalid callback url {url!r}: bad port.")
    return url

ITSELF = "it points at the mock itself."
_listening: set[int] = set()  # ports the servers of this process listen on


def listening_on(port: int | str | None) -> None:
    """Remember a port a server of this process listens on: callbacks to it on this machine
    are refused when created and never delivered."""
    try:
        if port and int(port) > 0:
            _listening.add(int(port))
    except (TypeError, ValueError):
        pass


def _target(url: str) -> tuple[str, int] | None:
    """(host name, port) a URL connects to: the name lower-case, without brackets or a
    trailing dot; the port the scheme's default when absent. None when it has none."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return None
    return host, port if port is not None else (443 if parts.scheme.lower() == "https" else 80)


def _is_this_machine(sockaddr: tuple) -> bool:
    """True for a loopback or unspecified address, or any address of this machine (one a
    socket can be bound to)."""
    try:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
    except ValueError:
        return False
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    if address.is_loopback or address.is_unspecified:
        return True
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    bind_to = (str(address), 0) if address.version == 4 or len(sockaddr) < 4 \
        else (str(address), 0, 0, sockaddr[3])
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind(bind_to)
        return True
    except OSError:
        return False


def _resolves_here(host: str, port: int) -> bool:
    """True when a host name means this machine (``localhost`` and ``*.localhost`` always do)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return any(_is_this_machine(info[4]) for info in found)


def is_the_mock(url: str, base_url: str = "", ports=()) -> bool:
    """True when a URL is the mock itself: its host:port is the one the mock was addressed by
    (``base_url``, from a request's Host; behind a proxy the proxy's), or its port is one the
    mock listens on (``ports`` and those of ``listening_on``) and its host is that name or
    this machine (a loopback address, any address of this machine, localhost). Every path
    counts: the admin API, the UI, the SOAP endpoints and the tracking links alike."""
    target = _target(url)
    if target is None:
        return False
    addressed = _target(base_url) if base_url else None
    if addressed and target == addressed:
        return True
    own = {int(p) for p in ports if str(p).isdigit()} | _listening
    if target[1] not in own:
        return False
    return bool(addressed and target[0] == addressed[0]) or _resolves_here(*target)


def checked_target(url: str, base_url: str, server_port) -> str:
    """A callback URL as kept (stripped); InvalidRequest when it is bad or the mock itself."""
    url = _check_url(url)
    if is_the_mock(url, base_url, [server_port] if server_port else ()):
        raise InvalidRequest(f"Invalid callback url {url!r}: {ITSELF}")
    return url


def is_own_socket(peer: tuple) -> bool:
    """True when a connection's peer is this machine on a port the mock listens on."""
    return peer[1] in _listening and _is_this_machine(peer)
