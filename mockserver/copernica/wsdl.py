"""The Copernica WSDL as served: spyne's (canonical, rpc/literal) with the vendor's member
form, every member unqualified (``elementFormDefault="unqualified"``)."""
from __future__ import annotations

from lxml import etree

from mockserver.soap import WSDL, XSD


def served(document: bytes) -> bytes:
    """The WSDL to serve, from the endpoint's canonical one."""
    doc = etree.fromstring(document, etree.XMLParser(remove_blank_text=True))
    for schema in doc.iterfind(f"{{{WSDL}}}types/{{{XSD}}}schema"):
        schema.set("elementFormDefault", "unqualified")
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True)
