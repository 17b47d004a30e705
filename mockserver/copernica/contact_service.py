"""Copernica handlers of contacts and contact types (the Contact and ContactType objects, and
the methods of Database, Profile and User that reach them): wire values in, domain calls, one
``Result`` out. ``timestamp`` (the historic profile) is accepted and changes nothing."""
from __future__ import annotations

from mockserver.copernica import contacts, databases, profiles
from mockserver.copernica import values as v


def _contacts(p, found: list[dict]):
    return v.listing("contact", v.whole([v.contact(c) for c in found], p))


# -- contact types ------------------------------------------------------------------------


def database_contact_types(call: v.Call, p):
    """The database's contact types."""
    return v.listing("contacttype", v.whole([v.contact_type(r) for r in contacts.contact_types(
        call.store, call.account_id, p.id)], p))


def database_create_contact_type(call: v.Call, p):
    """Add a contact type to the database."""
    return v.entity("contacttype", v.contact_type(contacts.create_contact_type(
        call.store, call.account_id, p.id, p.name)))


def database_contact_type(call: v.Call, p):
    """A contact type of the database by name or id, or 0."""
    databases.require_database(call.store, call.account_id, p.id)
    row = contacts.find_contact_type(call.store, p.id, p.identifier)
    return v.entity("contacttype", row and v.contact_type(row))


def contact_type_retrieve(call: v.Call, p):
    """The contact type."""
    return v.entity("contacttype", v.contact_type(contacts.require_contact_type(
        call.store, call.account_id, p.id)))


def contact_type_update(call: v.Call, p):
    """Change the contact type's name, description or icon (absent: kept)."""
    contacts.update_contact_type(call.store, call.account_id, p.id, p.name, p.description,
                                 p.icon)
    return v.value(True)


def contact_type_remove(call: v.Call, p):
    """Delete the contact type; its contacts stay, without a type."""
    contacts.remove_contact_type(call.store, call.account_id, p.id)
    return v.value(True)


# -- contacts of a profile, a database, a user --------------------------------------------


def profile_create_contact(call: v.Call, p):
    """Plan a contact with the profile (for ``user``, of ``contacttype``; ``done``: done now)."""
    return v.entity("contact", v.contact(contacts.create_contact(
        call.store, call.account_id, p.id, v.optional_reference(p.user),
        v.optional_reference(p.contacttype), bool(p.done))))


def profile_contacts(call: v.Call, p):
    """The profile's contacts (``done``: only the done or only the open ones)."""
    profiles.require_profile(call.store, call.account_id, p.id)
    return _contacts(p, contacts.find_contacts(
        call.store, call.account_id, profile_id=p.id, status=contacts.status_of(p.done),
        asc=v.asc(p)))


def profile_search_contacts(call: v.Call, p):
    """The profile's contacts holding ``searchString``, of ``type``, by ``order``."""
    profile = profiles.require_profile(call.store, call.account_id, p.id)
    return _contacts(p, contacts.find_contacts(
        call.store, call.account_id, database_id=profile["database_id"], profile_id=p.id,
        contact_type=p.type, search=p.searchString, order=p.order, asc=v.asc(p)))


def database_contacts(call: v.Call, p):
    """The database's contacts by type, status, importance, user and planned time."""
    databases.require_database(call.store, call.account_id, p.id)
    return _contacts(p, contacts.find_contacts(
        call.store, call.account_id, database_id=p.id, user_id=v.optional_reference(p.user),
        contact_type=p.type, status=p.status, importance=p.importance,
        dates=contacts.date_range(v.pairs(p.datefilter)), asc=v.asc(p)))


def database_search_contacts(call: v.Call, p):
    """The database's contacts holding ``searchString``, of ``type``, by ``order``."""
    databases.require_database(call.store, call.account_id, p.id)
    return _contacts(p, contacts.find_contacts(
        call.store, call.account_id, database_id=p.id, contact_type=p.type,
        search=p.searchString, order=p.order, asc=v.asc(p)))


def user_contacts(call: v.Call, p):
    """The contacts for the user (``done``: only the done or only the open ones)."""
    return _contacts(p, contacts.find_contacts(
        call.store, call.account_id, user_id=p.id, status=contacts.status_of(p.done),
        asc=v.asc(p)))


# -- one contact --------------------------------------------------------------------------


def contact_retrieve(call: v.Call, p):
    """The contact."""
    return v.entity("contact", v.contact(contacts.require_contact(call.store, call.account_id,
                                                                  p.id)))


def contact_update(call: v.Call, p):
    """Change the contact's times, remarks, report, importance or extra (absent: kept)."""
    contacts.update_contact(call.store, call.account_id, p.id, {
        "plannedtime": p.plannedtime, "executedtime": p.executedtime,
        "remarks": v.contact_data(p.remarks), "report": v.contact_data(p.report),
        "important": p.important, "extra": p.extra})
    return v.value(True)


def contact_remove(call: v.Call, p):
    """Delete the contact."""
    contacts.remove_contact(call.store, call.account_id, p.id)
    return v.value(True)


def contact_profile(call: v.Call, p):
    """The profile the contact is with (fields and interests)."""
    contact = contacts.require_contact(call.store, call.account_id, p.id)
    return v.entity("profile", v.profile(profiles.require_profile(
        call.store, call.account_id, contact["profile_id"])))


def contact_type(call: v.Call, p):
    """The contact's type, or 0."""
    row = contacts.type_of(call.store, call.account_id,
                           contacts.require_contact(call.store, call.account_id, p.id))
    return v.entity("contacttype", row and v.contact_type(row))


def contact_set_type(call: v.Call, p):
    """Give the contact a type of its profile's database (id 0: none)."""
    contacts.set_type(call.store, call.account_id, p.id, v.reference(p.contacttype,
                                                                     "contacttype"))
    return v.value(True)


def contact_user(call: v.Call, p):
    """The user the contact is for, or 0."""
    row = contacts.user_of(call.store, call.account_id,
                           contacts.require_contact(call.store, call.account_id, p.id))
    return v.entity("user", row and v.user(call, row))


def contact_set_user(call: v.Call, p):
    """Make the contact one for a user of the account (id 0: for no one)."""
    contacts.set_user(call.store, call.account_id, p.id, v.reference(p.user, "user"))
    return v.value(True)
