"""Secrets the mock hands out: confirmation tokens, codes."""
import secrets


def new_token() -> str:
    """A fresh unguessable token for a link (32 hex characters)."""
    return secrets.token_hex(16)
