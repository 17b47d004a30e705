"""The served BACKCLICK WSDL: both paths, host-correct address, equal to the checked-in copy."""

from lxml import etree

from conftest import ROOT

WSDL_NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
           "xs": "http://www.w3.org/2001/XMLSchema"}


def _address(wsdl: bytes) -> str:
    return etree.fromstring(wsdl).find(".//soap:address", WSDL_NS).get("location")


def test_wsdl_served_at_both_documented_paths(shared_server):
    status1, body1, headers = shared_server.get("bc/rpc/soap/backclickService.wsdl")
    status2, body2, _ = shared_server.get("bc/rpc/soap/backclickService?wsdl")
    assert status1 == status2 == 200
    assert body1 == body2
    assert headers["Content-Type"].startswith("text/xml")


def test_soap_address_names_the_host_the_wsdl_was_requested_on(shared_server):
    from conftest import http
    port = shared_server.base_url.rsplit(":", 1)[1].rstrip("/")
    _, body, _ = http("GET", shared_server.backclick_wsdl)
    assert _address(body) == f"http://127.0.0.1:{port}/bc/rpc/soap/backclickService"
    _, body, _ = http("GET", shared_server.backclick_wsdl, headers={"Host": f"mock.test:{port}"})
    assert _address(body) == f"http://mock.test:{port}/bc/rpc/soap/backclickService"
    _, body, _ = http("GET", f"http://localhost:{port}/bc/rpc/soap/backclickService.wsdl")
    assert _address(body) == f"http://localhost:{port}/bc/rpc/soap/backclickService"


def test_checked_in_wsdl_equals_the_served_one(shared_server):
    _, served, _ = shared_server.get("bc/rpc/soap/backclickService.wsdl")
    port = shared_server.base_url.rsplit(":", 1)[1].rstrip("/")
    served = served.replace(f"http://127.0.0.1:{port}/".encode(), b"http://127.0.0.1:8080/")
    assert served == (ROOT / "wsdl" / "backclickService.wsdl").read_bytes(), \
        "wsdl/backclickService.wsdl is stale: run `mockserver wsdl wsdl/` and commit"


def test_stub_quality_rules_hold():
    doc = etree.parse(str(ROOT / "wsdl" / "backclickService.wsdl"))
    for element in doc.iterfind(".//xs:element", WSDL_NS):
        assert element.get("type") != "xs:integer", etree.tostring(element)
        optional = element.get("minOccurs") == "0"
        assert not (optional and element.get("nillable") == "true"), etree.tostring(element)
    for message in doc.iterfind("wsdl:message", WSDL_NS):
        parts = message.findall("wsdl:part", WSDL_NS)
        assert [p.get("name") for p in parts] == ["parameters"], message.get("name")
    ops = {o.get("name") for o in doc.iterfind("wsdl:portType/wsdl:operation", WSDL_NS)}
    assert {"saveOrCreateSubscriber", "importSubscribers", "getSubscribers",
            "getSubscriberToNewsletterListRelation", "unsubscribeSubscriber"} <= ops
    assert doc.getroot().get("targetNamespace") == "http://soap.rpc.bc.backclick.de/"
