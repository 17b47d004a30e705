"""Copernica handlers of the Collection and CollectionField objects: wire values in, domain
calls, one ``Result`` out."""
from __future__ import annotations

from mockserver import databases, profiles, subprofiles
from mockserver.copernica import values as v


def _coll(call: v.Call, p) -> dict:
    return databases.require_collection(call.store, call.account_id, p.id)


def collection_retrieve(call: v.Call, p):
    """The collection."""
    return v.entity("collection", v.collection(call, _coll(call, p)))


def collection_create_field(call: v.Call, p):
    """Add a collection field."""
    c = _coll(call, p)
    return v.entity("collectionfield", v.field(databases.create_field(
        call.store, call.account_id, c["database_id"], c["id"], v.field_spec(p)),
        "CollectionField"))


def collection_field(call: v.Call, p):
    """A collection field by name or id, or 0."""
    c = _coll(call, p)
    row = databases.find_field(call.store, c["database_id"], c["id"], p.identifier)
    return v.entity("collectionfield", row and v.field(row, "CollectionField"))


def collection_fields(call: v.Call, p):
    """The collection's fields."""
    c = _coll(call, p)
    return v.listing("collectionfield", v.whole(
        [v.field(r, "CollectionField") for r in databases.fields(call.store, c["database_id"],
                                                                  c["id"])], p))


def collection_field_update(call: v.Call, p):
    """Change a collection field's properties (absent: kept)."""
    databases.update_field(call.store, call.account_id, p.id, True, v.field_changes(p))
    return v.value(True)


def collection_sub_profile(call: v.Call, p):
    """A subprofile of the collection by id, or 0."""
    c = _coll(call, p)
    sub = profiles.get_subprofile(call.store, call.account_id, p.identifier)
    if sub is not None and sub["collection_id"] != c["id"]:
        sub = None
    return v.entity("subprofile", sub and v.subprofile(sub))


def collection_search_sub_profiles(call: v.Call, p):
    """Subprofiles of the collection meeting every requirement."""
    page = subprofiles.search_subprofiles(call.store, call.account_id, p.id, None,
                                       v.requirements(p.requirements), p.order, v.asc(p),
                                       p.start, p.length)
    page.items = [v.subprofile(x, v.full(p)) for x in page.items]
    return v.listing("subprofile", page, v.full(p))


def collection_sub_profiles(call: v.Call, p):
    """The collection's subprofiles, ordered by ``order``."""
    page = subprofiles.search_subprofiles(call.store, call.account_id, p.id, None, [], p.order,
                                          v.asc(p), p.start, p.length)
    page.items = [v.subprofile(x, v.full(p)) for x in page.items]
    return v.listing("subprofile", page, v.full(p))


def collection_update_sub_profiles(call: v.Call, p):
    """Update every subprofile of the collection meeting the requirements."""
    touched = subprofiles.update_collection_subprofiles(
        call.store, call.account_id, p.id, v.requirements(p.requirements), v.pairs(p.fields))
    return v.listing("subprofile", v.whole([v.subprofile(x, v.full(p)) for x in touched], p),
                     v.full(p))


def collection_remove_sub_profiles(call: v.Call, p):
    """Delete subprofiles of the collection by id (``completely`` or not: the mock keeps
    nothing of them)."""
    _coll(call, p)
    subprofiles.remove_subprofiles(call.store, call.account_id, v.ids(p.ids), collection_id=p.id)
    return v.value(True)


def collection_remove(call: v.Call, p):
    """Delete the collection with its fields and subprofiles."""
    databases.remove_collection(call.store, call.account_id, p.id)
    return v.value(True)
