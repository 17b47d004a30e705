"""Copernica profiles and subprofiles: create, read, search, update, upsert, move, remove.

A profile belongs to a database and holds a value for each of its fields and a 0/1 flag
for each of its interests; a subprofile belongs to a profile and one collection of the
profile's database. Values are checked against their field's type; names that are no
field are ignored in writes and skipped in searches. Every change is handed to the
callbacks in the same transaction. What a search's requirements match is ``profile_search``.
"""
from __future__ import annotations

import json
import re

from mockserver.machinery import clock, tokens
from mockserver.copernica import databases, field_types
from mockserver.copernica.databases import vendor_time
from mockserver.copernica.profile_search import (Page, Requirement, created_values, distinct,
                                                 equalities, matching, page_of)
from mockserver.machinery.errors import InvalidRequest, NotFound
from mockserver.store import Store
from mockserver.machinery.addresses import is_valid_address
from mockserver.copernica import tables as copernica_tables


def flag(value) -> int:
    """An interest value as 0 or 1 (``1``, ``true``, ``yes``, ``on`` are 1)."""
    return 1 if str(value).strip().lower() in ("1", "true", "yes", "on") else 0


# -- reading --------------------------------------------------------------------------


def _filled(fields: dict, defined: list[dict]) -> dict:
    """Stored values in the order of the defined fields (missing ones as the type's empty)."""
    out = {}
    for f in defined:
        if f["name"] in fields:
            out[f["name"]] = fields[f["name"]]
        elif f["type"] == "date":
            out[f["name"]] = field_types.EMPTY_DATE
        elif f["type"] == "datetime":
            out[f["name"]] = field_types.EMPTY_DATETIME
        else:
            out[f["name"]] = field_types.default_value(f, clock.now())
    return out


def _profile(row: dict, defined: list[dict], interest_names: list[str]) -> dict:
    stored = json.loads(row["interests"])
    return {"id": row["id"], "database_id": row["database_id"], "code": row["code"],
            "extra": row["extra"],
            "created": vendor_time(row["created"]), "modified": vendor_time(row["modified"]),
            "fields": _filled(json.loads(row["fields"]), defined),
            "interests": {n: int(stored.get(n, 0)) for n in interest_names}}


def subprofile_record(row: dict, defined: list[dict]) -> dict:
    """A subprofile row read in full (vendor times, values in field order)."""
    return {"id": row["id"], "profile_id": row["profile_id"],
            "collection_id": row["collection_id"], "code": row["code"],
            "created": vendor_time(row["created"]), "modified": vendor_time(row["modified"]),
            "fields": _filled(json.loads(row["fields"]), defined)}


def _interest_names(store: Store, database_id: int) -> list[str]:
    return [i["name"] for i in copernica_tables.interests_of(store, database_id)]


def get_profile(store: Store, account_id: int, profile_id: int) -> dict | None:
    """A profile of the account with its fields and interests, or None."""
    row = copernica_tables.profile(store, account_id, profile_id)
    if row is None:
        return None
    return _profile(row, copernica_tables.fields_of(store, row["database_id"], None),
                    _interest_names(store, row["database_id"]))


def require_profile(store: Store, account_id: int, profile_id: int) -> dict:
    """The account's profile with this id; NotFound otherwise."""
    profile = get_profile(store, account_id, profile_id)
    if profile is None:
        raise NotFound(f"Unknown profile {profile_id}.")
    return profile


def get_subprofile(store: Store, account_id: int, subprofile_id: int) -> dict | None:
    """A subprofile of the account with its fields, or None."""
    row = copernica_tables.subprofile(store, account_id, subprofile_id)
    if row is None:
        return None
    return subprofile_record(row, copernica_tables.fields_of(store, row["database_id"], row["collection_id"]))


def require_subprofile(store: Store, account_id: int, subprofile_id: int) -> dict:
    """The account's subprofile with this id; NotFound otherwise."""
    sub = get_subprofile(store, account_id, subprofile_id)
    if sub is None:
        raise NotFound(f"Unknown subprofile {subprofile_id}.")
    return sub


# -- values --------------------------------------------------------------------------


def checked_values(values: dict, defined: list[dict]) -> dict | None:
    """Values for known fields, by their defined names and checked; None on a type violation.

    Unknown names are ignored; names match case-insensitively.
    """
    by_name = {f["name"].lower(): f for f in defined}
    out = {}
    for name, value in values.items():
        f = by_name.get(str(name).strip().lower())
        if f is None:
            continue
        checked = field_types.check_value(f, value)
        if checked is None:
            return None
        out[f["name"]] = checked
    return out


def checked_or_fault(values: dict, defined: list[dict]) -> dict:
    """``checked_values``, with an InvalidRequest naming the first value its type refuses."""
    out = checked_values(values, defined)
    if out is None:
        by_name = {f["name"].lower(): f for f in defined}
        for name, value in values.items():
            f = by_name.get(str(name).strip().lower())
            if f is not None and field_types.check_value(f, value) is None:
                raise InvalidRequest(f"Value '{value}' is not valid for field '{f['name']}' "
                                     f"of type {f['type']}.")
    return out


def _interest_values(values: dict, names: list[str]) -> dict:
    by_name = {n.lower(): n for n in names}
    return {by_name[str(k).strip().lower()]: flag(v) for k, v in values.items()
            if str(k).strip().lower() in by_name}


def _record(store: Store, **change) -> None:
    """Hand one change to the callbacks (a no-op until mockserver.copernica.callbacks exists)."""
    try:
        from mockserver.copernica import callbacks
    except ModuleNotFoundError as error:
        if error.name != "mockserver.copernica.callbacks":
            raise
        return
    callbacks.record_change(store, **change)


def _record_profile(store, account_id, profile, action, changed, source) -> None:
    _record(store, account_id=account_id, database_id=profile["database_id"],
            collection_id=None, kind="profile", record_id=profile["id"], action=action,
            fields=dict(profile["fields"]), changed=changed,
            interests=dict(profile["interests"]), source=source)


def record_subprofile(store, account_id, database_id, sub, action, changed, source) -> None:
    """Hand a subprofile's change to the callbacks."""
    _record(store, account_id=account_id, database_id=database_id,
            collection_id=sub["collection_id"], kind="subprofile", record_id=sub["id"],
            action=action, fields=dict(sub["fields"]), changed=changed, interests={},
            source=source)


# -- profiles -------------------------------------------------------------------------


def create_profile(store: Store, account_id: int, database_id: int, fields: dict,
                   interests: dict | None = None, source: str = "soap") -> dict:
    """Create a profile; fields not given get their defaults. InvalidRequest on a bad value."""
    with store.transaction():
        databases.require_database(store, account_id, database_id)
        defined = copernica_tables.fields_of(store, database_id, None)
        names = _interest_names(store, database_id)
        values = checked_or_fault(fields, defined)
        now = clock.now(store)
        full = {f["name"]: values.get(f["name"], field_types.default_value(f, now))
                for f in defined}
        flags = {n: 1 for n, v in _interest_values(interests or {}, names).items() if v}
        stamp = clock.stamp(now)
        profile_id = store.insert_row("profiles", {
            "database_id": database_id, "code": tokens.new_token(store), "fields": full,
            "interests": flags, "created": stamp, "modified": stamp})
        profile = get_profile(store, account_id, profile_id)
        _record_profile(store, account_id, profile, "create", dict(profile["fields"]), source)
        return profile


def _write_profile(store: Store, account_id: int, profile: dict, values: dict,
                   interests: dict | None, source: str, replace_interests: bool = False) -> bool:
    """Apply checked values and interest flags; True when something changed."""
    changed = {k: v for k, v in values.items() if profile["fields"].get(k) != v}
    new_interests = dict(profile["interests"])
    if replace_interests:
        new_interests = {n: 0 for n in new_interests}
    new_interests.update(interests or {})
    if not changed and new_interests == profile["interests"]:
        return False
    fields = {**profile["fields"], **changed}
    store.update_row("profiles", profile["id"], {
        "fields": fields, "interests": {n: 1 for n, v in new_interests.items() if v},
        "modified": clock.now_stamp(store)})
    after = get_profile(store, account_id, profile["id"])
    _record_profile(store, account_id, after, "update", changed, source)
    return True


def update_fields(store: Store, account_id: int, profile_id: int, fields: dict,
                  source: str = "soap") -> bool:
    """Change some field values of a profile; False (nothing changed) on a type violation."""
    with store.transaction():
        profile = require_profile(store, account_id, profile_id)
        values = checked_values(fields, copernica_tables.fields_of(store, profile["database_id"], None))
        if values is None:
            return False
        _write_profile(store, account_id, profile, values, None, source)
        return True


def update_interests(store: Store, account_id: int, profile_id: int, interests: dict,
                     replace: bool = False, source: str = "soap") -> dict:
    """Set interest flags of a profile (``replace``: the others become 0); its interests after."""
    with store.transaction():
        profile = require_profile(store, account_id, profile_id)
        flags = _interest_values(interests, list(profile["interests"]))
        _write_profile(store, account_id, profile, {}, flags, source, replace_interests=replace)
        return require_profile(store, account_id, profile_id)["interests"]


def distinct_profiles(store: Store, account_id: int, database_id: int, names: list[str],
                      order: str | None = None, asc: bool = True) -> tuple[list[dict], list[str]]:
    """The database's profiles, one per distinct combination of the named fields (see
    ``distinct``), and the field names used."""
    databases.require_database(store, account_id, database_id)
    return distinct(all_profiles(store, database_id), names, copernica_tables.fields_of(store, database_id, None),
                    order, asc)


def all_profiles(store: Store, database_id: int) -> list[dict]:
    """Every profile of a database, read in full, by id."""
    defined = copernica_tables.fields_of(store, database_id, None)
    names = _interest_names(store, database_id)
    return [_profile(row, defined, names) for row in copernica_tables.profiles_of(store, database_id)]


def _found(store: Store, database_id: int, requirements: list[Requirement],
           defined: list[dict], order: str | None, asc: bool) -> list[dict]:
    """The rows of the database's profiles meeting every requirement, ordered.

    A search reads every profile's fields, but formats the times of a profile (``created``
    and ``modified``, half the cost of reading it in full) and reads its interests only where
    a requirement or the order names them, or once it is found (``_profile``)."""
    asked = {(name or "").strip().lower() for name in [r.fieldname for r in requirements]
             + [order]}
    timed = asked & {"created", "modified"}
    records = []
    for row in copernica_tables.profiles_of(store, database_id,
                                            equalities(requirements, defined)):
        record = {"id": row["id"], "code": row["code"], "row": row,
                  "fields": _filled(json.loads(row["fields"]), defined)}
        for name in timed:
            record[name] = vendor_time(row[name])
        records.append(record)
    return [r["row"] for r in matching(records, requirements, defined, order, asc)]


def search_profiles(store: Store, account_id: int, database_id: int,
                    requirements: list[Requirement], order: str | None = None, asc: bool = True,
                    start: int | None = None, length: int | None = None) -> Page:
    """The database's profiles meeting every requirement, ordered and paged."""
    databases.require_database(store, account_id, database_id)
    defined = copernica_tables.fields_of(store, database_id, None)
    page = page_of(_found(store, database_id, requirements, defined, order, asc), start, length)
    names = _interest_names(store, database_id)
    page.items = [_profile(row, defined, names) for row in page.items]
    return page


def update_profiles(store: Store, account_id: int, database_id: int,
                    requirements: list[Requirement], fields: dict, interests: dict | None = None,
                    create: bool = False, source: str = "soap") -> list[dict]:
    """Update every matching profile (or, with ``create``, make one when none matches);
    the profiles touched, after the change."""
    with store.transaction():
        databases.require_database(store, account_id, database_id)
        defined = copernica_tables.fields_of(store, database_id, None)
        names = _interest_names(store, database_id)
        found = [_profile(row, defined, names)
                 for row in _found(store, database_id, requirements, defined, None, True)]
        if not found:
            if not create:
                return []
            return [create_profile(store, account_id, database_id,
                                   created_values(requirements, fields), interests, source)]
        values = checked_or_fault(fields, defined)
        flags = _interest_values(interests or {}, names)
        for profile in found:
            _write_profile(store, account_id, profile, values, flags, source)
        return [get_profile(store, account_id, p["id"]) for p in found]


def remove_profiles(store: Store, account_id: int, profile_ids: list[int],
                    source: str = "soap") -> int:
    """Delete profiles of the account (and their subprofiles); how many were deleted.

    Ids of no profile of the account are passed over.
    """
    removed = 0
    with store.transaction():
        for profile_id in dict.fromkeys(profile_ids):
            profile = get_profile(store, account_id, profile_id)
            if profile is None:
                continue
            for row in copernica_tables.subprofiles_of(store, profile_id=profile_id):
                sub = get_subprofile(store, account_id, row["id"])
                store.delete_rows("subprofiles", [sub["id"]])
                record_subprofile(store, account_id, profile["database_id"], sub, "delete", {},
                                   source)
            store.delete_rows("profiles", [profile_id])
            _record_profile(store, account_id, profile, "delete", {}, source)
            removed += 1
    return removed


# What Profile_move copies unless its options say otherwise (the vendor's defaults).
MOVE_OPTIONS = {"fields": 1, "interests": 1, "extra": 1, "code": 1, "ignoreempty": 0,
                "onlyempty": 0, "subprofiles": 1, "contacts": 1, "mailings": 1, "files": 1,
                "surveys": 1}
EMPTY_VALUES = ("", field_types.EMPTY_DATE, field_types.EMPTY_DATETIME)


def move_options(defaults: dict, options: dict | None) -> dict:
    """A move's options (name -> 0/1) over its defaults; names the move lacks are ignored."""
    chosen = dict(defaults)
    for name, value in (options or {}).items():
        if str(name).strip().lower() in chosen:
            chosen[str(name).strip().lower()] = flag(value)
    return chosen


def moved_values(fields: dict, target_fields: dict, chosen: dict) -> dict:
    """The values a move copies into the target (``fields``, ``ignoreempty``, ``onlyempty``)."""
    if not chosen["fields"]:
        return {}
    return {name: value for name, value in fields.items()
            if not (chosen["ignoreempty"] and value in EMPTY_VALUES)
            and not (chosen["onlyempty"] and target_fields.get(name) not in EMPTY_VALUES)}


def move_profile(store: Store, account_id: int, profile_id: int, target_id: int,
                 options: dict | None = None, source: str = "soap") -> dict:
    """Merge a profile into another of its database and remove it; the target after.

    ``options`` (name -> 0/1, ``MOVE_OPTIONS``): ``fields`` copies the values (``ignoreempty``:
    not the empty ones; ``onlyempty``: only into the target's empty ones), ``interests`` adds
    the profile's interests to the target's, ``code`` and ``extra`` give the target the
    profile's code and extra data, ``subprofiles`` gives the target its subprofiles and
    ``contacts`` its contacts (else they go with it). The rest the mock has no data for. The
    target's change and the profile's removal reach the callbacks.
    """
    chosen = move_options(MOVE_OPTIONS, options)
    with store.transaction():
        profile = require_profile(store, account_id, profile_id)
        target = require_profile(store, account_id, target_id)
        if target["database_id"] != profile["database_id"]:
            raise InvalidRequest(f"Profile {target_id} is not in the database of profile "
                                 f"{profile_id}.")
        if target_id == profile_id:
            raise InvalidRequest(f"Profile {profile_id} cannot be moved onto itself.")
        values = moved_values(profile["fields"], target["fields"], chosen)
        flags = {n: 1 for n, v in profile["interests"].items() if v} if chosen["interests"] else {}
        _write_profile(store, account_id, target, values, flags, source)
        taken = {key: profile[key] for key in ("code", "extra")
                 if chosen[key] and target[key] != profile[key]}
        if taken:
            store.update_row("profiles", target_id, taken)
        if chosen["subprofiles"]:
            for row in copernica_tables.subprofiles_of(store, profile_id=profile_id):
                store.update_row("subprofiles", row["id"], {"profile_id": target_id})
                record_subprofile(store, account_id, profile["database_id"],
                                  get_subprofile(store, account_id, row["id"]), "update", {},
                                  source)
        if chosen["contacts"]:
            copernica_tables.move_contacts(store, profile_id, target_id)
        remove_profiles(store, account_id, [profile_id], source)
        return require_profile(store, account_id, target_id)


def set_interest(store: Store, account_id: int, profile_id: int, interest: str, value: bool,
                 source: str = "soap") -> bool:
    """Switch one interest of a profile on or off; False (nothing changed) when the database
    has no interest of that name."""
    with store.transaction():
        profile = require_profile(store, account_id, profile_id)
        flags = _interest_values({interest: int(bool(value))}, list(profile["interests"]))
        if not flags:
            return False
        _write_profile(store, account_id, profile, {}, flags, source)
        return True


# -- one profile's properties -----------------------------------------------------------

_CODE = re.compile(r"\S{1,255}\Z")


def checked_code(code: str) -> str:
    """A new code of a (sub)profile: 1 to 255 characters without spaces; InvalidRequest
    otherwise."""
    if not _CODE.match(code or ""):
        raise InvalidRequest(f"Invalid code '{code}': a code is 1 to 255 characters without "
                             f"spaces.")
    return code


def update_profile(store: Store, account_id: int, profile_id: int, code: str | None = None,
                   extra: str | None = None, source: str = "soap") -> dict:
    """Change a profile's code (unique in its database) or extra data (None: keep); the
    profile after. A change sets ``modified`` and reaches the callbacks as an update."""
    with store.transaction():
        profile = require_profile(store, account_id, profile_id)
        row = {}
        if code is not None and code != profile["code"]:
            other = copernica_tables.record_with_code(store, "profiles", profile["database_id"], checked_code(code))
            if other is not None:
                raise InvalidRequest(f"Code '{code}' is already the code of profile {other}.")
            row["code"] = code
        if extra is not None and extra != profile["extra"]:
            row["extra"] = extra
        if not row:
            return profile
        store.update_row("profiles", profile_id, {**row, "modified": clock.now_stamp(store)})
        after = require_profile(store, account_id, profile_id)
        _record_profile(store, account_id, after, "update", {}, source)
        return after


def field_value(store: Store, record: dict, database_id: int, collection_id: int | None,
                identifier: str) -> str:
    """A (sub)profile's value of the field named ``identifier`` (or with it as id);
    NotFound when there is no such field."""
    field = databases.find_field(store, database_id, collection_id, identifier)
    if field is None:
        raise NotFound(f"Unknown field '{identifier}'.")
    return record["fields"][field["name"]]


def interest_value(store: Store, profile: dict, identifier: str) -> int:
    """A profile's 0/1 of the interest named ``identifier`` (or with it as id); NotFound
    when the database has no such interest."""
    text = (identifier or "").strip()
    for interest in copernica_tables.interests_of(store, profile["database_id"]):
        if interest["name"].lower() == text.lower() or str(interest["id"]) == text:
            return profile["interests"][interest["name"]]
    raise NotFound(f"Unknown interest '{identifier}'.")


def displayed_values(store: Store, record: dict, database_id: int,
                     collection_id: int | None) -> dict:
    """A (sub)profile's values of the fields marked ``displayed``, in field order."""
    return {f["name"]: record["fields"][f["name"]]
            for f in databases.displayed_fields(store, database_id, collection_id)}


def email_address_state(store: Store, record: dict, database_id: int,
                        collection_id: int | None) -> str:
    """Whether the (sub)profile's e-mail field holds a valid address: ``yes`` or ``no``;
    ``invalid_type`` when its database (collection) has no field of type ``email``. The mock
    checks at once, so it never answers ``busy`` or ``unknown``."""
    for f in copernica_tables.fields_of(store, database_id, collection_id):
        if f["type"] == "email":
            value = record["fields"][f["name"]].strip()
            return "yes" if value and is_valid_address(value) else "no"
    return "invalid_type"


def unsubscribe_profile(store: Store, account_id: int, profile_id: int,
                        source: str = "soap") -> None:
    """Apply the database's unsubscribe behaviour to a profile: ``nothing``; ``remove`` (it
    and its subprofiles are deleted); ``update`` (it gets the unsubscribe values)."""
    with store.transaction():
        profile = require_profile(store, account_id, profile_id)
        database = databases.require_database(store, account_id, profile["database_id"])
        behaviour = database["unsubscribebehavior"]
        if behaviour == "remove":
            remove_profiles(store, account_id, [profile_id], source)
        elif behaviour == "update":
            values = checked_or_fault(json.loads(database["unsubscribe_values"]),
                                      copernica_tables.fields_of(store, profile["database_id"], None))
            _write_profile(store, account_id, profile, values, None, source)
