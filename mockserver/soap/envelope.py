"""The SOAP wire, shared by both dialects: reading, checking and answering envelopes.

A request goes through: size limit and gzip, a hardened parse (no DOCTYPE, no
entities, no network), SOAP 1.1/1.2 detection, case-insensitive operation lookup,
normalisation of unwrapped arrays, XML Schema validation against the served WSDL,
and then spyne, which turns elements into Python values, calls the operation and
serialises the answer. Every failure becomes a SOAP fault, never an HTML page.

The pipeline is SoapEndpoint's; the defences it applies live in ``defences``, the faults
it writes in ``faults``, the WSDL it serves is written by ``wsdl_writing``, and spyne's
protocol as it drives it is ``spyne_protocol``.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field

from lxml import etree
from spyne import Fault
from spyne.interface.wsdl import Wsdl11
from spyne.protocol import ProtocolBase
from spyne.server import ServerBase
from spyne import MethodContext

from mockserver.soap import codec
from mockserver.soap.defences import TRIM_AFTER, _too_many, _trim, parse_envelope
from mockserver.soap.faults import WireError, fault_envelope
from mockserver.soap.members import MemberError, Reading, Shape, model_shape, normalise, restyle
from mockserver.soap.model_init import plain_inits
from mockserver.soap.limits import DEFAULT_MAX_BODY, DEFAULT_MAX_ITEMS
from mockserver.soap.namespaces import SOAP11_ENV, SOAP12_ENV, WSDL, XSD
from mockserver.soap.spyne_protocol import SoapProtocol, VendorFaults, _release
from mockserver.soap.wsdl_writing import ADDRESS_PLACEHOLDER, WsdlNames, _rpc_wrappers, canonical_wsdl

log = logging.getLogger(__name__)


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
        self.answers = codec.AnswerWriter(self.app, self.app.out_protocol)
        self.app.transport = "http://schemas.xmlsoap.org/soap/http"
        wsdl = Wsdl11(self.app.interface)
        wsdl.build_interface_document(ADDRESS_PLACEHOLDER + address_path.lstrip("/"))
        self.models: dict[str, tuple] = {}  # the mock's operation -> (in, out message models)
        for method in self.app.interface.service_method_map.values():
            descriptor = method[0]
            self.models[descriptor.name] = (descriptor.in_message, descriptor.out_message)
        plain_inits(model for pair in self.models.values() for model in pair)
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
        """(what turns spyne's answer into the wire's, None: spyne's is the wire's; the form
        the answer writer writes it in, None: spyne writes it)."""
        ns = request_ns or self.tns
        wrapper_tag = f"{{{ns}}}{wire.response_name}"
        own_tag = f"{{{self.tns}}}{wire.target}Response"
        if wrapper_tag == own_tag and wire.qualified and wire.response is None:
            return None, codec.OWN  # the common case: the mock's own names, namespace and form
        form = codec.AnswerForm(ns, wire.response_name, wire.qualified) \
            if wrapper_tag != own_tag and wire.response is None and \
            not (wire.parts and wire.qualified) else None

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

        return restyle_answer, form

    def _run(self, ctx, contexts: list, soap12: bool, style) -> bytes:
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
        answer_style, form = style
        out = None if form is None else self.answers.write(p_ctx, form)  # None: spyne writes
        if out is None or codec.CHECK:
            ctx.udc.answer = answer_style
            self.server.get_out_string(p_ctx)
            spyne_out = b"".join(p_ctx.out_string)
            if out is not None and out != spyne_out:
                log.error("answer writer differs from spyne for %s:\n%s\n%s",
                          p_ctx.descriptor.name, out, spyne_out)
                raise WireError(f"mockserver's answer writer differs from spyne for "
                                f"{p_ctx.descriptor.name}; see its log.", code="Server")
            out = spyne_out
        if soap12:
            out = out.replace(SOAP11_ENV.encode(), SOAP12_ENV.encode(), 1)
        return out


def _fault_text(error) -> str:
    return getattr(error, "faultstring", None) or str(error)
