"""Bad input on the BACKCLICK endpoint: always a soap:Client fault, never HTML, nothing stored."""
import gzip
import json
import re

import pytest

from conftest import start_server

ENDPOINT = "bc/rpc/soap/backclickService"
OK_BODY = ("<b:saveOrCreateSubscriber><b:mandatorId>1</b:mandatorId><b:subscribers><b:item>"
           "<b:subscriberEmail>new@example.com</b:subscriberEmail>"
           "<b:newsletterListIds><b:item>1</b:item></b:newsletterListIds>"
           "</b:item></b:subscribers></b:saveOrCreateSubscriber>")


def envelope(body: str, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    """A SOAP 1.1 envelope around ``body``."""
    return (f'{prolog}<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:b="http://soap.rpc.bc.backclick.de/"><soap:Body>{body}</soap:Body>'
            f'</soap:Envelope>').encode()


def client_fault(status: int, body: bytes, headers: dict) -> str:
    """Assert a SOAP 1.1 soap:Client fault; return its faultstring."""
    text = body.decode("utf-8")
    assert status == 500, text
    assert headers["Content-Type"].startswith("text/xml"), headers
    assert "<html" not in text.lower() and "Traceback" not in text
    match = re.search(r"<faultcode>soap:Client</faultcode><faultstring>(.*?)</faultstring>", text,
                      re.S)
    assert match, text
    return match.group(1)


def post(server, data: bytes, headers=None):
    """POST bytes to the BACKCLICK endpoint."""
    return server.post(ENDPOINT, data, {"Content-Type": "text/xml; charset=utf-8", **(headers or {})})


def nothing_stored(server):
    """The request left no trace in the store."""
    assert server.rows("SELECT * FROM subscribers WHERE email_key='new@example.com'") == []
    assert server.outbox() == []


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A server that accepts at most 4 KB request bodies."""
    running = start_server(tmp_path_factory.mktemp("small"), "--max-body", "4096")
    yield running
    running.stop()


def test_the_good_request_works(server):
    assert post(server, envelope(OK_BODY))[0] == 200
    assert server.rows("SELECT email FROM subscribers WHERE email_key='new@example.com'")


def test_malformed_xml(shared_server):
    message = client_fault(*post(shared_server, envelope(OK_BODY)[:-20]))
    assert message.startswith("Request is not well-formed XML:") and "line 1" in message
    nothing_stored(shared_server)


@pytest.mark.parametrize("prolog", [
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>',
    '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<?xml version="1.0"?><!DOCTYPE soap:Envelope SYSTEM "http://example.com/evil.dtd">',
])
def test_doctype_and_entities_are_refused(shared_server, prolog):
    body = OK_BODY.replace("new@example.com", "&lol2;" if "lol" in prolog else "&xxe;")
    message = client_fault(*post(shared_server, envelope(body, prolog)))
    assert message == "DOCTYPE and entity declarations are not allowed."
    nothing_stored(shared_server)


def test_doctype_hidden_in_utf16_is_refused(shared_server):
    text = envelope(OK_BODY, '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]>')
    message = client_fault(*post(shared_server, text.decode().encode("utf-16")))
    assert message == "DOCTYPE and entity declarations are not allowed."


def test_oversized_body(small):
    padding = "<!-- " + "x" * 5000 + " -->"
    message = client_fault(*post(small, envelope(OK_BODY + padding)))
    assert message == f"Request body of {len(envelope(OK_BODY + padding))} bytes exceeds the limit of 4096 bytes."
    nothing_stored(small)


def test_gzip_request_body_is_accepted(server):
    status, body, _ = post(server, gzip.compress(envelope(OK_BODY)), {"Content-Encoding": "gzip"})
    assert status == 200, body
    assert server.rows("SELECT email FROM subscribers WHERE email_key='new@example.com'")


def test_gzip_bomb_is_refused(small):
    bomb = gzip.compress(envelope(OK_BODY + "<!--" + " " * 100000 + "-->"))
    assert len(bomb) < 4096
    message = client_fault(*post(small, bomb, {"Content-Encoding": "gzip"}))
    assert message == "Decompressed request body exceeds the limit of 4096 bytes."


def test_missing_required_element(shared_server):
    body = OK_BODY.replace("<b:mandatorId>1</b:mandatorId>", "")
    message = client_fault(*post(shared_server, envelope(body)))
    assert message == ("Validation error: Element 'subscribers': This element is not expected. "
                       "Expected is ( mandatorId ). (line 1)")
    nothing_stored(shared_server)


def test_missing_required_element_inside_an_item(shared_server):
    body = OK_BODY.replace("<b:subscriberEmail>new@example.com</b:subscriberEmail>", "")
    message = client_fault(*post(shared_server, envelope(body)))
    assert message.startswith("Validation error: Element 'newsletterListIds': This element is "
                              "not expected. Expected is ( subscriberEmail )")


@pytest.mark.parametrize("bad, expected", [
    ("<b:mandatorId>one</b:mandatorId>",
     "Validation error: Element 'mandatorId': 'one' is not a valid value of the atomic type "
     "'xs:int'. (line 1)"),
    ("<b:mandatorId>99999999999</b:mandatorId>",
     "Validation error: Element 'mandatorId': '99999999999' is not a valid value of the atomic "
     "type 'xs:int'. (line 1)"),
])
def test_wrong_types(shared_server, bad, expected):
    message = client_fault(*post(shared_server, envelope(OK_BODY.replace(
        "<b:mandatorId>1</b:mandatorId>", bad))))
    assert message == expected
    nothing_stored(shared_server)


def test_wrong_type_in_a_later_subscriber_stores_none(shared_server):
    second = ("<b:item><b:subscriberEmail>second@example.com</b:subscriberEmail>"
              "<b:newsletterListIds><b:item>x</b:item></b:newsletterListIds></b:item>")
    body = OK_BODY.replace("</b:subscribers>", second + "</b:subscribers>")
    message = client_fault(*post(shared_server, envelope(body)))
    assert message == ("Validation error: Element 'item': 'x' is not a valid value of the "
                       "atomic type 'xs:int'. (line 1)")
    nothing_stored(shared_server)


def test_boolean_must_be_a_boolean(shared_server):
    body = OK_BODY.replace("<b:mandatorId>1</b:mandatorId>",
                           "<b:mandatorId>1</b:mandatorId><b:listsAdditive>yes</b:listsAdditive>")
    message = client_fault(*post(shared_server, envelope(body)))
    assert message.startswith("Validation error: Element 'listsAdditive': 'yes' is not a valid "
                              "value of the atomic type 'xs:boolean'")


def test_unknown_operation(shared_server):
    message = client_fault(*post(shared_server, envelope(
        "<b:deleteEverything><b:mandatorId>1</b:mandatorId></b:deleteEverything>")))
    assert message.startswith("Unknown operation 'deleteEverything' in namespace "
                              "'http://soap.rpc.bc.backclick.de/'; this endpoint serves ")
    assert "getSubscribers" in message


def test_unknown_operation_in_another_namespace(shared_server):
    """Any namespace names the operation (tests/test_wire_tolerance.py), but only by a name
    the endpoint serves."""
    message = client_fault(*post(shared_server, envelope(
        '<getSubscriber xmlns="urn:other"><mandatorId>1</mandatorId></getSubscriber>')))
    assert message.startswith("Unknown operation 'getSubscriber' in namespace 'urn:other'; "
                              "this endpoint serves ")


@pytest.mark.parametrize("data, expected", [
    (b"", "The request body is empty; expected a SOAP envelope."),
    (b"<hello/>", "The root element is 'hello'; expected a SOAP 1.1 or 1.2 Envelope."),
    (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>',
     "The SOAP Envelope has no Body."),
    (envelope(""), "The SOAP Body names no operation."),
    ("<x>\u00e4</x>".encode("latin-1"), None),
])
def test_not_a_soap_request(shared_server, data, expected):
    message = client_fault(*post(shared_server, data))
    if expected:
        assert message == expected
    else:
        assert message.startswith("Request is not well-formed XML:")


def test_get_without_wsdl_is_a_fault(shared_server):
    message = client_fault(*shared_server.get(ENDPOINT))
    assert message == (f"GET is not supported here: POST a SOAP envelope, or GET "
                       f"{shared_server.backclick_url}?wsdl for the WSDL.")


def test_other_methods_are_faults(shared_server):
    from conftest import http
    message = client_fault(*http("PUT", shared_server.backclick_url, envelope(OK_BODY),
                                 {"Content-Type": "text/xml"}))
    assert message.startswith("PUT is not supported here")


def test_unknown_paths_answer_json_not_html(shared_server):
    status, body, headers = shared_server.get("no/such/page")
    assert status == 404 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"error": "No such path: /no/such/page"}


def test_nil_optional_elements_count_as_absent(server):
    """node-soap sends ``xsi:nil="true"`` for null values; optional ones are simply absent."""
    body = OK_BODY.replace(
        "<b:mandatorId>1</b:mandatorId>",
        '<b:mandatorId>1</b:mandatorId><b:apiKey xsi:nil="true" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>')
    status, out, _ = post(server, envelope(body))
    assert status == 200, out
    assert server.rows("SELECT email FROM subscribers WHERE email_key='new@example.com'")


def test_nil_required_element_is_missing(shared_server):
    body = OK_BODY.replace(
        "<b:mandatorId>1</b:mandatorId>",
        '<b:mandatorId xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>')
    message = client_fault(*post(shared_server, envelope(body)))
    assert message == ("Validation error: Element 'subscribers': This element is not expected. "
                       "Expected is ( mandatorId ). (line 1)")
    nothing_stored(shared_server)
