"""The wire's limits on a request: its body's size and the items of one array."""
from __future__ import annotations

DEFAULT_MAX_BODY = 10 * 1024 * 1024
# Items of one array in a request: ten times the largest count BACKCLICK documents (1000
# subscribers or addresses per call, refused with the vendor's own fault).
DEFAULT_MAX_ITEMS = 10_000
