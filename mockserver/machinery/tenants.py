"""Tenants: an isolated BACKCLICK mandator and Copernica account per test, with fresh secrets.

A tenant is a mandator and an account with the same fresh id, a fresh API key (no allowed
IPs), and a Copernica user with a fresh password and access token. Its shape comes from a
fixture document (``backclick.mandators[0]``, ``copernica.accounts[0]``; ids replaced), from
a template mandator, or from a small default. The tenant's record lives in the store's meta
table (``tenant:NAME``), so resets, snapshots and restores treat it like the rest of the data.
"""
from __future__ import annotations

import json
import re

from mockserver.machinery import clock, tokens
from mockserver.store import Store

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
ID_NAME = re.compile(r"(?:mandator|account)-\d+\Z")
PREFIX = "tenant:"
LAST_ID = "tenant_last_id"
DEFAULT_MANDATOR = {"fields": ["FIRSTNAME", "LASTNAME"], "senderDomains": ["example.com"],
                    "lists": [{"id": 1, "name": "Newsletter"}]}


class TenantError(Exception):
    """A refused tenant call; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        """A refused tenant call with the message and HTTP status to answer."""
        super().__init__(message)
        self.status = status


def _first(document: dict, section: str, key: str, source: str) -> dict:
    """``document[section][key][0]`` when present (a mapping), else {}."""
    part = document.get(section) if isinstance(document, dict) else None
    items = part.get(key) if isinstance(part, dict) else None
    if not items:
        return {}
    if not isinstance(items, list) or not isinstance(items[0], dict):
        raise TenantError(f"{source}: {section}.{key}: expected a list of mappings")
    return dict(items[0])


def _without_id(row) -> dict:
    return {k: v for k, v in row.items() if k != "id"} if isinstance(row, dict) else row


def _fresh_database(d) -> dict:
    """A database of the document without ids (they are given fresh on seeding)."""
    if not isinstance(d, dict):
        return d
    d = _without_id(d)
    for key in ("fields", "interests", "callbacks", "contactTypes"):
        if isinstance(d.get(key), list):
            d[key] = [_without_id(x) for x in d[key]]
    if isinstance(d.get("collections"), list):
        d["collections"] = [dict(_without_id(co), fields=[_without_id(f) for f in co["fields"]])
                            if isinstance(co, dict) and isinstance(co.get("fields"), list)
                            else _without_id(co) for co in d["collections"]]
    if isinstance(d.get("profiles"), list):
        d["profiles"] = [_fresh_profile(p) for p in d["profiles"]]
    return d


def _fresh_profile(p) -> dict:
    """A profile of the document without ids; its contacts for no user (the tenant has users
    of its own)."""
    if not isinstance(p, dict):
        return p
    p = _without_id(p)
    if isinstance(p.get("subprofiles"), list):
        p["subprofiles"] = [_without_id(s) for s in p["subprofiles"]]
    if isinstance(p.get("contacts"), list):
        p["contacts"] = [{k: v for k, v in _without_id(ct).items() if k != "user"}
                         if isinstance(ct, dict) else ct for ct in p["contacts"]]
    return p


def _template(store: Store, mandator_id: int) -> dict:
    """The configuration of an existing mandator in the fixture format (no subscribers)."""
    if store.mandator(mandator_id) is None:
        raise TenantError(f"No mandator {mandator_id} to use as the template.", 404)
    rows = {t: store.mandator_rows(t, mandator_id)
            for t in ("fields", "lists", "templates", "sender_domains", "profile_filters")}
    return {
        "fields": [r["name"] for r in rows["fields"]],
        "senderDomains": [r["domain"] for r in rows["sender_domains"]],
        "templates": [{k: r[k] for k in ("id", "name", "subject", "html", "text")}
                      for r in rows["templates"]],
        "lists": [{"id": r["id"], "name": r["name"], "description": r["description"],
                   "welcomeTemplateId": r["welcome_template_id"]} for r in rows["lists"]],
        "profileFilters": [{"id": r["id"], "name": r["name"],
                            "conditions": json.loads(r["conditions"])}
                           for r in rows["profile_filters"]],
    }


def create(store: Store, base_url: str, document: dict | None = None,
           template: int | None = None, name: str | None = None,
           source: str | None = None, unguessable: bool = False) -> dict:
    """Create a tenant (in one transaction); the tenant's name, ids, secrets and WSDL URLs.

    ``unguessable``: its secrets come from the system's randomness even with a seed."""
    # YAML and validation only when used: the tenant filters of every worker import this module
    from mockserver.vendors import fixtures
    source = source or fixtures.REQUEST_BODY
    if name is not None and (not NAME.match(name) or name in (".", "..")):
        raise TenantError(f"Invalid tenant name {name!r}: 1 to 64 of A-Z a-z 0-9 . _ -, "
                          f"not . or .. (a path segment could not name it)")
    if name is not None and ID_NAME.match(name):
        raise TenantError(f"Invalid tenant name {name!r}: mandator-N and account-N name "
                          f"a mandator's or an account's data in filters")
    document = document or {}
    if not isinstance(document, dict):
        raise TenantError(f"{source}: document: expected a mapping with backclick and/or copernica")
    mandator = _first(document, "backclick", "mandators", source)
    account = _first(document, "copernica", "accounts", source)
    with store.transaction():
        api_key, token, password = tokens.new_tokens(store, 3, unguessable)
        tenant_id = max(store.max_tenant_id(), int(store.meta_get(LAST_ID, "0"))) + 1
        name = name or f"tenant-{tenant_id}"
        if store.meta_get(PREFIX + name) is not None:
            raise TenantError(f"A tenant named {name!r} exists already.", 409)
        if template is not None:
            mandator = {**_template(store, template), **mandator}
        elif not mandator:
            mandator = dict(DEFAULT_MANDATOR)
        mandator.update(id=tenant_id, name=mandator.get("name") or name, apiKeys=[api_key],
                        allowedIps=[])
        if isinstance(mandator.get("subscribers"), list):
            mandator["subscribers"] = [_without_id(s) for s in mandator["subscribers"]]
        databases = account.get("databases")
        account.update(id=tenant_id, name=account.get("name") or name,
                       tokens=[{"token": token}],
                       databases=[_fresh_database(d) for d in databases]
                       if isinstance(databases, list) else databases)
        username = f"{name}@tenants.mockserver"
        doc = {"backclick": {"mandators": [mandator]},
               "copernica": {"accounts": [account],
                             "users": [{"username": username, "password": password,
                                        "accounts": [tenant_id]}]}}
        try:
            fixtures.seed(store, doc, source)
        except fixtures.FixtureConflict as error:
            raise TenantError(str(error), 409)
        except fixtures.FixtureError as error:
            raise TenantError(str(error), 400)
        record = {"tenant": name, "created": clock.now_stamp(store),
                  "backclick": {"mandatorId": tenant_id, "apiKey": api_key},
                  "copernica": {"accountId": tenant_id, "username": username,
                                "password": password, "accessToken": token}}
        store.meta_set(PREFIX + name, json.dumps(record))
        store.meta_set(LAST_ID, str(tenant_id))
    return described(record, base_url)


def described(record: dict, base_url: str) -> dict:
    """A tenant's record with the WSDL URLs of both dialects and its filter values."""
    from mockserver import backclick
    out = json.loads(json.dumps(record))
    out["backclick"]["wsdl"] = base_url.rstrip("/") + backclick.SERVICE_PATH + "?wsdl"
    out["backclick"]["filter"] = f"mandator-{out['backclick']['mandatorId']}"
    out["copernica"]["wsdl"] = base_url.rstrip("/") + "/?SOAPAPI=WSDL"
    out["copernica"]["filter"] = f"account-{out['copernica']['accountId']}"
    return out


def listing(store: Store, base_url: str) -> list[dict]:
    """Every tenant, by name."""
    return [described(json.loads(value), base_url)
            for value in store.meta_items(PREFIX).values()]


def filter_names(store: Store, tenant: str) -> list[str]:
    """The journal's and fault rules' names (``mandator-N``, ``account-N``) that ``tenant``
    stands for: itself when it is one of those, both of a tenant made here by its name."""
    if ID_NAME.match(tenant):
        return [tenant]
    value = store.meta_get(PREFIX + tenant)
    if value is None:
        return []
    record = json.loads(value)
    return [f"mandator-{record['backclick']['mandatorId']}",
            f"account-{record['copernica']['accountId']}"]


def require_names(store: Store, tenant: str) -> list[str]:
    """``filter_names``; TenantError (400) when ``tenant`` stands for nothing."""
    names = filter_names(store, tenant)
    if not names:
        raise TenantError(f"Unknown tenant {tenant!r}; use mandator-<id>, account-<id> or a "
                          f"tenant's name.")
    return names


def resolve(store: Store, tenant: str, kind: str) -> int | None:
    """The mandator (``kind`` "mandator") or account id a ``tenant`` filter names: from
    ``mandator-N``/``account-N`` or a tenant's name; None when it names nothing of that kind."""
    for name in filter_names(store, tenant):
        if name.startswith(kind + "-"):
            return int(name[len(kind) + 1:])
    return None


def delete(store: Store, name: str) -> dict:
    """Remove a tenant and all its data (mandator, account, user, its fault rules); what was
    removed, with the ``tenants`` names its journal entries carry."""
    with store.transaction():
        value = store.meta_get(PREFIX + name)
        if value is None:
            raise TenantError(f"No tenant named {name!r}.", 404)
        record = json.loads(value)
        names = filter_names(store, name)
        store.delete_mandator(record["backclick"]["mandatorId"])
        store.delete_account(record["copernica"]["accountId"], record["copernica"]["username"])
        rules = store.delete_tenant_fault_rules([name, *names])
        store.meta_delete(PREFIX + name)
    return {"deleted": name, "tenants": names, "faultRules": rules}
