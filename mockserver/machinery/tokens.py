"""Secrets the mock hands out: confirmation and tracking tokens, codes, cookies, keys.

Every such secret is 32 hex characters and comes from here. Without a seed they are
random. When the store has a seed (meta ``seed``, set by a fixture's top-level ``seed``)
they are drawn from a sequence instead: token number n is the keyed BLAKE2b-128 of n,
keyed with the seed, and the store's meta ``tokens_issued`` counts how many have been
drawn. The counter is bumped inside the caller's transaction, so a store restored from a
snapshot, or seeded from an export (which carries the counter as ``state.tokensIssued``),
goes on where it stood, and two fresh stores with the same seed hand out the same tokens
in the same order.
"""
from __future__ import annotations

import hashlib
import secrets

ISSUED_KEY = "tokens_issued"  # meta: how many tokens the seed's sequence has handed out


def new_token(store, unguessable: bool = False) -> str:
    """A fresh token for a link or a code (32 hex characters): see ``new_tokens``."""
    return new_tokens(store, 1, unguessable)[0]


def new_tokens(store, count: int, unguessable: bool = False) -> list[str]:
    """``count`` fresh tokens: drawn from the seed's sequence when the store has a seed and
    ``unguessable`` is false, else from one read of the system's randomness (call inside
    the transaction that stores them). ``unguessable`` is for credentials of a server
    others can reach: a seed anyone can read must not let them compute those."""
    if count <= 0:
        return []
    reserved = None if unguessable else store.reserve_tokens(ISSUED_KEY, count)
    if reserved is None:
        raw = secrets.token_hex(16 * count)
        return [raw[i:i + 32] for i in range(0, 32 * count, 32)]
    seed, first = reserved
    key = hashlib.sha256(seed.encode()).digest()
    return [hashlib.blake2b(str(n).encode(), key=key, digest_size=16).hexdigest()
            for n in range(first, first + count)]


def issued(store) -> int:
    """How many tokens the seeded sequence has handed out so far (0 without a seed)."""
    return int(store.meta_get(ISSUED_KEY) or 0)


def continue_after(store, count: int) -> None:
    """Make the seeded sequence go on after ``count`` tokens, never back (inside the
    caller's transaction; seeding an export that carries ``state.tokensIssued``)."""
    if count > issued(store):
        store.meta_set(ISSUED_KEY, str(count))
