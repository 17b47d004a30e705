"""The server's settings, as the CLI and the environment (``MOCKSERVER_*``) give them."""
from __future__ import annotations

from dataclasses import dataclass, field

from mockserver.machinery.journal import DEFAULT_JOURNAL_BODY_LIMIT
from mockserver.soap.limits import DEFAULT_MAX_BODY, DEFAULT_MAX_ITEMS
from mockserver.vendors import store as vendor_store

DEFAULT_READ_TIMEOUT = 10.0


@dataclass
class Settings:
    """Everything ``mockserver serve`` can be told."""

    host: str = "127.0.0.1"
    port: int = 8080
    db: str = "mockserver.db"
    fixtures: list[str] = field(default_factory=list)
    demo: bool = False
    trusted_proxies: list[str] = field(default_factory=list)
    max_body: int = DEFAULT_MAX_BODY
    max_items: int = DEFAULT_MAX_ITEMS
    read_timeout: float = DEFAULT_READ_TIMEOUT  # seconds for a request to arrive, an answer to go
    workers: int = 1
    threads: int = 4
    admin_token: str | None = None
    smtp_relay: str | None = None
    journal: bool = True
    journal_size: int = 10_000
    journal_body_limit: int = DEFAULT_JOURNAL_BODY_LIMIT
    backclick_wsdl: str | None = None  # a user's BACKCLICK WSDL to serve instead of the mock's
    log_requests: bool = False  # one line per request on standard error

    def relay_address(self) -> tuple[str, int] | None:
        """``--smtp-relay HOST:PORT`` as (host, port), or None."""
        if not self.smtp_relay:
            return None
        host, _, port = self.smtp_relay.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)


@dataclass
class Opening:
    """What starting on a store found and did, for the ready line."""

    state: str  # "seeded" (it was empty: the fixtures went in), "reused" (it had data), "empty"
    created: bool  # the file (or the throwaway store) was made now
    subscribers: int = 0
    profiles: int = 0
    fixtures_skipped: bool = False  # fixtures were given but the store had data

    def phrase(self) -> str:
        """``seeded: 410 subscribers, 60 profiles``, ``reused: …`` or ``new, empty store``."""
        if self.state == "empty":
            return "new, empty store" if self.created else "reused, empty store"
        return f"{self.state}: {self.subscribers} subscribers, {self.profiles} profiles"


def open_store(settings: Settings):
    """The store ``settings`` name, migrated, its relay state set, and seeded from the
    fixtures when it is empty; OSError or RuntimeError (a fixture's error too, and
    store.StoreUnavailable) if it cannot."""
    return open_store_telling(settings)[0]


def open_store_telling(settings: Settings):
    """``open_store``, and the Opening saying whether the store was made, seeded or reused."""
    import os
    from mockserver.vendors.store import open_store
    db = settings.db
    created = db == ":memory:" or not os.path.exists(db) or os.path.getsize(db) == 0
    store = open_store(db)
    store.migrate()
    store.set_relay(settings.smtp_relay)
    empty = vendor_store.is_empty(store)
    if settings.fixtures and empty:
        from mockserver.vendors import fixtures  # YAML and validation: only when seeding
        try:
            fixtures.seed(store, fixtures.load_paths(settings.fixtures))
        except fixtures.FixtureError as error:  # worded "file: path: problem"
            raise RuntimeError(str(error)) from error
    sizes = vendor_store.sizes(store)
    state = "seeded" if settings.fixtures and empty else (
        "empty" if empty and not any(sizes.values()) else "reused")
    return store, Opening(state, created, sizes["subscribers"], sizes["profiles"],
                          fixtures_skipped=bool(settings.fixtures) and not empty)
