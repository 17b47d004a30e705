"""Email addresses: whether a text is an RFC 5322 addr-spec, as both vendors check it."""
from __future__ import annotations

import re

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
_LITERAL = r"\[[\x21-\x5a\x5e-\x7e]*\]"
_ADDR_SPEC = re.compile(rf"(?:{_DOT_ATOM}|{_QUOTED})@(?:{_DOT_ATOM}|{_LITERAL})\Z")


def is_valid_address(address: str) -> bool:
    """True when the address is an RFC 5322 addr-spec (no comments, no display name)."""
    return bool(_ADDR_SPEC.match(address))
