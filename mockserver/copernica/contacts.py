"""Copernica contacts: the contact moments of a profile (a call, a visit, a letter: planned,
then done), and the contact types of a database that sort them.

A contact belongs to one profile and has, as the vendor's ``Contact``, a planned and an
executed time (``YYYY-MM-DD hh:mm:ss``, empty: none), ``remarks`` and a ``report`` (each a
``ContactData {type, source}``), an ``important`` flag and ``extra`` text; besides, a contact
type of the profile's database and a user of the account (the one it is for), both optional.
A contact is done when it has an executed time. Contacts go with their profile; a removed
contact type leaves its contacts without a type, a removed user leaves them without a user.
Contacts are no part of a profile's data: their changes reach no callbacks and leave the
profile's ``modified`` as it is.
"""
from __future__ import annotations

from mockserver.machinery import clock
from mockserver.copernica import databases, field_types, profiles, users
from mockserver.copernica.databases import vendor_time
from mockserver.machinery.errors import InvalidRequest, NotFound
from mockserver.store import Store
from mockserver.copernica import tables as copernica_tables

STATUSES = ("open", "done")
IMPORTANCES = ("important", "normal")
ORDERS = ("plannedtime", "executedtime", "id", "important", "extra")  # the first: default
DATE_FILTERS = ("from", "to")


# -- contact types ------------------------------------------------------------------------


def contact_types(store: Store, account_id: int, database_id: int) -> list[dict]:
    """The contact types of the account's database, by id."""
    databases.require_database(store, account_id, database_id)
    return copernica_tables.contact_types_of(store, database_id)


def require_contact_type(store: Store, account_id: int, type_id: int) -> dict:
    """The account's contact type with this id; NotFound otherwise."""
    row = copernica_tables.contact_type(store, account_id, type_id)
    if row is None:
        raise NotFound(f"Unknown contact type {type_id}.")
    return row


def find_contact_type(store: Store, database_id: int, identifier) -> dict | None:
    """The database's contact type named (or numbered) ``identifier``, or None."""
    text = "" if identifier is None else str(identifier).strip()
    row = copernica_tables.contact_type_by_name(store, database_id, text) if text else None
    if row is None and text.isdigit():
        row = next((t for t in copernica_tables.contact_types_of(store, database_id) if t["id"] == int(text)),
                   None)
    return row


def _free_name(store: Store, database_id: int, name, type_id: int | None = None) -> str:
    """A contact type name that is not empty and no other type's of the database."""
    name = (name or "").strip()
    if not name:
        raise InvalidRequest("A contact type needs a name.")
    other = copernica_tables.contact_type_by_name(store, database_id, name)
    if other is not None and other["id"] != type_id:
        raise InvalidRequest(f"A contact type named '{name}' already exists.")
    return name


def create_contact_type(store: Store, account_id: int, database_id: int, name: str) -> dict:
    """Add a contact type to the database; its name must be new there."""
    with store.transaction():
        databases.require_database(store, account_id, database_id)
        type_id = store.insert_row("contact_types", {
            "database_id": database_id, "name": _free_name(store, database_id, name)})
        return require_contact_type(store, account_id, type_id)


def update_contact_type(store: Store, account_id: int, type_id: int, name: str | None,
                        description: str | None, icon: str | None) -> dict:
    """Change a contact type's name, description or icon (None: kept); the type after."""
    with store.transaction():
        row = require_contact_type(store, account_id, type_id)
        changes = {"description": description, "icon": icon}
        if name is not None:
            changes["name"] = _free_name(store, row["database_id"], name, type_id)
        changes = {k: v for k, v in changes.items() if v is not None}
        if changes:
            store.update_row("contact_types", type_id, changes)
        return require_contact_type(store, account_id, type_id)


def remove_contact_type(store: Store, account_id: int, type_id: int) -> None:
    """Delete a contact type; its contacts stay, without a type."""
    with store.transaction():
        require_contact_type(store, account_id, type_id)
        store.delete_rows("contact_types", [type_id])


# -- contacts -----------------------------------------------------------------------------


def contact_record(row: dict) -> dict:
    """A contact row as the domain reads it."""
    return {"id": row["id"], "profile_id": row["profile_id"],
            "database_id": row["database_id"], "contact_type_id": row["contact_type_id"],
            "username": row["username"], "plannedtime": row["plannedtime"],
            "executedtime": row["executedtime"],
            "remarks": {"type": row["remarks_type"], "source": row["remarks_source"]},
            "report": {"type": row["report_type"], "source": row["report_source"]},
            "important": bool(row["important"]), "extra": row["extra"]}


def require_contact(store: Store, account_id: int, contact_id: int) -> dict:
    """The account's contact with this id; NotFound otherwise."""
    row = copernica_tables.contact(store, account_id, contact_id)
    if row is None:
        raise NotFound(f"Unknown contact {contact_id}.")
    return contact_record(row)


def _type_for(store: Store, account_id: int, type_id: int, database_id: int,
              owner: str) -> int:
    """A contact type id for a contact of ``database_id`` (``owner`` names the contact or
    profile in the fault when the type is another database's)."""
    row = require_contact_type(store, account_id, type_id)
    if row["database_id"] != database_id:
        raise InvalidRequest(f"Contact type {type_id} is not in the database of {owner}.")
    return type_id


def create_contact(store: Store, account_id: int, profile_id: int, user_id: int | None = None,
                   type_id: int | None = None, done: bool = False) -> dict:
    """Plan a contact with the profile, for a user and of a type (0 or None: none), planned
    now; ``done``: executed now too."""
    with store.transaction():
        profile = profiles.require_profile(store, account_id, profile_id)
        now = vendor_time(clock.now_stamp(store))
        row = {"profile_id": profile_id, "plannedtime": now, "executedtime": now if done else "",
               "created": clock.now_stamp(store)}
        if type_id:
            row["contact_type_id"] = _type_for(store, account_id, type_id,
                                               profile["database_id"], f"profile {profile_id}")
        if user_id:
            row["username"] = users.require_user(store, account_id, user_id)["username"]
        return require_contact(store, account_id, store.insert_row("contacts", row))


def update_contact(store: Store, account_id: int, contact_id: int, changes: dict) -> dict:
    """Change a contact's ``plannedtime``, ``executedtime``, ``remarks``, ``report`` (dicts of
    ``type``/``source``), ``important`` or ``extra`` (None, and a member of remarks or report
    that is None: kept); the contact after."""
    with store.transaction():
        require_contact(store, account_id, contact_id)
        columns = {}
        for name in ("plannedtime", "executedtime"):
            if changes.get(name) is not None:
                columns[name] = field_types.moment(changes[name], name)
        for name in ("remarks", "report"):
            for part, value in (changes.get(name) or {}).items():
                if value is not None:
                    columns[f"{name}_{part}"] = str(value)
        if changes.get("important") is not None:
            columns["important"] = int(bool(changes["important"]))
        if changes.get("extra") is not None:
            columns["extra"] = str(changes["extra"])
        if columns:
            store.update_row("contacts", contact_id, columns)
        return require_contact(store, account_id, contact_id)


def set_type(store: Store, account_id: int, contact_id: int, type_id: int) -> None:
    """Give a contact a type of its profile's database (0: none)."""
    with store.transaction():
        contact = require_contact(store, account_id, contact_id)
        chosen = _type_for(store, account_id, type_id, contact["database_id"],
                           f"contact {contact_id}") if type_id else None
        store.update_row("contacts", contact_id, {"contact_type_id": chosen})


def set_user(store: Store, account_id: int, contact_id: int, user_id: int) -> None:
    """Make a contact one for a user of the account (0: for no one)."""
    with store.transaction():
        require_contact(store, account_id, contact_id)
        username = users.require_user(store, account_id, user_id)["username"] if user_id \
            else None
        store.update_row("contacts", contact_id, {"username": username})


def type_of(store: Store, account_id: int, contact: dict) -> dict | None:
    """The contact type of a contact, or None."""
    type_id = contact["contact_type_id"]
    return None if type_id is None else copernica_tables.contact_type(store, account_id, type_id)


def user_of(store: Store, account_id: int, contact: dict) -> dict | None:
    """The user a contact is for while that user is one of the account's, or None."""
    name = contact["username"]
    return None if name is None else copernica_tables.account_user_by_name(store, account_id, name)


def remove_contact(store: Store, account_id: int, contact_id: int) -> None:
    """Delete a contact."""
    with store.transaction():
        require_contact(store, account_id, contact_id)
        store.delete_rows("contacts", [contact_id])


# -- lists and searches -------------------------------------------------------------------


def status_of(done: bool | None) -> str | None:
    """The status a ``done`` parameter asks for (None: any)."""
    return None if done is None else ("done" if done else "open")


def _choice(value, what: str, choices: tuple) -> str | None:
    text = (value or "").strip().lower()
    if text and text not in choices:
        raise InvalidRequest(f"Unknown {what} '{value}': expected {' or '.join(choices)}.")
    return text or None


def date_range(filters: dict) -> tuple[str, str]:
    """A ``datefilter`` map (``from``, ``to``: moments or dates, inclusive) as the bounds of
    the planned time (a bare date ``to`` means its whole day)."""
    bounds = {"from": "", "to": ""}
    for key, value in filters.items():
        name = str(key).strip().lower()
        if name not in DATE_FILTERS:
            raise InvalidRequest(f"Unknown datefilter key '{key}': expected from or to.")
        text = str(value or "").strip()
        bound = field_types.moment(text, f"datefilter {name}")
        if name == "to" and bound and len(text) == len("YYYY-MM-DD"):
            bound = bound[:11] + "23:59:59"
        bounds[name] = bound
    return bounds["from"], bounds["to"]


def find_contacts(store: Store, account_id: int, *, database_id: int | None = None,
                  profile_id: int | None = None, user_id: int | None = None,
                  contact_type=None, status: str | None = None, importance: str | None = None,
                  search: str | None = None, dates: tuple[str, str] = ("", ""),
                  order: str | None = None, asc: bool = True) -> list[dict]:
    """The account's contacts of a database, a profile and/or a user, meeting the filters:
    ``contact_type`` (name or id, of the database), ``status`` (open, done), ``importance``
    (important, normal), ``search`` (in the remarks', the report's source and extra, without
    case), ``dates`` (bounds of the planned time); by ``order`` (ties by id)."""
    username = users.require_user(store, account_id, user_id)["username"] if user_id else None
    status = _choice(status, "status", STATUSES)
    importance = _choice(importance, "importance", IMPORTANCES)
    type_id = None
    if contact_type is not None and str(contact_type).strip():
        row = find_contact_type(store, database_id, contact_type) if database_id else None
        if row is None:
            raise InvalidRequest(f"Unknown contact type '{contact_type}'.")
        type_id = row["id"]
    needle = (search or "").strip().lower()
    found = []
    for row in copernica_tables.contacts_of(store, account_id, database_id, profile_id, username):
        c = contact_record(row)
        if type_id is not None and c["contact_type_id"] != type_id:
            continue
        if status and (c["executedtime"] != "") != (status == "done"):
            continue
        if importance and c["important"] != (importance == "important"):
            continue
        text = " ".join((c["remarks"]["source"], c["report"]["source"], c["extra"])).lower()
        if needle and needle not in text:
            continue
        if (dates[0] and c["plannedtime"] < dates[0]) or (dates[1] and c["plannedtime"] >
                                                           dates[1]):
            continue
        found.append(c)
    key = (order or "").strip().lower()
    key = key if key in ORDERS else ORDERS[0]
    found.sort(key=lambda c: c["id"])
    found.sort(key=lambda c: c[key], reverse=not asc)
    return found
