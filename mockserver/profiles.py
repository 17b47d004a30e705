"""Copernica profiles and subprofiles: create, read, search, update, upsert, move, remove.

A profile belongs to a database and holds a value for each of its fields and a 0/1 flag
for each of its interests; a subprofile belongs to a profile and one collection of the
profile's database. Values are checked against their field's type; names that are no
field are ignored in writes and skipped in searches. Every change is handed to the
callbacks in the same transaction.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from mockserver import clock, databases, tokens
from mockserver.databases import vendor_time
from mockserver.errors import InvalidRequest, NotFound
from mockserver.store import Store

OPERATORS = ("=", "==", "!=", "<>", "<", ">", "<=", ">=", "=~", "!~")
PSEUDO_FIELDS = ("id", "code", "created", "modified")


@dataclass
class Requirement:
    """A search condition: ``fieldname operator value`` (case-insensitive unless asked)."""

    fieldname: str
    value: str = ""
    operator: str = "="
    casesensitive: bool = False


@dataclass
class Page:
    """One page of a search: the records and how many matched in all."""

    start: int
    total: int
    items: list


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
            out[f["name"]] = databases.EMPTY_DATE
        elif f["type"] == "datetime":
            out[f["name"]] = databases.EMPTY_DATETIME
        else:
            out[f["name"]] = databases.default_value(f, clock.now())
    return out


def _profile(row: dict, defined: list[dict], interest_names: list[str]) -> dict:
    stored = json.loads(row["interests"])
    return {"id": row["id"], "database_id": row["database_id"], "code": row["code"],
            "created": vendor_time(row["created"]), "modified": vendor_time(row["modified"]),
            "fields": _filled(json.loads(row["fields"]), defined),
            "interests": {n: int(stored.get(n, 0)) for n in interest_names}}


def _subprofile(row: dict, defined: list[dict]) -> dict:
    return {"id": row["id"], "profile_id": row["profile_id"],
            "collection_id": row["collection_id"], "code": row["code"],
            "created": vendor_time(row["created"]), "modified": vendor_time(row["modified"]),
            "fields": _filled(json.loads(row["fields"]), defined)}


def _interest_names(store: Store, database_id: int) -> list[str]:
    return [i["name"] for i in store.interests_of(database_id)]


def get_profile(store: Store, account_id: int, profile_id: int) -> dict | None:
    """A profile of the account with its fields and interests, or None."""
    row = store.profile(account_id, profile_id)
    if row is None:
        return None
    return _profile(row, store.fields_of(row["database_id"], None),
                    _interest_names(store, row["database_id"]))


def require_profile(store: Store, account_id: int, profile_id: int) -> dict:
    """The account's profile with this id; NotFound otherwise."""
    profile = get_profile(store, account_id, profile_id)
    if profile is None:
        raise NotFound(f"Unknown profile {profile_id}.")
    return profile


def get_subprofile(store: Store, account_id: int, subprofile_id: int) -> dict | None:
    """A subprofile of the account with its fields, or None."""
    row = store.subprofile(account_id, subprofile_id)
    if row is None:
        return None
    return _subprofile(row, store.fields_of(row["database_id"], row["collection_id"]))


def require_subprofile(store: Store, account_id: int, subprofile_id: int) -> dict:
    """The account's subprofile with this id; NotFound otherwise."""
    sub = get_subprofile(store, account_id, subprofile_id)
    if sub is None:
        raise NotFound(f"Unknown subprofile {subprofile_id}.")
    return sub


# -- values --------------------------------------------------------------------------


def _checked(values: dict, defined: list[dict]) -> dict | None:
    """Values for known fields, by their defined names and checked; None on a type violation.

    Unknown names are ignored; names match case-insensitively.
    """
    by_name = {f["name"].lower(): f for f in defined}
    out = {}
    for name, value in values.items():
        f = by_name.get(str(name).strip().lower())
        if f is None:
            continue
        checked = databases.check_value(f, value)
        if checked is None:
            return None
        out[f["name"]] = checked
    return out


def _checked_or_fault(values: dict, defined: list[dict]) -> dict:
    out = _checked(values, defined)
    if out is None:
        by_name = {f["name"].lower(): f for f in defined}
        for name, value in values.items():
            f = by_name.get(str(name).strip().lower())
            if f is not None and databases.check_value(f, value) is None:
                raise InvalidRequest(f"Value '{value}' is not valid for field '{f['name']}' "
                                     f"of type {f['type']}.")
    return out


def _interest_values(values: dict, names: list[str]) -> dict:
    by_name = {n.lower(): n for n in names}
    return {by_name[str(k).strip().lower()]: flag(v) for k, v in values.items()
            if str(k).strip().lower() in by_name}


def _record(store: Store, **change) -> None:
    """Hand one change to the callbacks (a no-op until mockserver.callbacks exists)."""
    try:
        from mockserver import callbacks
    except ModuleNotFoundError as error:
        if error.name != "mockserver.callbacks":
            raise
        return
    callbacks.record_change(store, **change)


def _record_profile(store, account_id, profile, action, changed, source) -> None:
    _record(store, account_id=account_id, database_id=profile["database_id"],
            collection_id=None, kind="profile", record_id=profile["id"], action=action,
            fields=dict(profile["fields"]), changed=changed,
            interests=dict(profile["interests"]), source=source)


def _record_subprofile(store, account_id, database_id, sub, action, changed, source) -> None:
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
        defined = store.fields_of(database_id, None)
        names = _interest_names(store, database_id)
        values = _checked_or_fault(fields, defined)
        now = clock.now(store)
        full = {f["name"]: values.get(f["name"], databases.default_value(f, now))
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
        values = _checked(fields, store.fields_of(profile["database_id"], None))
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


def _matching(records: list[dict], requirements: list[Requirement], defined: list[dict],
              order: str | None, asc: bool) -> list[dict]:
    types = {f["name"].lower(): (f["name"], f["type"]) for f in defined}
    checks = []
    for req in requirements:
        operator = (req.operator or "=").strip()
        if operator not in OPERATORS:
            raise InvalidRequest(f"Unknown operator '{req.operator}': expected one of "
                                 f"=, !=, <>, <, >, <=, >=, =~, !~.")
        name = (req.fieldname or "").strip().lower()
        if name in types:
            checks.append((types[name][0], types[name][1], False, operator, req))
        elif name in PSEUDO_FIELDS:
            checks.append((name, "integer" if name == "id" else "text", True, operator, req))
        # a requirement naming no field is skipped, as the vendor does
    found = [r for r in records
             if all(_compare(r[n] if pseudo else r["fields"].get(n, ""), kind, op, req)
                    for n, kind, pseudo, op, req in checks)]
    found.sort(key=lambda r: r["id"])
    key = (order or "").strip().lower()
    if key in types:
        name, kind = types[key]
        found.sort(key=lambda r: _sort_key(r["fields"].get(name, ""), kind), reverse=not asc)
    elif key in PSEUDO_FIELDS:
        found.sort(key=lambda r: _sort_key(r[key], "integer" if key == "id" else "text"),
                   reverse=not asc)
    elif not asc:
        found.reverse()
    return found


def _number(text) -> float | None:
    try:
        return float(str(text).strip())
    except ValueError:
        return None


def _sort_key(value, kind: str):
    if kind in ("integer", "float"):
        number = _number(value)
        return (0, number if number is not None else 0.0, "")
    return (1, 0.0, str(value).casefold())


def _like(pattern: str, casesensitive: bool) -> re.Pattern:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(regex, re.S if casesensitive else re.S | re.I)


def _compare(actual, kind: str, operator: str, req: Requirement) -> bool:
    actual, wanted = str(actual), "" if req.value is None else str(req.value)
    if operator in ("=~", "!~"):
        hit = _like(wanted, req.casesensitive).fullmatch(actual) is not None
        return hit if operator == "=~" else not hit
    left, right = actual, wanted
    if kind in ("integer", "float"):
        a, b = _number(actual), _number(wanted)
        if a is not None and b is not None:
            left, right = a, b
    if isinstance(left, str) and not req.casesensitive:
        left, right = left.casefold(), right.casefold()
    if operator in ("=", "=="):
        return left == right
    if operator in ("!=", "<>"):
        return left != right
    try:
        return {"<": left < right, ">": left > right, "<=": left <= right,
                ">=": left >= right}[operator]
    except TypeError:
        return False


def _page(found: list, start: int | None, length: int | None) -> Page:
    start = max(0, start or 0)
    items = found[start:] if length is None else found[start:start + max(0, length)]
    return Page(start=start, total=len(found), items=items)


def all_profiles(store: Store, database_id: int) -> list[dict]:
    """Every profile of a database, read in full, by id."""
    defined = store.fields_of(database_id, None)
    names = _interest_names(store, database_id)
    return [_profile(row, defined, names) for row in store.profiles_of(database_id)]


def search_profiles(store: Store, account_id: int, database_id: int,
                    requirements: list[Requirement], order: str | None = None, asc: bool = True,
                    start: int | None = None, length: int | None = None) -> Page:
    """The database's profiles meeting every requirement, ordered and paged."""
    databases.require_database(store, account_id, database_id)
    found = _matching(all_profiles(store, database_id), requirements,
                      store.fields_of(database_id, None), order, asc)
    return _page(found, start, length)


def _created_values(requirements: list[Requirement], fields: dict) -> dict:
    """What an upsert creates: the ``=`` requirements' values, then the fields given."""
    values = {r.fieldname: r.value for r in requirements
              if (r.operator or "=").strip() in ("=", "==") and r.fieldname}
    values.update(fields)
    return values


def update_profiles(store: Store, account_id: int, database_id: int,
                    requirements: list[Requirement], fields: dict, interests: dict | None = None,
                    create: bool = False, source: str = "soap") -> list[dict]:
    """Update every matching profile (or, with ``create``, make one when none matches);
    the profiles touched, after the change."""
    with store.transaction():
        databases.require_database(store, account_id, database_id)
        defined = store.fields_of(database_id, None)
        found = _matching(all_profiles(store, database_id), requirements, defined, None, True)
        if not found:
            if not create:
                return []
            return [create_profile(store, account_id, database_id,
                                   _created_values(requirements, fields), interests, source)]
        values = _checked_or_fault(fields, defined)
        flags = _interest_values(interests or {}, _interest_names(store, database_id))
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
            for row in store.subprofiles_of(profile_id=profile_id):
                sub = get_subprofile(store, account_id, row["id"])
                store.delete_rows("subprofiles", [sub["id"]])
                _record_subprofile(store, account_id, profile["database_id"], sub, "delete", {},
                                   source)
            store.delete_rows("profiles", [profile_id])
            _record_profile(store, account_id, profile, "delete", {}, source)
            removed += 1
    return removed


# -- subprofiles ----------------------------------------------------------------------


def create_subprofile(store: Store, account_id: int, profile_id: int, collection_id: int,
                      fields: dict, source: str = "soap") -> dict:
    """Create a subprofile of a profile in a collection of the profile's database."""
    with store.transaction():
        profile = require_profile(store, account_id, profile_id)
        collection = databases.require_collection(store, account_id, collection_id)
        if collection["database_id"] != profile["database_id"]:
            raise InvalidRequest(f"Collection {collection_id} is not in the database of "
                                 f"profile {profile_id}.")
        defined = store.fields_of(profile["database_id"], collection_id)
        values = _checked_or_fault(fields, defined)
        now = clock.now(store)
        full = {f["name"]: values.get(f["name"], databases.default_value(f, now))
                for f in defined}
        stamp = clock.stamp(now)
        sub_id = store.insert_row("subprofiles", {
            "collection_id": collection_id, "profile_id": profile_id,
            "code": tokens.new_token(store), "fields": full, "created": stamp, "modified": stamp})
        sub = get_subprofile(store, account_id, sub_id)
        _record_subprofile(store, account_id, profile["database_id"], sub, "create",
                           dict(sub["fields"]), source)
        return sub


def _write_subprofile(store: Store, account_id: int, database_id: int, sub: dict,
                      values: dict, source: str) -> bool:
    changed = {k: v for k, v in values.items() if sub["fields"].get(k) != v}
    if not changed:
        return False
    store.update_row("subprofiles", sub["id"], {"fields": {**sub["fields"], **changed},
                                                "modified": clock.now_stamp(store)})
    after = get_subprofile(store, account_id, sub["id"])
    _record_subprofile(store, account_id, database_id, after, "update", changed, source)
    return True


def update_subprofile_fields(store: Store, account_id: int, subprofile_id: int, fields: dict,
                             source: str = "soap") -> bool:
    """Change some field values of a subprofile; False (nothing changed) on a type violation."""
    with store.transaction():
        sub = require_subprofile(store, account_id, subprofile_id)
        collection = databases.require_collection(store, account_id, sub["collection_id"])
        values = _checked(fields, store.fields_of(collection["database_id"],
                                                  sub["collection_id"]))
        if values is None:
            return False
        _write_subprofile(store, account_id, collection["database_id"], sub, values, source)
        return True


def search_subprofiles(store: Store, account_id: int, collection_id: int | None,
                       profile_id: int | None, requirements: list[Requirement],
                       order: str | None = None, asc: bool = True, start: int | None = None,
                       length: int | None = None) -> Page:
    """Subprofiles of a collection and/or a profile meeting every requirement, ordered, paged.

    Without a collection, a profile's subprofiles of all collections are searched and
    only the ``id``/``code``/``created``/``modified`` requirements apply across them.
    """
    if profile_id is not None:
        profile = require_profile(store, account_id, profile_id)
        database_id = profile["database_id"]
    if collection_id is not None:
        collection = databases.require_collection(store, account_id, collection_id)
        database_id = collection["database_id"]
        if profile_id is not None and profile["database_id"] != database_id:
            raise InvalidRequest(f"Collection {collection_id} is not in the database of "
                                 f"profile {profile_id}.")
    rows = store.subprofiles_of(collection_id=collection_id, profile_id=profile_id)
    defined_by: dict = {}
    subs = []
    for row in rows:
        if row["collection_id"] not in defined_by:
            defined_by[row["collection_id"]] = store.fields_of(database_id, row["collection_id"])
        subs.append(_subprofile(row, defined_by[row["collection_id"]]))
    defined = store.fields_of(database_id, collection_id) if collection_id is not None else []
    return _page(_matching(subs, requirements, defined, order, asc), start, length)


def update_subprofiles(store: Store, account_id: int, profile_id: int, collection_id: int,
                       requirements: list[Requirement], fields: dict, create: bool = False,
                       source: str = "soap") -> list[dict]:
    """Update a profile's matching subprofiles in a collection (or create one, with
    ``create``, when none matches); the subprofiles touched, after the change."""
    with store.transaction():
        found = search_subprofiles(store, account_id, collection_id, profile_id,
                                   requirements).items
        if not found:
            if not create:
                return []
            return [create_subprofile(store, account_id, profile_id, collection_id,
                                      _created_values(requirements, fields), source)]
        collection = databases.require_collection(store, account_id, collection_id)
        values = _checked_or_fault(fields, store.fields_of(collection["database_id"],
                                                           collection_id))
        for sub in found:
            _write_subprofile(store, account_id, collection["database_id"], sub, values, source)
        return [get_subprofile(store, account_id, s["id"]) for s in found]


def remove_subprofiles(store: Store, account_id: int, subprofile_ids: list[int],
                       collection_id: int | None = None, source: str = "soap") -> int:
    """Delete subprofiles of the account (only of ``collection_id`` when given); the count."""
    removed = 0
    with store.transaction():
        for sub_id in dict.fromkeys(subprofile_ids):
            row = store.subprofile(account_id, sub_id)
            if row is None or (collection_id is not None and row["collection_id"] != collection_id):
                continue
            sub = get_subprofile(store, account_id, sub_id)
            store.delete_rows("subprofiles", [sub_id])
            _record_subprofile(store, account_id, row["database_id"], sub, "delete", {}, source)
            removed += 1
    return removed


def move_subprofile(store: Store, account_id: int, subprofile_id: int, profile_id: int,
                    source: str = "soap") -> None:
    """Give a subprofile to another profile of the same database."""
    with store.transaction():
        row = store.subprofile(account_id, subprofile_id)
        if row is None:
            raise NotFound(f"Unknown subprofile {subprofile_id}.")
        target = require_profile(store, account_id, profile_id)
        if target["database_id"] != row["database_id"]:
            raise InvalidRequest(f"Profile {profile_id} is not in the database of subprofile "
                                 f"{subprofile_id}.")
        if row["profile_id"] == profile_id:
            return
        store.update_row("subprofiles", subprofile_id, {"profile_id": profile_id,
                                                        "modified": clock.now_stamp(store)})
        after = get_subprofile(store, account_id, subprofile_id)
        _record_subprofile(store, account_id, row["database_id"], after, "update", {}, source)
