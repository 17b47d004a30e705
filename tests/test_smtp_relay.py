"""--smtp-relay: outbox mails delivered to a real SMTP server (aiosmtpd), read back with `email`."""
from __future__ import annotations

import email
import email.policy
import json
import socket
import subprocess
import sys
import time

import pytest
from conftest import ROOT, start_server

aiosmtpd_controller = pytest.importorskip(
    "aiosmtpd.controller", reason="aiosmtpd not installed; pip install -e '.[test]'")

FIXTURE = """\
backclick:
  blockList: ["*@blocked.example"]
  mandators:
    - id: 1
      name: Shop
      apiKeys: [relay-key]
      senderDomains: [shop.example]
      fields: [FIRSTNAME]
      lists:
        - {id: 1, name: Newsletter}
      subscribers:
        - {email: anna@example.de, fields: {FIRSTNAME: Anna}, lists: {1: subscribed}}
        - {email: ben@example.com, fields: {FIRSTNAME: Bén}, lists: {1: subscribed}}
        - {email: gone@blocked.example, fields: {FIRSTNAME: Gone}, lists: {1: subscribed}}
"""
KEY = "relay-key"
PDF = b"%PDF-1.4\n\x00\x01\x02\xfe\xff binary \r\n bytes\n%%EOF\n"
NEWSLETTER_HTML = ('<html><body><p>Hallo $$FIRSTNAME$$!</p><p><a href="https://shop.example/sale">'
                   'Sale</a></p><p><a href="$$UNSUBSCRIBE-LINK$$">Abmelden</a></p></body></html>')


class Collector:
    """An aiosmtpd handler that keeps every message it is handed."""

    def __init__(self):
        """No messages yet."""
        self.received: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        """Keep the envelope and the message bytes; accept."""
        self.received.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "data": envelope.original_content or envelope.content})
        return "250 Message accepted for delivery"

    def messages(self, count: int, timeout: float = 20) -> list[dict]:
        """Wait until ``count`` messages arrived; each parsed with ``email``."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, (
                f"the SMTP server got {len(self.received)} messages, expected {count}")
            time.sleep(0.05)
        return [dict(r, message=email.message_from_bytes(r["data"], policy=email.policy.default))
                for r in self.received]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1 collecting what it receives: (collector, port)."""
    collector = Collector()
    port = free_port()
    controller = aiosmtpd_controller.Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    yield collector, port
    controller.stop()


def _serve(tmp_path, relay: str):
    fixture = tmp_path / "relay.yaml"
    fixture.write_text(FIXTURE, encoding="utf-8")
    return start_server(tmp_path, "--smtp-relay", relay, fixtures=(fixture,))


def _transaction(client, channel_id: int, to: str = "kunde@example.org") -> int:
    return client.service.sendTransactionMail(
        mandatorId=1, apiKey=KEY, channelId=channel_id, subject="Ihre Bestellung, $$FIRSTNAME$$",
        senderEmail="service@shop.example", senderName="Shop Kundendienst",
        replyTo="hilfe@shop.example",
        mailContent="<p>Danke, $$FIRSTNAME$$! Ihre Rechnung hängt an.</p>",
        alternativeMailContent="Danke, $$FIRSTNAME$$! Ihre Rechnung hängt an.",
        recipient={"emailAddress": to,
                   "subscriberFields": {"item": [{"name": "FIRSTNAME", "value": "Jörg"}]}},
        attachments={"item": [{"name": "rechnung-4711.pdf", "data": PDF}]})


def _relay_state(server, mail_id: int, timeout: float = 20) -> dict:
    """The mail's relay state once relaying is over (not pending or relaying)."""
    deadline = time.monotonic() + timeout
    while True:
        relay = server.json(f"_mock/outbox/{mail_id}")["relay"]
        if relay["state"] not in ("pending", "relaying") or time.monotonic() > deadline:
            return relay
        time.sleep(0.05)


def _parts(message) -> dict[str, object]:
    """{content type: part} of every leaf part."""
    return {part.get_content_type(): part for part in message.walk() if not part.is_multipart()}


def test_mails_reach_the_smtp_server_as_the_outbox_shows_them(tmp_path, smtp):
    collector, port = smtp
    server = _serve(tmp_path, f"127.0.0.1:{port}")
    try:
        client = server.zeep()
        channel_id = client.service.createTransactionChannel(mandatorId=1, apiKey=KEY,
                                                             channelName="Rechnungen")
        transaction_id = _transaction(client, channel_id)
        newsletter_id = client.service.sendNewsletterToList(
            mandatorId=1, apiKey=KEY, newsletterListId=1, subject="Neu für Sie, $$FIRSTNAME$$",
            newsletterContent=NEWSLETTER_HTML,
            alternativeContent="Hallo $$FIRSTNAME$$! Abmelden: $$UNSUBSCRIBE-LINK$$",
            senderName="Shop", senderEmail="news@shop.example")
        received = collector.messages(3)  # the transaction mail and two newsletter mails
        time.sleep(0.3)
        assert len(collector.received) == 3  # the blocked subscriber got nothing
        by_to = {r["to"][0]: r for r in received}
        assert set(by_to) == {"kunde@example.org", "anna@example.de", "ben@example.com"}

        # The transaction mail: headers, both alternatives, the attachment's name and bytes.
        mail = server.json(f"_mock/outbox/{transaction_id}")
        got = by_to["kunde@example.org"]
        message = got["message"]
        assert got["from"] == "service@shop.example"
        assert message["From"] == "Shop Kundendienst <service@shop.example>"
        assert message["To"] == "kunde@example.org"
        assert message["Subject"] == "Ihre Bestellung, Jörg"
        assert message["Reply-To"] == "hilfe@shop.example"
        assert message["List-Unsubscribe"] == f"<{mail['links']['unsubscribe']}>"
        assert message.get_content_type() == "multipart/mixed"
        [alternative] = [p for p in message.iter_parts()
                         if p.get_content_type() == "multipart/alternative"]
        assert [p.get_content_type() for p in alternative.iter_parts()] == [
            "text/plain", "text/html"]
        parts = _parts(alternative)
        assert parts["text/plain"].get_content().strip() == mail["text"].strip()
        assert parts["text/html"].get_content().strip() == mail["html"].strip()
        assert "Danke, Jörg!" in mail["text"]
        [attachment] = list(message.iter_attachments())
        assert attachment.get_filename() == "rechnung-4711.pdf"
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_content() == PDF
        assert _relay_state(server, transaction_id) == {"state": "sent", "error": None}

        # The newsletter: one personalised mail per subscriber, each with its own links.
        for mail in server.outbox(newsletter=newsletter_id):
            message = by_to[mail["to"]]["message"]
            assert by_to[mail["to"]]["from"] == "news@shop.example"
            assert message["From"] == "Shop <news@shop.example>"
            assert message["Subject"] == mail["subject"]
            assert message["Subject"] in ("Neu für Sie, Anna", "Neu für Sie, Bén")
            assert message.get_content_type() == "multipart/alternative"
            parts = _parts(message)
            assert set(parts) == {"text/plain", "text/html"}
            assert parts["text/html"].get_content().strip() == mail["html"].strip()
            assert mail["links"]["openPixel"] in parts["text/html"].get_content()
            assert mail["links"]["unsubscribe"] in parts["text/plain"].get_content()
            assert message["List-Unsubscribe"] == f"<{mail['links']['unsubscribe']}>"
            assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert _relay_state(server, mail["id"]) == {"state": "sent", "error": None}
    finally:
        server.stop()


def test_a_relay_that_is_down_fails_the_mail_not_the_call(tmp_path):
    server = _serve(tmp_path, f"127.0.0.1:{free_port()}")  # nothing listens there
    try:
        client = server.zeep()
        channel_id = client.service.createTransactionChannel(mandatorId=1, apiKey=KEY)
        transaction_id = _transaction(client, channel_id)
        assert transaction_id > 0
        relay = _relay_state(server, transaction_id)
        assert relay["state"] == "failed"
        assert "refused" in relay["error"].lower(), relay
        mail = server.json(f"_mock/outbox/{transaction_id}")
        assert mail["attachments"] == [{"name": "rechnung-4711.pdf",
                                        "contentType": "application/pdf", "size": len(PDF)}]
        exported = server.json("_mock/export")["state"]["outbox"]
        assert exported[-1]["relay"] == relay  # kept with the mail, also in fixtures
    finally:
        server.stop()


def test_without_a_relay_mails_have_no_relay_state(tmp_path):
    fixture = tmp_path / "relay.yaml"
    fixture.write_text(FIXTURE, encoding="utf-8")
    server = start_server(tmp_path, fixtures=(fixture,))
    try:
        client = server.zeep()
        channel_id = client.service.createTransactionChannel(mandatorId=1, apiKey=KEY)
        mail = server.json(f"_mock/outbox/{_transaction(client, channel_id)}")
        assert mail["relay"] == {"state": None, "error": None}
        assert json.loads(json.dumps(mail["attachments"]))[0]["size"] == len(PDF)
    finally:
        server.stop()


def test_a_subject_with_a_line_break_still_relays(tmp_path, smtp):
    collector, port = smtp
    server = _serve(tmp_path, f"127.0.0.1:{port}")
    try:
        client = server.zeep()
        channel_id = client.service.createTransactionChannel(mandatorId=1, apiKey=KEY)
        mail_id = client.service.sendTransactionMail(
            mandatorId=1, apiKey=KEY, channelId=channel_id, subject="Ihre Bestellung\r\nNr. 4711",
            mailContent="Danke!", replyTo="hilfe@shop.example\n",
            recipient={"emailAddress": "kunde@example.org"})
        [got] = collector.messages(1)
        assert got["message"]["Subject"] == "Ihre Bestellung Nr. 4711"
        assert got["message"]["Reply-To"] == "hilfe@shop.example"
        assert _relay_state(server, mail_id) == {"state": "sent", "error": None}
        status, body, _ = server.get(f"_mock/outbox/{mail_id}.eml")
        assert status == 200 and b"Subject: Ihre Bestellung Nr. 4711\r\n" in body
    finally:
        server.stop()


def test_a_mail_left_relaying_by_a_stopped_server_is_relayed_on_start(tmp_path, smtp):
    collector, port = smtp
    fixture = tmp_path / "relay.yaml"
    fixture.write_text(FIXTURE + """\
state:
  outbox:
    - {id: 5, mandatorId: 1, kind: transaction, to: kunde@example.org, from: service@shop.example,
       subject: Liegengeblieben, text: Hallo, token: abc123, relay: {state: relaying}}
    - {id: 6, mandatorId: 1, kind: transaction, to: alt@example.org, subject: Schon weg,
       text: Hallo, relay: {state: sent}}
""", encoding="utf-8")
    db = tmp_path / "left.db"  # the store a stopped server left behind
    seeded = subprocess.run([sys.executable, "-m", "mockserver", "seed", str(fixture), "--db",
                             str(db)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert seeded.returncode == 0, seeded.stderr
    server = start_server(tmp_path, "--smtp-relay", f"127.0.0.1:{port}", fixtures=(), db=db)
    try:
        [got] = collector.messages(1)
        assert got["to"] == ["kunde@example.org"] and got["message"]["Subject"] == "Liegengeblieben"
        assert _relay_state(server, 5) == {"state": "sent", "error": None}
        time.sleep(0.3)
        assert len(collector.received) == 1  # the mail already sent is not sent again
    finally:
        server.stop()
