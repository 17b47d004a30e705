"""Every accepted mail can be exported: line breaks and other control characters in values
that end up in mail headers (subjects, sender names, attachment names, personalised fields)
never break the outbox JSON, the .eml, the UI's mail page or the SMTP relay, and never add a
header; a sender or reply-to address that is not an address is refused with a fault."""
from __future__ import annotations

import email
import email.policy
import html
import json
import re
import time
import urllib.parse
import uuid

import pytest
import requests

from conftest import BASIC, start_server
from test_backclick_subscribers import KEY, fault, sub
from test_backclick_transactions import channel, transaction

# Line breaks a client can send over SOAP (XML 1.0 carries them; a CR only as &#13;, which
# zeep writes), and runs of them; each run becomes one space.
BREAKS = {"LF": "\n", "CR": "\r", "CRLF": "\r\n", "runs": "\r\n\n \r\n", "NEL": "\x85",
          "LS": "\u2028", "PS": "\u2029", "TAB": "\t", "DEL": "\x7f", "CSI": "\x9b"}
# Controls XML 1.0 cannot carry at all: they reach the mock only through fixtures.
XML_FORBIDDEN = {"VT": "\v", "FF": "\f", "FS": "\x1c", "GS": "\x1d", "RS": "\x1e",
                 "SOH": "\x01", "ESC": "\x1b", "BS": "\x08"}
EVERY_BREAK = "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"
INJECTED = "Bcc: evil@example.org"
# The headers a mail of the mock has (Reply-To only when one was given).
HEADERS = {"from", "to", "subject", "date", "message-id", "list-unsubscribe",
           "list-unsubscribe-post", "x-mockserver-kind", "mime-version", "content-type",
           "content-transfer-encoding", "reply-to"}

EXTRA = """\
backclick:
  mandators:
    - id: 9
      name: "Shop\\vNine\\u2028Bcc: evil@example.org"
      apiKeys: [nine-key]
      senderDomains: [nine.example]
      fields: [FIRSTNAME]
      lists:
        - {id: 91, name: Nine}
      subscribers:
{subscribers}
state:
  outbox:
    - mandatorId: 9
      kind: transaction
      to: legacy@example.de
      from: orders@nine.example
      fromName: "Nine\\r\\nBcc: evil@example.org"
      subject: "Legacy\\nBcc: evil@example.org"
      text: From an old export.
      attachments:
        - {name: "old\\r\\nBcc: evil@example.org.txt", contentType: text/plain, data: b2xk}
"""


def _yaml_escape(text: str) -> str:
    return "".join(c if c.isalnum() else f"\\x{ord(c):02x}" if ord(c) < 0x100
                   else f"\\u{ord(c):04x}" for c in text)


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory):
    """One server on the basic fixtures plus mandator 9, whose name and subscribers' first
    names hold controls that SOAP cannot carry."""
    folder = tmp_path_factory.mktemp("mail")
    subscribers = "\n".join(
        f'        - {{email: "{name.lower()}@example.de", '
        f'fields: {{FIRSTNAME: "Anna{_yaml_escape(char)}{INJECTED}"}}, lists: {{91: subscribed}}}}'
        for name, char in XML_FORBIDDEN.items())
    extra = folder / "controls.yaml"
    extra.write_text(EXTRA.replace("{subscribers}", subscribers), encoding="utf-8")
    running = start_server(folder, fixtures=(BASIC, extra))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(mail_server):
    """A zeep client of the module's server."""
    return mail_server.zeep()


def _address() -> str:
    return f"r{uuid.uuid4().hex[:12]}@example.com"


def _header_lines(raw: bytes) -> list[bytes]:
    """The lines of a message's (or part's) header block."""
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def _headers(message) -> list[tuple[str, str]]:
    """A message's headers as (name, value), its Content-Type without the (random) boundary."""
    return [(k, message.get_content_type() if k.lower() == "content-type" else str(v))
            for k, v in message.items()]


def exported(server, mail_id: int, subject: str, from_name: str | None = None,
             attachment: str | None = None) -> dict:
    """Check a mail everywhere it is shown: the outbox JSON, the .eml (admin API and UI),
    the UI's mail page and attachment download; all answer 200 and show the same one-line
    values, and the .eml has no header but the mock's own. The mail's JSON."""
    status, _, _ = server.get(f"_mock/outbox/{mail_id}")
    assert status == 200
    mail = server.json(f"_mock/outbox/{mail_id}")
    assert mail["subject"] == subject
    if from_name is not None:
        assert mail["fromName"] == from_name
    if attachment is not None:
        assert [a["name"] for a in mail["attachments"]] == [attachment]

    status, raw, headers = server.get(f"_mock/outbox/{mail_id}.eml")
    assert status == 200 and headers["Content-Type"] == "message/rfc822"
    for line in _header_lines(raw):  # every line a header of ours, or its folded continuation
        assert line[:1] in (b" ", b"\t") or \
            line.split(b":", 1)[0].decode().lower() in HEADERS, line
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert {k.lower() for k in message.keys()} <= HEADERS
    assert "bcc" not in {k.lower() for k in message.keys()}
    for name, value in message.items():
        assert not any(c in str(value) for c in EVERY_BREAK), (name, value)
    assert message["Subject"] == subject
    if from_name is not None:
        assert message["From"].addresses[0].display_name == from_name
        assert message["From"].addresses[0].addr_spec == mail["from"]
    assert message["To"].addresses[0].addr_spec == mail["to"]
    files = [p for p in message.walk() if p.get_filename() is not None]
    if attachment is not None:
        (part,) = files
        assert part.get_filename() == attachment
        assert {k.lower() for k in part.keys()} <= {
            "content-type", "content-transfer-encoding", "content-disposition", "mime-version"}

    ui = requests.get(f"{server.base_url}_mock/ui/outbox/{mail_id}", timeout=30)
    assert ui.status_code == 200 and "Traceback" not in ui.text
    assert html.escape(subject, quote=False) in ui.text
    ui_eml = requests.get(f"{server.base_url}_mock/ui/outbox/{mail_id}.eml", timeout=30)
    assert ui_eml.status_code == 200
    assert _headers(email.message_from_bytes(ui_eml.content, policy=email.policy.default)) == \
        _headers(message)
    if attachment is not None:
        download = requests.get(f"{server.base_url}_mock/ui/outbox/{mail_id}/attachments/0",
                                timeout=30)
        assert download.status_code == 200
        assert not any(c in download.headers["Content-Disposition"] for c in EVERY_BREAK)
    return mail


def _newsletter_mail(server, newsletter_id: int) -> int:
    """The id of a newsletter's (only) mail, once sent."""
    status, body, _ = server.get(f"_mock/outbox/wait?newsletter={newsletter_id}&timeout=20")
    assert status == 200, body
    return json.loads(body)["id"]


# -- transaction mails ---------------------------------------------------------------------------

@pytest.mark.parametrize("char", BREAKS.values(), ids=BREAKS.keys())
def test_transaction_subject_with_a_line_break(mail_server, client, char):
    mail_id = transaction(client, to=_address(), subject=f"Order{char}{INJECTED}")
    exported(mail_server, mail_id, f"Order {INJECTED}")


@pytest.mark.parametrize("char", BREAKS.values(), ids=BREAKS.keys())
def test_transaction_sender_name_with_a_line_break(mail_server, client, char):
    mail_id = transaction(client, to=_address(), senderEmail="orders@shop.example",
                          senderName=f"Shop{char}{INJECTED}")
    exported(mail_server, mail_id, "Your order", from_name=f"Shop {INJECTED}")


@pytest.mark.parametrize("char", BREAKS.values(), ids=BREAKS.keys())
def test_attachment_name_with_a_line_break(mail_server, client, char):
    mail_id = transaction(client, to=_address(), attachments={"item": [
        {"name": f"invoice{char}{INJECTED}.pdf", "data": b"%PDF-1.4"}]})
    mail = exported(mail_server, mail_id, "Your order", attachment=f"invoice {INJECTED}.pdf")
    assert mail["attachments"][0]["contentType"] == "application/pdf"


@pytest.mark.parametrize("char", BREAKS.values(), ids=BREAKS.keys())
def test_field_of_the_request_personalising_the_subject(mail_server, client, char):
    mail_id = transaction(client, to=_address(), subject="Order for $$FIRSTNAME$$",
                          fields={"FIRSTNAME": f"Anna{char}{INJECTED}"},
                          mailContent="Dear $$FIRSTNAME$$")
    mail = exported(mail_server, mail_id, f"Order for Anna {INJECTED}")
    assert mail["text"] == f"Dear Anna{char}{INJECTED}"  # the body keeps the value as sent


@pytest.mark.parametrize("char", BREAKS.values(), ids=BREAKS.keys())
def test_stored_field_personalising_the_subject(mail_server, client, char):
    address = _address()
    client.service.saveOrCreateSubscriber(
        mandatorId=1, apiKey=KEY, subscribers={"item": [
            sub(address, lists=[2], fields={"FIRSTNAME": f"Ben{char}{INJECTED}"})]})
    mail_id = transaction(client, to=address, subject="Hello $$FIRSTNAME$$")
    exported(mail_server, mail_id, f"Hello Ben {INJECTED}")


@pytest.mark.parametrize("char", BREAKS.values(), ids=BREAKS.keys())
@pytest.mark.parametrize("argument, what", [("senderEmail", "sender"),
                                            ("replyTo", "reply-to")])
def test_an_address_with_a_line_break_is_refused(mail_server, client, argument, what, char):
    before = mail_server.rows("SELECT count(*) AS n FROM outbox")
    for address in (f"orders@shop.example{char}{INJECTED}", f"orders{char}@shop.example"):
        refused = fault(transaction, client, to=_address(), **{argument: address})
        assert refused.message == f'Invalid {what} address "{address.strip()}".'
    assert mail_server.rows("SELECT count(*) AS n FROM outbox") == before


def test_a_subject_of_controls_alone_is_no_subject(mail_server, client):
    before = mail_server.rows("SELECT count(*) AS n FROM outbox")
    assert fault(transaction, client, subject="\r\n\x7f \u2028").message == "No subject given."
    assert fault(_send, client, sub(_address()), subject="\x85\x9b\n").message == \
        "No subject given."
    assert mail_server.rows("SELECT count(*) AS n FROM outbox") == before


def test_addresses_are_kept_without_surrounding_white_space(mail_server, client):
    mail_id = transaction(client, to=_address(), senderEmail=" orders@shop.example\r\n",
                          replyTo="\thelp@shop.example\n", senderName="Shop")
    mail = exported(mail_server, mail_id, "Your order", from_name="Shop")
    assert (mail["from"], mail["replyTo"]) == ("orders@shop.example", "help@shop.example")


@pytest.mark.parametrize("name", ["Rechnung für Jörg.pdf", "Invoice €12.pdf", "発注書.pdf",
                                  "receipt 🧾.txt", 'a "quoted" \\ name.pdf'])
def test_attachment_names_beyond_latin_1_download(mail_server, client, name):
    mail_id = transaction(client, to=_address(), attachments={"item": [
        {"name": name, "data": b"%PDF-1.4"}]})
    exported(mail_server, mail_id, "Your order", attachment=name)
    download = requests.get(f"{mail_server.base_url}_mock/ui/outbox/{mail_id}/attachments/0",
                            timeout=30)
    assert download.status_code == 200 and download.content == b"%PDF-1.4"
    disposition = download.headers["Content-Disposition"]
    assert disposition.isascii() and disposition.startswith("attachment; filename=")
    extended = re.search(r"; filename\*=UTF-8''([^;\s]+)", disposition)
    if name.isascii():
        message = email.message_from_string(f"Content-Disposition: {disposition}\n\n",
                                            policy=email.policy.default)
        assert extended is None and message.get_filename() == name
    else:  # RFC 6266: the UTF-8 name, which browsers prefer, and an ASCII one
        assert urllib.parse.unquote(extended.group(1), errors="strict") == name


# -- newsletters -----------------------------------------------------------------------------

def _send(client, *recipients, **kwargs) -> int:
    kwargs.setdefault("subject", "News")
    kwargs.setdefault("newsletterContent", "Hello $$FIRSTNAME$$")
    return client.service.sendNewsletter(mandatorId=1, apiKey=KEY,
                                         recipients={"item": list(recipients)}, **kwargs)


@pytest.mark.parametrize("char", BREAKS.values(), ids=BREAKS.keys())
def test_newsletter_subject_with_a_line_break(mail_server, client, char):
    newsletter_id = _send(client, sub(_address()), subject=f"News{char}{INJECTED}")
    exported(mail_server, _newsletter_mail(mail_server, newsletter_id), f"News {INJECTED}")
    (stats,) = client.service.NewsletterStatistic(mandatorId=1, apiKey=KEY,
                                                  newsletterIds={"item": [newsletter_id]})
    assert stats.newsletterSubject == f"News {INJECTED}"


@pytest.mark.parametrize("char", BREAKS.values(), ids=BREAKS.keys())
def test_newsletter_sender_name_with_a_line_break(mail_server, client, char):
    newsletter_id = _send(client, sub(_address()), senderName=f"News{char}{INJECTED}",
                          senderEmail="news@shop.example")
    exported(mail_server, _newsletter_mail(mail_server, newsletter_id), "News",
             from_name=f"News {INJECTED}")


@pytest.mark.parametrize("char", BREAKS.values(), ids=BREAKS.keys())
def test_recipient_field_personalising_the_newsletter_subject(mail_server, client, char):
    newsletter_id = _send(client, sub(_address(), fields={"FIRSTNAME": f"Cleo{char}{INJECTED}"}),
                          subject="News for $$FIRSTNAME$$")
    mail = exported(mail_server, _newsletter_mail(mail_server, newsletter_id),
                    f"News for Cleo {INJECTED}")
    assert mail["text"] == f"Hello Cleo{char}{INJECTED}"


@pytest.mark.parametrize("char", BREAKS.values(), ids=BREAKS.keys())
def test_newsletter_sender_address_with_a_line_break_is_refused(mail_server, client, char):
    before = mail_server.rows("SELECT count(*) AS n FROM newsletters")
    address = f"news{char}@shop.example"
    refused = fault(_send, client, sub(_address()), senderEmail=address)
    assert refused.message == f'Invalid sender address "{address}".'
    assert mail_server.rows("SELECT count(*) AS n FROM newsletters") == before


# -- controls only fixtures can bring --------------------------------------------------------

@pytest.mark.parametrize("name", XML_FORBIDDEN, ids=XML_FORBIDDEN.keys())
def test_soap_cannot_carry_controls_xml_forbids(mail_server, name):
    reference = f"&#{ord(XML_FORBIDDEN[name])};"
    before = mail_server.rows("SELECT count(*) AS n FROM outbox")
    envelope = (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        '<s:Body><b:sendTransactionMail xmlns:b="http://soap.rpc.bc.backclick.de/">'
        f'<mandatorId>1</mandatorId><apiKey>{KEY}</apiKey><channelId>1</channelId>'
        f'<subject>Order{reference}</subject><mailContent>x</mailContent>'
        '<recipient><emailAddress>buyer@example.com</emailAddress></recipient>'
        '</b:sendTransactionMail></s:Body></s:Envelope>').encode()
    status, body, _ = mail_server.post("bc/rpc/soap/backclickService", envelope,
                                       {"Content-Type": "text/xml; charset=utf-8"})
    assert status == 500 and b"<faultstring>Request is not well-formed XML" in body
    assert mail_server.rows("SELECT count(*) AS n FROM outbox") == before


@pytest.mark.parametrize("name", XML_FORBIDDEN, ids=XML_FORBIDDEN.keys())
def test_fixture_controls_in_a_personalised_transaction_subject(mail_server, client, name):
    channel_id = client.service.createTransactionChannel(mandatorId=9, apiKey="nine-key")
    mail_id = client.service.sendTransactionMail(
        mandatorId=9, apiKey="nine-key", channelId=channel_id, subject="Hi $$FIRSTNAME$$",
        mailContent="Hello", recipient={"emailAddress": f"{name.lower()}@example.de"})
    exported(mail_server, mail_id, f"Hi Anna {INJECTED}", from_name=f"Shop Nine {INJECTED}")


@pytest.mark.parametrize("name", XML_FORBIDDEN, ids=XML_FORBIDDEN.keys())
def test_fixture_controls_in_a_personalised_newsletter_subject(mail_server, client, name):
    newsletter_id = client.service.sendNewsletter(
        mandatorId=9, apiKey="nine-key", subject="News for $$FIRSTNAME$$",
        newsletterContent="Hello", recipients={"item": [sub(f"{name.lower()}@example.de")]})
    exported(mail_server, _newsletter_mail(mail_server, newsletter_id),
             f"News for Anna {INJECTED}", from_name=f"Shop Nine {INJECTED}")


def test_a_mail_from_fixtures_with_line_breaks(mail_server):
    (row,) = mail_server.rows("SELECT id FROM outbox WHERE to_addr='legacy@example.de'")
    exported(mail_server, row["id"], f"Legacy {INJECTED}", from_name=f"Nine {INJECTED}",
             attachment=f"old {INJECTED}.txt")


# -- header injection ------------------------------------------------------------------------

def test_header_injection_adds_no_header(mail_server, client):
    mail_id = transaction(
        client, to=_address(), subject="Order $$FIRSTNAME$$\r\nBcc: evil@example.org",
        fields={"FIRSTNAME": "Anna\r\nX-Injected: yes\r\n\r\n<html>body</html>"},
        senderEmail="orders@shop.example", senderName="Shop\r\nReply-To: evil@example.org",
        mailContent="Thanks",
        attachments={"item": [{"name": "a.pdf\r\nContent-Type: text/html", "data": b"%PDF"}]})
    status, raw, _ = mail_server.get(f"_mock/outbox/{mail_id}.eml")
    assert status == 200
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert [k.lower() for k in message.keys()] == [
        "from", "to", "subject", "date", "message-id", "list-unsubscribe",
        "list-unsubscribe-post", "x-mockserver-kind", "mime-version", "content-type"]
    assert message["Subject"] == \
        "Order Anna X-Injected: yes <html>body</html> Bcc: evil@example.org"
    assert message["From"].addresses[0].display_name == "Shop Reply-To: evil@example.org"
    assert message["Reply-To"] is None and message["Bcc"] is None
    text, pdf = message.iter_parts()
    assert text.get_content().rstrip() == "Thanks"
    assert pdf.get_content_type() == "application/octet-stream"
    assert pdf.get_filename() == "a.pdf Content-Type: text/html"
    assert not re.search(rb"^(bcc|x-injected|reply-to):", raw, re.I | re.M)


# -- the SMTP relay --------------------------------------------------------------------------

def test_the_relay_sends_what_the_eml_shows(tmp_path):
    controller_module = pytest.importorskip("aiosmtpd.controller")
    from test_smtp_relay import Collector, free_port
    collector, port = Collector(), free_port()
    controller = controller_module.Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    server = start_server(tmp_path, "--smtp-relay", f"127.0.0.1:{port}")
    try:
        client = server.zeep()
        mail_id = transaction(client, to="buyer@example.com", channelId=channel(client),
                              subject=f"Order\u2028{INJECTED}", senderName=f"Shop\r\n{INJECTED}",
                              senderEmail="orders@shop.example",
                              attachments={"item": [{"name": f"a\x85{INJECTED}.pdf",
                                                     "data": b"%PDF"}]})
        (received,) = collector.messages(1)
        deadline = time.monotonic() + 10
        while server.json(f"_mock/outbox/{mail_id}")["relay"]["state"] != "sent":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        mail = exported(server, mail_id, f"Order {INJECTED}", from_name=f"Shop {INJECTED}",
                        attachment=f"a {INJECTED}.pdf")
        relayed = received["message"]
        _, raw, _ = server.get(f"_mock/outbox/{mail_id}.eml")
        shown = email.message_from_bytes(raw, policy=email.policy.default)
        assert _headers(relayed) == _headers(shown)
        assert relayed["Subject"] == mail["subject"]
        assert [p.get_filename() for p in relayed.walk() if p.get_filename()] == [
            f"a {INJECTED}.pdf"]
    finally:
        server.stop()
        controller.stop()

