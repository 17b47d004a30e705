"""The server's settings, as the CLI and the environment (``MOCKSERVER_*``) give them."""
from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_MAX_BODY = 10 * 1024 * 1024
DEFAULT_JOURNAL_BODY_LIMIT = 64 * 1024
# Items of one array in a request: ten times the largest count BACKCLICK documents (1000
# subscribers or addresses per call, refused with the vendor's own fault).
DEFAULT_MAX_ITEMS = 10_000
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

    def relay_address(self) -> tuple[str, int] | None:
        """``--smtp-relay HOST:PORT`` as (host, port), or None."""
        if not self.smtp_relay:
            return None
        host, _, port = self.smtp_relay.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)


def open_store(settings: Settings):
    """The store ``settings`` name, migrated, its relay state set, and seeded from the
    fixtures when it is empty; OSError or RuntimeError (a fixture's error too) if it cannot."""
    from mockserver.store import Store
    store = Store(settings.db)
    store.migrate()
    store.set_relay(settings.smtp_relay)
    if settings.fixtures and store.is_empty():
        from mockserver import fixtures  # YAML and validation: only when seeding
        try:
            fixtures.seed(store, fixtures.load_paths(settings.fixtures))
        except fixtures.FixtureError as error:  # worded "file: path: problem"
            raise RuntimeError(str(error)) from error
    return store
