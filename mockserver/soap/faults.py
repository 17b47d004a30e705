"""Fault writing: the refusal the wire raises (WireError) and the SOAP 1.1 or 1.2 fault
envelope every refusal is answered with, never an HTML page."""
from __future__ import annotations

from lxml import etree

from mockserver.soap.namespaces import SOAP11_ENV, SOAP12_ENV


class WireError(Exception):
    """A request the wire layer refuses: answered as a SOAP fault with this code and message
    (HTTP status 500, as SOAP 1.1 answers faults, unless the refusal is the transport's)."""

    def __init__(self, message: str, code: str = "Client", status: int = 500):
        super().__init__(message)
        self.code, self.status = code, status


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
