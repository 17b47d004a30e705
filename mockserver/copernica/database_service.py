"""Copernica handlers of the Database, Field and Interest objects: wire values in, domain
calls, one ``Result`` out."""
from __future__ import annotations

from mockserver.copernica import accounts, databases, fields, profiles, unsubscribes
from mockserver.copernica.database_copy import copy_database
from mockserver.copernica import selections
from mockserver.copernica import values as v
from mockserver.copernica import tables as copernica_tables


def _db(call: v.Call, p) -> dict:
    return databases.require_database(call.store, call.account_id, p.id)


def database_retrieve(call: v.Call, p):
    """The database."""
    return v.entity("database", v.database(call, _db(call, p)))


def database_update(call: v.Call, p):
    """Change name, description, archived flag or unsubscribe behaviour (absent: kept)."""
    databases.update_database(call.store, call.account_id, p.id, p.name, p.description,
                              p.unsubscribebehavior, p.archived)
    return v.value(True)


def database_clear(call: v.Call, p):
    """Remove every profile (and subprofile) of the database; its structure stays."""
    databases.clear_database(call.store, call.account_id, p.id)
    return v.value(True)


def database_remove(call: v.Call, p):
    """Delete the database and everything in it."""
    databases.remove_database(call.store, call.account_id, p.id)
    return v.value(True)


def database_create_field(call: v.Call, p):
    """Add a database field."""
    return v.entity("field", v.field(fields.create_field(
        call.store, call.account_id, p.id, None, v.field_spec(p))))


def database_field(call: v.Call, p):
    """A database field by name or id, or 0."""
    _db(call, p)
    row = databases.find_field(call.store, p.id, None, p.identifier)
    return v.entity("field", row and v.field(row))


def database_fields(call: v.Call, p):
    """The database's fields."""
    _db(call, p)
    return v.listing("field", v.whole([v.field(r) for r in databases.fields(call.store, p.id)],
                                      p))


def database_create_interest(call: v.Call, p):
    """Add an interest (in the interest group ``group``)."""
    return v.entity("interest", v.interest(databases.create_interest(
        call.store, call.account_id, p.id, p.name, p.group or "")))


def field_update(call: v.Call, p):
    """Change a database field's properties (absent: kept)."""
    fields.update_field(call.store, call.account_id, p.id, False, v.field_changes(p))
    return v.value(True)


def database_interests(call: v.Call, p):
    """The database's interests."""
    _db(call, p)
    return v.listing("interest", v.whole([v.interest(r) for r in
                                          databases.interests(call.store, p.id)], p))


def database_create_collection(call: v.Call, p):
    """Add a collection."""
    return v.entity("collection", v.collection(call, databases.create_collection(
        call.store, call.account_id, p.id, p.name)))


def database_collection(call: v.Call, p):
    """A collection by name or id, or 0."""
    _db(call, p)
    row = databases.find_collection(call.store, p.id, p.identifier)
    return v.entity("collection", row and v.collection(call, row))


def database_collections(call: v.Call, p):
    """The database's collections."""
    _db(call, p)
    return v.listing("collection", v.whole([v.collection(call, r) for r in
                                            databases.collections(call.store, p.id)], p))


def database_create_profile(call: v.Call, p):
    """Create a profile with field values."""
    return v.entity("profile", v.profile(profiles.create_profile(
        call.store, call.account_id, p.id, v.pairs(p.fields))))


def database_profile(call: v.Call, p):
    """A profile of the database by id (with fields and interests), or 0."""
    _db(call, p)
    found = profiles.get_profile(call.store, call.account_id, p.identifier)
    if found is not None and found["database_id"] != p.id:
        found = None
    return v.entity("profile", found and v.profile(found))


def database_profiles(call: v.Call, p):
    """The database's profiles, ordered by ``order``."""
    page = profiles.search_profiles(call.store, call.account_id, p.id, [], p.order, v.asc(p),
                                    p.start, p.length)
    page.items = [v.profile(x, v.full(p)) for x in page.items]
    return v.listing("profile", page, v.full(p))


def database_search_profiles(call: v.Call, p):
    """Profiles meeting every requirement."""
    page = profiles.search_profiles(call.store, call.account_id, p.id,
                                    v.requirements(p.requirements), p.order, v.asc(p), p.start,
                                    p.length)
    page.items = [v.profile(x, v.full(p)) for x in page.items]
    return v.listing("profile", page, v.full(p))


def database_update_profiles(call: v.Call, p):
    """Update the matching profiles (create one with ``create`` when none matches)."""
    touched = profiles.update_profiles(call.store, call.account_id, p.id,
                                       v.requirements(p.requirements), v.pairs(p.fields),
                                       None, bool(p.create))
    return v.listing("profile", v.whole([v.profile(x, v.full(p)) for x in touched], p),
                     v.full(p))


def database_remove_profiles(call: v.Call, p):
    """Delete profiles by id (``completely`` or not: the mock keeps nothing of them)."""
    _db(call, p)
    ids = [i for i in v.ids(p.ids) if (copernica_tables.profile(call.store, call.account_id, i) or {})
           .get("database_id") == p.id]
    profiles.remove_profiles(call.store, call.account_id, ids)
    return v.value(True)


database_views = selections.no_views(
    "view", _db, "The database's views (selections): none (the mock has no selections).")


def database_unsubscribe_values(call: v.Call, p):
    """The field values an unsubscribe sets."""
    return v.mapping(databases.unsubscribe_values(call.store, call.account_id, p.id))


def database_set_unsubscribe_values(call: v.Call, p):
    """Replace the field values an unsubscribe sets."""
    databases.set_unsubscribe_values(call.store, call.account_id, p.id, v.pairs(p.fields))
    return v.value(True)


def database_account(call: v.Call, p):
    """The account the database belongs to."""
    _db(call, p)
    return v.entity("account", v.account(accounts.account_record(call.store, call.account_id)))


def database_database(call: v.Call, p):
    """The database itself."""
    return v.entity("database", v.database(call, _db(call, p)))


def database_copy(call: v.Call, p):
    """Copy the database with its structure into a new one named ``target`` (or
    ``database.name``); option ``profiles`` (and ``subprofiles``) copies the records too."""
    name = p.target if p.target is not None else getattr(p.database, "name", None)
    return v.entity("database", v.database(call, copy_database(
        call.store, call.account_id, p.id, name, v.strings(p.options))))


def database_count_distinct_profiles(call: v.Call, p):
    """How many distinct combinations of the named fields' values the profiles hold."""
    found, _ = profiles.distinct_profiles(call.store, call.account_id, p.id, v.strings(p.fields))
    return v.value(len(found))


def database_distinct_profiles(call: v.Call, p):
    """One profile per distinct combination of the named fields' values (the first by id)."""
    found, chosen = profiles.distinct_profiles(call.store, call.account_id, p.id,
                                               v.strings(p.fields), p.order, v.asc(p))
    return v.listing("profile", v.whole(v.distinct(found, chosen, v.full(p), v.profile), p),
                     v.full(p))


def database_displayed_fields(call: v.Call, p):
    """The database's fields whose ``displayed`` is on."""
    _db(call, p)
    return v.listing("field", v.whole([v.field(r) for r in
                                       databases.displayed_fields(call.store, p.id)], p))


def database_interest(call: v.Call, p):
    """An interest by name or id, or 0."""
    _db(call, p)
    row = databases.find_interest(call.store, p.id, p.identifier)
    return v.entity("interest", row and v.interest(row))


def database_ordered_field(call: v.Call, p):
    """The field that orders the profiles by default, or 0."""
    _db(call, p)
    row = databases.ordered_field(call.store, p.id)
    return v.entity("field", row and v.field(row))


def database_special_content_field(call: v.Call, p):
    """The field of a special content (``email``, ``phone_fax``, ``phone_gsm``), or 0."""
    _db(call, p)
    row = databases.special_field(call.store, p.id, None, p.specialContent)
    return v.entity("field", row and v.field(row))


def database_special_type_field(call: v.Call, p):
    """The field of a special type (``email``, ``phone_fax``, ``phone_gsm``), or 0."""
    _db(call, p)
    row = databases.special_field(call.store, p.id, None, p.type)
    return v.entity("field", row and v.field(row))


database_rebuild = selections.rebuild(
    _db, "Rebuild the database's selections: there are none, so nothing to do.")


def database_apply_unsubscribe_behavior(call: v.Call, p):
    """Apply the unsubscribe behaviour to the profiles the unsubscribe values mark."""
    unsubscribes.apply_database_behavior(call.store, call.account_id, p.id)
    return v.value(True)


database_all_views = selections.no_views(
    "view", _db, "Every view (selection) of the database, nested ones too: none.")


database_view = selections.no_view(_db, "A view by name or id: 0 (the mock has no selections).")
