"""Who may use a BACKCLICK mandator: its API keys, or else its allowed client networks."""
from __future__ import annotations

from mockserver.backclick import tables
from mockserver.machinery.errors import AccessDenied
from mockserver.machinery.networks import in_networks
from mockserver.store import Store


def check_mandator(store: Store, mandator_id: int, api_key: str | None, caller: str) -> None:
    """Raise AccessDenied unless the key, or else the caller's address, admits the mandator."""
    if tables.mandator(store, mandator_id) is None:
        raise AccessDenied(f"Unknown mandatorId {mandator_id}.")
    if api_key:
        if not tables.mandator_has_key(store, mandator_id, api_key):
            raise AccessDenied("Invalid API key.")
        return
    if not in_networks(caller, tables.allowed_ips(store, mandator_id)):
        raise AccessDenied(f"IP [{caller}] is not allowed to access this service.")
