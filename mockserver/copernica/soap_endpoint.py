"""The Copernica endpoint: the shared SOAP pipeline (mockserver.soap.envelope) with the
vendor's wire and catalogue.

The served WSDL's target namespace is its own URL (``http://HOST/?SOAPAPI=WSDL``, HOST as the
client fetched it) and every member is unqualified, as the vendor's is; the shared pipeline
reads requests in any namespace and form and answers in the request's namespace with
unqualified members (``member_form="unqualified"``). The catalogue's methods the mock does not
emulate are in the WSDL and answer a fault naming them.
"""
from __future__ import annotations

import gc
import threading

from lxml import etree

from mockserver.copernica import catalogue
from mockserver.soap.defences import _trim
from mockserver.soap.envelope import SoapEndpoint
from mockserver.soap.faults import WireError

WSDL_COPIES = 8  # hosts whose WSDL copy is kept ready (each is ~3 MB)


def not_emulated(operation: str) -> str:
    """The fault string of a catalogue method the mock does not emulate."""
    return f"{operation} is not emulated by mockserver."


class CopernicaEndpoint(SoapEndpoint):
    """A SoapEndpoint serving the vendor's whole catalogue, emulating part of it."""

    def __init__(self, *args, **kwargs):
        """Build the shared endpoint (unqualified members); serve the whole catalogue."""
        super().__init__(*args, member_form="unqualified", **kwargs)
        self._request = threading.local()
        from mockserver.copernica import wsdl
        self._wsdl = wsdl.served(self._wsdl, self.tns)
        gc.collect()
        _trim()  # building freed ~25 MB of trees and copies: give them back

    def wsdl(self, host_url: str) -> bytes:
        """The WSDL for ``host_url``; a few hosts' copies kept."""
        if host_url not in self._wsdl_by_host and len(self._wsdl_by_host) >= WSDL_COPIES:
            self._wsdl_by_host.pop(next(iter(self._wsdl_by_host)), None)
        return super().wsdl(host_url)

    def handle(self, body: bytes, call) -> tuple[int, bytes, bool, str | None]:
        """The shared pipeline's answer; a method not emulated is named as the operation."""
        self._request.not_emulated = None
        status, out, soap12, operation = super().handle(body, call)
        return status, out, soap12, operation or self._request.not_emulated

    def _operation(self, envelope: etree._Element, env_ns: str):
        """The shared lookup; a catalogue method the mock does not emulate is a fault naming
        it (the name matched in any case, spelt as the catalogue does)."""
        body = envelope.find(f"{{{env_ns}}}Body")
        element = next((c for c in (body if body is not None else ()) if isinstance(c.tag, str)),
                       None)
        if element is not None:
            local = etree.QName(element).localname
            known = catalogue.canonical_name(local)
            if local.lower() not in self.operations and known is not None:
                self._request.not_emulated = known
                raise WireError(not_emulated(known), code="Server")
        return super()._operation(envelope, env_ns)
