"""The Copernica endpoint: the shared SOAP pipeline (mockserver.soap) with the vendor's wire.

The served WSDL's target namespace is its own URL (``http://HOST/?SOAPAPI=WSDL``, HOST as the
client fetched it) and every member is unqualified, as the vendor's is. Inside, spyne works in
one namespace (``types.TNS``, the WSDL's URL with the placeholder host) with qualified members.
This module translates at the edges: a request's operation element in the namespace of any
copy of the WSDL (or the mock's former ``http://soap.copernica.com/``) is read as ``types.TNS``;
the answer goes back in the namespace the request used, its members unqualified.
"""
from __future__ import annotations

import gc
import threading

from lxml import etree

from mockserver.copernica import catalogue
from mockserver.copernica import types as t
from mockserver.soap import SoapEndpoint, WireError, _trim

FORMER_TNS = "http://soap.copernica.com/"
WSDL_SUFFIX = "?soapapi=wsdl"  # a namespace ending so is some host's copy of the WSDL
WSDL_COPIES = 8  # hosts whose WSDL copy is kept ready


def is_copernica_namespace(namespace: str | None) -> bool:
    """True for a namespace requests of this dialect may use: the served WSDL's own URL (for
    any host), the mock's former constant namespace, the internal one."""
    return bool(namespace) and (namespace in (t.TNS, FORMER_TNS) or
                                namespace.lower().endswith(WSDL_SUFFIX))


class CopernicaEndpoint(SoapEndpoint):
    """A SoapEndpoint speaking the vendor's namespaces and unqualified members."""

    def __init__(self, *args, **kwargs):
        """Build the shared endpoint; serve its WSDL with the vendor's member form."""
        super().__init__(*args, **kwargs)
        self._request = threading.local()
        from mockserver.copernica import wsdl
        self._wsdl = wsdl.served(self._wsdl, self.tns)
        gc.collect()
        _trim()  # building freed ~25 MB of trees and copies: give them back

    def wsdl(self, host_url: str) -> bytes:
        """The WSDL for ``host_url``; a few hosts' copies kept (each is ~3 MB)."""
        if host_url not in self._wsdl_by_host and len(self._wsdl_by_host) >= WSDL_COPIES:
            self._wsdl_by_host.pop(next(iter(self._wsdl_by_host)), None)
        return super().wsdl(host_url)

    def handle(self, body: bytes, call) -> tuple[int, bytes, bool, str | None]:
        """The shared pipeline's answer; a method not emulated is named as the operation."""
        self._request.not_emulated = None
        status, out, soap12, operation = super().handle(body, call)
        return status, out, soap12, operation or self._request.not_emulated

    def _operation(self, envelope: etree._Element, env_ns: str) -> tuple[str, etree._Element]:
        """Read the operation element (and any member qualified like it) in ``types.TNS``."""
        self._request.namespace = None
        body = envelope.find(f"{{{env_ns}}}Body")
        element = next((c for c in (body if body is not None else ()) if isinstance(c.tag, str)),
                       None)
        if element is not None:
            qname = etree.QName(element)
            if not is_copernica_namespace(qname.namespace):
                raise WireError(_unknown(qname.localname, qname.namespace))
            if qname.localname.lower() not in self.operations:
                known = catalogue.canonical_name(qname.localname)
                if known is None:
                    raise WireError(_unknown(qname.localname, qname.namespace))
                self._request.not_emulated = known
                raise WireError(not_emulated(known), code="Server")
            self._request.namespace = qname.namespace
            if qname.namespace != t.TNS:
                prefix = f"{{{qname.namespace}}}"
                for node in element.iter():
                    if isinstance(node.tag, str) and node.tag.startswith(prefix):
                        node.tag = f"{{{t.TNS}}}{node.tag[len(prefix):]}"
        return super()._operation(envelope, env_ns)

    def _dispatch(self, envelope: etree._Element, call, soap12: bool) -> bytes:
        """spyne's answer, in the request's namespace with unqualified members."""
        out = super()._dispatch(envelope, call, soap12)
        return vendor_answer(out, getattr(self._request, "namespace", None) or t.TNS)


def not_emulated(operation: str) -> str:
    """The fault string of a catalogue method the mock does not emulate."""
    return f"{operation} is not emulated by mockserver."


def _unknown(name: str, namespace: str | None) -> str:
    return (f"Unknown operation {name!r} in namespace {namespace or '(none)'!r}; this "
            f"endpoint serves the Copernica SOAP API's methods in the namespace of its WSDL "
            f"(http://HOST/?SOAPAPI=WSDL) or {FORMER_TNS!r}.")


def vendor_answer(out: bytes, namespace: str) -> bytes:
    """An answer envelope with its operation wrapper in ``namespace`` and every element inside
    the wrapper unqualified, as the vendor's WSDL (``elementFormDefault="unqualified"``) says."""
    root = etree.fromstring(out)
    body = next((c for c in root if isinstance(c.tag, str) and
                 etree.QName(c).localname == "Body"), None)
    wrapper = next((c for c in (body if body is not None else ()) if isinstance(c.tag, str)),
                   None)
    if wrapper is None or etree.QName(wrapper).localname == "Fault":
        return out
    answer = etree.Element(f"{{{namespace}}}{etree.QName(wrapper).localname}",
                           nsmap={"tns": namespace})
    answer.extend(wrapper)
    body.replace(wrapper, answer)
    for node in answer.iterdescendants():
        if isinstance(node.tag, str) and node.tag[0] == "{":
            node.tag = etree.QName(node).localname
    etree.cleanup_namespaces(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
