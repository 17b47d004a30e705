"""What every request passes before it is routed: one spelling of its path, a Host that is a
host name, and for the admin API and UI the one refusal (token, loopback caller, loopback
name, cross-site Origin); for the SOAP endpoints, SOAP content types from the same site only.
"""
from __future__ import annotations

import hmac
import posixpath
import re
from urllib.parse import urlsplit

from mockserver.machinery import networks

ADMIN_PREFIX = "/_mock"
UI_PATH = "/_mock/ui"  # the web UI: /_mock/ui and every path under /_mock/ui/
SOAP_TYPES = ("text/xml", "application/soap+xml")

# A host name (letters, digits, '-', '_' for container names), an IPv4 address or a bracketed
# IPv6 address, and an optional port: all that may stand in a URL the mock writes.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
HOST = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]{{2,45}}\])(?::[0-9]{{1,5}})?")


def canonical_path(path: str) -> str:
    """``path`` with repeated slashes merged and ``.``/``..`` segments resolved (a trailing
    slash kept), so that every spelling of a route is checked and routed as that route."""
    if "//" not in path and "/." not in path:
        return path
    canonical = posixpath.normpath("/" + path.lstrip("/"))
    if canonical.startswith("//"):  # POSIX keeps two leading slashes
        canonical = "/" + canonical.lstrip("/")
    if path.endswith("/") and canonical != "/":
        canonical += "/"
    return canonical


def valid_host(host: str | None) -> bool:
    """True when a Host header is absent or a host name or address with an optional port."""
    return host is None or (len(host) <= 300 and HOST.fullmatch(host) is not None)


def is_admin_path(path: str) -> bool:
    """True for ``/_mock`` and every path under it (the admin API and the UI)."""
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def is_ui_path(path: str) -> bool:
    """True for ``/_mock/ui`` and every path under ``/_mock/ui/``."""
    return path == UI_PATH or path.startswith(UI_PATH + "/")


def names_host(source: str | None, host: str | None) -> bool:
    """True when an ``Origin`` or ``Referer`` value names ``host`` (host and port as the
    request's Host header has them); never for ``null`` or an empty value."""
    if not source or source == "null":
        return False
    try:
        netloc = urlsplit(source).netloc.lower()
    except ValueError:
        return False
    return bool(netloc) and netloc == (host or "").lower()


def bearer_matches(header: str | None, token: str) -> bool:
    """True when an Authorization header is ``Bearer <token>`` (compared in constant time)."""
    return hmac.compare_digest((header or "").encode("utf-8", "replace"),
                               f"Bearer {token}".encode("utf-8"))


def soap_refusal(environ: dict) -> tuple[int, str] | None:
    """(HTTP status, fault text) refusing a SOAP POST that a browser page of another site could
    have sent (a non-SOAP content type, or a cross-site Origin); None for a SOAP client's."""
    content_type = (environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
    if content_type not in SOAP_TYPES:
        shown = content_type or "none"
        return 415, (f"Content-Type {shown} is not a SOAP content type: send text/xml "
                     f"(SOAP 1.1) or application/soap+xml (SOAP 1.2).")
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and not names_host(origin, environ.get("HTTP_HOST")):
        return 403, (f"SOAP calls from pages of another site are refused "
                     f"(Origin: {origin[:200]}).")
    return None


def admin_refusal(settings, headers, environ: dict, path: str) -> tuple[int, str] | None:
    """(HTTP status, reason) refusing an admin API or UI request, or None to let it through.

    With ``--admin-token`` the request must carry it as a Bearer header (a UI page may
    instead carry the UI's login cookie: status 0 asks the UI to check it). Without one,
    only callers on this machine are answered, only under a loopback name (against DNS
    rebinding), and never for a page of another site (Origin) outside the UI, whose forms
    check their origin themselves.
    """
    token = settings.admin_token
    if token:
        if bearer_matches(headers.get("Authorization"), token):
            return None
        if is_ui_path(path):
            return 0, "the UI's login cookie decides"
        return 401, "The admin API needs 'Authorization: Bearer <admin token>'."
    caller = networks.caller_address(environ.get("REMOTE_ADDR", ""),
                                 environ.get("HTTP_X_FORWARDED_FOR"), settings.trusted_proxies)
    if not networks.is_loopback_caller(caller):
        return 403, (f"The admin API answers callers on this machine only, not {caller}; "
                     f"start mockserver with --admin-token to reach it from elsewhere.")
    host = urlsplit("//" + (environ.get("HTTP_HOST") or "")).hostname or ""
    if not networks.is_loopback(host):
        return 403, (f"The admin API answers requests addressed to localhost, 127.0.0.1 or "
                     f"[::1] only, not {host}; start mockserver with --admin-token to reach "
                     f"it under another name.")
    origin = headers.get("Origin")
    if origin and not is_ui_path(path) and not names_host(origin, environ.get("HTTP_HOST")):
        return 403, f"The admin API answers no calls from pages of another site (Origin: {origin})."
    return None
