"""The served Copernica WSDL: paths, host-correct address, names, stub quality, checked-in copy."""
import gzip

import pytest
from lxml import etree

from conftest import ROOT, http
from copernica_harness import copernica_server

NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
      "xs": "http://www.w3.org/2001/XMLSchema"}
TNS = "http://127.0.0.1:8080/?SOAPAPI=WSDL"  # the checked-in WSDL's own URL
FORMER = "http://soap.copernica.com/"  # the mock's former constant namespace


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


def test_soap_address_and_namespace_name_the_host_asked(cop):
    """As the vendor's: the target namespace is the WSDL's own URL, SOAPAction that URL and
    ``#method``."""
    port = cop.base_url.rsplit(":", 1)[1].rstrip("/")
    _, body, _ = http("GET", cop.base_url + "?SOAPAPI=WSDL", headers={"Host": f"mock.test:{port}"})
    doc = etree.fromstring(body)
    assert doc.find(".//soap:address", NS).get("location") == f"http://mock.test:{port}/"
    own = f"http://mock.test:{port}/?SOAPAPI=WSDL"
    assert doc.get("targetNamespace") == own
    assert doc.find("wsdl:types/xs:schema", NS).get("targetNamespace") == own
    assert doc.find("wsdl:binding/wsdl:operation[@name='login']/soap:operation",
                    NS).get("soapAction") == own + "#login"
    assert b"mockserver.invalid" not in body


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
    assert doc.find("wsdl:binding", NS).get("name") == "POMBinding"
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
    assert schema.get("elementFormDefault") == "unqualified"  # every member, as the vendor's
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


def _envelope(accessor: str, content: str = "", ns: str = FORMER) -> bytes:
    return (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:c="{ns}"><soap:Body><c:Account_database><{accessor}>'
            f'<c:identifier>Customers</c:identifier>{content}'
            f'<c:access_token>shop-token-rw</c:access_token></{accessor}></c:Account_database>'
            f'</soap:Body></soap:Envelope>').encode()


def _answer(out: bytes):
    return etree.fromstring(out).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]


@pytest.mark.parametrize("accessor", ["parameters", "c:parameters"])
def test_rpc_wire_part_accessors(cop, accessor):
    """rpc/literal sends ``parameters`` unqualified, clients of the older document/literal WSDL
    send it in the namespace: both are served; the answer is in the namespace the request used,
    ``result`` and everything in it unqualified."""
    status, out, _ = cop.post("", _envelope(accessor), {"Content-Type": "text/xml"})
    assert status == 200, out
    wrapper = _answer(out)
    assert wrapper.tag == f"{{{FORMER}}}Account_databaseResponse"
    [result] = wrapper
    assert result.tag == "result"
    assert [c.tag for c in result] == ["database"]
    assert result[0].findtext("name") == "Customers"
    assert all(e.tag[0] != "{" for e in result.iter())


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "crm.example:443", "LOCALHOST"])
def test_requests_in_any_copy_of_the_wsdls_namespace(cop, host):
    """A client generated from the WSDL fetched from any host (or from wsdl/copernica.wsdl)
    sends its namespace and unqualified members, and reads the answer in that namespace."""
    ns = f"http://{host}/?SOAPAPI=WSDL"
    body = (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:c="{ns}"><soap:Body><c:Database_searchProfiles><parameters>'
            f'<login><username/></login><start>0</start><length>1</length>'
            f'<allproperties>true</allproperties><id>1</id><requirements><requirement>'
            f'<fieldname>City</fieldname><casesensitive>false</casesensitive>'
            f'<operator>=</operator><value>amsterdam</value></requirement></requirements>'
            f'<access_token>shop-token-rw</access_token></parameters>'
            f'</c:Database_searchProfiles></soap:Body></soap:Envelope>').encode()
    status, out, _ = cop.post("", body, {"Content-Type": "text/xml",
                                         "SOAPAction": f'"{ns}#Database_searchProfiles"'})
    assert status == 200, out
    wrapper = _answer(out)
    assert wrapper.tag == f"{{{ns}}}Database_searchProfilesResponse"
    [result] = wrapper
    assert [c.tag for c in result] == ["start", "length", "total", "allproperties", "items"]
    assert (result.findtext("length"), result.findtext("allproperties")) == ("1", "true")
    [profile] = result.find("items")
    assert profile.tag == "profile" and [c.tag for c in profile] == [
        "code", "extra", "removed", "lastbuilt", "fields", "interests", "id", "created",
        "lastexport"]
    assert all(e.tag[0] != "{" for e in result.iter())
    assert ns.encode() in out and b"mockserver.invalid" not in out


@pytest.mark.parametrize("accessor", ["parameters", "c:parameters"])
def test_rpc_wire_still_validates_the_parameters(cop, accessor):
    status, out, _ = cop.post("", _envelope(accessor, "<c:bogus>1</c:bogus>"),
                              {"Content-Type": "text/xml"})
    assert status == 500 and b"Element 'bogus': This element is not expected." in out
    elsewhere = _envelope(accessor).replace(b"<c:identifier>", b'<x:identifier xmlns:x="urn:x">')
    elsewhere = elsewhere.replace(b"</c:identifier>", b"</x:identifier>")
    status, out, _ = cop.post("", elsewhere, {"Content-Type": "text/xml"})
    assert status == 500 and (b"Element 'identifier': This element is not expected in "
                              b"namespace 'urn:x'") in out
    # members unqualified (node-soap's rpc/literal, or a WSDL saying so) inside either accessor
    unqualified = _envelope(accessor).replace(b"c:identifier", b"identifier")
    status, out, _ = cop.post("", unqualified, {"Content-Type": "text/xml"})
    assert status == 200 and b"<name>Customers</name>" in out  # the vendor's wire
    other = _envelope("x:parameters").replace(b"<x:parameters>",
                                              b'<x:parameters xmlns:x="urn:other">')
    status, out, _ = cop.post("", other, {"Content-Type": "text/xml"})
    assert status == 500 and (b"Element 'parameters': This element is not expected in "
                              b"namespace 'urn:other'") in out


def test_gzip_answer_when_accepted(cop):
    body = (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:c="{FORMER}"><soap:Body><c:Account_databases><parameters>'
            f'<c:access_token>shop-token-rw</c:access_token></parameters></c:Account_databases>'
            f'</soap:Body></soap:Envelope>').encode()
    status, out, headers = cop.post("", body, {"Content-Type": "text/xml; charset=utf-8",
                                               "Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert b"<name>Customers</name>" in gzip.decompress(out).replace(b"tns:", b"")
    status, out, headers = cop.post("", body, {"Content-Type": "text/xml; charset=utf-8"})
    assert status == 200 and "Content-Encoding" not in headers and b"Customers" in out


def test_a_client_of_the_checked_in_wsdl_works(cop):
    """zeep on wsdl/copernica.wsdl (namespace http://127.0.0.1:8080/?SOAPAPI=WSDL) pointed at a
    mock on another port: the vendor's wire both ways, the answer read from unqualified
    members."""
    import zeep
    client = zeep.Client(str(ROOT / "wsdl" / "copernica.wsdl"))
    service = client.create_service(f"{{{TNS}}}POMBinding", cop.base_url)
    found = service.Account_database(parameters={"identifier": "Customers",
                                                 "access_token": "shop-token-rw"})
    assert found.database.name == "Customers" and found.database.id > 0
    page = service.Database_fields(parameters={"id": found.database.id, "length": 2,
                                               "access_token": "shop-token-rw"})
    assert (page.start, page.length) == (0, 2) and len(page.items.field) == 2
