"""Copernica handlers of ``login`` and the Account object: wire values in, domain calls,
one ``Result`` out."""
from __future__ import annotations

from mockserver import accounts, databases
from mockserver.copernica import values as v
from mockserver.errors import NotFound


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
    rows = call.store.databases_of(call.account_id)
    return v.listing("database", v.whole([v.database(call, r) for r in rows], p))


def account_create_database(call: v.Call, p):
    """Create a database."""
    return v.entity("database", v.database(call, databases.create_database(
        call.store, call.account_id, p.name)))


def user_retrieve(call: v.Call, p):
    """A user of the account by number (see ``Store.account_user``)."""
    row = call.store.account_user(call.account_id, p.id)
    if row is None:
        raise NotFound(f"Unknown user {p.id}.")
    return v.entity("user", v.user(row))
