"""Copernica profile searches: requirements (``fieldname operator value``) met by records,
their order, distinct combinations of values, and pages of what was found.

It works on records read in full (profiles or subprofiles, by ``profiles``); numbers
compare as numbers, text case-insensitively unless a requirement asks otherwise.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from mockserver.machinery.errors import InvalidRequest

OPERATORS = ("=", "==", "!=", "<>", "<", ">", "<=", ">=", "=~", "!~")
PSEUDO_FIELDS = ("id", "code", "created", "modified")


@dataclass
class Requirement:
    """A search condition: ``fieldname operator value`` (case-insensitive unless asked)."""

    fieldname: str
    value: str = ""
    operator: str = "="
    casesensitive: bool = False


@dataclass
class Page:
    """One page of a search: the records and how many matched in all."""

    start: int
    total: int
    items: list



_PRINTABLE = re.compile(r"[ -~]*")


def _kinds(defined: list[dict]) -> dict:
    """Defined fields by lower-case name: (name as defined, type)."""
    return {f["name"].lower(): (f["name"], f["type"]) for f in defined}


def equalities(requirements: list[Requirement], defined: list[dict]) -> tuple:
    """The ``=`` requirements on text fields that the store can pre-filter on: (field name,
    value, case-sensitive), the value printable ASCII, the name one a JSON path can quote.
    Numbers compare as numbers (``_compare``) and are left to the search itself."""
    kinds = _kinds(defined)
    found = []
    for req in requirements:
        field = kinds.get((req.fieldname or "").strip().lower())
        value = "" if req.value is None else str(req.value)
        if field is None or (req.operator or "=").strip() not in ("=", "==") or \
                field[1] in ("integer", "float") or not _PRINTABLE.fullmatch(value) or \
                '"' in field[0] or "\\" in field[0]:
            continue
        found.append((field[0], value, bool(req.casesensitive)))
    return tuple(found)


def matching(records: list[dict], requirements: list[Requirement], defined: list[dict],
              order: str | None, asc: bool) -> list[dict]:
    """The records meeting every requirement, ordered by ``order`` (ties by id)."""
    types = _kinds(defined)
    checks = []
    for req in requirements:
        operator = (req.operator or "=").strip()
        if operator not in OPERATORS:
            raise InvalidRequest(f"Unknown operator '{req.operator}': expected one of "
                                 f"=, !=, <>, <, >, <=, >=, =~, !~.")
        name = (req.fieldname or "").strip().lower()
        if name in types:
            checks.append((types[name][0], types[name][1], False, operator, req))
        elif name in PSEUDO_FIELDS:
            checks.append((name, "integer" if name == "id" else "text", True, operator, req))
        # a requirement naming no field is skipped, as the vendor does
    found = [r for r in records
             if all(_compare(r[n] if pseudo else r["fields"].get(n, ""), kind, op, req)
                    for n, kind, pseudo, op, req in checks)]
    found.sort(key=lambda r: r["id"])
    key = (order or "").strip().lower()
    if key in types:
        name, kind = types[key]
        found.sort(key=lambda r: _sort_key(r["fields"].get(name, ""), kind), reverse=not asc)
    elif key in PSEUDO_FIELDS:
        found.sort(key=lambda r: _sort_key(r[key], "integer" if key == "id" else "text"),
                   reverse=not asc)
    elif not asc:
        found.reverse()
    return found


def distinct(records: list[dict], names: list[str], defined: list[dict], order: str | None,
             asc: bool) -> tuple[list[dict], list[str]]:
    """One record per distinct combination of the named fields' values (the first of it by
    id), ordered by ``order``; and the field names used (defined names, case-insensitive;
    the others are ignored). Values are the same as a search's ``=`` finds them: numbers as
    numbers, text case-insensitively. No names at all are an InvalidRequest."""
    if not [n for n in names if n.strip()]:
        raise InvalidRequest("No fields given: fields names the fields to be distinct by.")
    by_name = {f["name"].lower(): f for f in defined}
    chosen = list(dict.fromkeys(by_name[n.strip().lower()]["name"] for n in names
                                if n.strip().lower() in by_name))
    kinds = {f["name"]: f["type"] for f in defined}
    seen, firsts = set(), []
    for record in sorted(records, key=lambda r: r["id"]):
        combination = tuple(_same_key(record["fields"].get(n, ""), kinds[n]) for n in chosen)
        if combination not in seen:
            seen.add(combination)
            firsts.append(record)
    return matching(firsts, [], defined, order, asc), chosen


def _same_key(value, kind: str):
    """What two values share when a search's ``=`` (not case-sensitive) finds them equal."""
    if kind in ("integer", "float"):
        number = _number(value)
        if number is not None:
            return number
    return str(value).casefold()


def _number(text) -> float | None:
    try:
        return float(str(text).strip())
    except ValueError:
        return None


def _sort_key(value, kind: str):
    if kind in ("integer", "float"):
        number = _number(value)
        return (0, number if number is not None else 0.0, "")
    return (1, 0.0, str(value).casefold())


def _like(pattern: str, casesensitive: bool) -> re.Pattern:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(regex, re.S if casesensitive else re.S | re.I)


def _compare(actual, kind: str, operator: str, req: Requirement) -> bool:
    actual, wanted = str(actual), "" if req.value is None else str(req.value)
    if operator in ("=~", "!~"):
        hit = _like(wanted, req.casesensitive).fullmatch(actual) is not None
        return hit if operator == "=~" else not hit
    left, right = actual, wanted
    if kind in ("integer", "float"):
        a, b = _number(actual), _number(wanted)
        if a is not None and b is not None:
            left, right = a, b
    if isinstance(left, str) and not req.casesensitive:
        left, right = left.casefold(), right.casefold()
    if operator in ("=", "=="):
        return left == right
    if operator in ("!=", "<>"):
        return left != right
    try:
        return {"<": left < right, ">": left > right, "<=": left <= right,
                ">=": left >= right}[operator]
    except TypeError:
        return False


def page_of(found: list, start: int | None, length: int | None) -> Page:
    """One page of a complete list."""
    start = max(0, start or 0)
    items = found[start:] if length is None else found[start:start + max(0, length)]
    return Page(start=start, total=len(found), items=items)


def created_values(requirements: list[Requirement], fields: dict) -> dict:
    """What an upsert creates: the ``=`` requirements' values, then the fields given."""
    values = {r.fieldname: r.value for r in requirements
              if (r.operator or "=").strip() in ("=", "==") and r.fieldname}
    values.update(fields)
    return values
