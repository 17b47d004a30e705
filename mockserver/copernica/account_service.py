"""Copernica handlers of ``login`` and the Account and User objects: wire values in, domain
calls, one ``Result`` out."""
from __future__ import annotations

from mockserver.copernica import accounts, databases, users
from mockserver.copernica import selections
from mockserver.copernica import values as v
from mockserver.copernica import tables as copernica_tables


def login(call: v.Call, p):
    """Log in with user name and password (optionally naming the account); answers DONE."""
    cookie = accounts.login(call.store, p.username or "", p.password or "", p.account,
                            unguessable=call.soap.exposed)
    call.soap.headers.append(accounts.set_cookie_header(cookie))
    return v.value("DONE")


def account_database(call: v.Call, p):
    """The database named (or numbered) ``identifier``, or 0."""
    row = databases.find_database(call.store, call.account_id, p.identifier)
    return v.entity("database", row and v.database(call, row))


def account_databases(call: v.Call, p):
    """The account's databases."""
    rows = copernica_tables.databases_of(call.store, call.account_id)
    return v.listing("database", v.whole([v.database(call, r) for r in rows], p))


def account_create_database(call: v.Call, p):
    """Create a database."""
    return v.entity("database", v.database(call, databases.create_database(
        call.store, call.account_id, p.name)))


def account_retrieve(call: v.Call, p):
    """The account."""
    return v.entity("account", v.account(accounts.account_record(call.store, call.account_id)))


def account_update(call: v.Call, p):
    """Change the account's name and settings (absent: kept)."""
    accounts.update_account(call.store, call.account_id, p.name, {
        name: getattr(p, name) for name in accounts.ACCOUNT_PROPERTIES if name != "created"})
    return v.value(True)


def account_remove(call: v.Call, p):
    """Delete the account with everything it holds; its tokens and sessions stop working."""
    accounts.remove_account(call.store, call.account_id)
    return v.value(True)


def account_user(call: v.Call, p):
    """A user of the account by name or number (with ``password``: only when it is right),
    or 0."""
    row = users.find_user(call.store, call.account_id, p.identifier, p.password)
    return v.entity("user", row and v.user(call, row))


def account_create_user(call: v.Call, p):
    """Create a user of the account, who can then log in."""
    return v.entity("user", v.user(call, users.create_user(
        call.store, call.account_id, p.name, p.password, p.email)))


account_views = selections.no_views(
    "view", None, "The account's views (selections): none (the mock has no selections).")


def user_retrieve(call: v.Call, p):
    """A user of the account by number."""
    return v.entity("user", v.user(call, users.require_user(call.store, call.account_id, p.id)))


def user_account(call: v.Call, p):
    """The account of a user (the one the call acts for)."""
    users.require_user(call.store, call.account_id, p.id)
    return account_retrieve(call, p)


def user_update(call: v.Call, p):
    """Change a user's name and details (absent: kept)."""
    users.update_user(call.store, call.account_id, p.id, p.name, {
        name: getattr(p, name) for name in users.USER_PROPERTIES if name != "created"})
    return v.value(True)


def user_set_password(call: v.Call, p):
    """Give a user a new password."""
    users.set_password(call.store, call.account_id, p.id, p.password)
    return v.value(True)


def user_remove(call: v.Call, p):
    """Take a user out of the account (deleted when it belongs to no other account)."""
    users.remove_user(call.store, call.account_id, p.id)
    return v.value(True)
