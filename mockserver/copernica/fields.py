"""Copernica fields of a database or collection: create, change (carried into every
record), remove, and how many records a new type would not allow.

The fields are read through ``databases``; what a value of each type may be is
``field_types``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from mockserver.machinery import clock
from mockserver.machinery.errors import InvalidRequest, NotFound
from mockserver.store import Store
from mockserver.copernica import tables as copernica_tables
from mockserver.copernica.databases import check_identifier, require_database, require_free_name
from mockserver.copernica.field_types import (FIELD_TYPES, ONE_PER_DATABASE, check_value,
                                              default_value)

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
    name = check_identifier(spec.name)
    kind = _field_type(spec.type or "text")
    with store.transaction():
        require_database(store, account_id, database_id)
        existing = copernica_tables.fields_of(store, database_id, collection_id)
        require_free_name(store, database_id, collection_id, existing, name)
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
            name = check_identifier(name)
            require_free_name(store, database_id, collection_id, others, name,
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
