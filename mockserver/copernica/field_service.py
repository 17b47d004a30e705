"""Copernica handlers of the Field, CollectionField and Interest objects: wire values in,
domain calls, one ``Result`` out. (Field_update and CollectionField_update live with the
database and collection handlers.)"""
from __future__ import annotations

from mockserver.copernica import databases, fields
from mockserver.copernica import values as v


def _field(call: v.Call, p, in_collection: bool) -> dict:
    return fields.require_field(call.store, call.account_id, p.id, in_collection)


def field_retrieve(call: v.Call, p):
    """The database field."""
    return v.entity("field", v.field(_field(call, p, False)))


def field_database(call: v.Call, p):
    """The database the field belongs to."""
    return v.entity("database", v.database(call, databases.require_database(
        call.store, call.account_id, _field(call, p, False)["database_id"])))


def field_remove(call: v.Call, p):
    """Delete the database field: its value goes from every profile and the unsubscribe
    values."""
    fields.remove_field(call.store, call.account_id, p.id, False)
    return v.value(True)


def field_count_incompatible_profiles(call: v.Call, p):
    """How many profiles hold a value the field could not keep under type ``type`` (with
    ``options`` as a select's choices; ``length`` must be a whole number and counts for
    nothing, as the mock limits no value's length)."""
    v.number(p.length, "length", 0)
    return v.value(fields.count_incompatible(call.store, call.account_id, p.id, False,
                                                p.type, v.strings(p.options)))


def collection_field_retrieve(call: v.Call, p):
    """The collection field."""
    return v.entity("collectionfield", v.field(_field(call, p, True), "CollectionField"))


def collection_field_collection(call: v.Call, p):
    """The collection the field belongs to."""
    return v.entity("collection", v.collection(call, databases.require_collection(
        call.store, call.account_id, _field(call, p, True)["collection_id"])))


def collection_field_remove(call: v.Call, p):
    """Delete the collection field: its value goes from every subprofile and the collection's
    unsubscribe values."""
    fields.remove_field(call.store, call.account_id, p.id, True)
    return v.value(True)


def collection_field_count_incompatible_sub_profiles(call: v.Call, p):
    """How many subprofiles hold a value the field could not keep under type ``type`` (as
    Field_countIncompatibleProfiles)."""
    v.number(p.length, "length", 0)
    return v.value(fields.count_incompatible(call.store, call.account_id, p.id, True,
                                                p.type, v.strings(p.options)))


def interest_retrieve(call: v.Call, p):
    """The interest."""
    return v.entity("interest", v.interest(databases.require_interest(
        call.store, call.account_id, p.id)))


def interest_update(call: v.Call, p):
    """Change the interest's name, group or weight (absent: kept)."""
    databases.update_interest(call.store, call.account_id, p.id, p.name, p.groupname, p.weight)
    return v.value(True)


def interest_remove(call: v.Call, p):
    """Delete the interest: it goes from every profile."""
    databases.remove_interest(call.store, call.account_id, p.id)
    return v.value(True)


def interest_database(call: v.Call, p):
    """The database the interest belongs to."""
    return v.entity("database", v.database(call, databases.require_database(
        call.store, call.account_id, databases.require_interest(
            call.store, call.account_id, p.id)["database_id"])))
