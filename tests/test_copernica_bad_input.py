"""Bad input on the Copernica endpoint: soap:Client faults, never HTML, nothing stored."""
import pytest

from test_backclick_bad_input import client_fault
from copernica_harness import copernica_server

OK_BODY = ("<c:Account_createDatabase><parameters><c:name>BadInputDb</c:name>"
           "<c:access_token>shop-token-rw</c:access_token></parameters>"
           "</c:Account_createDatabase>")


def envelope(body: str, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    """A SOAP 1.1 envelope around ``body``."""
    return (f'{prolog}<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:c="http://soap.copernica.com/"><soap:Body>{body}</soap:Body>'
            f'</soap:Envelope>').encode()


def post(server, data: bytes, headers=None):
    """POST bytes to the Copernica endpoint."""
    return server.post("", data, {"Content-Type": "text/xml; charset=utf-8",
                                  "SOAPAction": '"http://soap.copernica.com/#x"',
                                  **(headers or {})})


@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """One server for the module."""
    running = copernica_server(tmp_path_factory.mktemp("bad"))
    yield running
    running.stop()


def nothing_stored(server):
    """The request created no database."""
    assert server.rows("SELECT id FROM databases WHERE name='BadInputDb'") == []


def test_the_good_request_works(tmp_path):
    server = copernica_server(tmp_path)
    try:
        status, body, headers = post(server, envelope(OK_BODY))
        assert status == 200 and headers["Content-Type"].startswith("text/xml"), body
        assert b"<tns:Account_createDatabaseResponse xmlns:tns=\"http://soap.copernica.com/\">" \
            in body and b"<name>BadInputDb</name>" in body  # in the request's namespace
        status, body, headers = post(server, envelope(OK_BODY).replace(
            b"http://schemas.xmlsoap.org/soap/envelope/", b"http://www.w3.org/2003/05/soap-envelope"),
            {"Content-Type": "application/soap+xml; charset=utf-8"})
        assert status == 500 and b"already exists" in body  # SOAP 1.2 is understood too
        assert headers["Content-Type"].startswith("application/soap+xml")
    finally:
        server.stop()


def test_malformed_xml(cop):
    assert client_fault(*post(cop, envelope(OK_BODY)[:-20])).startswith(
        "Request is not well-formed XML:")
    nothing_stored(cop)


def test_doctype_is_refused(cop):
    prolog = '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    message = client_fault(*post(cop, envelope(OK_BODY.replace("BadInputDb", "&xxe;"), prolog)))
    assert message == "DOCTYPE and entity declarations are not allowed."
    nothing_stored(cop)


def test_unknown_method_is_named(cop):
    message = client_fault(*post(cop, envelope(
        "<c:Account_destroyEverything><parameters/></c:Account_destroyEverything>")))
    assert message.startswith("Unknown operation 'Account_destroyEverything' in namespace "
                              "'http://soap.copernica.com/'")


@pytest.mark.parametrize("body, expected", [
    ("<c:Database_retrieve><parameters><c:id>one</c:id></parameters></c:Database_retrieve>",
     "Element 'id': 'one' is not a valid value of the atomic type 'xs:int'. (line 1)"),
    ("<c:Database_retrieve><parameters/></c:Database_retrieve>",
     "Element 'parameters': Missing child element(s). Expected is one of ( login, id ). (line 1)"),
    ("<c:Database_retrieve/>",
     "Element 'Database_retrieve': Missing child element(s). Expected is ( parameters ). (line 1)"),
    ("<c:Database_searchProfiles><parameters><c:id>1</c:id><c:asc>maybe</c:asc>"
     "</parameters></c:Database_searchProfiles>",
     "Element 'asc': 'maybe' is not a valid value of the atomic type 'xs:boolean'. (line 1)"),
])
def test_wrong_types_and_missing_parameters(cop, body, expected):
    assert client_fault(*post(cop, envelope(body))) == expected


def test_get_of_the_root_without_wsdl_is_a_fault(cop):
    message = client_fault(*cop.get(""))
    assert message.startswith("GET is not supported here: POST a SOAP envelope")
