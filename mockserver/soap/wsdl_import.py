"""A user's own WSDL for a dialect: served as it is, its operations and members mapped to the
mock's by name, in any case (``mockserver serve --backclick-wsdl FILE``).

The file must be a WSDL 1.1 document with its schema inline (no imports to fetch), bound
document/literal or rpc/literal over SOAP 1.1 or 1.2. Its ``soap:address`` is rewritten to
the mock. Requests in its namespace and names are brought to the mock's names, then
validated against the mock's own schema; answers travel in its names, order, namespace and
element form (``elementFormDefault`` of the schema declaring them). Its members without a
counterpart in the mock are ignored when sent; the mock's answer members it lacks are left
out; its operations the mock lacks answer a fault saying they are not emulated.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from spyne.model.complex import Array, ComplexModelBase

from mockserver.soap.members import Member, Shape, model_shape
from mockserver.soap.envelope import SoapEndpoint, WireOperation
from mockserver.soap.namespaces import WSDL, XSD
from mockserver.soap.wsdl_writing import ADDRESS_PLACEHOLDER

SOAP11_BINDING = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12_BINDING = "http://schemas.xmlsoap.org/wsdl/soap12/"
BINDINGS = (SOAP11_BINDING, SOAP12_BINDING)


class WsdlFileError(Exception):
    """A WSDL file that cannot be served; the message names the file and the reason."""


@dataclass
class UserWsdl:
    """A user's WSDL as an endpoint serves it, and what of it the mock emulates."""

    path: str
    operations: list[WireOperation]
    wsdl: bytes  # the file with its soap:address the placeholder
    ignored: list[str] = field(default_factory=list)  # request members the mock lacks
    left_out: list[str] = field(default_factory=list)  # answer members the file lacks

    def summary(self, dialect: str) -> str:
        """One line for the ready output: how many of the file's operations are emulated."""
        missing = [o.name for o in self.operations if o.target is None]
        line = (f"{dialect} WSDL from {self.path}: {len(self.operations) - len(missing)} of "
                f"{len(self.operations)} operations emulated")
        if missing:
            line += f" (not: {', '.join(missing)})"
        if self.ignored:
            line += f"; members the mock lacks, ignored when sent: {', '.join(self.ignored)}"
        if self.left_out:
            line += f"; answer members the file lacks, left out: {', '.join(self.left_out)}"
        return line


def read(path: str, endpoint: SoapEndpoint) -> UserWsdl:
    """Read the WSDL at ``path`` and map it onto ``endpoint``'s operations; WsdlFileError."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise WsdlFileError(f"{path}: cannot read the WSDL: {error.strerror or error}")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise WsdlFileError(f"{path}: DOCTYPE and entity declarations are not allowed.")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             remove_comments=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise WsdlFileError(f"{path}: not well-formed XML: {error}")
    if root.tag != f"{{{WSDL}}}definitions":
        raise WsdlFileError(f"{path}: not a WSDL 1.1 document (the root element is "
                            f"{etree.QName(root).localname!r}, expected wsdl:definitions).")
    return _Reader(path, root, endpoint).user_wsdl()


class _Reader:
    """One pass over a user's WSDL."""

    def __init__(self, path: str, root: etree._Element, endpoint: SoapEndpoint):
        self.path, self.root, self.endpoint = path, root, endpoint
        self.elements: dict[tuple, etree._Element] = {}
        self.types: dict[tuple, etree._Element] = {}
        self.namespaces: set[str] = set()
        self.ignored: list[str] = []
        self.left_out: list[str] = []
        self._refuse_imports()
        for schema in root.iterfind(f"{{{WSDL}}}types/{{{XSD}}}schema"):
            ns = schema.get("targetNamespace")
            if ns:
                self.namespaces.add(ns)
            for child in schema:
                key = (ns, child.get("name"))
                if child.tag == f"{{{XSD}}}element":
                    self.elements[key] = child
                elif child.tag in (f"{{{XSD}}}complexType", f"{{{XSD}}}simpleType"):
                    self.types[key] = child

    def fail(self, reason: str) -> WsdlFileError:
        """The error naming the file."""
        return WsdlFileError(f"{self.path}: {reason}")

    def _refuse_imports(self) -> None:
        for node in self.root.iter(f"{{{WSDL}}}import", f"{{{XSD}}}import",
                                   f"{{{XSD}}}include", f"{{{XSD}}}redefine"):
            location = node.get("location") or node.get("schemaLocation")
            if location:
                raise self.fail(f"it imports {location!r}; the mock fetches nothing: put the "
                                f"imported schema inline into wsdl:types.")

    def user_wsdl(self) -> UserWsdl:
        """The mapped operations and the WSDL to serve."""
        binding, soap_ns = self._binding()
        style = binding.find(f"{{{soap_ns}}}binding").get("style") or "document"
        port_type = self._port_type(binding.get("type"))
        ops_binding = {o.get("name"): o for o in binding.iterfind(f"{{{WSDL}}}operation")}
        operations = []
        for op in port_type.iterfind(f"{{{WSDL}}}operation"):
            name = op.get("name")
            bound = ops_binding.get(name)
            action = bound.find(f"{{{soap_ns}}}operation") if bound is not None else None
            op_style = (action.get("style") if action is not None else None) or style
            for body in (bound.iterfind(f"*/{{{soap_ns}}}body") if bound is not None else ()):
                if body.get("use") == "encoded":
                    raise self.fail(f"operation {name!r} is bound use=\"encoded\"; the mock "
                                    f"serves literal bindings only.")
            operations.append(self._operation(name, op, op_style))
        self._rewrite_addresses()
        wsdl = etree.tostring(self.root, xml_declaration=True, encoding="UTF-8")
        return UserWsdl(self.path, operations, wsdl, self.ignored, self.left_out)

    def _binding(self) -> tuple[etree._Element, str]:
        """The binding the file's SOAP port uses (SOAP 1.1 preferred), and its SOAP namespace."""
        bindings = {b.get("name"): b for b in self.root.iterfind(f"{{{WSDL}}}binding")}
        for soap_ns in BINDINGS:
            for port in self.root.iterfind(f"{{{WSDL}}}service/{{{WSDL}}}port"):
                binding = bindings.get(_local(port.get("binding") or ""))
                if port.find(f"{{{soap_ns}}}address") is not None and binding is not None and \
                        binding.find(f"{{{soap_ns}}}binding") is not None:
                    return binding, soap_ns
        raise self.fail("it has no wsdl:service port with a soap:address and a SOAP binding; "
                        "the mock answers at the address it rewrites there.")

    def _port_type(self, qname: str | None) -> etree._Element:
        for port_type in self.root.iterfind(f"{{{WSDL}}}portType"):
            if port_type.get("name") == _local(qname or ""):
                return port_type
        raise self.fail(f"the binding's port type {qname!r} is not declared.")

    def _rewrite_addresses(self) -> None:
        """Every port's SOAP address the mock's (with the placeholder host)."""
        location = ADDRESS_PLACEHOLDER + self.endpoint.address_path.lstrip("/")
        for soap in BINDINGS:
            for address in self.root.iterfind(
                    f"{{{WSDL}}}service/{{{WSDL}}}port/{{{soap}}}address"):
                address.set("location", location)

    def _message_parts(self, op: etree._Element, direction: str) -> list[etree._Element]:
        node = op.find(f"{{{WSDL}}}{direction}")
        if node is None:
            return []
        name = _local(node.get("message") or "")
        for message in self.root.iterfind(f"{{{WSDL}}}message"):
            if message.get("name") == name:
                return message.findall(f"{{{WSDL}}}part")
        raise self.fail(f"operation {op.get('name')!r}: message {name!r} is not declared.")

    def _operation(self, name: str, op: etree._Element, style: str) -> WireOperation:
        own = self.endpoint.operations.get(name.lower()) or []
        targets = [o.target for o in own if o.target]
        if not targets:
            return WireOperation(name=name, target=None)
        target = next((t for t in targets if t == name), targets[0])
        in_model, out_model = self.endpoint.models[target]
        if style == "rpc":
            their_in = [(p.get("name"), *self._part_type(p)) for p in
                        self._message_parts(op, "input")]
            their_out = [(p.get("name"), *self._part_type(p)) for p in
                         self._message_parts(op, "output")]
            response_name, qualified = name + "Response", self._form_of_parts(op)
            parts = frozenset(p[0] for p in their_out)
        else:
            wrapper_in, _ = self._wrapper(op, "input")
            wrapper_out, qualified = self._wrapper(op, "output")
            their_in = self._members(self._element_type(wrapper_in)) if wrapper_in is not None \
                else []
            their_out = self._members(self._element_type(wrapper_out)) \
                if wrapper_out is not None else []
            response_name = wrapper_out.get("name") if wrapper_out is not None else \
                name + "Response"
            parts = frozenset()
        request = self._request_shape(name, their_in, in_model, {})
        response = self._response_shape(name, their_out, out_model, {})
        return WireOperation(name=name, target=target, request=request, response=response,
                             response_name=response_name, qualified=qualified,
                             namespaces=frozenset(self.namespaces), parts=parts)

    def _wrapper(self, op: etree._Element, direction: str):
        """The global element a document/literal message wraps its members in, and whether
        that element's schema qualifies local elements."""
        parts = self._message_parts(op, direction)
        if not parts:
            return None, True
        if len(parts) > 1 or parts[0].get("element") is None:
            raise self.fail(f"operation {op.get('name')!r}: a document/literal {direction} "
                            f"must be one part naming an element (the wrapped style).")
        key = self._qname(parts[0], parts[0].get("element"))
        element = self.elements.get(key)
        if element is None:
            raise self.fail(f"operation {op.get('name')!r}: element {key[1]!r} is not "
                            f"declared in wsdl:types.")
        return element, _qualified(element.getparent())

    def _form_of_parts(self, op: etree._Element) -> bool:
        """rpc/literal: whether the members inside the answer's parts are qualified (the
        form of the schema declaring the first complex part type, else the first schema's)."""
        for part in self._message_parts(op, "output"):
            node = self._part_type(part)[0]
            if node is not None:
                return _qualified(_schema_of(node))
        return _qualified(self.root.find(f"{{{WSDL}}}types/{{{XSD}}}schema"))

    def _part_type(self, part: etree._Element):
        """(type node or None, repeats) of an rpc part."""
        if part.get("element"):
            element = self.elements.get(self._qname(part, part.get("element")))
            return (self._element_type(element) if element is not None else None), False
        return self._type(part, part.get("type")), False

    def _qname(self, node: etree._Element, value: str) -> tuple:
        prefix, _, local = value.rpartition(":")
        return node.nsmap.get(prefix or None), local

    def _type(self, node: etree._Element, value: str | None):
        """The named type a QName attribute refers to (None: built-in or unknown)."""
        if not value:
            return None
        return self.types.get(self._qname(node, value))

    def _element_type(self, element: etree._Element):
        """An element declaration's type node (inline or named), or None when simple."""
        inline = element.find(f"{{{XSD}}}complexType")
        if inline is not None:
            return inline
        return self._type(element, element.get("type"))

    def _members(self, type_node, seen: tuple = ()) -> list[tuple]:
        """[(name, type node or None, repeats)] of a complex type's content, in order."""
        if type_node is None or type_node.tag != f"{{{XSD}}}complexType" or \
                type_node in seen:
            return []
        seen = seen + (type_node,)
        members = []
        for child in type_node.iter(f"{{{XSD}}}element", f"{{{XSD}}}extension"):
            if child.tag == f"{{{XSD}}}extension":
                members[:0] = self._members(self._type(child, child.get("base")), seen)
                continue
            if _enclosing_type(child) is not type_node:
                continue  # a member of a nested anonymous type
            if child.get("ref"):
                target = self.elements.get(self._qname(child, child.get("ref")))
                name = _local(child.get("ref"))
                node = self._element_type(target) if target is not None else None
            else:
                name, node = child.get("name"), self._element_type(child)
            repeats = child.get("maxOccurs") not in (None, "0", "1")
            members.append((name, node, repeats))
        return members

    def _request_shape(self, path: str, theirs: list, model, memo: dict) -> Shape:
        """Their member names -> the mock's, in the mock's order (unknown ones ignored)."""
        tns = self.endpoint.tns
        ours = {name.lower(): (index, name, member)
                for index, (name, member) in enumerate(model._type_info.items())}
        shape = Shape(model.get_type_name())
        for wire, node, _repeats in theirs:
            found = ours.get(wire.lower())
            if found is None:
                shape.add(wire, Member(None, len(ours)), tns)
                self.ignored.append(f"{path}/{wire}")
                continue
            index, name, member = found
            inner, item = None, None
            if issubclass(member, ComplexModelBase):
                their_inner = self._members(node)
                inner = self._request_shape(f"{path}/{wire}", their_inner, member, memo) \
                    if their_inner else model_shape(member, tns, memo)
                if issubclass(member, Array):
                    (our_item,) = member._type_info
                    item = next((w for w, *_ in their_inner if w.lower() == our_item.lower()),
                                our_item)
            shape.add(wire, Member(name, index, inner, member.Attributes.max_occurs > 1, item),
                      tns)
        return shape

    def _response_shape(self, path: str, theirs: list, model, memo: dict) -> Shape | None:
        """The mock's answer members -> theirs, in their order (ones they lack left out)."""
        tns = self.endpoint.tns
        their = {wire.lower(): (index, wire, node) for index, (wire, node, _) in enumerate(theirs)}
        shape = Shape(model.get_type_name())
        for name, member in model._type_info.items():
            found = their.get(name.lower())
            if found is None:
                shape.add(name, Member(None, len(their)), tns)
                self.left_out.append(f"{path}/{name}")
                continue
            index, wire, node = found
            inner = None
            if issubclass(member, ComplexModelBase):
                their_inner = self._members(node)
                inner = self._response_shape(f"{path}/{wire}", their_inner, member, memo) \
                    if their_inner else model_shape(member, tns, memo)
            shape.add(name, Member(wire, index, inner, member.Attributes.max_occurs > 1), tns)
        return shape


def _local(qname: str) -> str:
    return qname.rpartition(":")[2]


def _qualified(schema: etree._Element) -> bool:
    """Whether a schema's local elements are qualified (the XSD default is unqualified)."""
    return schema is not None and schema.get("elementFormDefault") == "qualified"


def _schema_of(node: etree._Element):
    for ancestor in node.iterancestors(f"{{{XSD}}}schema"):
        return ancestor
    return None


def _enclosing_type(element: etree._Element):
    """The complexType an element declaration belongs to (its nearest one)."""
    for ancestor in element.iterancestors(f"{{{XSD}}}complexType"):
        return ancestor
    return None
