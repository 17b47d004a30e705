"""``serve --backclick-wsdl FILE``: the user's own BACKCLICK WSDL served, its names answered.

The WSDL is derived here from the shipped one as an installation's might differ: another
target namespace, elementFormDefault="unqualified", an operation and two members renamed in
case, a request member the mock lacks, an answer member the file lacks, and an operation the
mock does not emulate.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from lxml import etree

from compat.conftest import php_missing, require_stack, run_json
from conftest import BASIC, READY, ROOT, RunningServer, _drain, stored

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XS = "http://www.w3.org/2001/XMLSchema"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SHIPPED_TNS = "http://soap.rpc.bc.backclick.de/"
THEIRS = "http://api.example-bc.de/v2"
ADDRESS = "https://bc.example-installation.de/bc/rpc/soap/backclickService"
PATH = "bc/rpc/soap/backclickService"


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _retype(node: etree._Element, old: str, new: str) -> None:
    for attribute in ("name", "type", "element", "message"):
        value = node.get(attribute)
        if value in (old, f"tns:{old}"):
            node.set(attribute, value.replace(old, new))


def their_wsdl() -> bytes:
    """The shipped WSDL as another installation's: see the module docstring."""
    text = (ROOT / "wsdl" / "backclickService.wsdl").read_bytes().replace(
        SHIPPED_TNS.encode(), THEIRS.encode())
    doc = etree.fromstring(text)
    schema = doc.find(f"{_q(WSDL_NS, 'types')}/{_q(XS, 'schema')}")
    schema.set("elementFormDefault", "unqualified")
    for node in doc.iter():
        for old in ("getSubscribers", "getSubscribersResponse"):
            _retype(node, old, "G" + old[1:])
    types = {t.get("name"): t for t in schema.iterfind(_q(XS, "complexType"))}
    members = {(t, e.get("name")): e for t, node in types.items()
               for e in node.iter(_q(XS, "element"))}
    members["GetSubscribers", "fillSubscriberFields"].set("name", "FillSubscriberFields")
    members["Subscriber", "subscriberEmail"].set("name", "SubscriberEmail")
    save = members["saveOrCreateSubscriber", "subscribers"]
    save.addnext(etree.Element(_q(XS, "element"), name="trackingId", type="xs:string",
                               minOccurs="0"))
    blocked = members["saveOrCreateSubscriberResponse", "blockedEmailAddresses"]
    blocked.getparent().remove(blocked)
    for name, sequence in (("deleteSubscriber", [("mandatorId", "xs:int"),
                                                 ("subscriberEmail", "xs:string")]),
                           ("deleteSubscriberResponse", [("responseCode", "xs:int")])):
        complex_type = etree.SubElement(schema, _q(XS, "complexType"), name=name)
        seq = etree.SubElement(complex_type, _q(XS, "sequence"))
        for member, kind in sequence:
            etree.SubElement(seq, _q(XS, "element"), name=member, type=kind)
        etree.SubElement(schema, _q(XS, "element"), name=name, type=f"tns:{name}")
        message = etree.Element(_q(WSDL_NS, "message"), name=name)
        etree.SubElement(message, _q(WSDL_NS, "part"), name="parameters", element=f"tns:{name}")
        doc.find(_q(WSDL_NS, "message")).addprevious(message)
    port_type = doc.find(_q(WSDL_NS, "portType"))
    operation = etree.SubElement(port_type, _q(WSDL_NS, "operation"), name="deleteSubscriber")
    etree.SubElement(operation, _q(WSDL_NS, "input"), message="tns:deleteSubscriber")
    etree.SubElement(operation, _q(WSDL_NS, "output"), message="tns:deleteSubscriberResponse")
    binding = doc.find(_q(WSDL_NS, "binding"))
    bound = etree.SubElement(binding, _q(WSDL_NS, "operation"), name="deleteSubscriber")
    etree.SubElement(bound, _q(SOAP_NS, "operation"), soapAction="deleteSubscriber",
                     style="document")
    for direction in ("input", "output"):
        etree.SubElement(etree.SubElement(bound, _q(WSDL_NS, direction)), _q(SOAP_NS, "body"),
                         use="literal")
    doc.find(f".//{_q(SOAP_NS, 'address')}").set("location", ADDRESS)
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8")


def serve(tmp_path, *args: str, env: dict | None = None) -> tuple[RunningServer, list[str]]:
    """``mockserver serve`` on the basic fixtures; the server and the lines before ready."""
    command = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--db",
               str(tmp_path / "store.db"), "--fixtures", str(BASIC), *args]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, **(env or {})})
    lines, deadline = [], time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        match = READY.search(line)
        if match:
            _drain(process)
            return RunningServer(match.group(1), tmp_path / "store.db", process,
                                 line.strip()), lines
        lines.append(line.rstrip("\n"))
    process.kill()
    raise RuntimeError("mockserver did not become ready:\n" + "\n".join(lines))


@pytest.fixture(scope="module")
def wsdl_file(tmp_path_factory):
    """The derived WSDL, written to a file."""
    path = tmp_path_factory.mktemp("theirs") / "installation.wsdl"
    path.write_bytes(their_wsdl())
    return path


@pytest.fixture(scope="module")
def theirs(tmp_path_factory, wsdl_file):
    """A server given the file through MOCKSERVER_BACKCLICK_WSDL; (server, lines before ready)."""
    running, lines = serve(tmp_path_factory.mktemp("served"),
                           env={"MOCKSERVER_BACKCLICK_WSDL": str(wsdl_file)})
    yield running, lines
    running.stop()


def assert_their_form(wrapper: etree._Element, name: str) -> None:
    """The answer wrapper ``name`` in their namespace, every member unqualified."""
    assert wrapper.tag == _q(THEIRS, name), wrapper.tag
    members = [e for e in wrapper.iterdescendants() if isinstance(e.tag, str)]
    assert members and all(etree.QName(e).namespace is None for e in members), \
        etree.tostring(wrapper)


def test_ready_output_says_what_is_emulated(theirs, wsdl_file):
    _, lines = theirs
    assert lines == [
        f"BACKCLICK WSDL from {wsdl_file}: 11 of 12 operations emulated (not: deleteSubscriber)"
        f"; members the mock lacks, ignored when sent: saveOrCreateSubscriber/trackingId"
        f"; answer members the file lacks, left out: "
        f"saveOrCreateSubscriber/blockedEmailAddresses"]


def test_the_file_is_served_with_the_address_of_the_mock(theirs, wsdl_file):
    server, _ = theirs
    status1, body1, headers = server.get(PATH + ".wsdl")
    status2, body2, _ = server.get(PATH + "?wsdl")
    assert status1 == status2 == 200 and body1 == body2
    assert headers["Content-Type"].startswith("text/xml")
    served = etree.fromstring(body1)
    address = served.find(f".//{_q(SOAP_NS, 'address')}")
    assert address.get("location") == server.base_url + PATH
    address.set("location", ADDRESS)  # apart from the address: the file itself
    assert etree.tostring(served, method="c14n") == etree.tostring(
        etree.parse(str(wsdl_file)), method="c14n")


def test_zeep_calls_through_their_names_and_reads_their_form(theirs):
    import zeep
    from zeep.plugins import HistoryPlugin
    server, _ = theirs
    history = HistoryPlugin()
    client = zeep.Client(server.base_url + PATH + "?wsdl", plugins=[history])
    email = "zeep.theirs@example.com"
    saved = client.service.saveOrCreateSubscriber(
        mandatorId=1, apiKey="shop-key-1234", trackingId="campaign-7", subscribers={"item": [{
            "subscriberEmail": email, "newsletterListIds": {"item": [1, 2]},
            "subscriberFields": {"item": [{"name": "FIRSTNAME", "value": "Zoë"}]}}]})
    assert saved.responseCode == 0
    sent = history.last_sent["envelope"].find(f"{{{ENV}}}Body")[0]
    assert sent.tag == _q(THEIRS, "saveOrCreateSubscriber")
    assert sent.find("trackingId").text == "campaign-7"  # theirs, ignored by the mock
    assert_their_form(history.last_received["envelope"].find(f"{{{ENV}}}Body")[0],
                      "saveOrCreateSubscriberResponse")
    assert stored(server, email) == ({"FIRSTNAME": "Zoë"}, {1: 0, 2: 0})

    found = client.service.GetSubscribers(mandatorId=1, apiKey="shop-key-1234",
                                          FillSubscriberFields=True,
                                          emailAddresses={"item": [email]})
    [subscriber] = found
    assert (subscriber.SubscriberEmail, subscriber.status, subscriber.newsletterListIds) == (
        email, 1, "1,2")
    assert {f.name: f.value for f in subscriber.subscriberFields.item}["FIRSTNAME"] == "Zoë"
    wrapper = history.last_received["envelope"].find(f"{{{ENV}}}Body")[0]
    assert_their_form(wrapper, "GetSubscribersResponse")
    assert wrapper.find("subscribers/item/SubscriberEmail").text == email


def test_an_operation_the_mock_lacks_is_a_fault_naming_it(theirs):
    import zeep
    server, _ = theirs
    client = zeep.Client(server.base_url + PATH + "?wsdl")
    with pytest.raises(zeep.exceptions.Fault) as fault:
        client.service.deleteSubscriber(mandatorId=1, subscriberEmail="both@example.de")
    assert fault.value.code == "soap:Server"
    assert fault.value.message == ("Operation 'deleteSubscriber' is not emulated: the WSDL "
                                   "served here declares it, mockserver has no such operation.")
    assert stored(server, "both@example.de")[1] == {1: 0, 2: 0}


def test_raw_requests_in_their_namespace_either_form_any_order(theirs):
    server, _ = theirs
    for member in ("", "t:"):  # unqualified as their WSDL says, or qualified: both accepted
        body = (f'<soap:Envelope xmlns:soap="{ENV}" xmlns:t="{THEIRS}"><soap:Body>'
                f'<t:getsubscribers><{member}emailAddresses><{member}item>both@example.de'
                f'</{member}item></{member}emailAddresses><{member}FillSubscriberFields>false'
                f'</{member}FillSubscriberFields><{member}mandatorId>1</{member}mandatorId>'
                f'</t:getsubscribers></soap:Body></soap:Envelope>').encode()
        status, out, _ = server.post(PATH, body, {"Content-Type": "text/xml"})
        assert status == 200, out
        wrapper = etree.fromstring(out).find(f"{{{ENV}}}Body")[0]
        assert_their_form(wrapper, "GetSubscribersResponse")
        assert wrapper.findtext("subscribers/item/SubscriberEmail") == "both@example.de"


def test_validation_follows_the_mock_schema_after_mapping(theirs):
    server, _ = theirs
    body = (f'<soap:Envelope xmlns:soap="{ENV}" xmlns:t="{THEIRS}"><soap:Body>'
            f'<t:GetSubscribers><mandatorId>1</mandatorId>'
            f'<FillSubscriberFields>maybe</FillSubscriberFields></t:GetSubscribers>'
            f'</soap:Body></soap:Envelope>').encode()
    status, out, _ = server.post(PATH, body, {"Content-Type": "text/xml"})
    assert status == 500
    assert etree.fromstring(out).findtext(".//faultstring") == (
        "Validation error: Element 'fillSubscriberFields': 'maybe' is not a valid value of the "
        "atomic type 'xs:boolean'. (line 1)")
    unknown = body.replace(b"<mandatorId>1</mandatorId>", b"<MandatorId>1</MandatorId>")
    status, out, _ = server.post(PATH, unknown, {"Content-Type": "text/xml"})
    assert etree.fromstring(out).findtext(".//faultstring") == (
        "Validation error: Element 'MandatorId': This element is not expected. Expected is one "
        "of ( mandatorId, apiKey, FillSubscriberFields, emailAddresses ). (line 1)")


PHP_SCRIPT = r"""<?php
// saveOrCreateSubscriber and GetSubscribers through the installation's WSDL.
list(, $wsdl, $email) = $argv;
$client = new SoapClient($wsdl, array('trace' => 1, 'exceptions' => true,
                                      'cache_wsdl' => WSDL_CACHE_NONE));
$field = new stdClass();
$field->name = 'FIRSTNAME';
$field->value = 'Jörg';
$subscriber = new stdClass();
$subscriber->subscriberEmail = $email;
$subscriber->newsletterListIds = array(2);
$subscriber->subscriberFields = array($field);
$save = new stdClass();
$save->mandatorId = 1;
$save->apiKey = 'shop-key-1234';
$save->subscribers = array($subscriber);
$saved = $client->saveOrCreateSubscriber($save);
$out = array('responseCode' => $saved->responseCode,
             'saveResponse' => $client->__getLastResponse());
$get = new stdClass();
$get->mandatorId = 1;
$get->apiKey = 'shop-key-1234';
$get->FillSubscriberFields = true;
$get->emailAddresses = array($email);
$found = $client->GetSubscribers($get);
$item = $found->subscribers->item;
$out['found'] = array('SubscriberEmail' => $item->SubscriberEmail, 'status' => $item->status,
                      'newsletterListIds' => $item->newsletterListIds);
$out['getResponse'] = $client->__getLastResponse();
try {
    $delete = new stdClass();
    $delete->mandatorId = 1;
    $delete->subscriberEmail = $email;
    $client->deleteSubscriber($delete);
    $out['delete'] = null;
} catch (SoapFault $e) {
    $out['delete'] = array('faultcode' => $e->faultcode, 'message' => $e->getMessage());
}
echo json_encode($out), "\n";
"""


def test_php_soapclient_through_their_wsdl(theirs, tmp_path):
    require_stack(php_missing())
    server, _ = theirs
    script = tmp_path / "theirs.php"
    script.write_text(PHP_SCRIPT, encoding="utf-8")
    email = "php.theirs@example.com"
    report = run_json(["php", "-d", "soap.wsdl_cache_enabled=0", "-d", "display_errors=stderr",
                       str(script), server.base_url + PATH + "?wsdl", email])
    assert report["responseCode"] == 0
    assert report["found"] == {"SubscriberEmail": email, "status": 1, "newsletterListIds": "2"}
    for key, name in (("saveResponse", "saveOrCreateSubscriberResponse"),
                      ("getResponse", "GetSubscribersResponse")):
        assert_their_form(etree.fromstring(report[key].encode()).find(f"{{{ENV}}}Body")[0], name)
    assert report["delete"] == {
        "faultcode": "soap:Server",
        "message": "Operation 'deleteSubscriber' is not emulated: the WSDL served here declares "
                   "it, mockserver has no such operation."}
    assert stored(server, email) == ({"FIRSTNAME": "Jörg"}, {2: 0})


@pytest.mark.parametrize("content, reason", [
    (b"<hello/>", "not a WSDL 1.1 document (the root element is 'hello', expected "
                  "wsdl:definitions)."),
    (b"<wsdl:definitions", "not well-formed XML: "),
    (None, "it imports 'https://bc.example-installation.de/schema.xsd'; the mock fetches "
           "nothing: put the imported schema inline into wsdl:types."),
])
def test_a_file_that_cannot_be_served_stops_the_start(tmp_path, content, reason):
    path = tmp_path / "broken.wsdl"
    if content is None:
        content = their_wsdl().replace(
            b"<xs:complexType",
            b'<xs:import namespace="urn:x" schemaLocation="https://bc.example-installation.de/'
            b'schema.xsd"/><xs:complexType', 1)
    path.write_bytes(content)
    done = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", "0", "--db",
                           ":memory:", "--backclick-wsdl", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "mockserver ready" not in done.stdout
    assert done.stderr.startswith(f"mockserver: {path}: {reason}"), done.stderr


RPC_WSDL = """<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="urn:bc-rpc" targetNamespace="urn:bc-rpc" name="bc">
 <types><xs:schema targetNamespace="urn:bc-rpc">
  <xs:complexType name="stringArray"><xs:sequence>
   <xs:element name="item" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
  </xs:sequence></xs:complexType>
  <xs:complexType name="Subscriber"><xs:sequence>
   <xs:element name="subscriberEmail" type="xs:string"/><xs:element name="status" type="xs:int"/>
  </xs:sequence></xs:complexType>
  <xs:complexType name="SubscriberArray"><xs:sequence>
   <xs:element name="item" type="tns:Subscriber" minOccurs="0" maxOccurs="unbounded"/>
  </xs:sequence></xs:complexType>
 </xs:schema></types>
 <message name="getSubscribers"><part name="mandatorId" type="xs:int"/>
  <part name="apiKey" type="xs:string"/>
  <part name="emailAddresses" type="tns:stringArray"/></message>
 <message name="getSubscribersResponse">
  <part name="subscribers" type="tns:SubscriberArray"/></message>
 <portType name="P"><operation name="getSubscribers"><input message="tns:getSubscribers"/>
  <output message="tns:getSubscribersResponse"/></operation></portType>
 <binding name="B" type="tns:P">
  <soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
  <operation name="getSubscribers"><soap:operation soapAction=""/>
   <input><soap:body use="literal" namespace="urn:bc-rpc"/></input>
   <output><soap:body use="literal" namespace="urn:bc-rpc"/></output></operation></binding>
 <service name="S"><port name="p" binding="tns:B"><soap:address location="http://x/"/></port>
 </service>
</definitions>
"""


def test_an_rpc_literal_wsdl_is_served_too(tmp_path):
    """Parts are the members; the answer holds only what the file's types declare."""
    import zeep
    from zeep.plugins import HistoryPlugin
    path = tmp_path / "rpc.wsdl"
    path.write_text(RPC_WSDL)
    server, lines = serve(tmp_path, "--backclick-wsdl", str(path))
    try:
        assert lines == [
            f"BACKCLICK WSDL from {path}: 1 of 1 operations emulated; answer members the file "
            f"lacks, left out: getSubscribers/subscribers/item/mandatorId, "
            f"getSubscribers/subscribers/item/newsletterListIds, "
            f"getSubscribers/subscribers/item/subscriberFields"]
        history = HistoryPlugin()
        client = zeep.Client(server.base_url + PATH + "?wsdl", plugins=[history])
        found = client.service.getSubscribers(mandatorId=1, apiKey="shop-key-1234",
                                              emailAddresses={"item": ["both@example.de"]})
        assert [(s.subscriberEmail, s.status) for s in found] == [("both@example.de", 1)]
        wrapper = history.last_received["envelope"].find(f"{{{ENV}}}Body")[0]
        assert wrapper.tag == "{urn:bc-rpc}getSubscribersResponse"
        assert [e.tag for e in wrapper.iter() if e is not wrapper] == [
            "subscribers", "item", "subscriberEmail", "status"]
    finally:
        server.stop()
