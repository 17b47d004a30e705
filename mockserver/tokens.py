"""Secrets the mock hands out: confirmation tokens, codes."""
import secrets


def new_token() -> str:
    """A fresh unguessable token for a link (32 hex characters)."""
    return secrets.token_hex(16)


def new_tokens(count: int) -> list[str]:
    """``count`` fresh tokens like ``new_token``'s, from one read of the system's randomness."""
    raw = secrets.token_hex(16 * count)
    return [raw[i:i + 32] for i in range(0, 32 * count, 32)]
