"""Copernica handlers of the Profile and SubProfile objects: wire values in, domain calls,
one ``Result`` out. ``timestamp`` (the historic profile) is accepted; the mock keeps no history
and answers the profile as it is."""
from __future__ import annotations

from mockserver import profiles, subprofiles
from mockserver.copernica import values as v


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
