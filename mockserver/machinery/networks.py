"""Callers' addresses: the caller behind trusted proxies, loopback, membership of CIDR networks."""
from __future__ import annotations

import functools
import ipaddress


@functools.lru_cache(maxsize=4096)
def _network(cidr: str):
    return ipaddress.ip_network(cidr.strip(), strict=False)


def _address(text: str):
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":")[0]
    return ipaddress.ip_address(text)


def in_networks(address: str, cidrs) -> bool:
    """True when ``address`` lies in one of the CIDR networks."""
    try:
        ip = _address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for cidr in cidrs:
        net = _network(cidr)
        if ip.version == net.version and ip in net:
            return True
    return False


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


LOOPBACK = ("127.0.0.0/8", "::1/128")


def is_loopback_caller(address: str) -> bool:
    """True for a caller on this machine (127.0.0.0/8, ::1, or IPv4-mapped loopback)."""
    return in_networks(address, LOOPBACK)


def caller_address(peer: str, forwarded_for: str | None, trusted_proxies) -> str:
    """The caller's address: the TCP peer, or, behind trusted proxies, the last untrusted X-Forwarded-For entry."""
    if not trusted_proxies or not in_networks(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not in_networks(hop, trusted_proxies):
            return str(_address(hop)) if _valid(hop) else hop
    return hops[0] if hops else peer


def _valid(text: str) -> bool:
    try:
        _address(text)
        return True
    except ValueError:
        return False
