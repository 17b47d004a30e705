"""Tenants: an isolated BACKCLICK mandator and Copernica account per test, with fresh secrets.

A tenant is a mandator and an account with the same fresh id, a fresh API key (no allowed
IPs), and a Copernica user with a fresh password and access token. Its shape comes from a
fixture document (``backclick.mandators[0]``, ``copernica.accounts[0]``; ids replaced), from
a template mandator, or from a small default. Names, records and fault rules are the
machinery's (mockserver/machinery/tenants.py), each vendor makes and deletes its part
(mockserver/backclick/tenant.py, mockserver/copernica/tenant.py).
"""
from __future__ import annotations

import json

from mockserver.backclick import tenant as backclick_tenant
from mockserver.copernica import tenant as copernica_tenant
from mockserver.machinery import clock, tokens
from mockserver.machinery import tenants as records
from mockserver.machinery.tenants import TenantError, filter_names, require_names, resolve
from mockserver.store import Store
from mockserver.vendors import store as vendor_store

__all__ = ["TenantError", "create", "delete", "described", "filter_names", "listing",
           "require_names", "resolve"]


def create(store: Store, base_url: str, document: dict | None = None,
           template: int | None = None, name: str | None = None,
           source: str | None = None, unguessable: bool = False) -> dict:
    """Create a tenant (in one transaction); the tenant's name, ids, secrets and WSDL URLs.

    ``unguessable``: its secrets come from the system's randomness even with a seed."""
    # YAML and validation only when used: the tenant filters of every worker import tenants
    from mockserver.vendors import fixtures
    source = source or fixtures.REQUEST_BODY
    records.check_name(name)
    document = document or {}
    if not isinstance(document, dict):
        raise TenantError(f"{source}: document: expected a mapping with backclick and/or copernica")
    mandator = backclick_tenant.given_mandator(document, source)
    account = copernica_tenant.given_account(document, source)
    with store.transaction():
        api_key, token, password = tokens.new_tokens(store, 3, unguessable)
        tenant_id = records.next_id(store, vendor_store.max_tenant_id(store))
        name = name or f"tenant-{tenant_id}"
        records.claim_name(store, name)
        mandator = backclick_tenant.mandator_of(store, mandator, template, tenant_id, name,
                                                api_key)
        copernica, username = copernica_tenant.section_of(account, tenant_id, name, token,
                                                          password)
        doc = {"backclick": {"mandators": [mandator]}, "copernica": copernica}
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
        records.save(store, record, tenant_id)
    return described(record, base_url)


def described(record: dict, base_url: str) -> dict:
    """A tenant's record with the WSDL URLs of both dialects and its filter values."""
    out = json.loads(json.dumps(record))
    backclick_tenant.describe(out["backclick"], base_url)
    copernica_tenant.describe(out["copernica"], base_url)
    return out


def listing(store: Store, base_url: str) -> list[dict]:
    """Every tenant, by name."""
    return [described(record, base_url) for record in records.records(store)]


def delete(store: Store, name: str) -> dict:
    """Remove a tenant and all its data (mandator, account, user, its fault rules); what was
    removed, with the ``tenants`` names its journal entries carry."""
    with store.transaction():
        record = records.record_of(store, name)
        names = filter_names(store, name)
        backclick_tenant.delete(store, record["backclick"])
        copernica_tenant.delete(store, record["copernica"])
        rules = records.forget(store, name, names)
    return {"deleted": name, "tenants": names, "faultRules": rules}
