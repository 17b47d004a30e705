"""Copernica handlers of the Profile and SubProfile objects: wire values in, domain calls,
one ``Result`` out. ``timestamp`` (the historic profile) is accepted; the mock keeps no history
and answers the profile as it is."""
from __future__ import annotations

from mockserver.copernica import databases, profiles, subprofiles
from mockserver.copernica import selections
from mockserver.copernica import values as v
from mockserver.machinery.errors import NotFound


def _profile(call: v.Call, p) -> dict:
    return profiles.require_profile(call.store, call.account_id, p.id)


def _sub(call: v.Call, p) -> dict:
    return profiles.require_subprofile(call.store, call.account_id, p.id)


def _database_of(call: v.Call, sub: dict) -> int:
    return databases.require_collection(call.store, call.account_id,
                                        sub["collection_id"])["database_id"]


def profile_update_fields(call: v.Call, p):
    """Change field values; 0 (and nothing changed) when a value breaks its field's type."""
    return v.value(profiles.update_fields(call.store, call.account_id, p.id, v.pairs(p.fields)))


def profile_remove(call: v.Call, p):
    """Delete the profile and its subprofiles."""
    profiles.require_profile(call.store, call.account_id, p.id)
    profiles.remove_profiles(call.store, call.account_id, [p.id])
    return v.value(True)


def profile_fields(call: v.Call, p):
    """The profile's field values."""
    return v.mapping(profiles.require_profile(call.store, call.account_id, p.id)["fields"])


def profile_interests(call: v.Call, p):
    """The profile's interests as name -> 0/1."""
    return v.mapping(profiles.require_profile(call.store, call.account_id, p.id)["interests"])


def profile_update_interests(call: v.Call, p):
    """Give the profile exactly the interests named (the others become 0)."""
    profiles.update_interests(call.store, call.account_id, p.id,
                              {name: 1 for name in v.strings(p.interests)}, replace=True)
    return v.value(True)


def profile_set_interest(call: v.Call, p):
    """Switch one interest on (``value`` true or absent) or off; 0 when the database has no
    such interest."""
    return v.value(profiles.set_interest(call.store, call.account_id, p.id, p.interest,
                                         True if p.value is None else p.value))


def profile_move(call: v.Call, p):
    """Merge the profile into ``profile`` (same database) by ``options``; it is removed."""
    profiles.move_profile(call.store, call.account_id, p.id, v.reference(p.profile, "profile"),
                          v.pairs(p.options))
    return v.value(True)


def profile_create_sub_profile(call: v.Call, p):
    """Create a subprofile of the profile in a collection."""
    return v.entity("subprofile", v.subprofile(subprofiles.create_subprofile(
        call.store, call.account_id, p.id, v.reference(p.collection, "collection"),
        v.pairs(p.fields))))


def profile_search_sub_profiles(call: v.Call, p):
    """The profile's subprofiles (of one collection) meeting every requirement."""
    page = subprofiles.search_subprofiles(call.store, call.account_id,
                                       p.collection.id if p.collection else None, p.id,
                                       v.requirements(p.requirements), p.order, v.asc(p),
                                       p.start, p.length)
    page.items = [v.subprofile(x, v.full(p)) for x in page.items]
    return v.listing("subprofile", page, v.full(p))


def profile_update_sub_profiles(call: v.Call, p):
    """Update the profile's matching subprofiles of a collection (or create one)."""
    touched = subprofiles.update_subprofiles(call.store, call.account_id, p.id,
                                          v.reference(p.collection, "collection"),
                                          v.requirements(p.requirements), v.pairs(p.fields),
                                          bool(p.create))
    return v.listing("subprofile", v.whole([v.subprofile(x, v.full(p)) for x in touched], p),
                     v.full(p))


def profile_sub_profiles(call: v.Call, p):
    """The profile's subprofiles (of one collection when given), ordered by ``order``."""
    page = subprofiles.search_subprofiles(call.store, call.account_id,
                                       p.collection.id if p.collection else None, p.id, [],
                                       p.order, v.asc(p), p.start, p.length)
    page.items = [v.subprofile(x, v.full(p)) for x in page.items]
    return v.listing("subprofile", page, v.full(p))


def subprofile_update_fields(call: v.Call, p):
    """Change field values; 0 (and nothing changed) when a value breaks its field's type."""
    return v.value(subprofiles.update_subprofile_fields(call.store, call.account_id, p.id,
                                                     v.pairs(p.fields)))


def subprofile_remove(call: v.Call, p):
    """Delete the subprofile."""
    profiles.require_subprofile(call.store, call.account_id, p.id)
    subprofiles.remove_subprofiles(call.store, call.account_id, [p.id])
    return v.value(True)


def subprofile_move_to_profile(call: v.Call, p):
    """Give the subprofile to another profile of the same database."""
    subprofiles.move_subprofile(call.store, call.account_id, p.id,
                             v.reference(p.profile, "profile"))
    return v.value(True)


def profile_retrieve(call: v.Call, p):
    """The profile, with its fields and interests."""
    return v.entity("profile", v.profile(_profile(call, p)))


def profile_update(call: v.Call, p):
    """Change the profile's code or extra data (absent: kept); the profile after."""
    return v.entity("profile", v.profile(profiles.update_profile(
        call.store, call.account_id, p.id, p.code, p.extra)))


def profile_database(call: v.Call, p):
    """The profile's database."""
    found = _profile(call, p)
    return v.entity("database", v.database(call, databases.require_database(
        call.store, call.account_id, found["database_id"])))


def profile_field(call: v.Call, p):
    """The profile's value of one field (by name or id)."""
    found = _profile(call, p)
    return v.value(profiles.field_value(call.store, found, found["database_id"], None,
                                        p.identifier))


def profile_interest(call: v.Call, p):
    """Whether the profile has one interest (by name or id): 1 or 0."""
    return v.value(profiles.interest_value(call.store, _profile(call, p), p.identifier))


def profile_sub_profile(call: v.Call, p):
    """One of the profile's subprofiles by id (in ``collection``, by name or id, when given),
    or 0."""
    found = _profile(call, p)
    collection_id = None
    if p.collection is not None and p.collection.strip():
        collection = databases.find_collection(call.store, found["database_id"], p.collection)
        if collection is None:
            raise NotFound(f"Unknown collection '{p.collection}'.")
        collection_id = collection["id"]
    sub = profiles.get_subprofile(call.store, call.account_id, p.identifier)
    if sub is not None and (sub["profile_id"] != found["id"] or
                            collection_id not in (None, sub["collection_id"])):
        sub = None
    return v.entity("subprofile", sub and v.subprofile(sub))


def profile_displayed_fields(call: v.Call, p):
    """The profile's values of the displayed fields."""
    found = _profile(call, p)
    return v.mapping(profiles.displayed_values(call.store, found, found["database_id"], None))


def profile_unsubscribe(call: v.Call, p):
    """Apply the database's unsubscribe behaviour to the profile."""
    profiles.unsubscribe_profile(call.store, call.account_id, p.id)
    return v.value(True)


profile_rebuild = selections.rebuild(
    _profile, "Rebuild the profile: nothing to rebuild in the mock, so 1.")


profile_views = selections.no_views(
    "view", _profile,
    "The views (selections) the profile is in: none (the mock has no selections).")


def profile_email_address_valid(call: v.Call, p):
    """Whether the profile's e-mail field holds a valid address: yes, no or invalid_type."""
    found = _profile(call, p)
    return v.value(profiles.email_address_state(call.store, found, found["database_id"], None))


def profile_check_email_address(call: v.Call, p):
    """Check the profile's e-mail address (at once, ``background`` or not); the outcome as
    Profile_emailAddressValid answers it."""
    return profile_email_address_valid(call, p)


def subprofile_retrieve(call: v.Call, p):
    """The subprofile, with its fields."""
    return v.entity("subprofile", v.subprofile(_sub(call, p)))


def subprofile_update(call: v.Call, p):
    """Change the subprofile's code (absent: kept); the subprofile after."""
    return v.entity("subprofile", v.subprofile(subprofiles.update_subprofile(
        call.store, call.account_id, p.id, p.code)))


def subprofile_collection(call: v.Call, p):
    """The subprofile's collection."""
    return v.entity("collection", v.collection(call, databases.require_collection(
        call.store, call.account_id, _sub(call, p)["collection_id"])))


def subprofile_profile(call: v.Call, p):
    """The profile the subprofile belongs to, with its fields and interests."""
    return v.entity("profile", v.profile(profiles.require_profile(
        call.store, call.account_id, _sub(call, p)["profile_id"])))


def subprofile_field(call: v.Call, p):
    """The subprofile's value of one field (by name or id)."""
    sub = _sub(call, p)
    return v.value(profiles.field_value(call.store, sub, _database_of(call, sub),
                                        sub["collection_id"], p.identifier))


def subprofile_fields(call: v.Call, p):
    """The subprofile's field values."""
    return v.mapping(_sub(call, p)["fields"])


def subprofile_displayed_fields(call: v.Call, p):
    """The subprofile's values of the displayed fields."""
    sub = _sub(call, p)
    return v.mapping(profiles.displayed_values(call.store, sub, _database_of(call, sub),
                                               sub["collection_id"]))


def subprofile_move(call: v.Call, p):
    """Merge the subprofile into ``subprofile`` (same collection) by ``options``; it is
    removed."""
    subprofiles.move_into_subprofile(call.store, call.account_id, p.id,
                                     v.reference(p.subprofile, "subprofile"), v.pairs(p.options))
    return v.value(True)


def subprofile_unsubscribe(call: v.Call, p):
    """Apply the collection's unsubscribe behaviour to the subprofile."""
    subprofiles.unsubscribe_subprofile(call.store, call.account_id, p.id)
    return v.value(True)


subprofile_rebuild = selections.rebuild(
    _sub, "Rebuild the subprofile: nothing to rebuild in the mock, so 1.")


subprofile_mini_views = selections.no_views(
    "miniview", _sub,
    "The mini views (collection selections) the subprofile is in: none (the mock has no\n"
    "selections).")


def subprofile_email_address_valid(call: v.Call, p):
    """Whether the subprofile's e-mail field holds a valid address: yes, no or invalid_type."""
    sub = _sub(call, p)
    return v.value(profiles.email_address_state(call.store, sub, _database_of(call, sub),
                                                sub["collection_id"]))


def subprofile_check_email_address(call: v.Call, p):
    """Check the subprofile's e-mail address (at once, ``background`` or not); the outcome as
    SubProfile_emailAddressValid answers it."""
    return subprofile_email_address_valid(call, p)
