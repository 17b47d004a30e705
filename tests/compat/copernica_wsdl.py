"""A WSDL of the Copernica SOAP API written from the catalogue, the way the vendor's own was.

``mockserver/copernica/catalogue.json`` is the real API as a .NET client generated from the
vendor's WSDL in 2013 saw it: every operation's input members in schema order with their
types, and every type's members in order. This module reads that data file only (no code of
the mock), so the clients are built from the vendor's catalogue, not from the mock's WSDL.
``generate()`` writes a WSDL 1.1 document from it with what that client tells of the
original:

- rpc/literal SOAP 1.1; port type ``POMPortType``, binding ``POMBinding``, service
  ``POM_SOAP_API`` with port ``POMPort`` (the names of the vendor's C# and Java samples);
- the target namespace is a parameter: the vendor's is the WSDL's own URL,
  ``http://publisher.copernica.nl/?SOAPAPI=WSDL`` (``REAL_NAMESPACE``). A generated client
  keeps the namespace it was built with, whatever host it later calls;
- SOAPAction ``<namespace>#<method>``; ``soap:body`` in that namespace;
- each operation's input part ``parameters`` of type ``input_<method>``: the catalogue's
  members in order (``login`` first), then ``access_token``, which today's reference pages
  list on every method (the 2013 types predate it); its output part ``result`` of type
  ``Result``;
- ``elementFormDefault="unqualified"``: every member is a local, unqualified element. Every
  member is optional (``minOccurs="0"``), so clients send only what they set;
- arrays as the catalogue describes them. ``Pair[]`` is the type ``Map`` (a sequence of
  ``pair``; the name of the vendor's Java sample), ``string[]`` the type ``Array`` (of
  ``item``), ``Requirement[]`` the type ``Requirements`` (of ``requirement``); these two names
  are not known. The ``Items`` of a collection result hold their entities unwrapped, one
  element per entity named after its member (``items/profile``, ``items/subprofile``), as
  search results arrive. The one other array (``SplitRunSettings.testgroups``) gets a wrapper
  type ``SplitRunTestGroupArray`` of ``splitruntestgroup`` elements, a guess;
- ``soap:address`` is the ``address`` argument: the mock's URL, or any placeholder that the
  client overrides at run time, as an integrator pointing a client at the mock does.

``operations`` restricts the WSDL to the operations a client uses, to keep the generated code
and its compile time small: their ``input_`` types and every type those and ``Result`` reach
(which is nearly all of them: ``Result`` names most entities) are written; each is written
exactly as the catalogue has it. Without ``operations`` all 1 762 operations are written.

The output is deterministic (operations and types in catalogue order), so a hash of it keys
cached client builds.

Usage: python tests/compat/copernica_wsdl.py [--namespace NS] [--address URL]
       [--operation NAME ...] [-o FILE]
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Iterable
from xml.sax.saxutils import quoteattr

CATALOGUE = Path(__file__).resolve().parents[2] / "mockserver" / "copernica" / "catalogue.json"
REAL_NAMESPACE = "http://publisher.copernica.nl/?SOAPAPI=WSDL"
ACCESS_TOKEN = ("access_token", "string")
PRIMITIVES = {"int": "xsd:int", "string": "xsd:string", "bool": "xsd:boolean",
              "float": "xsd:float"}
# the element type of an array -> (its wrapper type, the element name of its items)
WRAPPERS = {"Pair": ("Map", "pair"), "string": ("Array", "item"),
            "Requirement": ("Requirements", "requirement")}
UNWRAPPED = {"Items"}  # types whose array members repeat the member itself

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD = "http://www.w3.org/2001/XMLSchema"
HTTP = "http://schemas.xmlsoap.org/soap/http"


@functools.lru_cache(maxsize=None)
def catalogue() -> dict:
    """The catalogue: ``{"operations": {name: [(member, type), ...]}, "types": {...}}``, in
    the file's order (the file writes each member list as ``"name:type name:type ..."``)."""
    data = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return {key: {name: [tuple(member.split(":", 1)) for member in members.split()]
                  for name, members in data[key].items()}
            for key in ("operations", "types")}


def wrapper(element: str) -> tuple[str, str]:
    """The wrapper type of an array of ``element`` and the element name of its items."""
    return WRAPPERS.get(element, (element + "Array", element.lower()))


def _element_type(kind: str) -> str:
    return kind[:-2] if kind.endswith("[]") else kind


def _reached(roots: Iterable[str], types: dict) -> set[str]:
    """The catalogue types that ``roots`` (type names) reach through their members."""
    seen: set[str] = set()
    stack = [_element_type(root) for root in roots]
    while stack:
        name = stack.pop()
        if name in PRIMITIVES or name in seen:
            continue
        seen.add(name)
        stack.extend(_element_type(kind) for _, kind in types[name])
    return seen


def _member(name: str, kind: str, owner: str) -> str:
    """One ``xsd:element`` of a sequence."""
    if kind.endswith("[]") and owner in UNWRAPPED:
        element = _element_type(kind)
        ref = PRIMITIVES.get(element, "tns:" + element)
        return (f'<xsd:element name="{name}" type="{ref}" minOccurs="0"'
                f' maxOccurs="unbounded"/>')
    if kind.endswith("[]"):
        ref = "tns:" + wrapper(_element_type(kind))[0]
    else:
        ref = PRIMITIVES.get(kind, "tns:" + kind)
    return f'<xsd:element name="{name}" type="{ref}" minOccurs="0"/>'


def _complex_type(name: str, members: Iterable[tuple[str, str]]) -> list[str]:
    lines = [f'   <xsd:complexType name="{name}">', "    <xsd:sequence>"]
    lines += [f"     {_member(m, kind, name)}" for m, kind in members]
    return lines + ["    </xsd:sequence>", "   </xsd:complexType>"]


def generate(namespace: str = REAL_NAMESPACE, address: str = "http://localhost:8080/",
             operations: Iterable[str] | None = None) -> str:
    """The WSDL document (text) of ``operations`` (all when None), in ``namespace``."""
    data = catalogue()
    types, all_operations = data["types"], data["operations"]
    if operations is None:
        names = list(all_operations)
    else:
        wanted = set(operations)
        unknown = sorted(wanted - set(all_operations))
        if unknown:
            raise ValueError(f"not in the catalogue: {', '.join(unknown)}")
        names = [name for name in all_operations if name in wanted]
    inputs = {name: [*all_operations[name], ACCESS_TOKEN] for name in names}
    roots = ["Result"] + [kind for members in inputs.values() for _, kind in members]
    reached = _reached(roots, types)
    owners = [types[name] for name in reached if name not in UNWRAPPED] + list(inputs.values())
    arrays = {_element_type(kind) for members in owners for _, kind in members
              if kind.endswith("[]")}

    tns = quoteattr(namespace)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           "<!-- The Copernica SOAP API (POM SOAP API), written from the catalogue by",
           "     tests/compat/copernica_wsdl.py. -->",
           f'<definitions xmlns="{WSDL}" xmlns:soap="{SOAP}" xmlns:xsd="{XSD}"',
           f'    xmlns:tns={tns} targetNamespace={tns} name="POM_SOAP_API">',
           " <types>",
           f'  <xsd:schema targetNamespace={tns} elementFormDefault="unqualified">']
    for name in names:
        out += _complex_type(f"input_{name}", inputs[name])
    for name in types:
        if name in reached:
            out += _complex_type(name, types[name])
    for element in sorted(arrays, key=lambda e: wrapper(e)[0]):
        wrapped, item = wrapper(element)
        ref = PRIMITIVES.get(element, "tns:" + element)
        out += [f'   <xsd:complexType name="{wrapped}">', "    <xsd:sequence>",
                f'     <xsd:element name="{item}" type="{ref}" minOccurs="0"'
                f' maxOccurs="unbounded"/>', "    </xsd:sequence>", "   </xsd:complexType>"]
    out += ["  </xsd:schema>", " </types>"]
    for name in names:
        out += [f' <message name="{name}Request">',
                f'  <part name="parameters" type="tns:input_{name}"/>', " </message>",
                f' <message name="{name}Response">',
                '  <part name="result" type="tns:Result"/>', " </message>"]
    out.append(' <portType name="POMPortType">')
    for name in names:
        out += [f'  <operation name="{name}">', f'   <input message="tns:{name}Request"/>',
                f'   <output message="tns:{name}Response"/>', "  </operation>"]
    out += [" </portType>", ' <binding name="POMBinding" type="tns:POMPortType">',
            f'  <soap:binding style="rpc" transport="{HTTP}"/>']
    body = f'<soap:body use="literal" namespace={tns}/>'
    for name in names:
        out += [f'  <operation name="{name}">',
                f"   <soap:operation soapAction={quoteattr(namespace + '#' + name)}/>",
                f"   <input>{body}</input>", f"   <output>{body}</output>", "  </operation>"]
    out += [" </binding>", ' <service name="POM_SOAP_API">',
            '  <port name="POMPort" binding="tns:POMBinding">',
            f"   <soap:address location={quoteattr(address)}/>", "  </port>", " </service>",
            "</definitions>"]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespace", default=REAL_NAMESPACE,
                        help="the target namespace (default: the vendor's)")
    parser.add_argument("--address", default="http://localhost:8080/",
                        help="the soap:address location (default: %(default)s)")
    parser.add_argument("--operation", action="append", dest="operations", metavar="NAME",
                        help="write only this operation (repeatable; default: all)")
    parser.add_argument("-o", "--output", type=Path, help="the file to write (default: stdout)")
    args = parser.parse_args(argv)
    text = generate(args.namespace, args.address, args.operations)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
