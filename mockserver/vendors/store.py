"""The whole store schema (BACKCLICK's part, the machinery's, Copernica's, in the order the
tables are dumped) and the queries that span both vendors."""
from __future__ import annotations

from mockserver.backclick import schema as backclick_schema
from mockserver.backclick import tables as backclick_tables
from mockserver.copernica import schema as copernica_schema
from mockserver.copernica import tables as copernica_tables
from mockserver.store import Schema, Store
from mockserver.store.schema import MACHINERY

SCHEMA = Schema((
    backclick_schema.part(),
    MACHINERY,
    copernica_schema.part(),
))

SCHEMA_VERSION = SCHEMA.version
TABLES = SCHEMA.tables


def open_store(path: str) -> Store:
    """The store at ``path`` with the whole schema (``:memory:``: a throwaway file)."""
    return Store(path, SCHEMA)


def is_empty(store: Store) -> bool:
    """True when no mandator has been configured yet."""
    return not backclick_tables.has_mandator(store)


def sizes(store: Store) -> dict[str, int]:
    """How many BACKCLICK subscribers and Copernica profiles the store holds."""
    with store.reading():
        return {"subscribers": backclick_tables.subscriber_count(store),
                "profiles": copernica_tables.profile_count(store)}


def max_tenant_id(store: Store) -> int:
    """The highest mandator or account id in use (0 when there is none)."""
    with store.reading():
        return max(backclick_tables.max_mandator_id(store),
                   copernica_tables.max_account_id(store))


def max_ids(store: Store) -> dict[str, int]:
    """The highest id in use in each table with generated ids (0 when empty), of both vendors
    and the outbox."""
    with store.reading():
        return {**backclick_tables.max_backclick_ids(store),
                **store.highest_ids(("outbox", "mail_events")),
                **copernica_tables.max_copernica_ids(store)}
