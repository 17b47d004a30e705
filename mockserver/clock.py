"""The mock's clock: one notion of "now" for the whole server, kept in the store."""
from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc


def now(store=None) -> dt.datetime:
    """The current time of the mock (timezone-aware, UTC)."""
    return dt.datetime.now(UTC)


def stamp(moment: dt.datetime) -> str:
    """The store's sortable text form of a moment (UTC, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(text: str) -> dt.datetime:
    """A moment from its store form (or any ISO 8601 text)."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def now_stamp(store=None) -> str:
    """``stamp(now())``."""
    return stamp(now(store))


def local(moment: dt.datetime) -> dt.datetime:
    """A moment in the server's own time zone, as the vendors print dates."""
    return moment.astimezone()
