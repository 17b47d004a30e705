"""Tenants, the machinery's part: names, records in the store's meta table (``tenant:NAME``,
so resets, snapshots and restores treat them like the rest of the data), ids, the filter
names a tenant stands for, and its fault rules. What a tenant is in each vendor (a mandator,
an account) is made and deleted by mockserver/backclick/tenant.py and
mockserver/copernica/tenant.py; mockserver/vendors/tenants.py puts them together.
"""
from __future__ import annotations

import json
import re

from mockserver.store import Store

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
ID_NAME = re.compile(r"(?:mandator|account)-\d+\Z")
PREFIX = "tenant:"
LAST_ID = "tenant_last_id"


class TenantError(Exception):
    """A refused tenant call; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        """A refused tenant call with the message and HTTP status to answer."""
        super().__init__(message)
        self.status = status


def first_row(document: dict, section: str, key: str, source: str) -> dict:
    """``document[section][key][0]`` when present (a mapping), else {}."""
    part = document.get(section) if isinstance(document, dict) else None
    items = part.get(key) if isinstance(part, dict) else None
    if not items:
        return {}
    if not isinstance(items, list) or not isinstance(items[0], dict):
        raise TenantError(f"{source}: {section}.{key}: expected a list of mappings")
    return dict(items[0])


def without_id(row) -> dict:
    """A row of a fixture document without its id (a mapping; anything else as it is)."""
    return {k: v for k, v in row.items() if k != "id"} if isinstance(row, dict) else row


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


def check_name(name: str | None) -> None:
    """TenantError unless ``name`` (when given) can name a tenant."""
    if name is not None and (not NAME.match(name) or name in (".", "..")):
        raise TenantError(f"Invalid tenant name {name!r}: 1 to 64 of A-Z a-z 0-9 . _ -, "
                          f"not . or .. (a path segment could not name it)")
    if name is not None and ID_NAME.match(name):
        raise TenantError(f"Invalid tenant name {name!r}: mandator-N and account-N name "
                          f"a mandator's or an account's data in filters")


def next_id(store: Store, max_in_use: int) -> int:
    """The id of a new tenant: above every id in use and every tenant's made before."""
    return max(max_in_use, int(store.meta_get(LAST_ID, "0"))) + 1


def claim_name(store: Store, name: str) -> None:
    """TenantError (409) when a tenant of that name exists already."""
    if store.meta_get(PREFIX + name) is not None:
        raise TenantError(f"A tenant named {name!r} exists already.", 409)


def save(store: Store, record: dict, tenant_id: int) -> None:
    """Keep a new tenant's record and remember its id as the last given."""
    store.meta_set(PREFIX + record["tenant"], json.dumps(record))
    store.meta_set(LAST_ID, str(tenant_id))


def records(store: Store) -> list[dict]:
    """Every tenant's record, by name."""
    return [json.loads(value) for value in store.meta_items(PREFIX).values()]


def record_of(store: Store, name: str) -> dict:
    """A tenant's record; TenantError (404) when there is none of that name."""
    value = store.meta_get(PREFIX + name)
    if value is None:
        raise TenantError(f"No tenant named {name!r}.", 404)
    return json.loads(value)


def forget(store: Store, name: str, names: list[str]) -> int:
    """Remove a tenant's record and its fault rules; how many rules were removed."""
    rules = store.delete_tenant_fault_rules([name, *names])
    store.meta_delete(PREFIX + name)
    return rules
