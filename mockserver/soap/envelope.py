"""The SOAP wire, shared by both dialects: reading, checking and answering envelopes.

A request goes through: size limit and gzip, a hardened parse (no DOCTYPE, no
entities, no network), SOAP 1.1/1.2 detection, case-insensitive operation lookup,
normalisation of unwrapped arrays, XML Schema validation against the served WSDL,
and then spyne, which turns elements into Python values, calls the operation and
serialises the answer. Every failure becomes a SOAP fault, never an HTML page.
"""
from __future__ import annotations

import ctypes
import functools
import logging
import re
import threading
import zlib
from dataclasses import dataclass, field

from lxml import etree
from spyne import Application, Fault
from spyne.const import xml as spyne_ns
from spyne.interface.wsdl import Wsdl11
from spyne.model.primitive import DateTime
from spyne.protocol import ProtocolBase
from spyne.protocol.soap import Soap11
from spyne.server import ServerBase
from spyne import MethodContext

from mockserver.machinery.errors import VendorError
from mockserver.soap.members import MemberError, Reading, Shape, model_shape, normalise, restyle
from mockserver.soap.limits import DEFAULT_MAX_BODY, DEFAULT_MAX_ITEMS

log = logging.getLogger(__name__)
logging.getLogger("spyne").setLevel(logging.CRITICAL)  # faults are answers, not log events

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
XSD = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
ADDRESS_PLACEHOLDER = "http://mockserver.invalid/"

# Answer with the conventional ``soap`` prefix (``soap:Server``), not spyne's ``soap11env``.
spyne_ns.NSMAP.pop("soap11env", None)
spyne_ns.NSMAP["soap"] = SOAP11_ENV
spyne_ns._regen_prefmap()


class WireError(Exception):
    """A request the wire layer refuses: answered as a SOAP fault with this code and message
    (HTTP status 500, as SOAP 1.1 answers faults, unless the refusal is the transport's)."""

    def __init__(self, message: str, code: str = "Client", status: int = 500):
        super().__init__(message)
        self.code, self.status = code, status


@dataclass
class SoapCall:
    """What an operation knows about the HTTP request it serves (spyne's ``ctx.udc``)."""

    store: object
    caller: str
    base_url: str
    environ: dict = field(default_factory=dict)
    exposed: bool = False  # the server listens beyond loopback: credentials never seeded
    tenant: object = None
    headers: list = field(default_factory=list)  # extra response headers, e.g. Set-Cookie
    answer: object = None  # the wire's form of the answer: f(envelope, body), None: spyne's


class SoapProtocol(Soap11):
    """spyne's SOAP 1.1 protocol with the ``soap`` envelope prefix, minus per-call overhead."""

    soap_env = "soap"

    def __init__(self, *args, unqualified_parts: frozenset = frozenset(), **kwargs):
        """spyne's protocol, plus a plain memo of class attributes and vendor-style dates.

        ``unqualified_parts``: rpc/literal part accessors (``{tns}result``) to answer
        unqualified, as children of the response wrapper.
        """
        super().__init__(*args, **kwargs)
        self.unqualified_parts = unqualified_parts
        self._attrs_by_class: dict = {}
        # 2026-11-22T12:00:00.000+01:00, as the vendor prints dates
        self._to_unicode_handlers[DateTime] = \
            lambda cls, value: value.isoformat(timespec="milliseconds")

    def get_cls_attrs(self, cls):
        """spyne's attributes of a model class, memoised in a plain dict.

        spyne's own cache is a WeakKeyDictionary that also formats a debug message and
        counts itself on every lookup; serialising one response asks it ~35 times.
        """
        attrs = self._attrs_by_class.get(cls)
        if attrs is None:
            attrs = super().get_cls_attrs(cls)
            if len(self._attrs_by_class) < 4096:
                self._attrs_by_class[cls] = attrs
        return attrs

    def serialize(self, ctx, message):
        """spyne's envelope, with rpc/literal part accessors unqualified when so configured,
        then in the wire's namespace and form when the call says so (``SoapCall.answer``)."""
        super().serialize(ctx, message)
        if ctx.out_error is None and ctx.out_body_doc is not None:
            if self.unqualified_parts:
                for wrapper in ctx.out_body_doc:
                    for part in wrapper:
                        if part.tag in self.unqualified_parts:
                            part.tag = etree.QName(part).localname
            answer = getattr(ctx.udc, "answer", None)
            if answer is not None:
                answer(ctx.out_document, ctx.out_body_doc)

    def decompose_incoming_envelope(self, ctx, message=ProtocolBase.REQUEST):
        """spyne's split into header and body, found by tag instead of by a fresh XPath."""
        envelope, _xmlids = ctx.in_document
        header = envelope.find(f"{{{self.ns_soap_env}}}Header")
        body = envelope.find(f"{{{self.ns_soap_env}}}Body")
        ctx.in_document = envelope
        body_document = body[0] if body is not None and len(body) > 0 else None
        if body_document is not None and body_document.tag == f"{{{self.ns_soap_env}}}Fault":
            ctx.in_body_doc = body_document
            return
        ctx.in_header_doc = header.getchildren() if header is not None else None
        ctx.in_body_doc = body_document
        ctx.method_request_string = body_document.tag
        self.validate_body(ctx, message)


class VendorFaults(Application):
    """A spyne Application that answers domain errors with the vendor's fault."""

    def call_wrapper(self, ctx):
        """Call the operation; a VendorError becomes a ``soap:Server`` fault with its message."""
        try:
            return super().call_wrapper(ctx)
        except VendorError as error:
            raise Fault("Server", str(error)) from error


_local = threading.local()


def _parser() -> etree.XMLParser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
            huge_tree=False, remove_comments=True, remove_pis=True)
    return parser


def read_body(environ: dict, limit: int) -> bytes:
    """The request body, un-gzipped, refusing more than ``limit`` bytes."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        raise WireError("Content-Length is not a number.")
    if length > limit:
        raise WireError(f"Request body of {length} bytes exceeds the limit of {limit} bytes.")
    stream = environ["wsgi.input"]
    body = stream.read(length) if length >= 0 else stream.read(limit + 1)
    if len(body) > limit:
        raise WireError(f"Request body exceeds the limit of {limit} bytes.")
    encoding = (environ.get("HTTP_CONTENT_ENCODING") or "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 32 if encoding != "deflate" else 15)
            body = inflater.decompress(body, limit + 1)
        except zlib.error as error:
            raise WireError(f"Request body is not valid {encoding}: {error}.")
        if len(body) > limit:
            raise WireError(f"Decompressed request body exceeds the limit of {limit} bytes.")
    elif encoding not in ("", "identity"):
        raise WireError(f"Unsupported Content-Encoding {encoding!r}.")
    return body


def parse_envelope(body: bytes) -> tuple[etree._Element, str]:
    """Parse a SOAP envelope; return it and its envelope namespace. Refuses any DOCTYPE."""
    if not body.strip():
        raise WireError("The request body is empty; expected a SOAP envelope.")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise WireError("DOCTYPE and entity declarations are not allowed.")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as error:
        raise WireError(f"Request is not well-formed XML: {error}")
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise WireError("DOCTYPE and entity declarations are not allowed.")
    ns = etree.QName(root).namespace
    if etree.QName(root).localname != "Envelope" or ns not in (SOAP11_ENV, SOAP12_ENV):
        raise WireError(f"The root element is {root.tag!r}; expected a SOAP 1.1 or 1.2 Envelope.")
    return root, ns


def fault_envelope(code: str, message: str, soap12: bool = False) -> bytes:
    """A SOAP fault envelope (1.1, or 1.2 when asked) with a ``Client``/``Server`` code."""
    if soap12:
        env = etree.Element(f"{{{SOAP12_ENV}}}Envelope", nsmap={"soap": SOAP12_ENV})
        body = etree.SubElement(env, f"{{{SOAP12_ENV}}}Body")
        fault = etree.SubElement(body, f"{{{SOAP12_ENV}}}Fault")
        value = etree.SubElement(etree.SubElement(fault, f"{{{SOAP12_ENV}}}Code"),
                                 f"{{{SOAP12_ENV}}}Value")
        value.text = "soap:Sender" if code.startswith("Client") else "soap:Receiver"
        reason = etree.SubElement(etree.SubElement(fault, f"{{{SOAP12_ENV}}}Reason"),
                                  f"{{{SOAP12_ENV}}}Text")
        reason.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        reason.text = message
    else:
        env = etree.Element(f"{{{SOAP11_ENV}}}Envelope", nsmap={"soap": SOAP11_ENV})
        body = etree.SubElement(env, f"{{{SOAP11_ENV}}}Body")
        fault = etree.SubElement(body, f"{{{SOAP11_ENV}}}Fault")
        etree.SubElement(fault, "faultcode").text = f"soap:{code}"
        etree.SubElement(fault, "faultstring").text = message
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"


@dataclass
class WsdlNames:
    """Names a dialect gives its WSDL's service, port, port type and binding, and the
    SOAPAction of each operation (``{operation}`` stands for its name)."""

    service: str
    port: str
    port_type: str
    binding: str
    soap_action: str = "{operation}"
    style: str = "document"  # or "rpc": rpc/literal, parts typed, wrappers named by the binding


def rename_wsdl(doc: etree._Element, tns: str, names: WsdlNames) -> None:
    """Give spyne's WSDL the dialect's service, port, port type and binding names and
    SOAPActions."""
    doc.set("name", names.service)
    style = "rpc" if names.style == "rpc" else None
    for service in doc.iterfind(f"{{{WSDL}}}service"):
        service.set("name", names.service)
        for port in service.iterfind(f"{{{WSDL}}}port"):
            port.set("name", names.port)
            port.set("binding", f"tns:{names.binding}")
    for port_type in doc.iterfind(f"{{{WSDL}}}portType"):
        port_type.set("name", names.port_type)
    for binding in doc.iterfind(f"{{{WSDL}}}binding"):
        binding.set("name", names.binding)
        binding.set("type", f"tns:{names.port_type}")
        for operation in binding.iterfind(f"{{{WSDL}}}operation"):
            for action in operation.iterfind(f"{{{WSDL_SOAP}}}operation"):
                action.set("soapAction", names.soap_action.format(operation=operation.get("name")))
                if style:
                    action.set("style", style)
            if style:
                for body in operation.iterfind(f"*/{{{WSDL_SOAP}}}body"):
                    body.set("namespace", tns)
        if style:
            for soap_binding in binding.iterfind(f"{{{WSDL_SOAP}}}binding"):
                soap_binding.set("style", style)


def _as_rpc(doc: etree._Element, schema: etree._Element) -> None:
    """Turn spyne's document/literal wrapped messages into rpc/literal ones: each message's one
    part takes the name and type of its wrapper's only child, and the wrappers go."""
    types = {t.get("name"): t for t in schema.findall(f"{{{XSD}}}complexType")}
    wrappers = set()
    for part in doc.iter(f"{{{WSDL}}}part"):
        wrapper = part.attrib.pop("element").split(":", 1)[-1]
        (child,) = types[wrapper].findall(f"{{{XSD}}}sequence/{{{XSD}}}element")
        part.set("name", child.get("name"))
        part.set("type", child.get("type"))
        wrappers.add(wrapper)
    for child in list(schema):
        if child.get("name") in wrappers:
            schema.remove(child)


def canonical_wsdl(doc: etree._Element, tns: str, operations: set[str],
                   names: WsdlNames | None = None) -> etree._Element:
    """spyne's WSDL made stable and plain: sorted types, only operation elements, one part
    named ``parameters`` per message, only the namespace prefixes it uses, and the
    dialect's ``names`` when given (rpc/literal when they say so: no operation elements or
    wrapper types, each message's part named and typed after its wrapper's only child)."""
    if names is not None:
        rename_wsdl(doc, tns, names)
    schema = doc.find(f"{{{WSDL}}}types/{{{XSD}}}schema")
    types = sorted(schema.findall(f"{{{XSD}}}complexType"), key=lambda e: e.get("name"))
    elements = sorted((e for e in schema.findall(f"{{{XSD}}}element")
                       if e.get("name") in operations or
                       e.get("name")[:-len("Response")] in operations),
                      key=lambda e: e.get("name"))
    for child in list(schema):
        schema.remove(child)
    schema.extend(types + elements)
    if names is not None and names.style == "rpc":
        _as_rpc(doc, schema)
    else:
        for part in doc.iter(f"{{{WSDL}}}part"):
            part.set("name", "parameters")
    for operation in doc.iter(f"{{{WSDL}}}operation"):
        operation.attrib.pop("parameterOrder", None)
    nsmap = {"wsdl": WSDL, "soap": WSDL_SOAP, "xs": XSD, "tns": tns}

    def rebuild(old: etree._Element, parent=None) -> etree._Element:
        if parent is None:
            new = etree.Element(old.tag, attrib=dict(old.attrib), nsmap=nsmap)
        else:
            new = etree.SubElement(parent, old.tag, attrib=dict(old.attrib))
        new.text = old.text if old.text and old.text.strip() else None
        for child in old:
            if isinstance(child.tag, str):
                rebuild(child, new)
        return new

    return rebuild(doc)


def _rpc_wrappers(doc: etree._Element) -> list[etree._Element]:
    """Global elements for an rpc/literal WSDL's request wrappers, to validate requests with:
    ``<X>`` holding each input part as a local element of the part's type."""
    messages = {m.get("name"): m for m in doc.iterfind(f"{{{WSDL}}}message")}
    wrappers = []
    for operation in doc.iterfind(f"{{{WSDL}}}portType/{{{WSDL}}}operation"):
        message = messages[operation.find(f"{{{WSDL}}}input").get("message").split(":", 1)[-1]]
        wrapper = etree.Element(f"{{{XSD}}}element", name=operation.get("name"))
        sequence = etree.SubElement(etree.SubElement(wrapper, f"{{{XSD}}}complexType"),
                                    f"{{{XSD}}}sequence")
        for part in message.iterfind(f"{{{WSDL}}}part"):
            etree.SubElement(sequence, f"{{{XSD}}}element", name=part.get("name"),
                             type=part.get("type"))
        wrappers.append(wrapper)
    return wrappers


TRIM_AFTER = 1024 * 1024  # a request body this large: give the freed heap back afterwards


def _trim() -> None:
    """Return the memory a large request freed to the system (glibc's ``malloc_trim``): its
    tree, objects and copies were many small blocks that glibc would otherwise keep, each
    thread's arena growing on its own."""
    trim = _libc_trim()
    if trim is not None:
        trim(0)


@functools.lru_cache(maxsize=None)
def _libc_trim():
    """glibc's ``malloc_trim``, or None on a system without it."""
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return None


@dataclass(eq=False)
class WireOperation:
    """How one operation travels: its name on the wire, the mock's operation it maps to, and
    the shapes its request and answer members take."""

    name: str  # as the served WSDL names it
    target: str | None  # the mock's operation; None: declared by a user's WSDL, not emulated
    request: Shape | None = None  # wire member names -> the mock's, in the mock's order
    response: Shape | None = None  # the mock's answer members -> the wire's (None: as spyne)
    response_name: str = ""  # the answer wrapper's local name
    qualified: bool = True  # the answer's members in the request's namespace (else none)
    namespaces: frozenset = frozenset()  # further namespaces request members may come in
    parts: frozenset = frozenset()  # rpc/literal: the answer's part accessors, unqualified


class SoapEndpoint:
    """One dialect on the wire: its spyne application, WSDL, schema and request pipeline."""

    def __init__(self, services: list, tns: str, name: str, address_path: str,
                 max_body: int = DEFAULT_MAX_BODY, names: WsdlNames | None = None,
                 gzip_responses: bool = False, max_items: int = DEFAULT_MAX_ITEMS,
                 validation_prefix: str = "", member_form: str = "qualified"):
        """Build the spyne application and its WSDL (with a placeholder address) once.

        ``gzip_responses``: answer gzip-compressed when the client accepts it.
        ``max_items``: most child elements any element of a request may have (an array's
        items), refused before anything is built; ``validation_prefix`` begins that fault and
        every other fault on the request's members and values.
        ``member_form``: ``qualified`` or ``unqualified``, the served WSDL's
        ``elementFormDefault`` and the form of the members of every answer. Requests are
        accepted in either form, members in any order, the operation in any namespace.
        """
        if member_form not in ("qualified", "unqualified"):
            raise ValueError(f"member_form must be 'qualified' or 'unqualified', not "
                             f"{member_form!r}")
        self.tns, self.address_path, self.max_body = tns, address_path, max_body
        self.max_items, self.validation_prefix = max_items, validation_prefix
        self.gzip_responses = gzip_responses
        self.rpc = names is not None and names.style == "rpc"
        self.app = VendorFaults(services, tns=tns, name=name, in_protocol=SoapProtocol(),
                                out_protocol=SoapProtocol())
        self.server = ServerBase(self.app)
        self.app.transport = "http://schemas.xmlsoap.org/soap/http"
        wsdl = Wsdl11(self.app.interface)
        wsdl.build_interface_document(ADDRESS_PLACEHOLDER + address_path.lstrip("/"))
        self.models: dict[str, tuple] = {}  # the mock's operation -> (in, out message models)
        for method in self.app.interface.service_method_map.values():
            descriptor = method[0]
            self.models[descriptor.name] = (descriptor.in_message, descriptor.out_message)
        doc = canonical_wsdl(etree.fromstring(wsdl.get_interface_document()), tns,
                             set(self.models), names)
        schema = doc.find(f"{{{WSDL}}}types/{{{XSD}}}schema")
        if member_form == "unqualified":
            schema.set("elementFormDefault", "unqualified")
        self._wsdl = etree.tostring(doc, xml_declaration=True, encoding="UTF-8",
                                    pretty_print=True)
        self._wsdl_by_host: dict[str, bytes] = {}
        standalone = etree.Element(schema.tag, attrib=dict(schema.attrib), nsmap=schema.nsmap)
        standalone.set("elementFormDefault", "qualified")  # requests are read qualified
        standalone.extend(schema)  # nsmap above carries the prefixes QName values use
        parts: frozenset = frozenset()
        if self.rpc:
            # rpc/literal: part accessors travel unqualified, spyne reads and writes them in tns
            standalone.extend(_rpc_wrappers(doc))
            parts = frozenset(m.find(f"{{{WSDL}}}part").get("name")
                              for m in doc.iterfind(f"{{{WSDL}}}message")
                              if m.get("name").endswith("Response"))
            self.app.out_protocol.unqualified_parts = frozenset(f"{{{tns}}}{p}" for p in parts)
        self.schema = etree.XMLSchema(standalone)
        self._schema_lock = threading.Lock()
        memo: dict = {}
        self.operations: dict[str, list[WireOperation]] = {}
        self._serve([WireOperation(name=op, target=op, request=model_shape(in_model, tns, memo),
                                   response_name=out_model.get_type_name(),
                                   qualified=member_form == "qualified", parts=parts)
                     for op, (in_model, out_model) in self.models.items()])

    def _serve(self, operations: list[WireOperation]) -> None:
        """Answer these operations by name, in any case: they replace the endpoint's
        operations of the same name in any case."""
        names: dict[str, list[WireOperation]] = {}
        for operation in operations:
            names.setdefault(operation.name.lower(), []).append(operation)
        self.operations.update(names)

    def adopt(self, operations: list[WireOperation], wsdl: bytes) -> None:
        """Serve a user's WSDL instead of the mock's (``wsdl``, its address the placeholder)
        and answer its operations as it names them; the mock's operations it does not name
        keep their own names."""
        self._serve(operations)
        self._wsdl, self._wsdl_by_host = wsdl, {}

    def wsdl(self, host_url: str) -> bytes:
        """The WSDL whose ``soap:address`` names ``host_url`` (e.g. ``http://127.0.0.1:8080/``)."""
        cached = self._wsdl_by_host.get(host_url)
        if cached is None:
            cached = self._wsdl.replace(ADDRESS_PLACEHOLDER.encode(),
                                        host_url.rstrip("/").encode() + b"/")
            if len(self._wsdl_by_host) < 64:
                self._wsdl_by_host[host_url] = cached
        return cached

    def handle(self, body: bytes, call: SoapCall) -> tuple[int, bytes, bool, str | None]:
        """Answer one request body: (HTTP status, response body, is SOAP 1.2, operation)."""
        try:
            return self._answer(body, call)
        finally:
            if len(body) >= TRIM_AFTER:
                _trim()

    def _answer(self, body: bytes, call: SoapCall) -> tuple[int, bytes, bool, str | None]:
        soap12, operation = False, None
        try:
            envelope, env_ns = parse_envelope(body)
            soap12 = env_ns == SOAP12_ENV
            wire, element, request_ns = self._operation(envelope, env_ns)
            operation = wire.target or wire.name
            self._count_items(envelope)
            if soap12:
                envelope = self._as_soap11(envelope)
            try:
                normalise(element, wire.request, Reading(self.tns, request_ns, wire.namespaces))
            except MemberError as error:
                raise WireError(self.validation_prefix + str(error))
            self._validate(element)
            return 200, self._dispatch(envelope, call, soap12, wire, request_ns), soap12, \
                operation
        except WireError as error:
            return 500, fault_envelope(error.code, str(error), soap12), soap12, operation

    def _operation(self, envelope: etree._Element,
                   env_ns: str) -> tuple[WireOperation, etree._Element, str | None]:
        """The operation a request calls, found by its element's local name (any case, any
        namespace), that element renamed to the mock's, and the request's namespace."""
        body = envelope.find(f"{{{env_ns}}}Body")
        if body is None:
            raise WireError("The SOAP Envelope has no Body.")
        element = next((c for c in body if isinstance(c.tag, str)), None)
        if element is None:
            raise WireError("The SOAP Body names no operation.")
        tag = element.tag
        namespace, _, local = tag[1:].rpartition("}") if tag[0] == "{" else (None, "", tag)
        found = self.operations.get(local.lower())
        if found and len(found) > 1:  # names differing only in case: the exact one
            exact = [o for o in found if o.name == local]
            if not exact:
                raise WireError(f"Operation {local!r} is ambiguous: this endpoint serves "
                                f"{', '.join(sorted(o.name for o in found))}; give the "
                                f"name's exact case.")
            found = exact
        if not found:
            served = sorted({o.name for same in self.operations.values() for o in same})
            raise WireError(f"Unknown operation {local!r} in namespace "
                            f"{namespace or '(none)'!r}; this endpoint serves "
                            f"{', '.join(served)} (in any namespace).")
        (wire,) = found
        if wire.target is None:
            raise WireError(f"Operation {wire.name!r} is not emulated: the WSDL served here "
                            f"declares it, mockserver has no such operation.", code="Server")
        canonical = f"{{{self.tns}}}{wire.target}"
        if tag != canonical:
            element.tag = canonical
        return wire, element, namespace

    def _count_items(self, envelope: etree._Element) -> None:
        """Refuse a request with an element holding more than ``max_items`` children (the
        items of a wrapped array, or an unwrapped array's repeats), in one pass over the
        tree, before normalising, validating and spyne's objects cost time per item."""
        limit = self.max_items
        for element in envelope.iter():
            if len(element) > limit:
                raise WireError(self.validation_prefix + _too_many(element, limit))

    @staticmethod
    def _as_soap11(envelope: etree._Element) -> etree._Element:
        for el in envelope.iter(f"{{{SOAP12_ENV}}}*"):
            el.tag = f"{{{SOAP11_ENV}}}{etree.QName(el).localname}"
        return envelope

    def _validate(self, element: etree._Element) -> None:
        with self._schema_lock:  # an XMLSchema object is not safe for concurrent use
            valid = self.schema.validate(element)
            if not valid:
                error = self.schema.error_log.last_error
        if not valid:
            message = re.sub(r"\{[^}]*\}", "", error.message)
            raise WireError(f"{self.validation_prefix}{message} (line {error.line})")

    def _dispatch(self, envelope: etree._Element, call: SoapCall, soap12: bool,
                  wire: WireOperation, request_ns: str | None) -> bytes:
        ctx = MethodContext(self.server, MethodContext.SERVER)
        ctx.in_document = (envelope, {})
        ctx.udc = call
        contexts = [ctx]
        try:
            return self._run(ctx, contexts, soap12, self._answer_style(wire, request_ns))
        finally:
            _release(contexts)

    def _answer_style(self, wire: WireOperation, request_ns: str | None):
        """What turns spyne's answer into the wire's (None: spyne's is the wire's)."""
        ns = request_ns or self.tns
        wrapper_tag = f"{{{ns}}}{wire.response_name}"
        if ns == self.tns and wire.qualified and wire.response is None and \
                wire.response_name == f"{wire.target}Response":
            return None  # the common case: the mock's own names, namespace and form

        def restyle_answer(envelope: etree._Element, body: etree._Element) -> None:
            old = next((c for c in body if isinstance(c.tag, str)), None)
            if old is None:
                return
            renamed = old.tag != wrapper_tag
            if renamed:  # declared once, as tns, on the wrapper
                new = etree.Element(wrapper_tag, attrib=dict(old.attrib), nsmap={"tns": ns})
                new.text = old.text
                new.extend(old)
                body.replace(old, new)
                old = new
            restyle(old, ns, wire.qualified, wire.response, wire.parts)
            if renamed:
                etree.cleanup_namespaces(envelope)  # the mock's tns, now unused

        return restyle_answer

    def _run(self, ctx, contexts: list, soap12: bool, answer_style) -> bytes:
        protocol = self.app.in_protocol
        try:
            protocol.decompose_incoming_envelope(ctx, ProtocolBase.REQUEST)
            (p_ctx, *_) = protocol.generate_method_contexts(ctx)
        except Fault as fault:
            raise WireError(fault.faultstring)
        contexts.append(p_ctx)
        self.server.get_in_object(p_ctx)
        if p_ctx.in_error is not None:
            raise WireError(self.validation_prefix + _fault_text(p_ctx.in_error))
        self.server.get_out_object(p_ctx)
        error = p_ctx.out_error
        if error is not None:
            if isinstance(error, Fault) and error.faultcode in ("Server", "Client"):
                raise WireError(error.faultstring, code=error.faultcode)
            log.error("operation failed", exc_info=getattr(error, "__cause__", None) or error)
            raise WireError("Internal error in mockserver; see its log.", code="Server")
        ctx.udc.answer = answer_style
        self.server.get_out_string(p_ctx)
        out = b"".join(p_ctx.out_string)
        if soap12:
            out = out.replace(SOAP11_ENV.encode(), SOAP12_ENV.encode(), 1)
        return out


# What a spyne MethodContext holds of one call: the request's tree and objects, the answer's.
_CALL_DATA = ("in_document", "in_body_doc", "in_header_doc", "in_string", "in_object",
              "in_header", "in_error", "out_object", "out_header", "out_error", "out_document",
              "out_body_doc", "out_header_doc", "out_string", "udc")


def _release(contexts: list) -> None:
    """Drop what spyne's method contexts hold of a call. A context is in reference cycles
    (its transport and event contexts point back at it), so without this a large request's
    tree and objects live on until the garbage collector's next full pass."""
    for ctx in contexts:
        for name in _CALL_DATA:
            if name in ctx.__dict__:
                setattr(ctx, name, None)


def _too_many(element: etree._Element, limit: int) -> str:
    """The fault text for an element with more than ``limit`` children, naming it and the
    child past the limit (an item of the array, or a repeat of an unwrapped one)."""
    past = element[limit]
    child = etree.QName(past).localname if isinstance(past.tag, str) else "?"
    return (f"'{etree.QName(element).localname}' holds {len(element)} child elements "
            f"('{child}'); at most {limit} items are accepted in one array (--max-items).")


def _fault_text(error) -> str:
    return getattr(error, "faultstring", None) or str(error)
