"""Tolerant like the real servers, strict where it matters, in both dialects.

Members in any order, qualified or unqualified, the operation element in any namespace;
answers in the request's namespace and in the element form the served WSDL declares. What
is really wrong (unknown, repeated or foreign-namespace members, wrong types, missing values)
is still a fault naming the element, and changes nothing.
"""
from __future__ import annotations

import json
import os
import re

import pytest
from lxml import etree

from compat.conftest import NODE_MODULES, node_missing, require_stack, run_json
from conftest import ROOT, stored
from copernica_harness import copernica_server

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ENV12 = "http://www.w3.org/2003/05/soap-envelope"
XS = "http://www.w3.org/2001/XMLSchema"
BC_TNS = "http://soap.rpc.bc.backclick.de/"
COP_TNS = "http://soap.copernica.com/"
ELSEWHERE = "http://api.example-bc.de/v2"
PUBLISHER = "http://publisher.copernica.nl/?SOAPAPI=WSDL"
BC = "bc/rpc/soap/backclickService"
MEMBER_ORDER = ROOT / "tests" / "compat" / "member_order.js"


def envelope(ns: str, body: str, soap: str = ENV) -> bytes:
    """A SOAP envelope whose prefix ``b`` is ``ns``; ``body`` may span lines."""
    return (f'<soap:Envelope xmlns:soap="{soap}" xmlns:b="{ns}">\n<soap:Body>\n{body}\n'
            f'</soap:Body></soap:Envelope>').encode()


def post(server, path: str, data: bytes, soap12: bool = False):
    """POST an envelope; (status, parsed answer, raw answer)."""
    content_type = "application/soap+xml; charset=utf-8" if soap12 else "text/xml; charset=utf-8"
    status, body, _ = server.post(path, data, {"Content-Type": content_type})
    return status, etree.fromstring(body), body


def wrapper_of(answer: etree._Element, soap: str = ENV) -> etree._Element:
    """The element inside the answer's Body."""
    return answer.find(f"{{{soap}}}Body")[0]


def fault_text(status: int, answer: etree._Element) -> str:
    """The faultstring of a soap:Client fault."""
    assert status == 500, etree.tostring(answer)
    fault = wrapper_of(answer)
    assert fault.findtext("faultcode") == "soap:Client", etree.tostring(fault)
    return fault.findtext("faultstring")


def declared_qualified(server, wsdl_path: str) -> bool:
    """Whether the served WSDL's schema says elementFormDefault="qualified"."""
    _, body, _ = server.get(wsdl_path)
    schema = etree.fromstring(body).find(f".//{{{XS}}}schema")
    return schema.get("elementFormDefault") == "qualified"


def assert_answer_form(wrapper: etree._Element, ns: str, qualified: bool,
                       parts: tuple = ()) -> None:
    """The wrapper in ``ns``; below it every element in ``ns`` when ``qualified``, else in
    none; rpc part accessors (direct children named in ``parts``) always unqualified."""
    assert etree.QName(wrapper).namespace == ns, wrapper.tag
    elements = [e for e in wrapper.iterdescendants() if isinstance(e.tag, str)]
    assert elements, etree.tostring(wrapper)
    for element in elements:
        part = element.getparent() is wrapper and etree.QName(element).localname in parts
        expected = None if part or not qualified else ns
        assert etree.QName(element).namespace == expected, etree.tostring(element)


# -- BACKCLICK ---------------------------------------------------------------------

SHUFFLED_SAVE = """<b:saveOrCreateSubscriber>
<b:subscribers><b:item>
<b:subscriberFields><b:item><b:value>Jörg</b:value><b:name>FIRSTNAME</b:name></b:item>
</b:subscriberFields>
<b:newsletterListIds><b:item>2</b:item><b:item>1</b:item></b:newsletterListIds>
<b:subscriberEmail>{email}</b:subscriberEmail>
</b:item></b:subscribers>
<b:listsAdditive>false</b:listsAdditive><b:apiKey>shop-key-1234</b:apiKey>
<b:mandatorId>1</b:mandatorId>
</b:saveOrCreateSubscriber>"""


def test_backclick_members_shuffled_at_every_level(shared_server):
    email = "shuffled@example.com"
    status, answer, raw = post(shared_server, BC, envelope(BC_TNS, SHUFFLED_SAVE.format(
        email=email)))
    assert status == 200, raw
    assert wrapper_of(answer).findtext(f"{{{BC_TNS}}}responseCode") == "0"
    assert stored(shared_server, email) == ({"FIRSTNAME": "Jörg"}, {1: 0, 2: 0})


@pytest.mark.parametrize("form", ["unqualified", "mixed"])
def test_backclick_members_unqualified_or_mixed(shared_server, form):
    email = f"{form}@example.com"
    body = SHUFFLED_SAVE.format(email=email)
    if form == "unqualified":  # only the operation element in the namespace
        body = re.sub(r"<(/?)b:(?!saveOrCreateSubscriber)", r"<\1", body)
    else:  # every other member unqualified, arrays too
        body = body.replace("b:subscriberEmail", "subscriberEmail").replace(
            "b:newsletterListIds", "newsletterListIds").replace("b:value", "value").replace(
            "b:mandatorId", "mandatorId")
    status, answer, raw = post(shared_server, BC, envelope(BC_TNS, body))
    assert status == 200, raw
    assert stored(shared_server, email) == ({"FIRSTNAME": "Jörg"}, {1: 0, 2: 0})


def test_backclick_unwrapped_array_unqualified_and_out_of_order(shared_server):
    email = "unwrapped@example.com"
    body = (f"<b:saveOrCreateSubscriber><subscribers><item>"
            f"<newsletterListIds>2</newsletterListIds><subscriberEmail>{email}</subscriberEmail>"
            f"<newsletterListIds>1</newsletterListIds></item></subscribers>"
            f"<mandatorId>1</mandatorId></b:saveOrCreateSubscriber>")
    status, _, raw = post(shared_server, BC, envelope(BC_TNS, body))
    assert status == 200, raw
    assert stored(shared_server, email) == ({}, {1: 0, 2: 0})


GET_SHUFFLED = ("<b:{op}><emailAddresses><item>both@example.de</item></emailAddresses>"
                "<apiKey>shop-key-1234</apiKey><mandatorId>1</mandatorId></b:{op}>")


@pytest.mark.parametrize("ns", [ELSEWHERE, "urn:any-client", BC_TNS])
@pytest.mark.parametrize("op", ["getSubscribers", "GetSubscribers"])
def test_backclick_operation_in_any_namespace_answers_in_it(shared_server, ns, op):
    status, answer, raw = post(shared_server, BC, envelope(ns, GET_SHUFFLED.format(op=op)))
    assert status == 200, raw
    wrapper = wrapper_of(answer)
    assert wrapper.tag == f"{{{ns}}}getSubscribersResponse"
    assert declared_qualified(shared_server, BC + "?wsdl")  # BACKCLICK: members qualified
    assert_answer_form(wrapper, ns, qualified=True)
    [item] = wrapper.find(f"{{{ns}}}subscribers")
    assert item.findtext(f"{{{ns}}}subscriberEmail") == "both@example.de"
    assert item.findtext(f"{{{ns}}}status") == "1"
    assert f'xmlns:tns="{ns}"'.encode() in raw  # one declaration, the conventional prefix


def test_backclick_soap12_in_another_namespace(shared_server):
    data = envelope(ELSEWHERE, GET_SHUFFLED.format(op="getSubscribers"), soap=ENV12)
    status, answer, raw = post(shared_server, BC, data, soap12=True)
    assert status == 200, raw
    assert_answer_form(wrapper_of(answer, ENV12), ELSEWHERE, qualified=True)


BAD_BASE = """<b:saveOrCreateSubscriber>
<b:subscribers><b:item><b:subscriberEmail>{email}</b:subscriberEmail></b:item></b:subscribers>
{bad}
</b:saveOrCreateSubscriber>"""


@pytest.mark.parametrize("bad, expected", [
    ("<b:mandatorid>1</b:mandatorid><b:mandatorId>1</b:mandatorId>",
     "Validation error: Element 'mandatorid': This element is not expected. Expected is one of "
     "( mandatorId, apiKey, listsAdditive, deleteBlankFields, sendLastNewsletter, sendWelcome, "
     "filterAntiSpam, confirmChange, subscribers ). (line 5)"),
    ("<b:mandatorId>1</b:mandatorId><b:apiKey>shop-key-1234</b:apiKey>"
     "<b:mandatorId>1</b:mandatorId>",
     "Validation error: Element 'mandatorId': This element is not expected: it is given more "
     "than once, and 'saveOrCreateSubscriber' takes one. (line 5)"),
    ("<b:mandatorId>abc</b:mandatorId>",
     "Validation error: Element 'mandatorId': 'abc' is not a valid value of the atomic type "
     "'xs:int'. (line 5)"),
    ("<b:apiKey>shop-key-1234</b:apiKey>",
     "Validation error: Element 'apiKey': This element is not expected. Expected is "
     "( mandatorId ). (line 5)"),
    ('<x:mandatorId xmlns:x="urn:elsewhere">1</x:mandatorId>',
     "Validation error: Element 'mandatorId': This element is not expected in namespace "
     "'urn:elsewhere'; members travel unqualified or in 'http://soap.rpc.bc.backclick.de/'. "
     "(line 5)"),
])
def test_backclick_what_is_wrong_is_still_a_fault(shared_server, bad, expected):
    """Out of order on purpose: reordering must not hide the element at fault."""
    email = "never.stored@example.com"
    status, answer, _ = post(shared_server, BC, envelope(BC_TNS, BAD_BASE.format(
        email=email, bad=bad)))
    assert fault_text(status, answer) == expected
    assert stored(shared_server, email) is None


def test_backclick_repeat_of_a_nested_member_and_a_missing_one(shared_server):
    email = "nested.fault@example.com"
    twice = (f"<b:saveOrCreateSubscriber><b:subscribers><b:item>"
             f"<b:subscriberEmail>{email}</b:subscriberEmail><b:mandatorId>1</b:mandatorId>"
             f"<b:subscriberEmail>{email}</b:subscriberEmail></b:item></b:subscribers>"
             f"<b:mandatorId>1</b:mandatorId></b:saveOrCreateSubscriber>")
    status, answer, _ = post(shared_server, BC, envelope(ELSEWHERE, twice))
    assert fault_text(status, answer) == (
        "Validation error: Element 'subscriberEmail': This element is not expected: it is "
        "given more than once, and 'item' takes one. (line 3)")
    missing = (f"<b:saveOrCreateSubscriber><subscribers><item><mandatorId>1</mandatorId>"
               f"</item></subscribers><mandatorId>1</mandatorId></b:saveOrCreateSubscriber>")
    status, answer, _ = post(shared_server, BC, envelope(ELSEWHERE, missing))
    assert fault_text(status, answer) == (
        "Validation error: Element 'mandatorId': This element is not expected. Expected is "
        "( subscriberEmail ). (line 3)")
    assert stored(shared_server, email) is None


# -- Copernica ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """A server with the Copernica fixtures, for the module."""
    running = copernica_server(tmp_path_factory.mktemp("tolerance"))
    yield running
    running.stop()


def copernica_search(requirements: str, member_prefix: str = "") -> str:
    """Database_searchProfiles of database 1 as {allproperties, requirements, id, token}."""
    p = member_prefix
    return (f"<b:Database_searchProfiles><parameters>"
            f"<{p}allproperties>true</{p}allproperties>"
            f"<{p}requirements>{requirements}</{p}requirements>"
            f"<{p}id>1</{p}id><{p}access_token>shop-token-rw</{p}access_token>"
            f"</parameters></b:Database_searchProfiles>")


VENDOR_ORDER = ("<requirement><fieldname>City</fieldname><casesensitive>false</casesensitive>"
                "<operator>=</operator><value>amsterdam</value></requirement>")


def found_first_names(wrapper: etree._Element) -> list[str]:
    """FirstName of each profile in a search answer, whatever its namespace."""
    return [p.xpath("string(*[local-name()='fields']/*[local-name()='pair']"
                    "[*[local-name()='key']='FirstName']/*[local-name()='value'])")
            for p in wrapper.xpath(".//*[local-name()='items']/*[local-name()='profile']")]


@pytest.mark.parametrize("where", ["publisher", "this host", "former"])
def test_copernica_any_namespace_any_order_answers_in_the_declared_form(cop, where):
    ns = {"publisher": PUBLISHER, "former": COP_TNS,
          "this host": cop.base_url + "?SOAPAPI=WSDL"}[where]
    status, answer, raw = post(cop, "", envelope(ns, copernica_search(VENDOR_ORDER)))
    assert status == 200, raw
    wrapper = wrapper_of(answer)
    assert wrapper.tag == f"{{{ns}}}Database_searchProfilesResponse"
    assert_answer_form(wrapper, ns, declared_qualified(cop, "?SOAPAPI=WSDL"), parts=("result",))
    assert sorted(found_first_names(wrapper)) == ["Anna", "carla"]


@pytest.mark.parametrize("form", ["qualified", "unqualified", "mixed"])
def test_copernica_members_in_either_form(cop, form):
    requirement = VENDOR_ORDER
    prefix = "b:" if form == "qualified" else ""
    if form != "unqualified":
        requirement = requirement.replace("<requirement>", "<b:requirement>").replace(
            "</requirement>", "</b:requirement>").replace("<value>", "<b:value>").replace(
            "</value>", "</b:value>")
    body = copernica_search(requirement, prefix)
    if form == "mixed":
        body = body.replace("<id>1</id>", "<b:id>1</b:id>")
    status, answer, raw = post(cop, "", envelope(PUBLISHER, body))
    assert status == 200, raw
    assert sorted(found_first_names(wrapper_of(answer))) == ["Anna", "carla"]


def test_copernica_create_with_shuffled_pairs_stores_them(cop):
    body = ("<b:Database_createProfile><parameters><fields>"
            "<pair><value>Zwolle</value><key>City</key></pair>"
            "<pair><value>Tolerant</value><key>FirstName</key></pair></fields>"
            "<access_token>shop-token-rw</access_token><id>1</id></parameters>"
            "</b:Database_createProfile>")
    status, answer, raw = post(cop, "", envelope(PUBLISHER, body))
    assert status == 200, raw
    profile_id = int(wrapper_of(answer).xpath("string(.//*[local-name()='profile']"
                                              "/*[local-name()='id'])"))
    [row] = cop.rows("SELECT fields FROM profiles WHERE id = ?", profile_id)
    assert {"City": "Zwolle", "FirstName": "Tolerant"}.items() <= json.loads(
        row["fields"]).items()


@pytest.mark.parametrize("parameters, expected", [
    ("<bogus>1</bogus><id>1</id><access_token>shop-token-rw</access_token>",
     "Element 'bogus': This element is not expected. Expected is one of ( login, id, "
     "access_token ). (line 3)"),
    ("<id>1</id><access_token>shop-token-rw</access_token><id>2</id>",
     "Element 'id': This element is not expected: it is given more than once, and "
     "'parameters' takes one. (line 3)"),
    ("<access_token>shop-token-rw</access_token><id>one</id>",
     "Element 'id': 'one' is not a valid value of the atomic type 'xs:int'. (line 3)"),
    ("<access_token>shop-token-rw</access_token>",
     "Element 'access_token': This element is not expected. Expected is one of ( login, id ). "
     "(line 3)"),
])
def test_copernica_what_is_wrong_is_still_a_fault_in_its_own_form(cop, parameters, expected):
    body = f"<b:Database_retrieve><parameters>{parameters}</parameters></b:Database_retrieve>"
    status, answer, _ = post(cop, "", envelope(PUBLISHER, body))
    assert fault_text(status, answer) == expected  # no "Validation error" prefix here


def test_copernica_fault_changes_nothing(cop):
    before = cop.rows("SELECT COUNT(*) AS n FROM profiles")
    body = ("<b:Database_createProfile><parameters><fields><pair><key>City</key>"
            "<value>X</value><key>Age</key></pair></fields><id>1</id>"
            "<access_token>shop-token-rw</access_token></parameters></b:Database_createProfile>")
    status, answer, _ = post(cop, "", envelope(PUBLISHER, body))
    assert fault_text(status, answer).startswith(
        "Element 'key': This element is not expected: it is given more than once")
    assert cop.rows("SELECT COUNT(*) AS n FROM profiles") == before


# -- node-soap, members in the caller's key order ----------------------------------------

def run_member_order(*args: str) -> dict:
    """Run member_order.js with node-soap from the project's node_modules; its report."""
    require_stack(node_missing())
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    return run_json(["node", str(MEMBER_ORDER), *args], cwd=ROOT, env=env)


def sent_children(request: str, local: str) -> list[str]:
    """Local names of the children of the first element ``local`` of a sent envelope."""
    element = etree.fromstring(request.encode()).xpath(f"//*[local-name()='{local}']")[0]
    return [etree.QName(c).localname for c in element]


@pytest.mark.parametrize("mode", ["keyorder", "schema order"])
def test_node_soap_backclick_in_key_order(shared_server, mode):
    email = f"node.{mode.replace(' ', '')}@example.com"
    report = run_member_order("backclick", shared_server.backclick_wsdl, email, mode)
    sent = report["sent"]
    if mode == "keyorder":  # the wire really carries the caller's order
        assert sent_children(sent["save"], "saveOrCreateSubscriber") == [
            "subscribers", "listsAdditive", "apiKey", "mandatorId"]
        assert sent_children(sent["save"], "item")[:3] == [
            "subscriberFields", "newsletterListIds", "subscriberEmail"]
        assert sent_children(sent["mail"], "recipient") == ["subscriberFields", "emailAddress"]
        assert sent_children(sent["get"], "getSubscribers")[0] == "emailAddresses"
    else:  # node-soap 1.x sorts document/literal members by the schema itself
        assert sent_children(sent["save"], "saveOrCreateSubscriber")[0] == "mandatorId"
    assert report["save"] == 0
    assert report["subscribers"] == [{
        "subscriberEmail": email, "status": 1, "newsletterListIds": "1,2",
        "fields": {"EMAIL": email, "FIRSTNAME": "Jörg", "LASTNAME": "", "CITY": "Köln"}}]
    assert stored(shared_server, email) == ({"FIRSTNAME": "Jörg", "CITY": "Köln"}, {1: 0, 2: 0})
    mail = shared_server.json(f"_mock/outbox/{report['transactionId']}")
    assert (mail["to"], mail["subject"], mail["channelId"]) == (
        email, "Order for Jörg", report["channelId"])


def test_node_soap_copernica_in_key_order(cop):
    report = run_member_order("copernica", cop.base_url, "shop-token-rw", "KeyOrderDb")
    sent = report["sent"]
    # what node-soap put on the wire: the public client's shapes, not the schema's order
    assert sent_children(sent["login"], "parameters") == ["username", "account", "password"]
    assert sent_children(sent["search"], "parameters") == [
        "allproperties", "requirements", "id", "access_token"]
    assert sent_children(sent["search"], "requirement") == [
        "fieldname", "casesensitive", "operator", "value"]
    assert sent_children(sent["profile"], "pair") == ["value", "key"]
    assert report["login"] == "DONE"
    assert report["total"] == 1 and report["found"] == [report["profile"]]
    [row] = cop.rows("SELECT p.fields FROM profiles p JOIN databases d ON d.id = p.database_id "
                     "WHERE d.name = 'KeyOrderDb' AND p.id = ?", report["profile"])
    assert json.loads(row["fields"]) == {"City": "Utrecht"}
