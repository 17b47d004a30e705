"""The members of requests and answers: their names, order, namespace and form on the wire.

A ``Shape`` is what the wire says of one complex type: for each member name as it travels,
the name, position and shape it has on the other side. Read from the spyne model it maps
the mock's names to themselves; read from a user's WSDL (``wsdl_import``) it maps their
names to the mock's for requests, and the mock's to theirs for answers.

``normalise`` brings a request into the form the spyne model and the validating schema
expect: every member in the model's namespace, in its xs:sequence order, arrays wrapped,
``xsi:nil`` elements absent. It refuses, naming the element, what it cannot place: an
unknown member, a member in a foreign namespace, a non-repeating member given twice.
Types and required members are left to the schema, which validates afterwards.
``restyle`` turns spyne's answer into the namespace and element form of the wire.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from spyne.model.complex import Array, ComplexModelBase

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
NIL = ("true", "1")


class MemberError(Exception):
    """A member ``normalise`` cannot place; the message names it, as the schema would."""


@dataclass(eq=False)
class Member:
    """One member of a complex type, as it maps to the other side."""

    name: str | None  # its name on the other side; None: it has no counterpart there
    index: int  # its position in the other side's sequence
    shape: Shape | None = None  # its members, when its type is complex
    repeats: bool = False  # maxOccurs above 1
    item: str | None = None  # for a wrapped array: the wire name of its items
    tag: str = ""  # the request element it becomes: ``{tns}name``


@dataclass(eq=False)
class Shape:
    """The members of one complex type, by their name on the wire."""

    type_name: str
    members: dict = field(default_factory=dict)  # wire name -> Member
    tagged: dict = field(default_factory=dict)  # '{tns}wire name' -> Member

    def add(self, wire: str, member: Member, tns: str) -> None:
        """Add a member travelling as ``wire``; its request element is ``{tns}name``."""
        member.tag = f"{{{tns}}}{member.name}" if member.name else ""
        self.members[wire] = member
        self.tagged[f"{{{tns}}}{wire}"] = member

    def expected(self) -> str:
        """The member names, as lxml lists what it expects."""
        names = list(self.members)
        return f"( {names[0]} )" if len(names) == 1 else f"one of ( {', '.join(names)} )"


def model_shape(model, tns: str, memo: dict | None = None) -> Shape:
    """The shape of a spyne complex model: each member maps to itself, in model order."""
    memo = {} if memo is None else memo
    shape = memo.get(model)
    if shape is not None:
        return shape
    shape = memo[model] = Shape(model.get_type_name())
    for index, (name, member) in enumerate(model._type_info.items()):
        inner = model_shape(member, tns, memo) if issubclass(member, ComplexModelBase) else None
        item = next(iter(member._type_info)) if issubclass(member, Array) else None
        shape.add(name, Member(name, index, inner, member.Attributes.max_occurs > 1, item), tns)
    return shape


class Reading:
    """What ``normalise`` needs of one request: the model's namespace and the namespaces its
    members may come in (none, the request's, the model's, those of a user's WSDL)."""

    __slots__ = ("tns", "namespaces", "request_ns")

    def __init__(self, tns: str, request_ns: str | None, namespaces: frozenset = frozenset()):
        """Members may be unqualified or in ``request_ns``, ``tns`` or ``namespaces``."""
        self.tns, self.request_ns = tns, request_ns
        self.namespaces = namespaces | {tns, request_ns}


def normalise(element: etree._Element, shape: Shape, reading: Reading) -> None:
    """Bring the members of ``element`` (recursively) into the model's names, namespace and
    order; MemberError for a member that has no place."""
    positions = []
    previous = -1
    ordered = True
    unwrapped: dict | None = None  # array member -> the wrapper its repeats went into
    for child in list(element):
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if child.get(XSI_NIL) in NIL and not len(child) and not (child.text or "").strip():
            element.remove(child)  # node-soap's null: absent (a required one is then missing)
            continue
        member = shape.tagged.get(tag)  # already '{tns}name': the common, cheap case
        if member is None:
            member = _resolve(child, shape, reading)
        if member.name is None:  # a member of a user's WSDL the mock does not have
            element.remove(child)
            continue
        if child.tag != member.tag:
            child.tag = member.tag
        inner = member.shape
        if member.item is not None and _is_unwrapped(child, inner.members[member.item]
                                                     .shape, member.item):
            wrapper = unwrapped.get(member) if unwrapped else None
            if wrapper is None:  # <ids>3</ids><ids>4</ids>: <ids><item>3</item>…</ids>
                wrapper = etree.Element(member.tag)
                wrapper.sourceline = child.sourceline
                child.addprevious(wrapper)
                unwrapped = unwrapped or {}
                unwrapped[member] = wrapper
                child_position = wrapper
            else:
                child_position = None
            item = inner.members[member.item]
            wrapper.append(child)
            child.tag = item.tag
            if item.shape is not None:
                normalise(child, item.shape, reading)
            if child_position is None:
                continue
            child = child_position
        elif inner is not None:
            normalise(child, inner, reading)
        index = member.index
        if index <= previous:
            if index < previous:
                ordered = False
            elif not member.repeats:
                raise _twice(child, element)
        previous = index
        positions.append((index, member, child))
    if not ordered:
        positions.sort(key=lambda p: p[0])
        element[:] = [child for _, _, child in positions]
        for (index, member, child), (before, _, _) in zip(positions[1:], positions):
            if index == before and not member.repeats:
                raise _twice(child, element)


def _resolve(child: etree._Element, shape: Shape, reading: Reading) -> Member:
    """The member an element stands for, found by its local name; MemberError if none."""
    qname = etree.QName(child)
    local, ns = qname.localname, qname.namespace
    member = shape.members.get(local)
    if member is None:
        raise MemberError(f"Element '{local}': This element is not expected. Expected is "
                          f"{shape.expected()}. (line {child.sourceline})")
    if ns is not None and ns not in reading.namespaces:
        raise MemberError(f"Element '{local}': This element is not expected in namespace "
                          f"'{ns}'; members travel unqualified or in "
                          f"'{reading.request_ns or reading.tns}'. (line {child.sourceline})")
    return member


def _is_unwrapped(child: etree._Element, item_shape: Shape | None, item: str) -> bool:
    """An array member sent as one of repeated elements: a value (text), or the members of
    one complex item. Children that are neither items nor item members are left for
    ``normalise`` to name."""
    for first in child:
        if isinstance(first.tag, str):
            local = etree.QName(first).localname
            return local != item and item_shape is not None and local in item_shape.members
    return bool((child.text or "").strip())


def _twice(child: etree._Element, parent: etree._Element) -> MemberError:
    local = etree.QName(child).localname
    return MemberError(f"Element '{local}': This element is not expected: it is given more "
                       f"than once, and '{etree.QName(parent).localname}' takes one. "
                       f"(line {child.sourceline})")


def restyle(wrapper: etree._Element, ns: str | None, qualified: bool,
            shape: Shape | None = None, parts: frozenset = frozenset()) -> None:
    """Give spyne's answer below ``wrapper`` the wire's namespace and form: in ``ns`` when
    ``qualified``, else unqualified; rpc part accessors (``parts``) always unqualified. With
    ``shape`` (the mock's names to the wire's), also the wire's names and order, members the
    wire does not have left out."""
    prefix = f"{{{ns}}}" if qualified and ns else ""
    if shape is None:
        for element in wrapper.iterdescendants():
            if isinstance(element.tag, str):
                element.tag = prefix + element.tag.rpartition("}")[2]
    else:
        _rename(wrapper, shape, prefix)
    if parts:
        for part in wrapper:
            if isinstance(part.tag, str) and part.tag.rpartition("}")[2] in parts:
                part.tag = part.tag.rpartition("}")[2]


def _rename(element: etree._Element, shape: Shape, prefix: str) -> None:
    """Children of ``element`` to the wire's names (``shape``), order and ``prefix``."""
    keyed = []
    for child in list(element):
        if not isinstance(child.tag, str):
            continue
        member = shape.members.get(child.tag.rpartition("}")[2])
        if member is None or member.name is None:
            element.remove(child)  # the wire's type has no such member
            continue
        child.tag = prefix + member.name
        if member.shape is not None:
            _rename(child, member.shape, prefix)
        elif len(child):
            for inner in child.iterdescendants():
                if isinstance(inner.tag, str):
                    inner.tag = prefix + inner.tag.rpartition("}")[2]
        keyed.append((member.index, child))
    if any(a[0] > b[0] for a, b in zip(keyed, keyed[1:])):
        keyed.sort(key=lambda k: k[0])
        element[:] = [child for _, child in keyed]
