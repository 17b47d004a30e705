"""Copernica field types: what a value of each type may be, and a new record's default.
"""
from __future__ import annotations

import datetime as dt
import re

from mockserver.machinery import clock
from mockserver.machinery.errors import InvalidRequest
from mockserver.machinery.addresses import is_valid_address

FIELD_TYPES = ("integer", "float", "date", "empty_date", "datetime", "empty_datetime", "text",
               "email", "phone_fax", "phone_gsm", "select", "big")
ONE_PER_DATABASE = ("email", "phone_fax", "phone_gsm")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
_PHONE = re.compile(r"\+?[0-9 ()./-]{3,}\Z")
EMPTY_DATE, EMPTY_DATETIME = "0000-00-00", "0000-00-00 00:00:00"


def select_options(field: dict) -> list[str]:
    """The choices of a ``select`` field: the lines of its ``value``."""
    return [line.strip() for line in (field["value"] or "").splitlines() if line.strip()]


def default_value(field: dict, now: dt.datetime) -> str:
    """The value a new (sub)profile gets for a field it was not given."""
    kind, value = field["type"], field["value"] or ""
    if kind == "select":
        options = select_options(field)
        return options[0] if options else ""
    if value:
        return value
    if kind in ("integer", "float"):
        return "0"
    if kind == "date":
        return clock.local(now).strftime("%Y-%m-%d")
    if kind == "datetime":
        return clock.local(now).strftime("%Y-%m-%d %H:%M:%S")
    if kind == "empty_date":
        return EMPTY_DATE
    if kind == "empty_datetime":
        return EMPTY_DATETIME
    return ""


def check_value(field: dict, value) -> str | None:
    """The value as stored for this field's type, or None when the type does not allow it."""
    text = "" if value is None else str(value)
    kind = field["type"]
    if kind in ("text", "big"):
        return text
    stripped = text.strip()
    if kind == "integer":
        if stripped == "":
            return "0"
        return str(int(stripped)) if _INTEGER.match(stripped) else None
    if kind == "float":
        if stripped == "":
            return "0"
        return stripped if _FLOAT.match(stripped) else None
    if kind in ("date", "empty_date"):
        if kind == "empty_date" and stripped in ("", EMPTY_DATE):
            return EMPTY_DATE
        return stripped if _is_moment(stripped, "%Y-%m-%d") else None
    if kind in ("datetime", "empty_datetime"):
        if kind == "empty_datetime" and stripped in ("", EMPTY_DATETIME, EMPTY_DATE):
            return EMPTY_DATETIME
        candidate = stripped.replace("T", " ")
        if _is_moment(candidate, "%Y-%m-%d"):
            candidate += " 00:00:00"
        return candidate if _is_moment(candidate, "%Y-%m-%d %H:%M:%S") else None
    if kind == "email":
        return stripped if stripped == "" or is_valid_address(stripped) else None
    if kind in ("phone_fax", "phone_gsm"):
        return stripped if stripped == "" or _PHONE.match(stripped) else None
    if kind == "select":
        if stripped == "":
            return ""
        for option in select_options(field):
            if option.lower() == stripped.lower():
                return option
        return None
    return text


def moment(text, what: str) -> str:
    """A point in time given by a client (``YYYY-MM-DD hh:mm:ss``; ``T`` and a bare date are
    accepted) as ``YYYY-MM-DD hh:mm:ss``, or empty; InvalidRequest naming ``what`` otherwise."""
    stripped = "" if text is None else str(text).strip()
    if stripped in ("", EMPTY_DATE, EMPTY_DATETIME):
        return ""
    checked = check_value({"type": "datetime"}, stripped)
    if checked is None:
        raise InvalidRequest(f"Invalid {what} '{stripped}': expected YYYY-MM-DD hh:mm:ss.")
    return checked


def _is_moment(text: str, pattern: str) -> bool:
    try:
        return dt.datetime.strptime(text, pattern).strftime(pattern) == text
    except ValueError:
        return False
