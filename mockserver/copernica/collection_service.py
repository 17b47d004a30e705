"""Copernica handlers of the Collection and CollectionField objects: wire values in, domain
calls, one ``Result`` out."""
from __future__ import annotations

from mockserver.copernica import databases, fields, profiles, subprofiles, unsubscribes
from mockserver.copernica import selections
from mockserver.copernica import values as v


def _coll(call: v.Call, p) -> dict:
    return databases.require_collection(call.store, call.account_id, p.id)


def collection_retrieve(call: v.Call, p):
    """The collection."""
    return v.entity("collection", v.collection(call, _coll(call, p)))


def collection_create_field(call: v.Call, p):
    """Add a collection field."""
    c = _coll(call, p)
    return v.entity("collectionfield", v.field(fields.create_field(
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
    fields.update_field(call.store, call.account_id, p.id, True, v.field_changes(p))
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


def collection_update(call: v.Call, p):
    """Change name, weight or unsubscribe behaviour (absent: kept)."""
    databases.update_collection(call.store, call.account_id, p.id, p.name, p.weight,
                                p.unsubscribebehavior)
    return v.value(True)


def collection_database(call: v.Call, p):
    """The database the collection belongs to."""
    c = _coll(call, p)
    return v.entity("database", v.database(call, databases.require_database(
        call.store, call.account_id, c["database_id"])))


def collection_collection(call: v.Call, p):
    """The collection itself."""
    return v.entity("collection", v.collection(call, _coll(call, p)))


def collection_count_distinct_sub_profiles(call: v.Call, p):
    """How many distinct combinations of the named fields' values the subprofiles hold."""
    found, _ = subprofiles.distinct_subprofiles(call.store, call.account_id, p.id,
                                                v.strings(p.fields))
    return v.value(len(found))


def collection_distinct_sub_profiles(call: v.Call, p):
    """One subprofile per distinct combination of the named fields' values (the first by
    id)."""
    found, chosen = subprofiles.distinct_subprofiles(call.store, call.account_id, p.id,
                                                     v.strings(p.fields), p.order, v.asc(p))
    return v.listing("subprofile", v.whole(v.distinct(found, chosen, v.full(p), v.subprofile),
                                           p), v.full(p))


def collection_displayed_fields(call: v.Call, p):
    """The collection's fields whose ``displayed`` is on."""
    c = _coll(call, p)
    return v.listing("collectionfield", v.whole([v.field(r, "CollectionField") for r in
                                                 databases.displayed_fields(
                                                     call.store, c["database_id"], c["id"])], p))


def collection_ordered_field(call: v.Call, p):
    """The collection field that orders the subprofiles by default, or 0."""
    c = _coll(call, p)
    row = databases.ordered_field(call.store, c["database_id"], c["id"])
    return v.entity("collectionfield", row and v.field(row, "CollectionField"))


def collection_special_content_field(call: v.Call, p):
    """The collection field of a special content (``email``, ``phone_fax``, ``phone_gsm``),
    or 0."""
    c = _coll(call, p)
    row = databases.special_field(call.store, c["database_id"], c["id"], p.specialContent)
    return v.entity("collectionfield", row and v.field(row, "CollectionField"))


def collection_special_type_field(call: v.Call, p):
    """The collection field of a special type (``email``, ``phone_fax``, ``phone_gsm``), or
    0."""
    c = _coll(call, p)
    row = databases.special_field(call.store, c["database_id"], c["id"], p.type)
    return v.entity("collectionfield", row and v.field(row, "CollectionField"))


def collection_unsubscribe_values(call: v.Call, p):
    """The field values an unsubscribe sets in a subprofile."""
    return v.mapping(databases.collection_unsubscribe_values(call.store, call.account_id, p.id))


def collection_set_unsubscribe_values(call: v.Call, p):
    """Replace the field values an unsubscribe sets in a subprofile."""
    databases.set_collection_unsubscribe_values(call.store, call.account_id, p.id,
                                                v.pairs(p.fields))
    return v.value(True)


def collection_unsubscribe(call: v.Call, p):
    """Unsubscribe a subprofile of the collection as its unsubscribe behaviour says."""
    unsubscribes.unsubscribe_from_collection(call.store, call.account_id, p.id,
                                             v.reference(p.subprofile, "subprofile"))
    return v.value(True)


def collection_apply_unsubscribe_behavior(call: v.Call, p):
    """Apply the unsubscribe behaviour to the subprofiles the unsubscribe values mark."""
    unsubscribes.apply_collection_behavior(call.store, call.account_id, p.id)
    return v.value(True)


collection_rebuild = selections.rebuild(
    _coll, "Rebuild the collection's selections: there are none, so nothing to do.")


collection_mini_views = selections.no_views(
    "miniview", _coll, "The collection's mini views (selections of subprofiles): none.")


collection_mini_view = selections.no_view(
    _coll, "A mini view by name or id: 0 (the mock has no selections).")
