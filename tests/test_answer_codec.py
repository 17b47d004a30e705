"""The compiled answer writer (mockserver/soap/codec.py) writes what spyne writes, byte for byte.

Over HTTP: one server whose answers the writer writes and one where spyne writes every answer
(``MOCKSERVER_CODEC=spyne``), seeded alike, get the same exchanges (values that need escaping,
non-ASCII text, empty and absent members, arrays of none, one and many, SOAP 1.2, a request
in another namespace, the Copernica wire in two namespaces) and must answer the same bytes.
In process: values the writer leaves to spyne, and the check mode's fault on a difference.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from lxml import etree
from spyne import MethodContext

from conftest import BASIC, FIXTURES, http, start_server

TNS = "http://soap.rpc.bc.backclick.de/"
ENV11 = "http://schemas.xmlsoap.org/soap/envelope/"
ENV12 = "http://www.w3.org/2003/05/soap-envelope"
KEY = "<m:mandatorId>1</m:mandatorId><m:apiKey>shop-key-1234</m:apiKey>"
# Field values that lxml escapes or passes through: markup, quotes, a carriage return,
# tabs and newlines, umlauts, a character outside the BMP, the empty string.
TRICKY = {"FIRSTNAME": "Ä&<b>\"'x\r\ny\t", "LASTNAME": "Grüße 😀 ]]>", "CITY": ""}


def envelope(operation: str, members: str, ns: str = TNS, env: str = ENV11) -> bytes:
    """A request calling ``operation`` with ``members`` (prefix ``m``) in ``ns``."""
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{env}" '
            f'xmlns:m="{ns}"><s:Body><m:{operation}>{members}</m:{operation}></s:Body>'
            f"</s:Envelope>").encode()


def escaped(text: str) -> str:
    """``text`` as XML character data in a request."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


def save(email: str, fields: dict, lists: str = "<m:item>1</m:item>") -> bytes:
    """saveOrCreateSubscriber of one subscriber with ``fields``."""
    items = "".join(f"<m:item><m:name>{k}</m:name><m:value>{escaped(v)}</m:value></m:item>"
                    for k, v in fields.items())
    return envelope("saveOrCreateSubscriber", KEY + "<m:subscribers><m:item>"
                    f"<m:subscriberEmail>{email}</m:subscriberEmail>"
                    f"<m:newsletterListIds>{lists}</m:newsletterListIds>"
                    f"<m:subscriberFields>{items}</m:subscriberFields></m:item>"
                    "</m:subscribers>")


def get(*emails: str, fill: str = "true", ns: str = TNS, env: str = ENV11) -> bytes:
    """getSubscribers of ``emails``."""
    items = "".join(f"<m:item>{e}</m:item>" for e in emails)
    return envelope("getSubscribers", KEY + f"<m:fillSubscriberFields>{fill}"
                    f"</m:fillSubscriberFields><m:emailAddresses>{items}</m:emailAddresses>",
                    ns, env)


BACKCLICK_EXCHANGES = [
    save("tricky@example.de", TRICKY),
    save("two@example.de", {"FIRSTNAME": "Zwei"}, lists="<m:item>1</m:item><m:item>2</m:item>"),
    save("not an address", {}),  # answered with the invalid address listed
    save("blocked@example.org", {}),
    get("tricky@example.de"),
    get("tricky@example.de", "two@example.de", "Anna.Schmidt@example.de", "lapsed@example.de"),
    get("tricky@example.de", fill="false"),
    get("nobody@example.de"),  # an empty array
    get(),
    get("tricky@example.de", env=ENV12),
    get("tricky@example.de", ns="urn:another:namespace"),  # answered in that namespace
    envelope("getSubscriberToNewsletterListRelation",
             KEY + "<m:newsletterListId>1</m:newsletterListId>"
                   "<m:subscriberEmail>both@example.de</m:subscriberEmail>"),
    envelope("unsubscribeSubscriber", KEY + "<m:subscriberEmail>both@example.de"
                                            "</m:subscriberEmail><m:newsletterListIds>"
                                            "<m:item>2</m:item></m:newsletterListIds>"),
    envelope("getSubscribers", "<m:mandatorId>1</m:mandatorId><m:apiKey>wrong</m:apiKey>"),
]

CP_REQUEST = ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{env}" '
              'xmlns:c="{ns}"><s:Body><c:{operation}><parameters>{members}'
              "<access_token>shop-token-rw</access_token></parameters></c:{operation}>"
              "</s:Body></s:Envelope>")


def copernica(operation: str, members: str = "", ns: str = "http://www.copernica.com/") -> bytes:
    """A Copernica method call with the read-write token."""
    return CP_REQUEST.format(env=ENV11, ns=ns, operation=operation, members=members).encode()


COPERNICA_EXCHANGES = [
    copernica("Database_fields", "<id>1</id>"),
    copernica("Database_interests", "<id>1</id>"),
    copernica("Database_searchProfiles", "<id>1</id><allproperties>true</allproperties>"),
    copernica("Database_searchProfiles", "<id>1</id><allproperties>false</allproperties>",
              ns="http://127.0.0.1:1/?SOAPAPI=WSDL&amp;x=1"),
    copernica("Database_collections", "<id>1</id>"),
    copernica("Database_fields", "<id>999</id>"),
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """(writer, spyne) servers seeded alike, neither in check mode."""
    pair = []
    for name, env in (("writer", {"MOCKSERVER_CODEC_CHECK": "0"}),
                      ("spyne", {"MOCKSERVER_CODEC_CHECK": "0", "MOCKSERVER_CODEC": "spyne"})):
        folder = tmp_path_factory.mktemp(name)
        same = folder / "same.yaml"  # the same profile codes and times in both stores
        same.write_text('seed: 7\nclock: {start: "2026-03-01T09:00:00Z", frozen: true}\n')
        pair.append(start_server(folder, fixtures=(BASIC, FIXTURES / "copernica.yaml", same),
                                 env=env))
    yield pair
    for server in pair:
        server.stop()


def exchange(server, path: str, body: bytes, soap12: bool = False) -> tuple[int, bytes]:
    """POST one envelope; (status, body)."""
    kind = "application/soap+xml" if soap12 else "text/xml"
    status, answer, _ = http("POST", server.base_url + path, body, {"Content-Type": kind})
    return status, answer


def test_backclick_answers_are_spynes(servers):
    writer, spyne = servers
    for body in BACKCLICK_EXCHANGES:
        soap12 = ENV12.encode() in body
        ours = exchange(writer, "bc/rpc/soap/backclickService", body, soap12)
        theirs = exchange(spyne, "bc/rpc/soap/backclickService", body, soap12)
        assert ours == theirs, body
    status, answer = exchange(writer, "bc/rpc/soap/backclickService", get("tricky@example.de"))
    values = {item.findtext(f"{{{TNS}}}name"): item.findtext(f"{{{TNS}}}value")
              for item in etree.fromstring(answer).iter(f"{{{TNS}}}item")
              if item.find(f"{{{TNS}}}name") is not None}
    assert status == 200
    for name, value in TRICKY.items():
        assert values[name] == value, name


def test_copernica_answers_are_spynes(servers):
    writer, spyne = servers
    for body in COPERNICA_EXCHANGES:
        ours, theirs = exchange(writer, "", body), exchange(spyne, "", body)
        assert ours == theirs, body
        assert b"<result>" in ours[1] or ours[0] == 500


# -- in process -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def backclick_endpoint():
    """The BACKCLICK endpoint, built in this process."""
    from mockserver import backclick
    return backclick.endpoint()


def written(endpoint, operation: str, values: list, spyne: bool = True):
    """(the writer's answer or None, spyne's answer or None when not ``spyne``) for
    ``operation`` returning ``values``."""
    from mockserver.soap import codec

    descriptor = next(m[0] for m in endpoint.app.interface.service_method_map.values()
                      if m[0].name == operation)
    ctx = MethodContext(endpoint.server, MethodContext.SERVER)
    ctx.descriptor, ctx.out_object = descriptor, values
    ctx.udc = SimpleNamespace(answer=None)
    ours = endpoint.answers.write(ctx, codec.OWN)
    if not spyne:
        return ours, None
    endpoint.server.get_out_string(ctx)
    return ours, b"".join(ctx.out_string)


def test_values_spyne_writes_differently_are_left_to_it(backclick_endpoint):
    from mockserver.backclick import types as t

    def subscriber(**changes):
        values = dict(subscriberEmail="a@example.de", status=1, mandatorId=1,
                      newsletterListIds="1", subscriberFields=[t.Field(name="N", value="v")])
        values.update(changes)
        return t.Subscriber(**values)

    ours, theirs = written(backclick_endpoint, "getSubscribers", [[subscriber()]])
    assert ours == theirs and b"<tns:value>v</tns:value>" in ours
    ours, theirs = written(backclick_endpoint, "getSubscribers",
                           [[subscriber(subscriberFields=[t.Field(name="N", value=None)])]])
    assert ours == theirs and b"<tns:value>" not in ours  # an optional None is left out
    for odd in (subscriber(status=None),  # required: spyne writes xsi:nil
                subscriber(subscriberEmail="bell\x07"),  # lxml refuses the text
                subscriber(status=True),  # spyne writes str(True)
                None):  # an array item of None: xsi:nil
        ours, _ = written(backclick_endpoint, "getSubscribers", [[odd]], spyne=False)
        assert ours is None, odd
    ours, theirs = written(backclick_endpoint, "getSubscribers", [iter([subscriber()])])
    assert ours is None and b"a@example.de" in theirs  # the generator left for spyne whole


def test_check_mode_faults_on_a_difference(backclick_endpoint, monkeypatch, tmp_path):
    from mockserver.soap import codec
    from mockserver.soap.envelope import SoapCall
    from mockserver.vendors import fixtures
    from mockserver.vendors.store import open_store

    monkeypatch.setattr(codec, "CHECK", True)
    monkeypatch.setattr(codec.AnswerWriter, "write",
                        lambda self, ctx, form=codec.OWN: b"<different/>")
    store = open_store(str(tmp_path / "store.db"))
    store.migrate()
    fixtures.seed(store, fixtures.load_paths([str(BASIC)]))
    call = SoapCall(store=store, caller="127.0.0.1", base_url="http://127.0.0.1:1/")
    status, out, _, operation = backclick_endpoint.handle(get("both@example.de"), call)
    assert (status, operation) == (500, "getSubscribers")
    assert b"answer writer differs from spyne for getSubscribers" in out


def test_a_type_inside_itself_is_left_to_spyne():
    from spyne import Application, ComplexModel, ServiceBase, Unicode, rpc
    from spyne.model.complex import Array, SelfReference
    from spyne.server import ServerBase

    from mockserver.soap import codec
    from mockserver.soap.spyne_protocol import SoapProtocol

    class Node(ComplexModel):
        __namespace__ = "urn:tree"
        name = Unicode
        children = Array(SelfReference)

    class Trees(ServiceBase):
        @rpc(_returns=Node)
        def tree(ctx):
            return Node(name="root")

    app = Application([Trees], tns="urn:tree", in_protocol=SoapProtocol(),
                      out_protocol=SoapProtocol())
    writer = codec.AnswerWriter(app, app.out_protocol)
    ctx = MethodContext(ServerBase(app), MethodContext.SERVER)
    ctx.descriptor = next(m[0] for m in app.interface.service_method_map.values())
    ctx.out_object = [Node(name="root")]
    assert writer.write(ctx) is None  # compiled once, without recursing forever
