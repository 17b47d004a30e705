"""Copernica users of an account: look-up by name or number, create, update, password, remove.

A user has a name (what ``login`` takes as ``username``: unique in the store, compared without
case), a password, the accounts it belongs to (in order: the first is the one ``login`` picks
when none is named) and the members of the vendor's ``User`` that were ever set (its
``properties``); the other members have their defaults. A user's number (``id``) is its row's.
Everything is looked up within the caller's account: a user of another account is unknown.
"""
from __future__ import annotations

import hmac
import ipaddress
import json

from mockserver.machinery import clock
from mockserver.copernica import field_types
from mockserver.copernica.databases import vendor_time
from mockserver.machinery.errors import InvalidRequest, NotFound
from mockserver.store import Store
from mockserver.machinery.addresses import is_valid_address
from mockserver.copernica import tables as copernica_tables

# The members of the vendor's User a client or a fixture sets, with their defaults (``email``:
# the user's name when not set); ``id``, ``name`` and ``active`` come from elsewhere, the
# privilege members (applicationadmin, accountadmin, dummy, uiacess) are always false.
USER_PROPERTIES = {"created": "", "end": "", "gender": "", "description": "", "email": "",
                   "phone": "", "sms": "", "fax": "", "styleadmin": False, "apiaccess": True,
                   "disabled": False, "receivenews": False, "language": "", "timezone": "",
                   "unsecure": False}


def checked_properties(values: dict, defaults: dict) -> dict:
    """Members given for an account or a user (None: not given) as they are stored: of their
    default's type, ``email`` an address, ``end`` a moment, ``mailip`` an IP address,
    ``keephistory`` not negative; InvalidRequest naming the first that is not."""
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        default = defaults[name]
        if isinstance(default, bool):
            value = bool(value)
        elif isinstance(default, int):
            value = int(value)
            if value < 0:
                raise InvalidRequest(f"Invalid {name} {value}: expected 0 or more.")
        else:
            value = str(value).strip() if name in ("email", "end", "mailip") else str(value)
        if name == "email" and value and not is_valid_address(value):
            raise InvalidRequest(f"Invalid e-mail address '{value}'.")
        if name in ("end", "created"):
            value = field_types.moment(value, name)
        if name == "mailip" and value:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise InvalidRequest(f"Invalid mailip '{value}': expected an IP address.")
        out[name] = value
    return out


def in_order(members: dict, defaults: dict) -> dict:
    """Stored members in the order of their defaults (so equal sets are stored alike)."""
    return {name: members[name] for name in defaults if name in members}


def is_active(ends: str, store: Store) -> bool:
    """Whether something that ends at ``ends`` (a vendor time, empty: never) is active now."""
    return not ends or ends > vendor_time(clock.now_stamp(store))


def properties(row: dict) -> dict:
    """A user row's members: the ones set, the defaults for the rest."""
    stored = json.loads(row.get("properties") or "{}")
    return {**USER_PROPERTIES, "email": row["username"], **stored}


def user_record(store: Store, row: dict) -> dict:
    """A user row as the vendor's ``User`` members (``id``, ``name``, ``active`` included)."""
    members = properties(row)
    return {"id": row["id"], "name": row["username"], **members,
            "active": not members["disabled"] and is_active(members["end"], store)}


def require_user(store: Store, account_id: int, user_id: int) -> dict:
    """The row of the account's user with this number; NotFound otherwise."""
    row = copernica_tables.account_user(store, account_id, user_id)
    if row is None:
        raise NotFound(f"Unknown user {user_id}.")
    return row


def find_user(store: Store, account_id: int, identifier: str,
              password: str | None = None) -> dict | None:
    """The row of the account's user named (or numbered) ``identifier``; with a ``password``
    only when it is the user's. None when there is none."""
    text = (identifier or "").strip()
    row = copernica_tables.account_user_by_name(store, account_id, text) if text else None
    if row is None and text.isdigit():
        row = copernica_tables.account_user(store, account_id, int(text))
    if row is not None and password and not hmac.compare_digest(password.encode(),
                                                                row["password"].encode()):
        return None
    return row


def _free_name(store: Store, name, current: str | None = None) -> str:
    """A user name that is not empty and no other user's; InvalidRequest otherwise."""
    name = (name or "").strip()
    if not name:
        raise InvalidRequest("A user needs a name.")
    other = copernica_tables.user(store, name)
    if other is not None and (current is None or other["username"].lower() != current.lower()):
        raise InvalidRequest(f"A user named '{name}' already exists.")
    return name


def _password(password) -> str:
    if not password:
        raise InvalidRequest("A user needs a password.")
    return password


def create_user(store: Store, account_id: int, name: str, password: str,
                email: str | None = None) -> dict:
    """Create a user of the account (its last) who can log in with name and password."""
    with store.transaction():
        name = _free_name(store, name)
        members = checked_properties({"email": email}, USER_PROPERTIES)
        members["created"] = vendor_time(clock.now_stamp(store))
        user_id = copernica_tables.add_user(store, account_id, name, _password(password), members)
        return copernica_tables.account_user(store, account_id, user_id)


def update_user(store: Store, account_id: int, user_id: int, name: str | None,
                changes: dict) -> dict:
    """Change a user's name and members (``changes``: member -> value, None: kept); a new name
    takes the user's sessions and contacts along. The row after."""
    with store.transaction():
        row = require_user(store, account_id, user_id)
        members = checked_properties(changes, USER_PROPERTIES)
        if name is not None and name.strip() != row["username"]:
            copernica_tables.rename_user(store, row["username"], _free_name(store, name, row["username"]))
            row = require_user(store, account_id, user_id)
        if members:
            copernica_tables.set_user(store, row["username"], {"properties": in_order(
                {**json.loads(row["properties"]), **members}, USER_PROPERTIES)})
        return require_user(store, account_id, user_id)


def set_password(store: Store, account_id: int, user_id: int, password: str) -> None:
    """Give a user of the account a new password (its sessions stay)."""
    with store.transaction():
        row = require_user(store, account_id, user_id)
        copernica_tables.set_user(store, row["username"], {"password": _password(password)})


def remove_user(store: Store, account_id: int, user_id: int) -> None:
    """Take a user out of the account (its sessions there end); a user left without an
    account is deleted."""
    with store.transaction():
        row = require_user(store, account_id, user_id)
        copernica_tables.leave_account(store, account_id, row["username"])
