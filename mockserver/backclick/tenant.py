"""A tenant's BACKCLICK part: its mandator (from a fixture document, a template mandator or a
small default, with the tenant's id and API key), the WSDL and filter it is described with,
and deleting it."""
from __future__ import annotations

import json

from mockserver.backclick import SERVICE_PATH
from mockserver.backclick import tables
from mockserver.machinery.tenants import TenantError, first_row, without_id
from mockserver.store import Store

DEFAULT_MANDATOR = {"fields": ["FIRSTNAME", "LASTNAME"], "senderDomains": ["example.com"],
                    "lists": [{"id": 1, "name": "Newsletter"}]}


def _template(store: Store, mandator_id: int) -> dict:
    """The configuration of an existing mandator in the fixture format (no subscribers)."""
    if tables.mandator(store, mandator_id) is None:
        raise TenantError(f"No mandator {mandator_id} to use as the template.", 404)
    rows = {t: tables.mandator_rows(store, t, mandator_id)
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


def given_mandator(document: dict, source: str) -> dict:
    """The document's ``backclick.mandators[0]`` (checked before the transaction), or {}."""
    return first_row(document, "backclick", "mandators", source)


def mandator_of(store: Store, mandator: dict, template: int | None, tenant_id: int,
                name: str, api_key: str) -> dict:
    """The tenant's mandator in the fixture format: the given one over the template's
    configuration, or the default; the tenant's id and API key, no allowed IPs."""
    if template is not None:
        mandator = {**_template(store, template), **mandator}
    elif not mandator:
        mandator = dict(DEFAULT_MANDATOR)
    mandator.update(id=tenant_id, name=mandator.get("name") or name, apiKeys=[api_key],
                    allowedIps=[])
    if isinstance(mandator.get("subscribers"), list):
        mandator["subscribers"] = [without_id(s) for s in mandator["subscribers"]]
    return mandator


def describe(part: dict, base_url: str) -> None:
    """Add the WSDL URL and the filter value to a tenant record's ``backclick`` part."""
    part["wsdl"] = base_url.rstrip("/") + SERVICE_PATH + "?wsdl"
    part["filter"] = f"mandator-{part['mandatorId']}"


def delete(store: Store, part: dict) -> None:
    """Remove the tenant's mandator and all its data."""
    tables.delete_mandator(store, part["mandatorId"])
