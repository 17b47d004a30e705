"""Copernica access: users, login sessions, access tokens, and whose account a call acts on.

A call names its account by, in order of precedence, an ``Authorization: Bearer <token>``
header, an ``access_token`` parameter, the ``login`` parameter (``{username, account,
password}``, checked on that call alone), or the ``soap_…`` session cookie that ``login`` set.
Every account is a tenant of its own: everything else is looked up within it.
"""
from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

from mockserver.machinery import networks, clock, tokens
from mockserver.copernica import users
from mockserver.machinery.errors import AccessDenied, InvalidRequest
from mockserver.store import Store
from mockserver.copernica import tables as copernica_tables

COOKIE_NAME = "soap_session"
NOT_LOGGED_ON = "Not logged on"
INVALID_LOGIN = "Invalid login credentials."
READ_ONLY = "Access token is read-only."


@dataclass
class Access:
    """Who a call acts for: the account, and how it was admitted."""

    account_id: int
    via: str  # "header", "parameter", "login" or "session"
    read_only: bool = False


def check_credentials(store: Store, username: str, password: str,
                      account: str | None) -> tuple[str, int]:
    """The user's name and the account chosen, for right credentials; AccessDenied otherwise.

    ``account`` names one of the user's accounts by name or id; none means the first one.
    """
    user = copernica_tables.user(store, username or "")
    if user is None or not hmac.compare_digest(user["password"].encode(),
                                               (password or "").encode()):
        raise AccessDenied(INVALID_LOGIN)
    if users.properties(user)["disabled"]:
        raise AccessDenied(INVALID_LOGIN)
    chosen = _choose_account(store, copernica_tables.user_account_ids(store, user["username"]), account)
    if chosen is None:
        raise AccessDenied(INVALID_LOGIN)
    return user["username"], chosen


def login(store: Store, username: str, password: str, account: str | None,
          unguessable: bool = False) -> str:
    """Check a user's credentials; open a session on the account and return its cookie value.

    ``account`` names one of the user's accounts by name or id; none means the first one.
    ``unguessable``: the cookie comes from the system's randomness even with a seed.
    """
    name, chosen = check_credentials(store, username, password, account)
    with store.transaction():
        cookie = tokens.new_token(store, unguessable)
        store.insert_row("sessions", {"cookie": cookie, "account_id": chosen,
                                      "username": name,
                                      "created": clock.now_stamp(store)})
    return cookie


def _choose_account(store: Store, account_ids: list[int], account: str | None) -> int | None:
    if not account_ids:
        return None
    if account is None or not account.strip():
        return account_ids[0]
    wanted = account.strip()
    for account_id in account_ids:
        row = copernica_tables.account(store, account_id)
        if row and (row["name"].lower() == wanted.lower() or str(account_id) == wanted):
            return account_id
    return None


def set_cookie_header(cookie: str) -> tuple[str, str]:
    """The ``Set-Cookie`` header that hands a session cookie to the client."""
    return "Set-Cookie", f"{COOKIE_NAME}={cookie}; Path=/; HttpOnly"


def session_cookie(cookie_header: str | None) -> str | None:
    """The session cookie's value from a ``Cookie`` request header, or None."""
    if not cookie_header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE_NAME)
    return morsel.value if morsel else None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def resolve(store: Store, *, authorization: str | None, access_token: str | None,
            cookie_header: str | None, caller: str, write: bool,
            login: tuple[str, str, str | None] | None = None) -> Access:
    """The account a call acts for; AccessDenied with the vendor's text when it may not.

    ``login``: the call's ``login`` parameter as (username, password, account), or None.
    """
    token, via = bearer_token(authorization), "header"
    if token is None and access_token:
        token, via = access_token.strip(), "parameter"
    if token is not None:
        row = copernica_tables.access_token(store, token)
        if row is None:
            raise AccessDenied(NOT_LOGGED_ON)
        if row["allowed_ips"] and not networks.in_networks(caller, row["allowed_ips"]):
            raise AccessDenied(f"IP [{caller}] is not allowed to access this service.")
        if write and row["read_only"]:
            raise AccessDenied(READ_ONLY)
        return Access(row["account_id"], via, bool(row["read_only"]))
    if login is not None:
        return Access(check_credentials(store, *login)[1], "login")
    cookie = session_cookie(cookie_header)
    session = copernica_tables.login_session(store, cookie) if cookie else None
    if session is None:
        raise AccessDenied(NOT_LOGGED_ON)
    return Access(session["account_id"], "session")


# -- the account itself ----------------------------------------------------------------

# The members of the vendor's Account besides ``name`` that a client or a fixture sets, with
# their defaults; ``active`` is derived (not ended).
ACCOUNT_PROPERTIES = {"created": "", "description": "", "showpoweredby": False,
                      "showpartnerprogram": False, "keephistory": 0, "end": "", "main": False,
                      "unsecure": False, "mailip": ""}


def account_record(store: Store, account_id: int) -> dict:
    """The account as the vendor's ``Account`` members: name, the ones set, the defaults
    for the rest, and ``active``."""
    row = copernica_tables.account(store, account_id)
    members = {**ACCOUNT_PROPERTIES, **json.loads(row["properties"])}
    return {"name": row["name"], **members, "active": users.is_active(members["end"], store)}


def update_account(store: Store, account_id: int, name: str | None, changes: dict) -> dict:
    """Change the account's name (unique in the store, compared without case) and members
    (``changes``: member -> value, None: kept); the account after."""
    with store.transaction():
        row = copernica_tables.account(store, account_id)
        members = users.checked_properties(changes, ACCOUNT_PROPERTIES)
        new_name = row["name"] if name is None else name.strip()
        if not new_name:
            raise InvalidRequest("An account needs a name.")
        other = copernica_tables.account_by_name(store, new_name)
        if other is not None and other["id"] != account_id:
            raise InvalidRequest(f"An account named '{new_name}' already exists.")
        copernica_tables.set_account(store, account_id, new_name, users.in_order(
            {**json.loads(row["properties"]), **members}, ACCOUNT_PROPERTIES))
        return account_record(store, account_id)


def remove_account(store: Store, account_id: int) -> None:
    """Delete the account with everything it holds (databases, callbacks, tokens, sessions);
    its users who belong to no other account go too."""
    with store.transaction():
        copernica_tables.delete_account(store, account_id)
