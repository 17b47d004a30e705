"""The served Copernica WSDL: paths, host-correct address, names, stub quality, checked-in copy."""
import gzip

import pytest
from lxml import etree

from conftest import ROOT, http
from copernica_harness import copernica_server

NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
      "xs": "http://www.w3.org/2001/XMLSchema"}
TNS = "http://soap.copernica.com/"


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """One server for the module."""
    running = copernica_server(tmp_path_factory.mktemp("wsdl"))
    yield running
    running.stop()


def test_served_at_both_paths_as_text_xml(cop):
    status1, body1, headers = cop.get("?SOAPAPI=WSDL")
    status2, body2, _ = cop.get("?wsdl")
    assert status1 == status2 == 200 and body1 == body2
    assert headers["Content-Type"].startswith("text/xml")


def test_soap_address_names_the_host_asked(cop):
    port = cop.base_url.rsplit(":", 1)[1].rstrip("/")
    _, body, _ = http("GET", cop.base_url + "?SOAPAPI=WSDL", headers={"Host": f"mock.test:{port}"})
    address = etree.fromstring(body).find(".//soap:address", NS).get("location")
    assert address == f"http://mock.test:{port}/"


def test_checked_in_wsdl_equals_the_served_one(cop):
    _, served, _ = cop.get("?SOAPAPI=WSDL")
    port = cop.base_url.rsplit(":", 1)[1].rstrip("/")
    served = served.replace(f"http://127.0.0.1:{port}/".encode(), b"http://127.0.0.1:8080/")
    assert served == (ROOT / "wsdl" / "copernica.wsdl").read_bytes(), \
        "wsdl/copernica.wsdl is stale: run `mockserver wsdl wsdl/` and commit"


def test_vendor_names():
    doc = etree.parse(str(ROOT / "wsdl" / "copernica.wsdl"))
    root = doc.getroot()
    assert root.get("targetNamespace") == TNS
    assert doc.find("wsdl:service", NS).get("name") == "POM_SOAP_API"
    assert doc.find("wsdl:service/wsdl:port", NS).get("name") == "POMPort"
    assert doc.find("wsdl:portType", NS).get("name") == "POMPortType"
    ops = [o.get("name") for o in doc.iterfind("wsdl:portType/wsdl:operation", NS)]
    assert {"login", "Account_database", "Database_searchProfiles", "Profile_updateFields",
            "SubProfile_moveToProfile", "Callback_source"} <= set(ops)
    for op in doc.iterfind("wsdl:binding/wsdl:operation", NS):
        assert op.find("soap:operation", NS).get("soapAction") == f"{TNS}#{op.get('name')}"
    types = {t.get("name"): t for t in doc.iterfind(".//xs:complexType", NS)}
    assert all(f"input_{name}" in types for name in ops)
    result = [e.get("name") for e in types["Result"].iterfind("xs:sequence/xs:element", NS)]
    assert result[:8] == ["start", "length", "total", "allproperties", "items", "value", "array",
                          "map"]
    assert [e.get("name") for e in types["Pair"].iterfind(".//xs:element", NS)] == ["key", "value"]
    assert [e.get("name") for e in types["Requirement"].iterfind(".//xs:element", NS)] == [
        "fieldname", "casesensitive", "operator", "value"]


def _members(complex_type) -> list[tuple[str, str]]:
    return [(e.get("name"), e.get("type")) for e in complex_type.iterfind("xs:sequence/xs:element",
                                                                          NS)]


XS_TYPES = {"int": "xs:int", "string": "xs:string", "bool": "xs:boolean", "float": "xs:float"}


def _schema_type(kind: str) -> str:
    if kind.endswith("[]"):
        item = kind[:-2]
        return "tns:" + {"Pair": "Map", "string": "Array", "Requirement": "Requirements"}.get(
            item, item + "Array")
    return XS_TYPES.get(kind) or "tns:" + kind


def test_the_catalogue_drives_inputs_and_types():
    """Every served input_X holds the catalogue's members in its order with its types, then
    access_token; so do the entity types; and the catalogue holds the vendor's names."""
    from mockserver.copernica import catalogue
    doc = etree.parse(str(ROOT / "wsdl" / "copernica.wsdl"))
    types = {t.get("name"): t for t in doc.iterfind(".//xs:complexType", NS)}
    ops = [o.get("name") for o in doc.iterfind("wsdl:portType/wsdl:operation", NS)]
    for name in ops:
        expected = [(n, _schema_type(k)) for n, k in catalogue.input_members(name)]
        assert _members(types[f"input_{name}"]) == expected, name
    for name in ("Login", "Pair", "Requirement", "Database", "Field", "Collection", "Interest",
                 "Profile", "SubProfile", "Callback", "CollectionField"):
        assert _members(types[name]) == [(n, _schema_type(k)) for n, k in
                                         catalogue.types()[name]], name
    # what the vendor's generated proxy shows (spot checks of the package's catalogue copy)
    assert len(catalogue.operations()) == 1762 and len(catalogue.types()) == 247
    assert [n for n, _ in catalogue.input_members("Database_createInterest")] == [
        "login", "id", "name", "group", "access_token"]
    assert [n for n, _ in catalogue.input_members("Database_searchProfiles")] == [
        "login", "start", "length", "allproperties", "id", "requirements", "order", "asc",
        "access_token"]
    assert [n for n, _ in catalogue.input_members("login")] == [
        "username", "password", "account", "access_token"]
    assert catalogue.types()["Login"] == (("username", "string"), ("account", "string"),
                                          ("password", "string"))
    assert "SubProfile" in catalogue.types() and "Subprofile" not in types


def test_rpc_literal_binding_with_typed_parts():
    doc = etree.parse(str(ROOT / "wsdl" / "copernica.wsdl"))
    assert doc.find("wsdl:binding/soap:binding", NS).get("style") == "rpc"
    messages = {m.get("name"): m for m in doc.iterfind("wsdl:message", NS)}
    ops = list(doc.iterfind("wsdl:portType/wsdl:operation", NS))
    assert len(ops) > 40
    for op in ops:
        name = op.get("name")
        request = messages[op.find("wsdl:input", NS).get("message").split(":")[1]]
        response = messages[op.find("wsdl:output", NS).get("message").split(":")[1]]
        assert [(p.get("name"), p.get("type"), p.get("element"))
                for p in request.findall("wsdl:part", NS)] == [
            ("parameters", f"tns:input_{name}", None)]
        assert [(p.get("name"), p.get("type"), p.get("element"))
                for p in response.findall("wsdl:part", NS)] == [("result", "tns:Result", None)]
    for op in doc.iterfind("wsdl:binding/wsdl:operation", NS):
        assert op.find("soap:operation", NS).get("style") == "rpc"
        for body in op.iterfind("*/soap:body", NS):
            assert (body.get("use"), body.get("namespace")) == ("literal", TNS)
    # the document/literal wrappers are gone, types and element names stay
    schema = doc.find("wsdl:types/xs:schema", NS)
    assert schema.get("elementFormDefault") == "qualified"
    assert schema.findall("xs:element", NS) == []
    names = {t.get("name") for t in schema.iterfind("xs:complexType", NS)}
    assert not names & {o.get("name") for o in ops}
    assert not names & {o.get("name") + "Response" for o in ops}


def test_stub_quality_rules_hold():
    doc = etree.parse(str(ROOT / "wsdl" / "copernica.wsdl"))
    for element in doc.iterfind(".//xs:element", NS):
        assert element.get("type") != "xs:integer", etree.tostring(element)
        assert not (element.get("minOccurs") == "0" and element.get("nillable") == "true")
    for message in doc.iterfind("wsdl:message", NS):
        expected = ["result"] if message.get("name").endswith("Response") else ["parameters"]
        assert [p.get("name") for p in message.findall("wsdl:part", NS)] == expected


def _envelope(accessor: str, content: str = "") -> bytes:
    return (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:c="{TNS}"><soap:Body><c:Account_database><{accessor}>'
            f'<c:identifier>Customers</c:identifier>{content}'
            f'<c:access_token>shop-token-rw</c:access_token></{accessor}></c:Account_database>'
            f'</soap:Body></soap:Envelope>').encode()


@pytest.mark.parametrize("accessor", ["parameters", "c:parameters"])
def test_rpc_wire_part_accessors(cop, accessor):
    """rpc/literal sends ``parameters`` unqualified, clients of the older document/literal WSDL
    send it in tns: both are served; the answer's ``result`` is unqualified, its children in
    tns."""
    status, out, _ = cop.post("", _envelope(accessor), {"Content-Type": "text/xml"})
    assert status == 200, out
    wrapper = etree.fromstring(out).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    assert wrapper.tag == f"{{{TNS}}}Account_databaseResponse"
    [result] = wrapper
    assert result.tag == "result"
    assert [c.tag for c in result] == [f"{{{TNS}}}database"]
    assert result[0].findtext(f"{{{TNS}}}name") == "Customers"


@pytest.mark.parametrize("accessor", ["parameters", "c:parameters"])
def test_rpc_wire_still_validates_the_parameters(cop, accessor):
    status, out, _ = cop.post("", _envelope(accessor, "<c:bogus>1</c:bogus>"),
                              {"Content-Type": "text/xml"})
    assert status == 500 and b"Element 'bogus': This element is not expected." in out
    elsewhere = _envelope(accessor).replace(b"<c:identifier>", b'<x:identifier xmlns:x="urn:x">')
    elsewhere = elsewhere.replace(b"</c:identifier>", b"</x:identifier>")
    status, out, _ = cop.post("", elsewhere, {"Content-Type": "text/xml"})
    assert status == 500 and b"Element 'identifier': This element is not expected." in out
    unqualified = _envelope(accessor).replace(b"c:identifier", b"identifier")
    status, out, _ = cop.post("", unqualified, {"Content-Type": "text/xml"})
    if accessor == "parameters":  # node-soap's rpc/literal: the part's content unqualified
        assert status == 200 and b"<tns:name>Customers</tns:name>" in out
    else:  # the document/literal shape stays strict
        assert status == 500 and b"Element 'identifier': This element is not expected." in out
    other = _envelope("x:parameters").replace(b"<x:parameters>",
                                              b'<x:parameters xmlns:x="urn:other">')
    status, out, _ = cop.post("", other, {"Content-Type": "text/xml"})
    assert status == 500 and b"Element 'parameters': This element is not expected." in out


def test_gzip_answer_when_accepted(cop):
    body = (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:c="{TNS}"><soap:Body><c:Account_databases><parameters>'
            f'<c:access_token>shop-token-rw</c:access_token></parameters></c:Account_databases>'
            f'</soap:Body></soap:Envelope>').encode()
    status, out, headers = cop.post("", body, {"Content-Type": "text/xml; charset=utf-8",
                                               "Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert b"<name>Customers</name>" in gzip.decompress(out).replace(b"tns:", b"")
    status, out, headers = cop.post("", body, {"Content-Type": "text/xml; charset=utf-8"})
    assert status == 200 and "Content-Encoding" not in headers and b"Customers" in out
