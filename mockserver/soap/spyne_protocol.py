"""spyne as the wire drives it: its SOAP 1.1 protocol with the ``soap`` prefix and without
per-call overhead, an Application answering domain errors with the vendor's fault, and the
release of what a finished call's method contexts hold."""
from __future__ import annotations

import logging

from lxml import etree
from spyne import Application, Fault
from spyne.const import xml as spyne_ns
from spyne.model.primitive import DateTime
from spyne.protocol import ProtocolBase
from spyne.protocol.soap import Soap11

from mockserver.machinery.errors import VendorError
from mockserver.soap.namespaces import SOAP11_ENV

logging.getLogger("spyne").setLevel(logging.CRITICAL)  # faults are answers, not log events

# Answer with the conventional ``soap`` prefix (``soap:Server``), not spyne's ``soap11env``.
spyne_ns.NSMAP.pop("soap11env", None)
spyne_ns.NSMAP["soap"] = SOAP11_ENV
spyne_ns._regen_prefmap()


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
