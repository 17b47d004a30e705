"""Spyne types of the Copernica SOAP API, built from the catalogue (catalogue.json): the
entities, ``Login``, ``Pair``, ``Requirement``, the arrays, each operation's ``input_X`` and the
``Result`` every operation answers.

Every member is optional (``minOccurs="0"``, not nillable) except the ones an emulated method
needs (``input_X`` of the service table); spyne only knows the types the emulated methods use.
"""
from __future__ import annotations

import functools

from spyne.model.complex import Array, ComplexModel
from spyne.model.primitive import Boolean, Float, Integer32, Unicode

from mockserver.copernica import catalogue
from mockserver.soap.wsdl_writing import ADDRESS_PLACEHOLDER

# The WSDL's own URL, as the vendor's target namespace is; served with the host the client
# fetched it from in place of the placeholder (as soap:address is).
TNS = ADDRESS_PLACEHOLDER + "?SOAPAPI=WSDL"

PRIMITIVES = {"int": Integer32, "string": Unicode, "bool": Boolean, "float": Float}  # xs:int

# What the mock answers: the members of ``Result`` and ``Items`` it fills, kept in the
# catalogue's order (a Result of the mock is one of the vendor's with members left out).
ENTITIES = ("database", "collection", "profile", "subprofile", "field", "collectionfield",
            "interest", "callback", "view", "miniview", "user", "contacttype", "contact",
            "account")
RESULT_MEMBERS = ("start", "length", "total", "allproperties", "items", "value", "array", "map",
                  *ENTITIES)


@functools.lru_cache(maxsize=None)
def optional(model):
    """An element that may be absent and is not nillable."""
    return model.customize(min_occurs=0, nillable=False)


@functools.lru_cache(maxsize=None)
def required(model):
    """An element that must be present and is not nillable."""
    return model.customize(min_occurs=1, nillable=False)


@functools.lru_cache(maxsize=None)
def repeated(model):
    """An element that may occur any number of times (no wrapper)."""
    return model.customize(min_occurs=0, max_occurs="unbounded", nillable=False)


@functools.lru_cache(maxsize=None)
def model(kind: str):
    """The spyne type of a catalogue type name (``int``, ``Profile``, ``Pair[]`` …)."""
    if kind in PRIMITIVES:
        return PRIMITIVES[kind]
    if kind.endswith("[]"):
        return _array(catalogue.element_type(kind))
    if kind == "Result":
        return _complex("Result", [(n, t) for n, t in catalogue.types()["Result"]
                                   if n in RESULT_MEMBERS])
    if kind == "Items":
        return _complex("Items", [(n, t) for n, t in catalogue.types()["Items"]
                                  if n in ENTITIES], repeat=True)
    return _complex(kind, catalogue.types()[kind])


def _complex(name: str, members, repeat: bool = False):
    info = [(member, repeated(model(catalogue.element_type(kind))) if repeat
             else optional(model(kind))) for member, kind in members]
    return type(name, (ComplexModel,), {
        "__namespace__": TNS, "__type_name__": name, "_type_info": info,
        "__doc__": f"The vendor's {name}."})


def _array(item: str):
    """A list: ``string[]`` as ``<x><item/>…</x>`` (repeated ``<x>`` accepted too), others as a
    wrapper type of repeated items (``Pair[]`` is ``Map {pair[]}``)."""
    name, member = catalogue.array_type_name(item), catalogue.item_name(item)
    if item in catalogue.PRIMITIVES:
        return Array(repeated(model(item)), member_name=member).customize(type_name=name)
    return type(name, (ComplexModel,), {
        "__namespace__": TNS, "__type_name__": name,
        "_type_info": [(member, repeated(model(item)))],
        "__doc__": f"A list of {item}."})


def input_type(operation: str, needed: frozenset = frozenset()):
    """``input_<operation>``: the catalogue's members and ``access_token``; the ``needed`` ones
    must be present."""
    members = [(name, (required if name in needed else optional)(model(kind)))
               for name, kind in catalogue.input_members(operation)]
    return type(f"input_{operation}", (ComplexModel,), {
        "__namespace__": TNS, "__type_name__": f"input_{operation}",
        "__doc__": f"The parameters of {operation}.", "_type_info": members})


def entity(name: str):
    """The spyne type of an answered entity by its member name (``subprofile`` -> SubProfile)."""
    return model(dict(catalogue.types()["Result"])[name])


Result = model("Result")
Items = model("Items")
Pair = model("Pair")
Map = model("Pair[]")
