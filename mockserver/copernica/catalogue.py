"""The Copernica SOAP API's catalogue: every operation's input members and every type's members,
in schema order, as a .NET client generated from the vendor's WSDL saw them (catalogue.json).

The served WSDL, the spyne types and the parameters handlers read all come from here, so
member names, order and types are the vendor's.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

PRIMITIVES = ("int", "string", "bool", "float")
ACCESS_TOKEN = ("access_token", "string")  # today's reference pages add it to every input
# The element name of an array's items, and the name of the array's own type.
ITEM_NAMES = {"Pair": "pair", "string": "item", "Requirement": "requirement"}
ARRAY_TYPE_NAMES = {"Pair": "Map", "string": "Array", "Requirement": "Requirements"}


@functools.lru_cache(maxsize=None)
def _data() -> dict:
    text = (Path(__file__).with_name("catalogue.json")).read_text(encoding="utf-8")
    return json.loads(text)


def _members(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(member.split(":", 1)) for member in text.split())


@functools.lru_cache(maxsize=None)
def operations() -> dict[str, tuple[tuple[str, str], ...]]:
    """Every operation of the catalogue (sorted by name) with its input members, in order."""
    return {name: _members(text) for name, text in _data()["operations"].items()}


@functools.lru_cache(maxsize=None)
def types() -> dict[str, tuple[tuple[str, str], ...]]:
    """Every type of the catalogue (sorted by name) with its members, in order."""
    return {name: _members(text) for name, text in _data()["types"].items()}


def input_members(operation: str) -> tuple[tuple[str, str], ...]:
    """The members of ``input_<operation>``: the catalogue's, then ``access_token``."""
    return (*operations()[operation], ACCESS_TOKEN)


def element_type(kind: str) -> str:
    """The type of an array's items (``Pair[]`` -> ``Pair``), or the type itself."""
    return kind[:-2] if kind.endswith("[]") else kind


def item_name(kind: str) -> str:
    """The element name of the items of an array of ``kind`` (``Pair`` -> ``pair``)."""
    return ITEM_NAMES.get(kind, kind.lower())


def array_type_name(kind: str) -> str:
    """The schema type name of an array of ``kind`` (``Pair`` -> ``Map``)."""
    return ARRAY_TYPE_NAMES.get(kind, kind + "Array")


def object_of(operation: str) -> str:
    """The object an operation belongs to (``Database_fields`` -> ``Database``; ``login`` ->
    ``Account``)."""
    return operation.split("_", 1)[0] if "_" in operation else "Account"


def canonical_name(name: str) -> str | None:
    """The catalogue's spelling of an operation name matched case-insensitively, or None."""
    return _lower_names().get(name.lower())


@functools.lru_cache(maxsize=None)
def _lower_names() -> dict[str, str]:
    return {name.lower(): name for name in operations()}
