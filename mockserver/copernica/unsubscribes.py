"""Copernica unsubscribes: what the unsubscribe behaviour of a database or collection does to a
record that unsubscribes, and applying that behaviour afresh to the records already marked.

The behaviour is ``nothing`` (the record stays as it is), ``remove`` (the record is deleted)
or ``update`` (the record gets the unsubscribe values). A record whose fields hold every
unsubscribe value (compared as a search's ``=``) counts as unsubscribed. Every change reaches
the callbacks as the other writes do
(mockserver.copernica.profiles, mockserver.copernica.subprofiles).
"""
from __future__ import annotations

import json

from mockserver.copernica import databases, profile_search, profiles, subprofiles
from mockserver.machinery.errors import InvalidRequest
from mockserver.store import Store


def _marks(values: dict) -> list[profile_search.Requirement]:
    """The requirements a record unsubscribed under ``values`` meets (none without values)."""
    return [profile_search.Requirement(fieldname=name, value=value, operator="=")
            for name, value in values.items()]


def unsubscribe_from_collection(store: Store, account_id: int, collection_id: int,
                                subprofile_id: int, source: str = "soap") -> None:
    """Unsubscribe a subprofile of the collection as the collection's behaviour says
    (``subprofiles.unsubscribe_subprofile``). InvalidRequest when the subprofile is in
    another collection."""
    with store.transaction():
        databases.require_collection(store, account_id, collection_id)
        sub = profiles.require_subprofile(store, account_id, subprofile_id)
        if sub["collection_id"] != collection_id:
            raise InvalidRequest(f"Subprofile {subprofile_id} is not in collection "
                                 f"{collection_id}.")
        subprofiles.unsubscribe_subprofile(store, account_id, subprofile_id, source)


def apply_database_behavior(store: Store, account_id: int, database_id: int,
                            source: str = "soap") -> int:
    """Apply the database's behaviour to the profiles its unsubscribe values mark: ``remove``
    deletes them with their subprofiles; ``nothing`` and ``update`` leave them (they hold the
    values already). How many profiles were removed."""
    with store.transaction():
        database = databases.require_database(store, account_id, database_id)
        values = json.loads(database["unsubscribe_values"])
        if database["unsubscribebehavior"] != "remove" or not values:
            return 0
        marked = profiles.search_profiles(store, account_id, database_id, _marks(values)).items
        return profiles.remove_profiles(store, account_id, [p["id"] for p in marked], source)


def apply_collection_behavior(store: Store, account_id: int, collection_id: int,
                              source: str = "soap") -> int:
    """Apply the collection's behaviour to the subprofiles its unsubscribe values mark, as
    ``apply_database_behavior`` does for profiles; how many subprofiles were removed."""
    with store.transaction():
        collection = databases.require_collection(store, account_id, collection_id)
        values = json.loads(collection["unsubscribe_values"])
        if collection["unsubscribebehavior"] != "remove" or not values:
            return 0
        marked = subprofiles.search_subprofiles(store, account_id, collection_id, None,
                                                _marks(values)).items
        return subprofiles.remove_subprofiles(store, account_id, [s["id"] for s in marked],
                                              collection_id, source)
