"""Copernica's Database_copy: a database's structure, and on request its profiles and
subprofiles, copied into a new database of the same account.
"""
from __future__ import annotations

from mockserver.machinery import clock, tokens
from mockserver.machinery.errors import InvalidRequest
from mockserver.store import Store
from mockserver.copernica import tables as copernica_tables
from mockserver.copernica.databases import create_database, require_database

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

