"""The whole catalogue on the wire: every one of the vendor's 1 762 methods and 247 types is
in the served WSDL; the methods the mock does not emulate answer a fault naming them."""
import gzip
import subprocess
import sys

import pytest
import zeep
from lxml import etree

from conftest import ROOT, http
from copernica_harness import Api, copernica_server

NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
      "xs": "http://www.w3.org/2001/XMLSchema"}
TNS = "http://127.0.0.1:8080/?SOAPAPI=WSDL"
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """One server for the module."""
    running = copernica_server(tmp_path_factory.mktemp("catalogue"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def doc():
    """The checked-in WSDL (equal to the served one, see test_copernica_wsdl)."""
    return etree.parse(str(ROOT / "wsdl" / "copernica.wsdl")).getroot()


def test_every_catalogue_method_is_served(doc):
    from mockserver.copernica import catalogue
    ops = [o.get("name") for o in doc.iterfind("wsdl:portType/wsdl:operation", NS)]
    assert ops == sorted(catalogue.operations()) and len(ops) == 1762
    actions = {o.get("name"): o.find("soap:operation", NS).get("soapAction")
               for o in doc.iterfind("wsdl:binding/wsdl:operation", NS)}
    assert actions == {name: f"{TNS}#{name}" for name in ops}
    messages = {m.get("name"): [(p.get("name"), p.get("type")) for p in m]
                for m in doc.iterfind("wsdl:message", NS)}
    assert len(messages) == 2 * 1762
    assert messages["Account_sendEmail"] == [("parameters", "tns:input_Account_sendEmail")]
    assert messages["Account_sendEmailResponse"] == [("result", "tns:Result")]
    types = {t.get("name"): t for t in doc.iterfind(".//xs:complexType", NS)}
    assert [e.get("name") for e in types["input_Account_sendEmail"].iterfind(".//xs:element",
                                                                              NS)] == [
        "login", "address", "subject", "html", "text", "attachments", "images", "access_token"]


def test_every_catalogue_type_is_served_with_its_members(doc):
    from mockserver.copernica import catalogue
    types = {t.get("name"): t for t in doc.iterfind(".//xs:complexType", NS)}
    for name, members in catalogue.types().items():
        assert [e.get("name") for e in types[name].iterfind("xs:sequence/xs:element", NS)] == \
            [m for m, _ in members], name
    result = [e.get("name") for e in types["Result"].iterfind("xs:sequence/xs:element", NS)]
    assert len(result) == 239 and result[:10] == [
        "start", "length", "total", "allproperties", "items", "value", "array", "map",
        "account", "user"]
    profile = types["Items"].find("xs:sequence/xs:element[@name='profile']", NS)
    assert (profile.get("type"), profile.get("maxOccurs")) == ("tns:Profile", "unbounded")
    testgroups = types["SplitRunSettings"].find("xs:sequence/xs:element[@name='testgroups']", NS)
    assert testgroups.get("type") == "tns:SplitRunTestGroupArray"
    referenced = {t.split(":", 1)[1] for t in doc.xpath("//@type") if t.startswith("tns:")}
    assert set(types) - referenced == set()  # no type unused
    # the served schema is one a validator accepts, every type it names defined
    schema = doc.find("wsdl:types/xs:schema", NS)
    standalone = etree.Element(schema.tag, attrib=dict(schema.attrib), nsmap=doc.nsmap)
    standalone.extend(etree.fromstring(etree.tostring(schema)))
    etree.XMLSchema(standalone)


def _call(operation: str, content: str = "", ns: str = TNS) -> bytes:
    return (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="{ns}">'
            f'<s:Body><c:{operation}><parameters>{content}</parameters></c:{operation}>'
            f'</s:Body></s:Envelope>').encode()


@pytest.mark.parametrize("sent, named", [
    ("Account_sendEmail", "Account_sendEmail"),
    ("emailingdocument_retrieve", "EmailingDocument_retrieve"),
    ("View_updateProfiles", "View_updateProfiles"),
])
def test_a_method_not_emulated_answers_a_fault_naming_it(cop, sent, named):
    status, out, _ = cop.post("", _call(sent, "<address>a@b.example</address>"
                                              "<access_token>shop-token-rw</access_token>"),
                              {"Content-Type": "text/xml"})
    fault = etree.fromstring(out).find(f"{SOAP}Body/{SOAP}Fault")
    assert status == 500 and fault is not None, out
    assert fault.findtext("faultcode") == "soap:Server"
    assert fault.findtext("faultstring") == f"{named} is not emulated by mockserver."
    entry = cop.json("_mock/journal?dialect=copernica&limit=1000")["exchanges"][-1]
    assert (entry["operation"], entry["status"]) == (named, 500)


def test_a_client_generated_from_the_wsdl_gets_the_fault(cop):
    api = Api(cop)
    assert api.fault("Account_sendEmail", address="a@b.example", subject="Hi") == \
        "Account_sendEmail is not emulated by mockserver."
    assert api.fault("Profile_createIndividualPdf", id=1) == \
        "Profile_createIndividualPdf is not emulated by mockserver."
    before = cop.rows("SELECT COUNT(*) AS n FROM profiles")
    assert api.fault("View_updateProfiles", id=1, fields={"pair": []}, create=True) == \
        "View_updateProfiles is not emulated by mockserver."
    assert cop.rows("SELECT COUNT(*) AS n FROM profiles") == before


def test_a_name_outside_the_catalogue_is_unknown(cop):
    status, out, _ = cop.post("", _call("Account_destroyEverything"), {"Content-Type": "text/xml"})
    assert status == 500
    assert etree.fromstring(out).findtext(f"{SOAP}Body/{SOAP}Fault/faultstring").startswith(
        f"Unknown operation 'Account_destroyEverything' in namespace '{TNS}'")
    assert b"not emulated" not in out


def test_the_wsdl_is_gzipped_when_accepted(cop):
    _, plain, headers = http("GET", cop.base_url + "?SOAPAPI=WSDL")
    assert "Content-Encoding" not in headers and len(plain) > 2_000_000
    _, packed, headers = http("GET", cop.base_url + "?SOAPAPI=WSDL",
                              headers={"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip" and len(packed) < len(plain) // 10
    assert gzip.decompress(packed) == plain


def test_a_fresh_process_builds_the_whole_wsdl():
    """The first use builds spyne's part (the emulated methods) and adds the rest from the
    catalogue (its time: bench/startup.py)."""
    code = ("from mockserver import copernica; "
            "print(len(copernica.endpoint().wsdl('http://127.0.0.1:8080/')))")
    size = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT).stdout
    assert int(size) > 2_000_000


def test_zeep_reads_every_type_of_the_served_wsdl(cop):
    """zeep builds the full catalogue's types from the served WSDL (the vendor's API)."""
    client = zeep.Client(cop.base_url + "?SOAPAPI=WSDL")
    assert client.get_type(f"{{{cop.base_url}?SOAPAPI=WSDL}}EmailingDocument") is not None
    factory = client.type_factory("ns0")
    assert factory.Login(username="u", account="a", password="p").account == "a"
