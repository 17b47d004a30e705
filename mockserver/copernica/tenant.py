"""A tenant's Copernica part: its account (from a fixture document, ids given fresh), its
user with a fresh password and access token, the WSDL and filter it is described with, and
deleting it."""
from __future__ import annotations

from mockserver.copernica import tables
from mockserver.machinery.tenants import first_row, without_id
from mockserver.store import Store


def _fresh_database(d) -> dict:
    """A database of the document without ids (they are given fresh on seeding)."""
    if not isinstance(d, dict):
        return d
    d = without_id(d)
    for key in ("fields", "interests", "callbacks", "contactTypes"):
        if isinstance(d.get(key), list):
            d[key] = [without_id(x) for x in d[key]]
    if isinstance(d.get("collections"), list):
        d["collections"] = [dict(without_id(co), fields=[without_id(f) for f in co["fields"]])
                            if isinstance(co, dict) and isinstance(co.get("fields"), list)
                            else without_id(co) for co in d["collections"]]
    if isinstance(d.get("profiles"), list):
        d["profiles"] = [_fresh_profile(p) for p in d["profiles"]]
    return d


def _fresh_profile(p) -> dict:
    """A profile of the document without ids; its contacts for no user (the tenant has users
    of its own)."""
    if not isinstance(p, dict):
        return p
    p = without_id(p)
    if isinstance(p.get("subprofiles"), list):
        p["subprofiles"] = [without_id(s) for s in p["subprofiles"]]
    if isinstance(p.get("contacts"), list):
        p["contacts"] = [{k: v for k, v in without_id(ct).items() if k != "user"}
                         if isinstance(ct, dict) else ct for ct in p["contacts"]]
    return p


def given_account(document: dict, source: str) -> dict:
    """The document's ``copernica.accounts[0]`` (checked before the transaction), or {}."""
    return first_row(document, "copernica", "accounts", source)


def section_of(account: dict, tenant_id: int, name: str, token: str,
               password: str) -> tuple[dict, str]:
    """The tenant's ``copernica`` section (its account with the access token, its user with
    the password) and the user's name."""
    databases = account.get("databases")
    account.update(id=tenant_id, name=account.get("name") or name,
                   tokens=[{"token": token}],
                   databases=[_fresh_database(d) for d in databases]
                   if isinstance(databases, list) else databases)
    username = f"{name}@tenants.mockserver"
    return {"accounts": [account],
            "users": [{"username": username, "password": password,
                       "accounts": [tenant_id]}]}, username


def describe(part: dict, base_url: str) -> None:
    """Add the WSDL URL and the filter value to a tenant record's ``copernica`` part."""
    part["wsdl"] = base_url.rstrip("/") + "/?SOAPAPI=WSDL"
    part["filter"] = f"account-{part['accountId']}"


def delete(store: Store, part: dict) -> None:
    """Remove the tenant's account, its user and all its data."""
    tables.delete_account(store, part["accountId"], part["username"])
