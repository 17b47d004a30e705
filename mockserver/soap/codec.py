"""Answers written as text, compiled from spyne's type model, byte for byte as spyne writes them.

spyne serialises an answer by building an lxml tree (one element, one attribute dictionary
and several generator frames per value) and then writing it out: about half of a
getSubscribers call. ``AnswerWriter`` compiles, once per operation, the answer's message
class into a chain of small functions that append the answer's text directly, following the
rules of spyne's ``XmlDocument`` serialiser: members in ``_type_info`` order (an
``__extends__`` parent's first), a member left out when it is None and optional, repeated
members and arrays written item by item, each value turned into text by spyne's own
``to_unicode`` handlers, text escaped as lxml escapes it, and the envelope's namespace
declarations taken from lxml itself.

What the writer does not write, spyne does: a type or an answer outside these rules raises
``Unsupported`` (at compile time for a type: attributes, ``XmlData``, any-XML, binary, sub
protocols, answers in more than one namespace; at write time for a value: a None that spyne
would write as ``xsi:nil``, text that lxml refuses, a value not of the declared shape), and
the endpoint then lets spyne serialise that answer as before. Nothing is consumed before
``Unsupported`` is raised, so spyne sees the answer untouched.

``MOCKSERVER_CODEC=spyne`` turns the writer off: spyne writes every answer. With
``MOCKSERVER_CODEC_CHECK=1`` (the test suite sets it) every answer is written both ways
and a difference is answered as a ``soap:Server`` fault naming the operation, so every
exchange of the suite's client matrix checks the writer against spyne.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass

from lxml import etree
from spyne.const.xml import DEFAULT_NS
from spyne.descriptor import BODY_STYLE_WRAPPED
from spyne.model.complex import Array, ComplexModelBase
from spyne.model.primitive import Boolean, Integer, Unicode

CHECK = os.environ.get("MOCKSERVER_CODEC_CHECK", "") not in ("", "0")
OFF = os.environ.get("MOCKSERVER_CODEC", "") == "spyne"  # spyne writes every answer

# What lxml refuses as text (it raises ValueError): C0 controls other than tab, newline and
# carriage return, lone surrogates, U+FFFE and U+FFFF.
_REFUSED = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_NOT_XML = re.compile(f"[{_REFUSED}]")
_SPECIAL = re.compile(f"[&<>\r{_REFUSED}]")  # what needs a second look
_ESCAPED = re.compile("[&<>\r]")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}


class Unsupported(Exception):
    """A type or a value the writer does not write as spyne would; spyne writes it."""


def escape(text: str) -> str:
    """``text`` as lxml writes it inside an element (UTF-8 output): ``&``, ``<``, ``>`` and
    carriage returns escaped, everything else as it is; Unsupported for what lxml refuses."""
    if _SPECIAL.search(text) is None:
        return text
    if _NOT_XML.search(text):
        raise Unsupported("text lxml refuses")
    return _ESCAPED.sub(lambda m: _ESCAPES[m.group()], text)


@dataclass(frozen=True)
class AnswerForm:
    """The wire's form of an answer: the mock's own (spyne's envelope, names and namespace)
    when ``namespace`` is None; else the wrapper renamed to ``wrapper`` in ``namespace``
    (declared on it as ``tns``), every member in that namespace when ``qualified``, else
    every member unqualified."""

    namespace: str | None = None
    wrapper: str = ""
    qualified: bool = True


OWN = AnswerForm()


class AnswerWriter:
    """Writes the answers of one spyne application's document/literal operations as text."""

    def __init__(self, app, protocol):
        """Compile lazily, per operation and form, against ``app`` and its out ``protocol``."""
        self.app, self.protocol = app, protocol
        self._operations: dict = {}  # (descriptor, mode) -> members writer, or None
        self._types: dict = {}  # (class, namespace, name, mode) -> (element writer, namespaces)
        self._envelopes: dict = {}  # (namespace, wrapper) -> (head, tail)
        self._prefixes = self._prefix_map(app.interface.nsmap)
        self._compiling: set = set()  # element keys being compiled: a type inside itself
        self._lock = threading.Lock()  # one thread compiles at a time

    def write(self, ctx, form: AnswerForm = OWN) -> bytes | None:
        """The whole answer envelope of a finished call in ``form``, as spyne (and the
        endpoint's restyling) would write it, or None where spyne must write it (an
        Unsupported type, form or value)."""
        if OFF:
            return None
        descriptor = ctx.descriptor
        mode = "own" if form.namespace is None else "tns" if form.qualified else "bare"
        key = (descriptor, mode)
        try:
            compiled = self._operations[key]
        except KeyError:
            with self._lock:
                compiled = self._operations.get(key, False)
                if compiled is False:
                    compiled = self._operations[key] = self._compile_operation(descriptor,
                                                                               mode)
        if compiled is None:
            return None
        members, namespace = compiled
        if form.namespace is None:
            wrapper = descriptor.out_message.get_type_name()
        else:
            namespace, wrapper = form.namespace, form.wrapper
        envelope = self._envelopes.get((namespace, wrapper))
        if envelope is None:
            envelope = self._envelope(namespace, wrapper, renamed=form.namespace is not None)
            if len(self._envelopes) < 256:
                self._envelopes[(namespace, wrapper)] = envelope
        if envelope is None:
            return None
        head, tail = envelope
        out = [head]
        try:
            members(ctx.out_object, out)
        except Unsupported:
            return None
        out.append(tail)
        return "".join(out).encode("utf-8")

    # -- compiling ----------------------------------------------------------------------

    def _compile_operation(self, descriptor, mode: str):
        """(writer of the wrapper's members, the wrapper's own namespace), or None."""
        protocol = self.protocol
        if protocol.polymorphic or descriptor.body_style is not BODY_STYLE_WRAPPED or \
                descriptor.out_header is not None or \
                (mode == "own" and getattr(protocol, "unqualified_parts", None)):
            return None
        message = descriptor.out_message
        namespace = message.get_namespace()
        try:
            namespaces: set = set()
            members = self._members(message, namespaces, mode)
            namespaces.discard(None)
            if mode == "own" and not namespaces <= {namespace}:
                raise Unsupported("an answer in more than one namespace")
        except Unsupported:
            return None
        keys = list(message._type_info)

        def write(values, out: list) -> None:
            values = list(values) if values is not None else []
            filled = message.__new__(message)  # spyne's wrapper object, filled in order
            for index, key in enumerate(keys):
                object.__setattr__(filled, key, values[index] if index < len(values) else None)
            for member in members:
                member(filled, out)

        return write, namespace

    def _envelope(self, namespace: str, wrapper: str, renamed: bool):
        """The text before and after the wrapper's members, as lxml writes spyne's envelope
        (its namespace map, unused declarations cleaned up) around a wrapper ``wrapper`` in
        ``namespace`` (``renamed``: declared on the wrapper as ``tns``, as the endpoint's
        restyling does); None where that is not what the writer's members assume."""
        if renamed and namespace in self.app.interface.nsmap.values():
            return None  # members would take the envelope's prefix: spyne writes these
        env = self.protocol.ns_soap_env
        envelope = etree.Element(f"{{{env}}}Envelope", nsmap=self.app.interface.nsmap)
        body = etree.Element(f"{{{env}}}Body")
        tag = f"{{{namespace}}}{wrapper}"
        element = etree.SubElement(body, tag, nsmap={"tns": namespace}) if renamed else \
            etree.SubElement(body, tag)
        etree.SubElement(element, "mark")
        envelope.append(body)
        etree.cleanup_namespaces(envelope)
        text = etree.tostring(envelope, encoding="UTF-8", xml_declaration=True).decode()
        if text.count("<mark/>") != 1:
            return None
        head, tail = text.split("<mark/>")
        prefix = "tns" if renamed else self._prefixes.get(namespace)
        if f"<{prefix}:{wrapper}" not in head or not tail.startswith(f"</{prefix}:{wrapper}>"):
            return None
        return head, tail

    @staticmethod
    def _prefix_map(nsmap: dict) -> dict:
        if None in nsmap:
            return {}  # a default namespace: unqualified elements would need xmlns=""
        prefixes: dict = {}
        for prefix, namespace in nsmap.items():
            prefixes.setdefault(namespace, []).append(prefix)
        return {ns: names[0] for ns, names in prefixes.items() if len(names) == 1}

    def _tag(self, namespace: str | None, name: str, mode: str) -> str:
        if mode == "bare":
            return name
        if mode == "tns":
            return f"tns:{name}"  # the restyling moves every member into the wrapper's
        if namespace is None:
            return name
        prefix = self._prefixes.get(namespace)
        if prefix is None:
            raise Unsupported(f"namespace {namespace} has no single prefix")
        return f"{prefix}:{name}"

    def _element(self, cls, namespace, name, namespaces: set, mode: str):
        """A writer ``f(value, out)`` of one element of type ``cls`` (spyne's ``to_parent``
        with that namespace and name), value None included; the namespaces it may write
        added to ``namespaces``."""
        key = (cls, namespace, name, mode)
        compiled = self._types.get(key)
        if compiled is None:
            if key in self._compiling:
                raise Unsupported(f"{cls.__name__} contains itself")
            self._compiling.add(key)
            try:
                used: set = set()
                writer = self._compile_element(cls, namespace, name, used, mode)
            finally:
                self._compiling.discard(key)
            compiled = self._types[key] = (writer, frozenset(used))
        namespaces |= compiled[1]
        return compiled[0]

    def _compile_element(self, cls, namespace, name, namespaces: set, mode: str):
        protocol = self.protocol
        attrs = protocol.get_cls_attrs(cls)
        if attrs.prot is not None:
            raise Unsupported("a sub-protocol")
        handler = protocol.serialization_handlers[cls]
        method = getattr(handler, "__func__", None)
        if method is type(protocol).complex_to_parent:
            return self._complex(cls, attrs, namespace, name, namespaces, mode)
        if method is type(protocol).modelbase_to_parent:
            namespaces.add(namespace)
            return self._simple(cls, attrs, self._tag(namespace, name, mode))
        raise Unsupported(f"{cls.__name__} is written by {handler.__name__}")

    def _simple(self, cls, attrs, tag: str):
        """An element holding text, as ``modelbase_to_parent`` writes it."""
        to_unicode = self.protocol.to_unicode
        start, end = f"<{tag}>", f"</{tag}>"
        default = attrs.default
        formatted = attrs.str_format is not None or attrs.format is not None
        if issubclass(cls, Unicode) and not formatted:
            def text(value):
                if type(value) is not str:
                    raise Unsupported("a string that is not str")
                return value
        elif issubclass(cls, Integer) and not formatted:
            def text(value):
                if type(value) is not int:
                    raise Unsupported("an integer that is not int")
                return str(value)
        elif issubclass(cls, Boolean):
            def text(value):
                return "true" if value else "false"
        else:
            def text(value):
                result = to_unicode(cls, value)
                if type(result) is not str:
                    raise Unsupported("text that is not str")
                return result

        def write(value, out: list) -> None:
            if value is None:
                value = default
                if value is None:
                    raise Unsupported("xsi:nil")
            out.append(start)
            out.append(escape(text(value)))
            out.append(end)

        return write

    def _complex(self, cls, attrs, namespace, name, namespaces: set, mode: str):
        """An element holding members, as ``complex_to_parent`` writes it."""
        if attrs.sub_name is not None:
            name = attrs.sub_name
        if name is None:
            name = cls.get_type_name()
        if attrs.sub_ns not in (None, DEFAULT_NS):
            namespace = attrs.sub_ns
        namespaces.add(namespace)
        tag = self._tag(namespace, name, mode)
        start, end, empty = f"<{tag}>", f"</{tag}>", f"<{tag}/>"
        members = self._members(cls, namespaces, mode)
        is_array = issubclass(cls, Array)
        default = attrs.default

        def write(value, out: list) -> None:
            if value is None:
                value = default
                if value is None:
                    raise Unsupported("xsi:nil")
            if is_array:
                if type(value) not in (list, tuple):
                    raise Unsupported("an array that is not a list")
                value = (value,)  # the Array's one member, its items
            elif not isinstance(value, ComplexModelBase):
                raise Unsupported("a complex value that is not its model's object")
            mark = len(out)
            out.append(start)
            for member in members:
                member(value, out)
            if len(out) == mark + 1:
                out[mark] = empty
            else:
                out.append(end)

        return write

    def _members(self, cls, namespaces: set, mode: str) -> list:
        """Writers ``f(object or (items,), out)`` of ``cls``'s members, as spyne's
        ``_get_members_etree`` goes through them."""
        protocol = self.protocol
        parent = getattr(cls, "__extends__", None)
        members = self._members(parent, namespaces, mode) if parent is not None else []
        array = issubclass(cls, Array)
        for key, member_cls in cls._type_info.items():
            if protocol.get_cls_attrs(member_cls).exc:
                continue
            sub_ns = member_cls.Attributes.sub_ns
            if sub_ns is None:
                sub_ns = cls.get_namespace()
            sub_name = member_cls.Attributes.sub_name or key
            element = self._element(member_cls, sub_ns, sub_name, namespaces, mode)
            repeated = member_cls.Attributes.max_occurs > 1
            required = member_cls.Attributes.min_occurs > 0
            members.append(_member(key, element, repeated, required, array))
        return members


def _member(key: str, element, repeated: bool, required: bool, array: bool):
    """One member's writer: absent when None and optional, item by item when repeated."""

    def write(owner, out: list) -> None:
        value = owner[0] if array else getattr(owner, key, None)
        if value is not None and repeated:
            if type(value) not in (list, tuple):
                raise Unsupported("repeated values that are not a list")
            for item in value:
                element(item, out)
        elif value is not None or required:
            element(value, out)

    return write
