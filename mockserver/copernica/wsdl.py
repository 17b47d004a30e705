"""The Copernica WSDL as served: the vendor's whole catalogue, every member unqualified
(``elementFormDefault="unqualified"``, set by the shared endpoint).

spyne builds the WSDL of the emulated operations (mockserver.copernica.service). To it come,
straight from the catalogue, every other operation (message, port type and binding entries and
its ``input_X``), every type no emulated operation uses, and the catalogue's full ``Result``
and ``Items`` (spyne's hold only the members the mock answers, in the same order). A client
generated from the served WSDL therefore has the vendor's API; the operations the mock does
not emulate answer a fault naming them (mockserver.copernica.soap_endpoint).
"""
from __future__ import annotations

from lxml import etree

from mockserver.copernica import catalogue
from mockserver.soap.namespaces import WSDL, WSDL_SOAP, XSD

XS_TYPES = {"int": "xs:int", "string": "xs:string", "bool": "xs:boolean", "float": "xs:float"}
NOT_EMULATED_DOC = "Not emulated by mockserver: answers a fault naming the method."


def served(document: bytes, tns: str) -> bytes:
    """The WSDL to serve, from the endpoint's canonical one (target namespace ``tns``)."""
    doc = etree.fromstring(document, etree.XMLParser(remove_blank_text=True))
    schema = doc.find(f"{{{WSDL}}}types/{{{XSD}}}schema")
    _complete_types(schema)
    emulated = {o.get("name") for o in doc.iterfind(f"{{{WSDL}}}portType/{{{WSDL}}}operation")}
    missing = [name for name in catalogue.operations() if name not in emulated]
    for name in missing:
        schema.append(_complex_type(f"input_{name}", catalogue.input_members(name)))
    _add_operations(doc, missing, tns)
    _sort(schema, f"{{{XSD}}}complexType")
    for section in ("message", "portType", "binding"):
        for parent in ([doc] if section == "message" else doc.iterfind(f"{{{WSDL}}}{section}")):
            _sort(parent, f"{{{WSDL}}}{'message' if section == 'message' else 'operation'}")
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _complete_types(schema: etree._Element) -> None:
    """Every catalogue type and array type in the schema; Result and Items in full."""
    present = {t.get("name"): t for t in schema.iterfind(f"{{{XSD}}}complexType")}
    for name in ("Result", "Items"):
        if name in present:
            schema.remove(present.pop(name))
    for name, members in catalogue.types().items():
        if name not in present:
            schema.append(_complex_type(name, members, repeated=name == "Items"))
            present[name] = None
    lists = [members for name, members in catalogue.types().items() if name != "Items"]
    kinds = {kind for members in [*lists, *catalogue.operations().values()]  # Items repeats
             for _, kind in members if kind.endswith("[]")}
    for kind in sorted(kinds):
        item = catalogue.element_type(kind)
        name = catalogue.array_type_name(item)
        if name not in present:
            complex_type = etree.SubElement(schema, f"{{{XSD}}}complexType", name=name)
            etree.SubElement(etree.SubElement(complex_type, f"{{{XSD}}}sequence"),
                             f"{{{XSD}}}element", name=catalogue.item_name(item),
                             type=_type(item), minOccurs="0", maxOccurs="unbounded")
            present[name] = None


def _type(kind: str) -> str:
    """The schema type of a catalogue type name."""
    if kind.endswith("[]"):
        return "tns:" + catalogue.array_type_name(catalogue.element_type(kind))
    return XS_TYPES.get(kind) or "tns:" + kind


def _complex_type(name: str, members, repeated: bool = False) -> etree._Element:
    """A complexType of optional members (``repeated``: each any number of times, no wrapper:
    the items of a list answer)."""
    complex_type = etree.Element(f"{{{XSD}}}complexType", name=name)
    sequence = etree.SubElement(complex_type, f"{{{XSD}}}sequence")
    for member, kind in members:
        if repeated:
            etree.SubElement(sequence, f"{{{XSD}}}element", name=member,
                             type=_type(catalogue.element_type(kind)), minOccurs="0",
                             maxOccurs="unbounded")
        else:
            etree.SubElement(sequence, f"{{{XSD}}}element", name=member, type=_type(kind),
                             minOccurs="0")
    return complex_type


def _add_operations(doc: etree._Element, names: list[str], tns: str) -> None:
    """Messages, port type and binding operations for ``names``, as spyne writes them."""
    port_type = doc.find(f"{{{WSDL}}}portType")
    binding = doc.find(f"{{{WSDL}}}binding")
    first_message = doc.find(f"{{{WSDL}}}message")
    for name in names:
        for message, part, kind in ((name, "parameters", f"tns:input_{name}"),
                                    (name + "Response", "result", "tns:Result")):
            element = etree.Element(f"{{{WSDL}}}message", name=message)
            etree.SubElement(element, f"{{{WSDL}}}part", name=part, type=kind)
            first_message.addprevious(element)
        operation = etree.SubElement(port_type, f"{{{WSDL}}}operation", name=name)
        etree.SubElement(operation, f"{{{WSDL}}}documentation").text = NOT_EMULATED_DOC
        etree.SubElement(operation, f"{{{WSDL}}}input", name=name, message=f"tns:{name}")
        etree.SubElement(operation, f"{{{WSDL}}}output", name=name + "Response",
                         message=f"tns:{name}Response")
        operation = etree.SubElement(binding, f"{{{WSDL}}}operation", name=name)
        etree.SubElement(operation, f"{{{WSDL_SOAP}}}operation", soapAction=f"{tns}#{name}",
                         style="rpc")
        for direction, label in (("input", name), ("output", name + "Response")):
            etree.SubElement(etree.SubElement(operation, f"{{{WSDL}}}{direction}", name=label),
                             f"{{{WSDL_SOAP}}}body", use="literal", namespace=tns)


def _sort(parent: etree._Element, tag: str) -> None:
    """Put ``parent``'s ``tag`` children in name order, where the first of them stood."""
    children = [c for c in parent if c.tag == tag]
    if not children:
        return
    anchor = etree.Element("anchor")
    children[0].addprevious(anchor)
    for child in children:
        parent.remove(child)
    for child in sorted(children, key=lambda c: c.get("name")):
        anchor.addprevious(child)
    parent.remove(anchor)
