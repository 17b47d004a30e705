"""Copernica-style callbacks: configuration, and the deliveries a change queues.

A callback belongs to a database (profile changes) or a collection (subprofile changes).
Every write of a (sub)profile calls ``record_change`` inside its transaction; each callback
whose action filter, trigger sources and expression (``callback_expressions``) match gets one
queued delivery with its body ready, which ``callback_delivery`` sends, signed
(``callback_signing``). A callback's URL may not be the mock itself (``callback_urls``).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import urllib.parse

from lxml import etree

from mockserver.machinery import clock
from mockserver.copernica import databases
from mockserver.machinery.errors import InvalidRequest, NotFound
from mockserver.store import Store
from mockserver.copernica import callback_tables as callback_tables
from mockserver.copernica.callback_expressions import evaluate, parse_expression
from mockserver.copernica.callback_signing import signing_key
from mockserver.copernica.callback_urls import checked_target

log = logging.getLogger(__name__)

METHODS = ("json", "xml")
ACTIONS = ("create", "update", "delete")
ACTION_FILTERS = ("create", "update", "delete", "all")
SOURCES = ("soap", "import", "publisher", "open", "click", "bounce")
KINDS = ("profile", "subprofile")


# -- configuration ---------------------------------------------------------------------------

def _callback_json(row: dict) -> dict:
    return {"id": row["id"], "database_id": row["database_id"],
            "collection_id": row["collection_id"], "url": row["url"], "method": row["method"],
            "expression": row["expression"], "actionfilter": row["actionfilter"],
            "sources": json.loads(row["sources"]), "created": row["created"]}


def create_callback(store: Store, account_id: int, *, database_id: int | None = None,
                    collection_id: int | None = None, url: str, method: str = "json",
                    expression: str = "", actionfilter: str = "all", sources=None,
                    base_url: str = "", server_port: int | str | None = None) -> dict:
    """Create a callback of a database or collection after validating it; the new callback.

    ``base_url`` and ``server_port`` say how the creating request reached the mock (its Host,
    the port it came in on): a URL of the mock itself is refused (see ``is_the_mock``).
    """
    if database_id is None and collection_id is None:
        raise InvalidRequest("A callback belongs to a database or a collection.")
    url = checked_target(url, base_url, server_port)
    method = _checked_method(method)
    actionfilter = _checked_actionfilter(actionfilter)
    if sources is None:
        sources = list(SOURCES)
    if isinstance(sources, str):
        sources = [s for s in re.split(r"[,\s]+", sources) if s]
    sources = [str(s).strip().lower() for s in sources]
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise InvalidRequest(f"Unknown callback source {unknown[0]!r}: one of "
                             f"{', '.join(SOURCES)}.")
    sources = [s for s in SOURCES if s in sources]
    expression = expression or ""
    parse_expression(expression)
    signing_key(store)  # made now, so the first delivery does not wait for it
    with store.transaction():
        callback_id = callback_tables.insert_callback(store, {
            "account_id": account_id, "database_id": database_id,
            "collection_id": collection_id, "url": url, "method": method,
            "expression": expression, "actionfilter": actionfilter,
            "sources": json.dumps(sources), "base_url": base_url or "",
            "created": _local_time(clock.now(store))})
        return _callback_json(callback_tables.callback(store, callback_id))


def _checked_method(method: str | None) -> str:
    method = (method or "json").strip().lower()
    if method not in METHODS:
        raise InvalidRequest(f"Invalid callback method {method!r}: use json or xml.")
    return method


def _checked_actionfilter(actionfilter: str | None) -> str:
    actionfilter = (actionfilter or "all").strip().lower()
    if actionfilter not in ACTION_FILTERS:
        raise InvalidRequest(f"Invalid callback actionfilter {actionfilter!r}: one of "
                             f"{', '.join(ACTION_FILTERS)}.")
    return actionfilter


def update_callback(store: Store, account_id: int, callback_id: int, *, url: str | None = None,
                    method: str | None = None, expression: str | None = None,
                    actionfilter: str | None = None, base_url: str = "",
                    server_port: int | str | None = None) -> dict | None:
    """Change a callback's url, method, expression or action filter (None: kept), checked as
    at creation; the callback after, or None when the account has no such callback."""
    changes: dict = {}
    if url is not None:
        changes["url"] = checked_target(url, base_url, server_port)
        changes["base_url"] = base_url or ""
    if method is not None:
        changes["method"] = _checked_method(method)
    if actionfilter is not None:
        changes["actionfilter"] = _checked_actionfilter(actionfilter)
    if expression is not None:
        parse_expression(expression)
        changes["expression"] = expression
    with store.transaction():
        if get_callback(store, account_id, callback_id) is None:
            return None
        callback_tables.update_callback(store, callback_id, changes)
        return get_callback(store, account_id, callback_id)


def set_source(store: Store, account_id: int, callback_id: int, *,
               database_id: int | None = None, collection_id: int | None = None) -> dict:
    """Make a callback watch another database's profiles or collection's subprofiles of the
    account (exactly one of them); the callback after. NotFound for an unknown callback,
    database or collection."""
    if (database_id is None) == (collection_id is None):
        raise InvalidRequest("Give one source: database {id} or collection {id}.")
    with store.transaction():
        if get_callback(store, account_id, callback_id) is None:
            raise NotFound(f"Unknown callback {callback_id}.")
        if database_id is not None:
            databases.require_database(store, account_id, database_id)
        else:
            databases.require_collection(store, account_id, collection_id)
        callback_tables.update_callback(store, callback_id, {"database_id": database_id,
                                            "collection_id": collection_id})
        return get_callback(store, account_id, callback_id)


def get_callback(store: Store, account_id: int, callback_id: int) -> dict | None:
    """One of the account's callbacks, or None."""
    row = callback_tables.callback(store, callback_id)
    return _callback_json(row) if row and row["account_id"] == account_id else None


def callback_by_url(store: Store, account_id: int, database_id: int | None, url: str) -> dict | None:
    """The account's callback of a database with this URL, or None."""
    row = callback_tables.callback_by_url(store, account_id, database_id, url)
    return _callback_json(row) if row else None


def callbacks_of(store: Store, database_id: int | None = None,
                 collection_id: int | None = None) -> list[dict]:
    """The callbacks of a collection, or of a database's profiles, oldest first."""
    return [_callback_json(r) for r in callback_tables.callbacks_of(store, database_id, collection_id)]


def remove_callback(store: Store, account_id: int, callback_id: int) -> bool:
    """Remove one of the account's callbacks and its queued deliveries; False when unknown."""
    return callback_tables.delete_callback(store, account_id, callback_id)


# -- changes -> deliveries -------------------------------------------------------------------

def _local_time(moment: dt.datetime) -> str:
    return clock.local(moment).strftime("%Y-%m-%d %H:%M:%S")


def _interest_names(interests) -> list[str]:
    if isinstance(interests, dict):
        return [str(k) for k, v in interests.items() if v not in (0, "0", False, None, "")]
    return [str(i) for i in interests or []]


def json_payload(payload: dict) -> bytes:
    """The form body of a json callback: field ``json`` holding the payload."""
    return urllib.parse.urlencode(
        {"json": json.dumps(payload, ensure_ascii=False)}).encode("ascii")


_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _xml_map(parent, tag: str, values: dict) -> None:
    element = etree.SubElement(parent, tag)
    for name, value in values.items():
        name = str(name)
        if _XML_NAME.match(name) and not name.lower().startswith("xml"):
            child = etree.SubElement(element, name)
        else:
            child = etree.SubElement(element, "field", name=name)
        child.text = _xml_text(value)


def _xml_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)


def xml_payload(payload: dict) -> bytes:
    """The ``text/xml`` body of an xml callback: ``<callback>`` with fields and updated values."""
    root = etree.Element("callback")
    for name in ("id", "action", "database", "collection", "timestamp"):
        if payload.get(name) is not None:
            etree.SubElement(root, name).text = _xml_text(payload[name])
    _xml_map(root, "fields", payload["fields"])
    _xml_map(root, "updated", payload["parameters"])
    interests = etree.SubElement(root, "interests")
    for name in payload["interests"]:
        etree.SubElement(interests, "interest").text = _xml_text(name)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def record_change(store: Store, *, account_id: int, database_id: int,
                  collection_id: int | None, kind: str, record_id: int, action: str,
                  fields: dict, changed: dict, interests, source: str = "soap") -> int:
    """Queue the deliveries one (sub)profile write triggers (call inside the write's
    transaction); how many were queued."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, not {action!r}")
    rows = callback_tables.callbacks_of(store, None if kind == "subprofile" else database_id,
                              collection_id if kind == "subprofile" else None)
    if not rows:
        return 0
    fields, changed = dict(fields or {}), dict(changed or {})
    queued, payload, moment = 0, None, None
    for row in rows:
        if row["actionfilter"] not in ("all", action) or source not in json.loads(row["sources"]):
            continue
        try:
            if not evaluate(row["expression"], fields):
                continue
        except Exception:  # noqa: BLE001 - an old bad expression never breaks a write
            log.warning("callback %s: expression %r failed", row["id"], row["expression"])
            continue
        if payload is None:
            moment = clock.now(store)
            payload = {"id": record_id, "action": action, "database": database_id}
            if kind == "subprofile":
                payload["collection"] = collection_id
            payload.update(fields=fields, interests=_interest_names(interests),
                           parameters=changed, timestamp=_local_time(moment))
            if kind == "profile":  # receivers also read profile.fields.<name>
                payload["profile"] = {"id": record_id, "fields": fields,
                                      "interests": payload["interests"]}
        if row["method"] == "xml":
            content_type, body = "text/xml; charset=utf-8", xml_payload(payload)
        else:
            content_type, body = "application/x-www-form-urlencoded", json_payload(payload)
        callback_tables.insert_callback_delivery(store, {
            "callback_id": row["id"], "account_id": row["account_id"],
            "record": f"{kind}:{record_id}", "action": action, "url": row["url"],
            "content_type": content_type, "body": body, "state": "pending",
            "next_attempt": clock.stamp(moment), "created": clock.stamp(moment)})
        queued += 1
    return queued

