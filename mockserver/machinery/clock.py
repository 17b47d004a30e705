"""The mock's clock: one notion of "now" for the whole server, kept in the store.

Real time by default. It can be set to any moment (and keep running from there) or
frozen, and moved forward; every worker process reads the same state from the store,
and it survives restarts. Scheduled newsletters and retries go by this clock.
"""
from __future__ import annotations

import bisect
import datetime as dt
import json

UTC = dt.timezone.utc
STATE_KEY = "clock_state"  # {"at": stamp, "anchor": real stamp, "frozen": bool}
CONFIG_KEY = "clock"  # the fixtures' {"start", "frozen"}, exported as is
HISTORY_KEY = "clock_history"  # [{"since": real stamp, "state": state or null}], oldest first
HISTORY_SIZE = 32  # the latest changes kept, for dating what happened before them
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=UTC)  # the clock is set and moved within these
LATEST = dt.datetime(9999, 1, 1, tzinfo=UTC)  # (a year short of what datetime holds)


class ClockRangeError(ValueError):
    """A time the mock's clock cannot show: before EARLIEST, or LATEST or later."""


def _real_now() -> dt.datetime:
    return dt.datetime.now(UTC)


def stamp(moment: dt.datetime) -> str:
    """The store's sortable text form of a moment (UTC, microseconds, a four-digit year)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_stamp(text: str) -> dt.datetime:
    """A moment from its store form (or any ISO 8601 text; no offset means UTC)."""
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _state(store) -> dict | None:
    raw = store.meta_get(STATE_KEY) if store is not None else None
    return json.loads(raw) if raw else None


class Timeline:
    """The clock's latest states with the real times they were set at, read from the store
    in one go: the mock's time at any recent real time (``at``), off the request path."""

    def __init__(self, store):
        """Read the clock's history (and, for a store without one, its state) from ``store``."""
        raw = store.meta_get(HISTORY_KEY)
        entries = json.loads(raw) if raw else []
        if not entries:
            current = _state(store)
            entries = [{"since": None, "state": current}] if current else []
        self._since = [parse_stamp(e["since"]).timestamp() if e["since"] else float("-inf")
                       for e in entries]
        self._states = [e["state"] for e in entries]
        self._parsed: dict[int, tuple] = {}  # index: (at, at as Unix time, anchor, frozen stamp)

    def _index(self, real: float) -> int:
        since = self._since
        if since and real >= since[-1]:  # the usual case: after the latest change
            return len(since) - 1
        return bisect.bisect_right(since, real) - 1

    def _state_at(self, index: int) -> tuple | None:
        state = self._states[index] if index >= 0 else None
        if state is None:
            return None
        if index not in self._parsed:
            at = parse_stamp(state["at"])
            self._parsed[index] = (at, at.timestamp(), parse_stamp(state["anchor"]).timestamp(),
                                   stamp(at) if state["frozen"] else None)
        return self._parsed[index]

    def at(self, real: float) -> dt.datetime:
        """The mock's time at the real (Unix) time ``real``: real time before the first
        change, then the frozen moment, or ``at`` plus the real time passed since ``anchor``."""
        parsed = self._state_at(self._index(real))
        if parsed is None:
            return dt.datetime.fromtimestamp(real, UTC)
        at, at_unix, anchor, frozen = parsed
        return at if frozen else dt.datetime.fromtimestamp(at_unix + (real - anchor), UTC)

    def stamp_at(self, real: float) -> str:
        """``stamp(self.at(real))``, computed once for a frozen moment."""
        parsed = self._state_at(self._index(real))
        if parsed is not None and parsed[3] is not None:
            return parsed[3]
        return stamp(self.at(real))


def now(store=None) -> dt.datetime:
    """The current time of the mock (timezone-aware, UTC)."""
    state = _state(store)
    if state is None:
        return _real_now()
    at = parse_stamp(state["at"])
    if state["frozen"]:
        return at
    return at + (_real_now() - parse_stamp(state["anchor"]))


def now_stamp(store=None) -> str:
    """``stamp(now())``."""
    return stamp(now(store))


def local(moment: dt.datetime) -> dt.datetime:
    """A moment in the server's own time zone, as the vendors print dates."""
    return moment.astimezone()


def describe(store) -> dict:
    """The clock as the admin API shows it: ``now``, ``frozen``, ``offsetSeconds``."""
    state = _state(store)
    current = now(store)
    return {"now": current.isoformat(timespec="milliseconds"),
            "frozen": bool(state and state["frozen"]),
            "offsetSeconds": round((current - _real_now()).total_seconds(), 3)}


def in_range(moment: dt.datetime) -> dt.datetime:
    """``moment`` when the clock may show it; ClockRangeError otherwise."""
    if not EARLIEST <= moment < LATEST:
        raise ClockRangeError(f"The mock's clock runs from {EARLIEST:%Y-%m-%d} to "
                              f"{LATEST:%Y-%m-%d} UTC, not {stamp(moment)}.")
    return moment


def set_clock(store, moment: dt.datetime | None = None, frozen: bool | None = None) -> dict:
    """Set the clock to ``moment`` (default: where it is) and freeze or release it;
    ClockRangeError for a moment outside EARLIEST to LATEST."""
    if moment is not None:
        in_range(moment)
    with store.transaction():
        state = _state(store)
        moment = moment or now(store)
        frozen = bool(state and state["frozen"]) if frozen is None else frozen
        _write(store, moment, frozen)
    return describe(store)


def advance(store, seconds: float) -> dict:
    """Move the clock forward (a frozen clock stays frozen at the later moment);
    ClockRangeError when that would pass LATEST."""
    with store.transaction():
        state = _state(store)
        current = now(store)
        try:
            moment = current + dt.timedelta(seconds=seconds)
        except OverflowError:
            moment = None
        if moment is None or moment >= LATEST:
            raise ClockRangeError(f"The mock's clock runs to {LATEST:%Y-%m-%d} UTC; "
                                  f"{seconds:g} s from {stamp(current)} is beyond.")
        _write(store, moment, bool(state and state["frozen"]))
    return describe(store)


def reset(store) -> None:
    """Back to real time."""
    with store.transaction():
        store.meta_delete(STATE_KEY)
        store.meta_delete(CONFIG_KEY)
        _remember(store, None)


def configure(store, start: str | None, frozen: bool) -> None:
    """Apply a fixture's ``clock`` section (inside the caller's transaction)."""
    moment = parse_stamp(start) if start else now(store)
    _write(store, moment, frozen)


def _write(store, moment: dt.datetime, frozen: bool) -> None:
    state = {"at": stamp(moment), "anchor": stamp(_real_now()), "frozen": frozen}
    store.meta_set(STATE_KEY, json.dumps(state))
    store.meta_set(CONFIG_KEY, json.dumps({"frozen": frozen, "start": stamp(moment)},
                                          sort_keys=True))
    _remember(store, state)


def _remember(store, state: dict | None) -> None:
    """Add a change of the clock to its history (the journal dates exchanges by it)."""
    raw = store.meta_get(HISTORY_KEY)
    history = json.loads(raw) if raw else []
    history.append({"since": state["anchor"] if state else stamp(_real_now()), "state": state})
    store.meta_set(HISTORY_KEY, json.dumps(history[-HISTORY_SIZE:]))
