"""Copernica databases: their fields, interests, collections, collection fields and
unsubscribe values; and what a value of each field type may be.

Everything is looked up within one account; an id of another account's object is
treated as unknown.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from mockserver.machinery import clock, tokens
from mockserver.machinery.errors import InvalidRequest, NotFound
from mockserver.store import Store
from mockserver.machinery.addresses import is_valid_address
from mockserver.copernica import tables as copernica_tables

FIELD_TYPES = ("integer", "float", "date", "empty_date", "datetime", "empty_datetime", "text",
               "email", "phone_fax", "phone_gsm", "select", "big")
ONE_PER_DATABASE = ("email", "phone_fax", "phone_gsm")
UNSUBSCRIBE_BEHAVIORS = ("nothing", "remove", "update")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
_PHONE = re.compile(r"\+?[0-9 ()./-]{3,}\Z")
EMPTY_DATE, EMPTY_DATETIME = "0000-00-00", "0000-00-00 00:00:00"


@dataclass
class FieldSpec:
    """What ``Database_createField`` / ``Collection_createField`` asks for."""

    name: str
    type: str = "text"
    value: str = ""
    displayed: bool = False
    ordered: bool = False
    length: int = 50
    textlines: int = 1
    hidden: bool = False
    index: bool = False


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


# What Database_copy may be asked to copy (the vendor's options).
COPY_OPTIONS = ("structure", "force", "collections", "miniviews", "views", "profiles",
                "subprofiles", "exactlinks")


def copy_database(store: Store, account_id: int, database_id: int, name: str,
                  options=()) -> dict:
    """Copy a database into a new one named ``name`` in the same account; the new database.

    The structure always goes along: description, archived flag, unsubscribe behaviour and
    values, fields, interests, contact types, collections with their fields, weights and
    unsubscribe settings. Option ``profiles`` copies the profiles too (values, interests and
    extra data, new codes, created now), ``subprofiles`` (with ``profiles``) their
    subprofiles. Callbacks and contacts are not copied. An option not in ``COPY_OPTIONS`` is
    an InvalidRequest.
    """
    chosen = set()
    for option in options:
        text = str(option).strip().lower()
        if text not in COPY_OPTIONS:
            raise InvalidRequest(f"Unknown copy option '{option}': expected one of "
                                 f"{', '.join(COPY_OPTIONS)}.")
        chosen.add(text)
    with store.transaction():
        source = require_database(store, account_id, database_id)
        copy_id = create_database(store, account_id, name, source["description"])["id"]
        store.update_row("databases", copy_id, {
            k: source[k] for k in ("archived", "unsubscribebehavior", "unsubscribe_values")})
        collection_ids = _copy_structure(store, database_id, copy_id)
        if "profiles" in chosen:
            _copy_records(store, database_id, copy_id, collection_ids, "subprofiles" in chosen)
        return copernica_tables.database(store, account_id, copy_id)


def _copy_structure(store: Store, database_id: int, copy_id: int) -> dict[int, int]:
    """Copy the fields, interests, contact types and collections (with their fields) of a
    database into another; the new collection ids by the old ones."""
    now = clock.now_stamp(store)
    collection_ids = {}
    for c in copernica_tables.collections_of(store, database_id):
        collection_ids[c["id"]] = store.insert_row("collections", {
            **{k: v for k, v in c.items() if k != "id"}, "database_id": copy_id, "created": now})
    owners = [None, *collection_ids]
    store.insert_rows("database_fields", [
        {**{k: v for k, v in f.items() if k != "id"}, "database_id": copy_id,
         "collection_id": collection_ids.get(owner)}
        for owner in owners for f in copernica_tables.fields_of(store, database_id, owner)])
    store.insert_rows("interests", [{"database_id": copy_id, "name": i["name"],
                                     "groupname": i["groupname"], "weight": i["weight"]}
                                    for i in copernica_tables.interests_of(store, database_id)])
    store.insert_rows("contact_types", [
        {**{k: v for k, v in c.items() if k != "id"}, "database_id": copy_id}
        for c in copernica_tables.contact_types_of(store, database_id)])
    return collection_ids


def _copy_records(store: Store, database_id: int, copy_id: int, collection_ids: dict[int, int],
                  with_subprofiles: bool) -> None:
    """Copy the profiles (and their subprofiles) of a database into its copy: same values
    and interests, new codes, created and modified now."""
    now = clock.now_stamp(store)
    rows = copernica_tables.profiles_of(store, database_id)
    codes = iter(tokens.new_tokens(store, len(rows)))
    for row in rows:
        profile_id = store.insert_row("profiles", {
            "database_id": copy_id, "code": next(codes), "fields": row["fields"],
            "interests": row["interests"], "extra": row["extra"], "created": now,
            "modified": now})
        if not with_subprofiles:
            continue
        subs = copernica_tables.subprofiles_of(store, profile_id=row["id"])
        sub_codes = iter(tokens.new_tokens(store, len(subs)))
        store.insert_rows("subprofiles", [
            {"collection_id": collection_ids[sub["collection_id"]], "profile_id": profile_id,
             "code": next(sub_codes), "fields": sub["fields"], "created": now, "modified": now}
            for sub in subs])


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


def _require_free_name(store: Store, database_id: int, collection_id: int | None,
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


def _check_identifier(name: str) -> str:
    name = (name or "").strip()
    if not _IDENTIFIER.match(name):
        raise InvalidRequest(f"Invalid name '{name}': a name starts with a letter or underscore "
                             f"and holds only letters, digits and underscores.")
    return name


def _field_type(kind: str | None) -> str:
    """A field type as stored (lower case); InvalidRequest when it is none of FIELD_TYPES."""
    text = (kind or "").strip().lower()
    if text not in FIELD_TYPES:
        raise InvalidRequest(f"Unknown field type '{kind}': expected one of "
                             f"{', '.join(FIELD_TYPES)}.")
    return text


def create_field(store: Store, account_id: int, database_id: int, collection_id: int | None,
                 spec: FieldSpec) -> dict:
    """Add a field to a database (collection None) or to one of its collections."""
    name = _check_identifier(spec.name)
    kind = _field_type(spec.type or "text")
    with store.transaction():
        require_database(store, account_id, database_id)
        existing = copernica_tables.fields_of(store, database_id, collection_id)
        _require_free_name(store, database_id, collection_id, existing, name)
        if kind in ONE_PER_DATABASE:
            for f in existing:
                if f["type"] == kind:
                    raise InvalidRequest(f"There can be only one {kind} field; '{f['name']}' "
                                         f"is one already.")
        field_id = store.insert_row("database_fields", {
            "database_id": database_id, "collection_id": collection_id, "name": name,
            "type": kind, "value": spec.value or "", "displayed": int(bool(spec.displayed)),
            "ordered": int(bool(spec.ordered)), "length": spec.length or 50,
            "textlines": spec.textlines or 1, "hidden": int(bool(spec.hidden)),
            "indexed": int(bool(spec.index))})
        field = next(f for f in copernica_tables.fields_of(store, database_id, collection_id)
                     if f["id"] == field_id)
        _add_to_records(store, database_id, collection_id, field)
        return field


FIELD_PROPERTIES = ("name", "type", "value", "displayed", "ordered", "length", "textlines",
                    "hidden", "index", "pixelwidth", "weight")


def require_field(store: Store, account_id: int, field_id: int, in_collection: bool) -> dict:
    """The account's database field (``in_collection``: collection field) with this id;
    NotFound otherwise."""
    row = copernica_tables.database_field(store, account_id, field_id)
    if row is None or (row["collection_id"] is not None) != in_collection:
        raise NotFound(f"Unknown {'collection field' if in_collection else 'field'} "
                       f"{field_id}.")
    return row


def update_field(store: Store, account_id: int, field_id: int, in_collection: bool,
                 changes: dict) -> dict:
    """Change a field's properties (``FIELD_PROPERTIES``; absent: kept); the field after.

    A new name follows the rules of a new field and is carried into every record (and the
    unsubscribe values); under a new type, a stored value the type does not allow becomes the
    field's default. Neither is a change of the records: ``modified`` stays, no callback fires.
    """
    with store.transaction():
        field = require_field(store, account_id, field_id, in_collection)
        database_id, collection_id = field["database_id"], field["collection_id"]
        others = [f for f in copernica_tables.fields_of(store, database_id, collection_id) if f["id"] != field_id]
        row: dict = {}
        name = changes.get("name")
        if name is not None and name.strip() != field["name"]:
            name = _check_identifier(name)
            _require_free_name(store, database_id, collection_id, others, name,
                               own=field["name"])
            row["name"] = name
        kind = changes.get("type")
        if kind is not None and kind.strip().lower() != field["type"]:
            kind = _field_type(kind)
            if kind in ONE_PER_DATABASE:
                for f in others:
                    if f["type"] == kind:
                        raise InvalidRequest(f"There can be only one {kind} field; "
                                             f"'{f['name']}' is one already.")
            row["type"] = kind
        columns = {"index": "indexed"}
        for key in ("value", "displayed", "ordered", "length", "textlines", "hidden", "index",
                    "pixelwidth", "weight"):
            if changes.get(key) is not None:
                value = changes[key]
                row[columns.get(key, key)] = int(value) if isinstance(value, bool) else value
        if row:
            store.update_row("database_fields", field_id, row)
        after = copernica_tables.database_field(store, account_id, field_id)
        if "name" in row or "type" in row:
            _convert_records(store, account_id, field, after)
        return after


def _convert_records(store: Store, account_id: int, before: dict, after: dict) -> None:
    """Carry a renamed or retyped field's values into every record (not a change)."""
    database_id, collection_id = before["database_id"], before["collection_id"]
    now = clock.now(store)
    if collection_id is None:
        rows, table = copernica_tables.profiles_of(store, database_id), "profiles"
    else:
        rows, table = copernica_tables.subprofiles_of(store, collection_id=collection_id), "subprofiles"
    for record in rows:
        values = json.loads(record["fields"])
        value = values.pop(before["name"], None)
        checked = None if value is None else check_value(after, value)
        values[after["name"]] = default_value(after, now) if checked is None else checked
        store.update_row(table, record["id"], {"fields": values})
    if before["name"] != after["name"]:
        _rename_unsubscribe_value(store, account_id, before, after["name"])


def _owner(store: Store, account_id: int, field: dict) -> tuple[str, dict]:
    """The table and row of what a field belongs to: its database, or its collection."""
    if field["collection_id"] is None:
        return "databases", copernica_tables.database(store, account_id, field["database_id"])
    return "collections", copernica_tables.collection(store, account_id, field["collection_id"])


def _rename_unsubscribe_value(store: Store, account_id: int, field: dict,
                              name: str | None) -> None:
    """Carry a field's unsubscribe value to its new ``name`` (None: drop it)."""
    table, owner = _owner(store, account_id, field)
    kept = json.loads(owner["unsubscribe_values"])
    if field["name"] not in kept:
        return
    kept = {name if k == field["name"] else k: v for k, v in kept.items()
            if k != field["name"] or name is not None}
    store.update_row(table, owner["id"],
                     {"unsubscribe_values": json.dumps(kept, ensure_ascii=False)})


def _records_of(store: Store, field: dict) -> tuple[list[dict], str]:
    """The rows holding a value of the field (profiles or subprofiles) and their table."""
    if field["collection_id"] is None:
        return copernica_tables.profiles_of(store, field["database_id"]), "profiles"
    return copernica_tables.subprofiles_of(store, collection_id=field["collection_id"]), "subprofiles"


def remove_field(store: Store, account_id: int, field_id: int, in_collection: bool) -> None:
    """Delete a field: its value goes from every record and from the unsubscribe values.

    Not a change of the records: ``modified`` stays and no callback fires.
    """
    with store.transaction():
        field = require_field(store, account_id, field_id, in_collection)
        rows, table = _records_of(store, field)
        for record in rows:
            values = json.loads(record["fields"])
            if values.pop(field["name"], None) is not None:
                store.update_row(table, record["id"], {"fields": values})
        _rename_unsubscribe_value(store, account_id, field, None)
        store.delete_rows("database_fields", [field_id])


def count_incompatible(store: Store, account_id: int, field_id: int, in_collection: bool,
                       kind: str, options: list[str]) -> int:
    """How many records hold a value of the field that type ``kind`` would not allow (the
    values ``update_field`` would set to the default); a select's choices are ``options``,
    else the lines of the field's ``value``."""
    field = require_field(store, account_id, field_id, in_collection)
    kind = _field_type(kind)
    trial = {**field, "type": kind}
    if options:
        trial["value"] = "\n".join(options)
    rows, _ = _records_of(store, field)
    return sum(1 for record in rows
               if check_value(trial, json.loads(record["fields"]).get(field["name"], ""))
               is None)


def _add_to_records(store: Store, database_id: int, collection_id: int | None,
                    field: dict) -> None:
    """Give every existing (sub)profile the new field's default value (not a change)."""
    value = default_value(field, clock.now(store))
    if collection_id is None:
        rows, table = copernica_tables.profiles_of(store, database_id), "profiles"
    else:
        rows, table = copernica_tables.subprofiles_of(store, collection_id=collection_id), "subprofiles"
    for row in rows:
        store.update_row(table, row["id"],
                         {"fields": {**json.loads(row["fields"]), field["name"]: value}})


def interests(store: Store, database_id: int) -> list[dict]:
    """A database's interests, by id."""
    return copernica_tables.interests_of(store, database_id)


def create_interest(store: Store, account_id: int, database_id: int, name: str,
                    groupname: str = "") -> dict:
    """Add an interest (a 0/1 flag of every profile) to a database."""
    name = _check_identifier(name)
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
            name = _check_identifier(name)
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
    name = _check_identifier(name)
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
            name = _check_identifier(name)
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


# -- values -------------------------------------------------------------------------


def select_options(field: dict) -> list[str]:
    """The choices of a ``select`` field: the lines of its ``value``."""
    return [line.strip() for line in (field["value"] or "").splitlines() if line.strip()]


def default_value(field: dict, now: dt.datetime) -> str:
    """The value a new (sub)profile gets for a field it was not given."""
    kind, value = field["type"], field["value"] or ""
    if kind == "select":
        options = select_options(field)
        return options[0] if options else ""
    if value:
        return value
    if kind in ("integer", "float"):
        return "0"
    if kind == "date":
        return clock.local(now).strftime("%Y-%m-%d")
    if kind == "datetime":
        return clock.local(now).strftime("%Y-%m-%d %H:%M:%S")
    if kind == "empty_date":
        return EMPTY_DATE
    if kind == "empty_datetime":
        return EMPTY_DATETIME
    return ""


def check_value(field: dict, value) -> str | None:
    """The value as stored for this field's type, or None when the type does not allow it."""
    text = "" if value is None else str(value)
    kind = field["type"]
    if kind in ("text", "big"):
        return text
    stripped = text.strip()
    if kind == "integer":
        if stripped == "":
            return "0"
        return str(int(stripped)) if _INTEGER.match(stripped) else None
    if kind == "float":
        if stripped == "":
            return "0"
        return stripped if _FLOAT.match(stripped) else None
    if kind in ("date", "empty_date"):
        if kind == "empty_date" and stripped in ("", EMPTY_DATE):
            return EMPTY_DATE
        return stripped if _is_moment(stripped, "%Y-%m-%d") else None
    if kind in ("datetime", "empty_datetime"):
        if kind == "empty_datetime" and stripped in ("", EMPTY_DATETIME, EMPTY_DATE):
            return EMPTY_DATETIME
        candidate = stripped.replace("T", " ")
        if _is_moment(candidate, "%Y-%m-%d"):
            candidate += " 00:00:00"
        return candidate if _is_moment(candidate, "%Y-%m-%d %H:%M:%S") else None
    if kind == "email":
        return stripped if stripped == "" or is_valid_address(stripped) else None
    if kind in ("phone_fax", "phone_gsm"):
        return stripped if stripped == "" or _PHONE.match(stripped) else None
    if kind == "select":
        if stripped == "":
            return ""
        for option in select_options(field):
            if option.lower() == stripped.lower():
                return option
        return None
    return text


def moment(text, what: str) -> str:
    """A point in time given by a client (``YYYY-MM-DD hh:mm:ss``; ``T`` and a bare date are
    accepted) as ``YYYY-MM-DD hh:mm:ss``, or empty; InvalidRequest naming ``what`` otherwise."""
    stripped = "" if text is None else str(text).strip()
    if stripped in ("", EMPTY_DATE, EMPTY_DATETIME):
        return ""
    checked = check_value({"type": "datetime"}, stripped)
    if checked is None:
        raise InvalidRequest(f"Invalid {what} '{stripped}': expected YYYY-MM-DD hh:mm:ss.")
    return checked


def _is_moment(text: str, pattern: str) -> bool:
    try:
        return dt.datetime.strptime(text, pattern).strftime(pattern) == text
    except ValueError:
        return False
