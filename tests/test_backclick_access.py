"""BACKCLICK access control: API keys, IP allowlists, CIDR, trusted proxies, unknown mandators."""
import pytest
import zeep
from requests import Session
from zeep.transports import Transport

from conftest import start_server


def client_with(server, headers=None):
    """A zeep client whose every request carries extra HTTP headers."""
    session = Session()
    session.headers.update(headers or {})
    return zeep.Client(server.backclick_wsdl, transport=Transport(session=session))


def lookup(client, mandator_id, api_key=None):
    """getSubscribers of one address; returns its status."""
    return client.service.getSubscribers(mandatorId=mandator_id, apiKey=api_key,
                                         emailAddresses={"item": ["anna.schmidt@example.de"]})[0].status


def denial(client, mandator_id, api_key=None) -> str:
    """The fault string of a refused getSubscribers call."""
    with pytest.raises(zeep.exceptions.Fault) as info:
        lookup(client, mandator_id, api_key)
    assert info.value.code == "soap:Server"
    return info.value.message


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """A server that trusts 127.0.0.1 and 10.0.0.0/8 as proxies."""
    running = start_server(tmp_path_factory.mktemp("proxied"), "--trusted-proxy", "127.0.0.1/32",
                           "--trusted-proxy", "10.0.0.0/8")
    yield running
    running.stop()


def test_valid_key_is_enough_from_any_address(shared_server):
    client = shared_server.zeep()
    assert lookup(client, 1, "shop-key-1234") == 1
    assert lookup(client, 2, "other-key-9876") == -1  # key-only mandator, no allowed IPs


def test_invalid_key_is_refused_even_from_an_allowed_address(shared_server):
    client = shared_server.zeep()
    assert denial(client, 1, "wrong-key") == "Invalid API key."
    assert denial(client, 1, "other-key-9876") == "Invalid API key."  # another mandator's key


def test_without_key_the_address_decides(shared_server):
    client = shared_server.zeep()
    assert lookup(client, 1) == 1  # 127.0.0.1/32 is allowed for mandator 1
    assert lookup(client, 1, "") == 1  # an empty key counts as none
    assert denial(client, 2) == "IP [127.0.0.1] is not allowed to access this service."
    assert denial(client, 3) == "IP [127.0.0.1] is not allowed to access this service."


def test_unknown_mandator(shared_server):
    assert denial(shared_server.zeep(), 42) == "Unknown mandatorId 42."
    assert denial(shared_server.zeep(), 42, "shop-key-1234") == "Unknown mandatorId 42."


def test_forwarded_for_is_ignored_without_a_trusted_proxy(shared_server):
    client = client_with(shared_server, {"X-Forwarded-For": "198.51.100.7"})
    assert denial(client, 3) == "IP [127.0.0.1] is not allowed to access this service."


def test_trusted_proxy_names_the_real_caller(proxied):
    client = client_with(proxied, {"X-Forwarded-For": "198.51.100.7"})
    assert lookup(client, 3) == -1  # 198.51.100.0/24 is allowed for mandator 3
    assert denial(client, 1) == "IP [198.51.100.7] is not allowed to access this service."


def test_last_untrusted_hop_counts(proxied):
    # client-supplied junk first, then the real caller, then an inner trusted proxy
    client = client_with(proxied, {"X-Forwarded-For": "127.0.0.1, 203.0.113.7, 10.1.2.3"})
    assert denial(client, 1) == "IP [203.0.113.7] is not allowed to access this service."
    client = client_with(proxied, {"X-Forwarded-For": "203.0.113.9, 198.51.100.20"})
    assert lookup(client, 3) == -1


def test_ipv6_networks(proxied):
    client = client_with(proxied, {"X-Forwarded-For": "2001:db8::17"})
    assert lookup(client, 3) == -1
    client = client_with(proxied, {"X-Forwarded-For": "2001:db9::1"})
    assert denial(client, 3) == "IP [2001:db9::1] is not allowed to access this service."


def test_denied_calls_change_nothing(server):
    client = server.zeep()
    for mandator_id, key in ((1, "bad-key"), (2, None), (42, None)):
        with pytest.raises(zeep.exceptions.Fault):
            client.service.saveOrCreateSubscriber(
                mandatorId=mandator_id, apiKey=key, sendWelcome=True,
                subscribers={"item": [{"subscriberEmail": "intruder@example.com",
                                       "newsletterListIds": {"item": [1]}}]})
        with pytest.raises(zeep.exceptions.Fault):
            client.service.unsubscribeSubscriber(mandatorId=mandator_id, apiKey=key,
                                                 subscriberEmail="anna.schmidt@example.de")
        with pytest.raises(zeep.exceptions.Fault):
            client.service.importSubscribers(mandatorId=mandator_id, apiKey=key,
                                             importData="EMAIL\nintruder@example.com\n")
    assert server.rows("SELECT * FROM subscribers WHERE email_key='intruder@example.com'") == []
    assert server.rows("SELECT status FROM memberships m JOIN subscribers s ON s.id=m.subscriber_id"
                       " WHERE s.email_key='anna.schmidt@example.de'") == [{"status": 0}]
    assert server.outbox() == []
    assert server.rows("SELECT * FROM import_locks") == []
