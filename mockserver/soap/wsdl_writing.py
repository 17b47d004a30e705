"""WSDL writing: spyne's WSDL made stable and plain, given a dialect's names (WsdlNames),
turned rpc/literal when the dialect says so, with a placeholder address each request's host
replaces."""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from mockserver.soap.namespaces import WSDL, WSDL_SOAP, XSD

ADDRESS_PLACEHOLDER = "http://mockserver.invalid/"


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
