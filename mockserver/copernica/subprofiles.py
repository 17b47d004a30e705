"""Copernica subprofiles: create, search, update, upsert, move, remove.

A subprofile belongs to a profile and one collection of the profile's database and holds a
value for each field of the collection. Values are checked against their field's type; names
that are no field are ignored in writes and skipped in searches
(mockserver.copernica.profiles). Every
change is handed to the callbacks in the same transaction.
"""
from __future__ import annotations

import json

from mockserver.machinery import clock, tokens
from mockserver.copernica import databases, field_types, profile_search, profiles
from mockserver.machinery.errors import InvalidRequest, NotFound
from mockserver.store import Store
from mockserver.copernica import tables as copernica_tables


def create_subprofile(store: Store, account_id: int, profile_id: int, collection_id: int,
                      fields: dict, source: str = "soap") -> dict:
    """Create a subprofile of a profile in a collection of the profile's database."""
    with store.transaction():
        profile = profiles.require_profile(store, account_id, profile_id)
        collection = databases.require_collection(store, account_id, collection_id)
        if collection["database_id"] != profile["database_id"]:
            raise InvalidRequest(f"Collection {collection_id} is not in the database of "
                                 f"profile {profile_id}.")
        defined = copernica_tables.fields_of(store, profile["database_id"], collection_id)
        values = profiles.checked_or_fault(fields, defined)
        now = clock.now(store)
        full = {f["name"]: values.get(f["name"], field_types.default_value(f, now))
                for f in defined}
        stamp = clock.stamp(now)
        sub_id = store.insert_row("subprofiles", {
            "collection_id": collection_id, "profile_id": profile_id,
            "code": tokens.new_token(store), "fields": full, "created": stamp, "modified": stamp})
        sub = profiles.get_subprofile(store, account_id, sub_id)
        profiles.record_subprofile(store, account_id, profile["database_id"], sub, "create",
                           dict(sub["fields"]), source)
        return sub


def _write_subprofile(store: Store, account_id: int, database_id: int, sub: dict,
                      values: dict, source: str) -> bool:
    changed = {k: v for k, v in values.items() if sub["fields"].get(k) != v}
    if not changed:
        return False
    store.update_row("subprofiles", sub["id"], {"fields": {**sub["fields"], **changed},
                                                "modified": clock.now_stamp(store)})
    after = profiles.get_subprofile(store, account_id, sub["id"])
    profiles.record_subprofile(store, account_id, database_id, after, "update", changed, source)
    return True


def update_subprofile_fields(store: Store, account_id: int, subprofile_id: int, fields: dict,
                             source: str = "soap") -> bool:
    """Change some field values of a subprofile; False (nothing changed) on a type violation."""
    with store.transaction():
        sub = profiles.require_subprofile(store, account_id, subprofile_id)
        collection = databases.require_collection(store, account_id, sub["collection_id"])
        values = profiles.checked_values(fields, copernica_tables.fields_of(store, collection["database_id"],
                                                  sub["collection_id"]))
        if values is None:
            return False
        _write_subprofile(store, account_id, collection["database_id"], sub, values, source)
        return True


def search_subprofiles(store: Store, account_id: int, collection_id: int | None,
                       profile_id: int | None, requirements: list[profile_search.Requirement],
                       order: str | None = None, asc: bool = True, start: int | None = None,
                       length: int | None = None) -> profile_search.Page:
    """Subprofiles of a collection and/or a profile meeting every requirement, ordered, paged.

    Without a collection, a profile's subprofiles of all collections are searched and
    only the ``id``/``code``/``created``/``modified`` requirements apply across them.
    """
    if profile_id is not None:
        profile = profiles.require_profile(store, account_id, profile_id)
        database_id = profile["database_id"]
    if collection_id is not None:
        collection = databases.require_collection(store, account_id, collection_id)
        database_id = collection["database_id"]
        if profile_id is not None and profile["database_id"] != database_id:
            raise InvalidRequest(f"Collection {collection_id} is not in the database of "
                                 f"profile {profile_id}.")
    rows = copernica_tables.subprofiles_of(store, collection_id=collection_id, profile_id=profile_id)
    defined_by: dict = {}
    subs = []
    for row in rows:
        if row["collection_id"] not in defined_by:
            defined_by[row["collection_id"]] = copernica_tables.fields_of(store, database_id, row["collection_id"])
        subs.append(profiles.subprofile_record(row, defined_by[row["collection_id"]]))
    defined = copernica_tables.fields_of(store, database_id, collection_id) if collection_id is not None else []
    found = profile_search.matching(subs, requirements, defined, order, asc)
    return profile_search.page_of(found, start, length)


def update_subprofiles(store: Store, account_id: int, profile_id: int, collection_id: int,
                       requirements: list[profile_search.Requirement], fields: dict,
                       create: bool = False, source: str = "soap") -> list[dict]:
    """Update a profile's matching subprofiles in a collection (or create one, with
    ``create``, when none matches); the subprofiles touched, after the change."""
    with store.transaction():
        found = search_subprofiles(store, account_id, collection_id, profile_id,
                                   requirements).items
        if not found:
            if not create:
                return []
            return [create_subprofile(store, account_id, profile_id, collection_id,
                                      profile_search.created_values(requirements, fields), source)]
        collection = databases.require_collection(store, account_id, collection_id)
        values = profiles.checked_or_fault(fields, copernica_tables.fields_of(store, collection["database_id"],
                                                           collection_id))
        for sub in found:
            _write_subprofile(store, account_id, collection["database_id"], sub, values, source)
        return [profiles.get_subprofile(store, account_id, s["id"]) for s in found]


def remove_subprofiles(store: Store, account_id: int, subprofile_ids: list[int],
                       collection_id: int | None = None, source: str = "soap") -> int:
    """Delete subprofiles of the account (only of ``collection_id`` when given); the count."""
    removed = 0
    with store.transaction():
        for sub_id in dict.fromkeys(subprofile_ids):
            row = copernica_tables.subprofile(store, account_id, sub_id)
            if row is None or (collection_id is not None and row["collection_id"] != collection_id):
                continue
            sub = profiles.get_subprofile(store, account_id, sub_id)
            store.delete_rows("subprofiles", [sub_id])
            profiles.record_subprofile(store, account_id, row["database_id"], sub, "delete", {},
                                       source)
            removed += 1
    return removed


def move_subprofile(store: Store, account_id: int, subprofile_id: int, profile_id: int,
                    source: str = "soap") -> None:
    """Give a subprofile to another profile of the same database."""
    with store.transaction():
        row = copernica_tables.subprofile(store, account_id, subprofile_id)
        if row is None:
            raise NotFound(f"Unknown subprofile {subprofile_id}.")
        target = profiles.require_profile(store, account_id, profile_id)
        if target["database_id"] != row["database_id"]:
            raise InvalidRequest(f"Profile {profile_id} is not in the database of subprofile "
                                 f"{subprofile_id}.")
        if row["profile_id"] == profile_id:
            return
        store.update_row("subprofiles", subprofile_id, {"profile_id": profile_id,
                                                        "modified": clock.now_stamp(store)})
        after = profiles.get_subprofile(store, account_id, subprofile_id)
        profiles.record_subprofile(store, account_id, row["database_id"], after, "update", {},
                                   source)


def update_collection_subprofiles(store: Store, account_id: int, collection_id: int,
                                  requirements: list[profile_search.Requirement], fields: dict,
                                  source: str = "soap") -> list[dict]:
    """Update every subprofile of a collection meeting the requirements (of any profile);
    the subprofiles touched, after the change. InvalidRequest on a value its type refuses."""
    with store.transaction():
        collection = databases.require_collection(store, account_id, collection_id)
        found = search_subprofiles(store, account_id, collection_id, None, requirements).items
        values = profiles.checked_or_fault(fields, copernica_tables.fields_of(store, collection["database_id"],
                                                                   collection_id))
        for sub in found:
            _write_subprofile(store, account_id, collection["database_id"], sub, values, source)
        return [profiles.get_subprofile(store, account_id, s["id"]) for s in found]


def update_subprofile(store: Store, account_id: int, subprofile_id: int,
                      code: str | None = None, source: str = "soap") -> dict:
    """Change a subprofile's code (unique in its collection; None: keep); the subprofile
    after. A change sets ``modified`` and reaches the callbacks as an update."""
    with store.transaction():
        sub = profiles.require_subprofile(store, account_id, subprofile_id)
        if code is None or code == sub["code"]:
            return sub
        other = copernica_tables.record_with_code(store, "subprofiles", sub["collection_id"],
                                       profiles.checked_code(code))
        if other is not None:
            raise InvalidRequest(f"Code '{code}' is already the code of subprofile {other}.")
        store.update_row("subprofiles", subprofile_id,
                         {"code": code, "modified": clock.now_stamp(store)})
        after = profiles.get_subprofile(store, account_id, subprofile_id)
        database_id = copernica_tables.subprofile(store, account_id, subprofile_id)["database_id"]
        profiles.record_subprofile(store, account_id, database_id, after, "update", {}, source)
        return after


# What SubProfile_move copies unless its options say otherwise (the vendor's defaults).
MOVE_OPTIONS = {"fields": 1, "code": 1, "ignoreempty": 0, "onlyempty": 0, "mailings": 1,
                "surveys": 1}


def move_into_subprofile(store: Store, account_id: int, subprofile_id: int, target_id: int,
                         options: dict | None = None, source: str = "soap") -> dict:
    """Merge a subprofile into another of its collection and remove it; the target after.

    ``options`` (name -> 0/1, ``MOVE_OPTIONS``): ``fields`` copies the values (``ignoreempty``:
    not the empty ones; ``onlyempty``: only into the target's empty ones), ``code`` gives the
    target the subprofile's code; ``mailings`` and ``surveys`` the mock has no data for. The
    target's change and the subprofile's removal reach the callbacks.
    """
    chosen = profiles.move_options(MOVE_OPTIONS, options)
    with store.transaction():
        sub = profiles.require_subprofile(store, account_id, subprofile_id)
        target = profiles.require_subprofile(store, account_id, target_id)
        if target["collection_id"] != sub["collection_id"]:
            raise InvalidRequest(f"Subprofile {target_id} is not in the collection of "
                                 f"subprofile {subprofile_id}.")
        if target_id == subprofile_id:
            raise InvalidRequest(f"Subprofile {subprofile_id} cannot be moved onto itself.")
        values = {name: value for name, value in
                  profiles.moved_values(sub["fields"], target["fields"], chosen).items()
                  if target["fields"].get(name) != value}
        row: dict = {"fields": {**target["fields"], **values}} if values else {}
        if chosen["code"] and target["code"] != sub["code"]:
            row["code"] = sub["code"]
        database_id = copernica_tables.subprofile(store, account_id, subprofile_id)["database_id"]
        if row:
            store.update_row("subprofiles", target_id,
                             {**row, "modified": clock.now_stamp(store)})
            after = profiles.get_subprofile(store, account_id, target_id)
            profiles.record_subprofile(store, account_id, database_id, after, "update", values,
                                       source)
        remove_subprofiles(store, account_id, [subprofile_id], source=source)
        return profiles.require_subprofile(store, account_id, target_id)


def unsubscribe_subprofile(store: Store, account_id: int, subprofile_id: int,
                           source: str = "soap") -> None:
    """Apply the collection's unsubscribe behaviour to a subprofile: ``nothing``; ``remove``
    (it is deleted); ``update`` (it gets the collection's unsubscribe values)."""
    with store.transaction():
        sub = profiles.require_subprofile(store, account_id, subprofile_id)
        collection = databases.require_collection(store, account_id, sub["collection_id"])
        behaviour = collection["unsubscribebehavior"]
        if behaviour == "remove":
            remove_subprofiles(store, account_id, [subprofile_id], source=source)
        elif behaviour == "update":
            values = profiles.checked_or_fault(
                json.loads(collection["unsubscribe_values"]),
                copernica_tables.fields_of(store, collection["database_id"], collection["id"]))
            _write_subprofile(store, account_id, collection["database_id"], sub, values, source)


def distinct_subprofiles(store: Store, account_id: int, collection_id: int, names: list[str],
                         order: str | None = None,
                         asc: bool = True) -> tuple[list[dict], list[str]]:
    """The collection's subprofiles, one per distinct combination of the named fields (see
    ``profile_search.distinct``), and the field names used."""
    collection = databases.require_collection(store, account_id, collection_id)
    defined = copernica_tables.fields_of(store, collection["database_id"], collection_id)
    subs = [profiles.subprofile_record(row, defined)
            for row in copernica_tables.subprofiles_of(store, collection_id=collection_id)]
    return profile_search.distinct(subs, names, defined, order, asc)
