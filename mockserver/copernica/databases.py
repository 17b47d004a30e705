"""Copernica databases: their interests, collections and unsubscribe values, and the
fields of a database or collection as read; the names these may have.

Everything is looked up within one account; an id of another account's object is
treated as unknown. Fields are changed in ``fields``, a database copied in
``database_copy``, a value checked against its field's type in ``field_types``.
"""
from __future__ import annotations

import json
import re

from mockserver.machinery import clock
from mockserver.machinery.errors import InvalidRequest, NotFound
from mockserver.store import Store
from mockserver.copernica import tables as copernica_tables
from mockserver.copernica.field_types import ONE_PER_DATABASE, check_value

UNSUBSCRIBE_BEHAVIORS = ("nothing", "remove", "update")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def vendor_time(stamp: str | None) -> str:
    """A store stamp as the vendor prints it: ``YYYY-MM-DD hh:mm:ss`` in the server's zone."""
    if not stamp:
        return ""
    return clock.local(clock.parse_stamp(stamp)).strftime("%Y-%m-%d %H:%M:%S")


# -- databases -------------------------------------------------------------------


def require_database(store: Store, account_id: int, database_id: int) -> dict:
    """The account's database with this id; NotFound otherwise."""
    row = copernica_tables.database(store, account_id, database_id)
    if row is None:
        raise NotFound(f"Unknown database {database_id}.")
    return row


def by_name_or_id(rows, identifier: str) -> dict | None:
    """The first row whose name (case-insensitive) or id is ``identifier``, or None."""
    text = (identifier or "").strip()
    return next((r for r in rows if r["name"].lower() == text.lower() or str(r["id"]) == text),
                None)


def find_database(store: Store, account_id: int, identifier: str) -> dict | None:
    """The account's database named ``identifier``, or with it as id; None when there is none."""
    text = (identifier or "").strip()
    row = copernica_tables.database_by_name(store, account_id, text)
    if row is None and text.isdigit():
        row = copernica_tables.database(store, account_id, int(text))
    return row


def create_database(store: Store, account_id: int, name: str, description: str = "") -> dict:
    """Create an empty database; its name must be new in the account."""
    name = (name or "").strip()
    if not name:
        raise InvalidRequest("A database needs a name.")
    with store.transaction():
        if copernica_tables.database_by_name(store, account_id, name) is not None:
            raise InvalidRequest(f"A database named '{name}' already exists.")
        database_id = store.insert_row("databases", {
            "account_id": account_id, "name": name, "description": description or "",
            "created": clock.now_stamp(store)})
        return copernica_tables.database(store, account_id, database_id)


def update_database(store: Store, account_id: int, database_id: int, name: str | None = None,
                    description: str | None = None, unsubscribebehavior: str | None = None,
                    archived: bool | None = None) -> dict:
    """Change a database's name, description, unsubscribe behaviour or archived flag
    (None: keep)."""
    with store.transaction():
        row = require_database(store, account_id, database_id)
        changes = {}
        if name is not None and name.strip() and name.strip() != row["name"]:
            other = copernica_tables.database_by_name(store, account_id, name.strip())
            if other is not None and other["id"] != database_id:
                raise InvalidRequest(f"A database named '{name.strip()}' already exists.")
            changes["name"] = name.strip()
        if description is not None:
            changes["description"] = description
        if unsubscribebehavior is not None:
            changes["unsubscribebehavior"] = _checked_behavior(unsubscribebehavior)
        if archived is not None:
            changes["archived"] = int(bool(archived))
        if changes:
            store.update_row("databases", database_id, changes)
        return copernica_tables.database(store, account_id, database_id)


def _checked_behavior(behavior: str) -> str:
    """An unsubscribe behaviour as given; InvalidRequest when it is none of the vendor's."""
    if behavior not in UNSUBSCRIBE_BEHAVIORS:
        raise InvalidRequest(f"Invalid unsubscribebehavior '{behavior}': "
                             f"expected {', '.join(UNSUBSCRIBE_BEHAVIORS)}.")
    return behavior


def remove_database(store: Store, account_id: int, database_id: int) -> None:
    """Delete a database with everything in it (no callbacks fire)."""
    with store.transaction():
        require_database(store, account_id, database_id)
        store.delete_rows("databases", [database_id])


def clear_database(store: Store, account_id: int, database_id: int) -> int:
    """Delete every profile (and subprofile) of a database, keeping its fields, interests,
    collections and callbacks (no callbacks fire); how many profiles went."""
    with store.transaction():
        require_database(store, account_id, database_id)
        ids = [row["id"] for row in copernica_tables.profiles_of(store, database_id)]
        store.delete_rows("profiles", ids)
        return len(ids)


def unsubscribe_values(store: Store, account_id: int, database_id: int) -> dict[str, str]:
    """The field values an unsubscribe sets (behaviour ``update``)."""
    return json.loads(require_database(store, account_id, database_id)["unsubscribe_values"])


def set_unsubscribe_values(store: Store, account_id: int, database_id: int,
                           values: dict[str, str]) -> dict[str, str]:
    """Replace the unsubscribe values; names that are no database field are ignored."""
    with store.transaction():
        require_database(store, account_id, database_id)
        kept = _known_values(store, database_id, None, values)
        store.update_row("databases", database_id,
                         {"unsubscribe_values": json.dumps(kept, ensure_ascii=False)})
        return kept


def _known_values(store: Store, database_id: int, collection_id: int | None,
                  values: dict[str, str]) -> dict[str, str]:
    """The values whose names are fields of the database (or collection), by the fields'
    names (matched case-insensitively) and as their types store them; the others are
    dropped. A value its field's type refuses is an InvalidRequest."""
    known = field_map(store, database_id, collection_id)
    kept = {}
    for name, value in values.items():
        field = known.get(name.lower())
        if field is None:
            continue
        checked = check_value(field, value)
        if checked is None:
            raise InvalidRequest(f"Value '{value}' is not valid for field '{field['name']}' "
                                 f"of type {field['type']}.")
        kept[field["name"]] = checked
    return kept


# -- fields, interests, collections ---------------------------------------------------


def fields(store: Store, database_id: int, collection_id: int | None = None) -> list[dict]:
    """The fields of a database (or of one of its collections), by id."""
    return copernica_tables.fields_of(store, database_id, collection_id)


def field_map(store: Store, database_id: int, collection_id: int | None) -> dict[str, dict]:
    """The fields by lower-case name."""
    return {f["name"].lower(): f for f in copernica_tables.fields_of(store, database_id, collection_id)}


def find_field(store: Store, database_id: int, collection_id: int | None,
               identifier: str) -> dict | None:
    """A field by name (case-insensitive) or id, or None."""
    return by_name_or_id(copernica_tables.fields_of(store, database_id, collection_id), identifier)


def displayed_fields(store: Store, database_id: int,
                     collection_id: int | None = None) -> list[dict]:
    """The fields of a database (or collection) whose ``displayed`` is on, by id."""
    return [f for f in copernica_tables.fields_of(store, database_id, collection_id) if f["displayed"]]


def ordered_field(store: Store, database_id: int, collection_id: int | None = None) -> dict | None:
    """The field that orders the records by default: the first (by id) whose ``ordered`` is on;
    None when there is none."""
    return next((f for f in copernica_tables.fields_of(store, database_id, collection_id) if f["ordered"]), None)


def special_field(store: Store, database_id: int, collection_id: int | None,
                  special: str) -> dict | None:
    """The field of a special type (``email``, ``phone_fax``, ``phone_gsm``: the one of its
    kind a database or collection may have), named case-insensitively; None when there is
    none or ``special`` is no special type."""
    kind = (special or "").strip().lower()
    if kind not in ONE_PER_DATABASE:
        return None
    return next((f for f in copernica_tables.fields_of(store, database_id, collection_id) if f["type"] == kind),
                None)


def _taken_names(store: Store, database_id: int) -> set[str]:
    """Lower-case names of the database's fields, interests and collections."""
    return ({f["name"].lower() for f in copernica_tables.fields_of(store, database_id, None)} |
            {i["name"].lower() for i in copernica_tables.interests_of(store, database_id)} |
            {c["name"].lower() for c in copernica_tables.collections_of(store, database_id)})


def require_free_name(store: Store, database_id: int, collection_id: int | None,
                       siblings: list[dict], name: str, own: str | None = None) -> None:
    """Raise InvalidRequest when ``name`` is taken: in a database by a field, interest or
    collection; in a collection by one of its fields (``siblings``). ``own``: the name of the
    field being renamed, which does not count."""
    if collection_id is None:
        taken = _taken_names(store, database_id) - {(own or "").lower()}
        clash = "There is already a field, interest or collection named"
    else:
        taken = {f["name"].lower() for f in siblings}
        clash = "The collection already has a field named"
    if name.lower() in taken:
        raise InvalidRequest(f"{clash} '{name}'.")


def check_identifier(name: str) -> str:
    """A name as kept (stripped); InvalidRequest unless it is an identifier."""
    name = (name or "").strip()
    if not _IDENTIFIER.match(name):
        raise InvalidRequest(f"Invalid name '{name}': a name starts with a letter or underscore "
                             f"and holds only letters, digits and underscores.")
    return name



def interests(store: Store, database_id: int) -> list[dict]:
    """A database's interests, by id."""
    return copernica_tables.interests_of(store, database_id)


def create_interest(store: Store, account_id: int, database_id: int, name: str,
                    groupname: str = "") -> dict:
    """Add an interest (a 0/1 flag of every profile) to a database."""
    name = check_identifier(name)
    with store.transaction():
        require_database(store, account_id, database_id)
        if name.lower() in _taken_names(store, database_id):
            raise InvalidRequest(f"There is already a field, interest or collection named "
                                 f"'{name}'.")
        interest_id = store.insert_row("interests", {"database_id": database_id, "name": name,
                                                     "groupname": groupname or ""})
        return next(i for i in copernica_tables.interests_of(store, database_id) if i["id"] == interest_id)


def require_interest(store: Store, account_id: int, interest_id: int) -> dict:
    """The account's interest with this id; NotFound otherwise."""
    row = copernica_tables.interest(store, account_id, interest_id)
    if row is None:
        raise NotFound(f"Unknown interest {interest_id}.")
    return row


def update_interest(store: Store, account_id: int, interest_id: int, name: str | None = None,
                    groupname: str | None = None, weight: int | None = None) -> dict:
    """Change an interest's name, group or weight (None: keep); the interest after.

    A new name follows the rules of a new interest and is carried into every profile (not a
    change of the profiles: ``modified`` stays, no callback fires).
    """
    with store.transaction():
        interest = require_interest(store, account_id, interest_id)
        database_id = interest["database_id"]
        row: dict = {}
        if name is not None and name.strip() != interest["name"]:
            name = check_identifier(name)
            if name.lower() in _taken_names(store, database_id) - {interest["name"].lower()}:
                raise InvalidRequest(f"There is already a field, interest or collection named "
                                     f"'{name}'.")
            row["name"] = name
        if groupname is not None:
            row["groupname"] = groupname
        if weight is not None:
            row["weight"] = weight
        if row:
            store.update_row("interests", interest_id, row)
        if "name" in row:
            _carry_interest(store, database_id, interest["name"], name)
        return copernica_tables.interest(store, account_id, interest_id)


def remove_interest(store: Store, account_id: int, interest_id: int) -> None:
    """Delete an interest: it goes from every profile (not a change of the profiles:
    ``modified`` stays, no callback fires)."""
    with store.transaction():
        interest = require_interest(store, account_id, interest_id)
        _carry_interest(store, interest["database_id"], interest["name"], None)
        store.delete_rows("interests", [interest_id])


def _carry_interest(store: Store, database_id: int, name: str, new_name: str | None) -> None:
    """Rename an interest in every profile's flags (``new_name`` None: drop it)."""
    for record in copernica_tables.profiles_of(store, database_id):
        flags = json.loads(record["interests"])
        if name not in flags:
            continue
        value = flags.pop(name)
        if new_name is not None:
            flags[new_name] = value
        store.update_row("profiles", record["id"], {"interests": flags})


def find_interest(store: Store, database_id: int, identifier: str) -> dict | None:
    """An interest of the database by name (case-insensitive) or id, or None."""
    return by_name_or_id(copernica_tables.interests_of(store, database_id), identifier)


def collections(store: Store, database_id: int) -> list[dict]:
    """A database's collections, by id."""
    return copernica_tables.collections_of(store, database_id)


def require_collection(store: Store, account_id: int, collection_id: int) -> dict:
    """The account's collection with this id; NotFound otherwise."""
    row = copernica_tables.collection(store, account_id, collection_id)
    if row is None:
        raise NotFound(f"Unknown collection {collection_id}.")
    return row


def find_collection(store: Store, database_id: int, identifier: str) -> dict | None:
    """A collection of the database by name (case-insensitive) or id, or None."""
    return by_name_or_id(copernica_tables.collections_of(store, database_id), identifier)


def create_collection(store: Store, account_id: int, database_id: int, name: str) -> dict:
    """Add a collection (a table of subprofiles) to a database."""
    name = check_identifier(name)
    with store.transaction():
        require_database(store, account_id, database_id)
        if name.lower() in _taken_names(store, database_id):
            raise InvalidRequest(f"There is already a field, interest or collection named "
                                 f"'{name}'.")
        collection_id = store.insert_row("collections", {
            "database_id": database_id, "name": name, "created": clock.now_stamp(store)})
        return copernica_tables.collection(store, account_id, collection_id)


def update_collection(store: Store, account_id: int, collection_id: int,
                      name: str | None = None, weight: int | None = None,
                      unsubscribebehavior: str | None = None) -> dict:
    """Change a collection's name, weight or unsubscribe behaviour (None: keep); a new name
    follows the rules of a new one. The collection after."""
    with store.transaction():
        row = require_collection(store, account_id, collection_id)
        changes: dict = {}
        if name is not None and name.strip() != row["name"]:
            name = check_identifier(name)
            if name.lower() in _taken_names(store, row["database_id"]) - {row["name"].lower()}:
                raise InvalidRequest(f"There is already a field, interest or collection named "
                                     f"'{name}'.")
            changes["name"] = name
        if weight is not None:
            changes["weight"] = weight
        if unsubscribebehavior is not None:
            changes["unsubscribebehavior"] = _checked_behavior(unsubscribebehavior)
        if changes:
            store.update_row("collections", collection_id, changes)
        return copernica_tables.collection(store, account_id, collection_id)


def collection_unsubscribe_values(store: Store, account_id: int,
                                  collection_id: int) -> dict[str, str]:
    """The field values an unsubscribe sets in a subprofile of the collection (behaviour
    ``update``)."""
    return json.loads(require_collection(store, account_id, collection_id)["unsubscribe_values"])


def set_collection_unsubscribe_values(store: Store, account_id: int, collection_id: int,
                                      values: dict[str, str]) -> dict[str, str]:
    """Replace a collection's unsubscribe values; names that are no field of the collection
    are ignored."""
    with store.transaction():
        row = require_collection(store, account_id, collection_id)
        kept = _known_values(store, row["database_id"], collection_id, values)
        store.update_row("collections", collection_id,
                         {"unsubscribe_values": json.dumps(kept, ensure_ascii=False)})
        return kept


def remove_collection(store: Store, account_id: int, collection_id: int) -> None:
    """Delete a collection with its fields and subprofiles (no callbacks fire)."""
    with store.transaction():
        require_collection(store, account_id, collection_id)
        store.delete_rows("collections", [collection_id])
