"""Copernica handlers of callbacks (Account_callback, Database_/Collection_createCallback,
Database_callback(s), the Callback object): wire values in, domain calls, one ``Result`` out."""
from __future__ import annotations

from mockserver.copernica import databases
from mockserver.copernica import values as v
from mockserver.machinery.errors import NotFound


def _callbacks():
    from mockserver.copernica import callbacks  # imported when first used
    return callbacks


def account_callback(call: v.Call, p):
    """A callback of the account by id, or 0."""
    cb = _callbacks().get_callback(call.store, call.account_id, p.identifier)
    return v.entity("callback", cb and v.callback(cb))


def _create(call: v.Call, p, **owner):
    """A new callback of a database (``database_id=``) or collection (``collection_id=``)."""
    cb = _callbacks().create_callback(
        call.store, call.account_id, url=p.url or "", method=p.method or "json",
        expression=p.expression or "", base_url=call.soap.base_url,
        server_port=call.soap.environ.get("SERVER_PORT"), **owner)
    return v.entity("callback", v.callback(cb))


def database_create_callback(call: v.Call, p):
    """Add a callback on the database's profiles (action filter ``all``)."""
    databases.require_database(call.store, call.account_id, p.id)
    return _create(call, p, database_id=p.id)


def database_callback(call: v.Call, p):
    """A callback of the database by id, or 0."""
    databases.require_database(call.store, call.account_id, p.id)
    cb = _callbacks().get_callback(call.store, call.account_id, p.identifier)
    if cb and (cb.get("database_id") != p.id or cb.get("collection_id") is not None):
        cb = None
    return v.entity("callback", cb and v.callback(cb))


def database_callbacks(call: v.Call, p):
    """The callbacks on the database's profiles."""
    databases.require_database(call.store, call.account_id, p.id)
    found = [cb for cb in _callbacks().callbacks_of(call.store, database_id=p.id)
             if cb.get("collection_id") is None]
    return v.listing("callback", v.whole([v.callback(cb) for cb in found], p))


def collection_create_callback(call: v.Call, p):
    """Add a callback on the collection's subprofiles (action filter ``all``)."""
    databases.require_collection(call.store, call.account_id, p.id)
    return _create(call, p, collection_id=p.id)


def _require(call: v.Call, p) -> dict:
    cb = _callbacks().get_callback(call.store, call.account_id, p.id)
    if cb is None:
        raise NotFound(f"Unknown callback {p.id}.")
    return cb


def callback_retrieve(call: v.Call, p):
    """The callback."""
    return v.entity("callback", v.callback(_require(call, p)))


def callback_update(call: v.Call, p):
    """Change url, method, expression or action filter (absent: kept)."""
    _require(call, p)
    _callbacks().update_callback(call.store, call.account_id, p.id, url=p.url, method=p.method,
                                 expression=p.expression, actionfilter=p.actionfilter,
                                 base_url=call.soap.base_url,
                                 server_port=call.soap.environ.get("SERVER_PORT"))
    return v.value(True)


def callback_source(call: v.Call, p):
    """The database or collection the callback watches."""
    cb = _require(call, p)
    if cb.get("collection_id") is not None:
        return v.entity("collection", v.collection(call, databases.require_collection(
            call.store, call.account_id, cb["collection_id"])))
    return v.entity("database", v.database(call, databases.require_database(
        call.store, call.account_id, cb["database_id"])))


def callback_remove(call: v.Call, p):
    """Delete the callback."""
    _require(call, p)
    _callbacks().remove_callback(call.store, call.account_id, p.id)
    return v.value(True)


def collection_callback(call: v.Call, p):
    """A callback of the collection by id, or 0."""
    databases.require_collection(call.store, call.account_id, p.id)
    cb = _callbacks().get_callback(call.store, call.account_id, p.identifier)
    if cb and cb.get("collection_id") != p.id:
        cb = None
    return v.entity("callback", cb and v.callback(cb))


def collection_callbacks(call: v.Call, p):
    """The callbacks on the collection's subprofiles."""
    databases.require_collection(call.store, call.account_id, p.id)
    found = _callbacks().callbacks_of(call.store, collection_id=p.id)
    return v.listing("callback", v.whole([v.callback(cb) for cb in found], p))


def callback_database(call: v.Call, p):
    """The database the callback watches, or 0 when it watches a collection."""
    cb = _require(call, p)
    if cb.get("collection_id") is not None:
        return v.value(0)
    return v.entity("database", v.database(call, databases.require_database(
        call.store, call.account_id, cb["database_id"])))


def callback_collection(call: v.Call, p):
    """The collection the callback watches, or 0 when it watches a database."""
    cb = _require(call, p)
    if cb.get("collection_id") is None:
        return v.value(0)
    return v.entity("collection", v.collection(call, databases.require_collection(
        call.store, call.account_id, cb["collection_id"])))


def callback_set_source(call: v.Call, p):
    """Make the callback watch another database or collection of the account."""
    _callbacks().set_source(call.store, call.account_id, p.id,
                            database_id=getattr(p.database, "id", None),
                            collection_id=getattr(p.collection, "id", None))
    return v.value(True)
