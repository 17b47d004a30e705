"""BACKCLICK transaction channels and mails through zeep, asserted on the outbox, the .eml and the store."""
import email
import email.policy

import pytest

from test_backclick_subscribers import KEY, fault, fields_of, memberships

DOMAIN_FAULT = ('Invalid domain of sender address ("{}"). If you want to send email for this '
                'domain, please contact your admin.')


def channel(client, **kwargs):
    """createTransactionChannel for mandator 1."""
    return client.service.createTransactionChannel(mandatorId=1, apiKey=KEY, **kwargs)


def transaction(client, to="buyer@example.com", fields=None, list_id=None, **kwargs):
    """sendTransactionMail for mandator 1 on channel ``kwargs['channelId']`` (default: a new one)."""
    recipient = {"emailAddress": to}
    if fields is not None:
        recipient["subscriberFields"] = {"item": [{"name": k, "value": v}
                                                  for k, v in fields.items()]}
    if list_id is not None:
        recipient["newsletterListId"] = list_id
    if "channelId" not in kwargs:
        kwargs["channelId"] = channel(client)
    kwargs.setdefault("subject", "Your order")
    if "templateId" not in kwargs:
        kwargs.setdefault("mailContent", "Thank you.")
    return client.service.sendTransactionMail(mandatorId=1, apiKey=KEY, recipient=recipient,
                                              **kwargs)


def test_channels_are_named_channel_id_unless_named(server, client):
    first = channel(client)
    second = channel(client, channelName="Orders", channelDescription="Order confirmations")
    third = channel(client, channelName="")
    assert isinstance(first, int) and first < second < third
    assert server.rows("SELECT id, mandator_id, name, description FROM channels ORDER BY id") == [
        {"id": first, "mandator_id": 1, "name": f"Channel {first}", "description": ""},
        {"id": second, "mandator_id": 1, "name": "Orders", "description": "Order confirmations"},
        {"id": third, "mandator_id": 1, "name": f"Channel {third}", "description": ""}]


def test_transaction_mail_with_attachments_as_eml(server, client):
    channel_id = channel(client, channelName="Orders")
    pdf = b"%PDF-1.4\x00\xff binary \r\n bytes"
    transaction_id = transaction(
        client, to="Anna.Schmidt@example.de", fields={"city": "Essen"}, channelId=channel_id,
        campaignId=77, subject="Order for $$FIRSTNAME$$", senderEmail="orders@shop.example",
        senderName="Shop Orders", replyTo="help@shop.example",
        mailContent='<p>Dear $$FIRSTNAME$$ $$LASTNAME$$ from $$CITY$$ ($$EMAIL$$)</p>'
                    '<a href="https://shop.example/orders/1">Your order</a>',
        alternativeMailContent="Dear $$FIRSTNAME$$ from $$CITY$$",
        attachments={"item": [{"name": "invoice.pdf", "data": pdf},
                              {"name": "terms.txt", "data": "Terms – ü".encode()}]})
    assert isinstance(transaction_id, int)
    (mail,) = server.outbox(kind="transaction")
    assert mail["id"] == transaction_id and mail["to"] == "Anna.Schmidt@example.de"
    assert (mail["channelId"], mail["campaignId"], mail["listId"]) == (channel_id, 77, None)
    assert mail["subject"] == "Order for Anna"
    assert (mail["from"], mail["fromName"], mail["replyTo"]) == (
        "orders@shop.example", "Shop Orders", "help@shop.example")
    assert "<p>Dear Anna Schmidt from Essen (Anna.Schmidt@example.de)</p>" in mail["html"]
    assert mail["text"] == "Dear Anna from Essen"
    assert mail["links"]["original"] == ["https://shop.example/orders/1"]
    assert [(a["name"], a["contentType"], a["size"]) for a in mail["attachments"]] == [
        ("invoice.pdf", "application/pdf", len(pdf)), ("terms.txt", "text/plain", 12)]
    status, body, headers = server.get(f"_mock/outbox/{transaction_id}.eml")
    assert status == 200 and headers["Content-Type"] == "message/rfc822"
    message = email.message_from_bytes(body, policy=email.policy.default)
    assert message.get_content_type() == "multipart/mixed"
    assert message["Subject"] == "Order for Anna" and message["To"] == "Anna.Schmidt@example.de"
    assert message["From"] == "Shop Orders <orders@shop.example>"
    assert message["Reply-To"] == "help@shop.example"
    assert message["List-Unsubscribe"].strip() == f"<{mail['links']['unsubscribe']}>"  # may be folded
    alternative, invoice, terms = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    plain, html = alternative.iter_parts()
    assert plain.get_content().strip() == "Dear Anna from Essen"
    assert "Dear Anna Schmidt from Essen" in html.get_content()
    assert mail["links"]["openPixel"] in html.get_content()
    assert invoice.get_filename() == "invoice.pdf" and invoice.get_content() == pdf
    assert terms.get_filename() == "terms.txt"
    assert terms.get_payload(decode=True) == "Terms – ü".encode()
    # the recipient's stored fields are not changed by the mail
    assert fields_of(server, "anna.schmidt@example.de") == {"FIRSTNAME": "Anna",
                                                            "LASTNAME": "Schmidt"}


def test_text_mail_without_attachments(server, client):
    transaction(client, mailContent="Plain $$EMAIL$$")
    (mail,) = server.outbox(kind="transaction")
    assert mail["html"] == "" and mail["text"] == "Plain buyer@example.com"
    assert mail["from"] == "newsletter@shop.example" and mail["attachments"] == []
    status, body, _ = server.get(f"_mock/outbox/{mail['id']}.eml")
    message = email.message_from_bytes(body, policy=email.policy.default)
    assert message.get_content_type() == "text/plain"
    assert message.get_content().strip() == "Plain buyer@example.com"


def test_text_content_with_html_alternative(server, client):
    transaction(client, mailContent="Text part", alternativeMailContent="<b>HTML part</b>")
    (mail,) = server.outbox(kind="transaction")
    assert mail["text"] == "Text part" and mail["html"].startswith("<b>HTML part</b>")


def test_template_content_and_subject(server, client):
    transaction(client, to="carla@example.de", templateId=50, subject=None, voucherListId=4)
    (mail,) = server.outbox(to="carla@example.de")
    assert mail["subject"] == "Your voucher, Carla"
    assert mail["text"] == "Hello Carla, your code: SPRING-1"


def test_voucher_codes_are_handed_out_once_each(server, client):
    channel_id = channel(client)
    for to in ("v1@example.com", "v2@example.com"):
        transaction(client, to=to, channelId=channel_id, voucherListId=4,
                    mailContent="Code $$VOUCHER$$")
    assert [m["text"] for m in server.outbox(kind="transaction")] == ["Code SPRING-1",
                                                                      "Code SPRING-2"]
    assert server.rows("SELECT code, used_by FROM vouchers WHERE voucher_list_id=4 "
                       "ORDER BY position") == [
        {"code": "SPRING-1", "used_by": "v1@example.com"},
        {"code": "SPRING-2", "used_by": "v2@example.com"}]
    error = fault(transaction, client, to="v3@example.com", channelId=channel_id, voucherListId=4)
    assert error.message == "Voucher list 4 is exhausted." and error.code == "soap:Server"
    assert len(server.outbox(kind="transaction")) == 2


def test_newsletter_list_id_stores_the_recipient_on_the_list(server, client):
    transaction(client, to="New.Buyer@example.com", fields={"FIRSTNAME": "Nils"}, list_id=2,
                mailContent="Hi $$FIRSTNAME$$")
    assert memberships(server, "new.buyer@example.com") == {2: 0}
    assert fields_of(server, "new.buyer@example.com") == {"FIRSTNAME": "Nils"}
    (mail,) = server.outbox(to="new.buyer@example.com")
    assert mail["text"] == "Hi Nils" and mail["listId"] == 2
    # values that are no database field personalise the mail but are not stored
    transaction(client, to="order@example.com", fields={"ORDERNO": "A-17", "CITY": "Kiel"},
                list_id=2, mailContent="Order $$ORDERNO$$ to $$CITY$$")
    assert server.outbox(to="order@example.com")[0]["text"] == "Order A-17 to Kiel"
    assert fields_of(server, "order@example.com") == {"CITY": "Kiel"}
    # an existing subscriber keeps the other lists and gains this one
    transaction(client, to="anna.schmidt@example.de", list_id=2)
    assert memberships(server, "anna.schmidt@example.de") == {1: 0, 2: 0}
    # a former subscriber is subscribed again
    transaction(client, to="lapsed@example.de", list_id=1)
    assert memberships(server, "lapsed@example.de") == {1: 0}


@pytest.mark.parametrize("kwargs, message", [
    ({"channelId": 9}, "Transaction channel 9 does not exist."),
    ({"senderEmail": "x@example.com"}, DOMAIN_FAULT.format("example.com")),
    ({"mailContent": None}, "No templateId AND no newsletterContent given!"),
    ({"mailContent": ""}, "No templateId AND no newsletterContent given!"),
    ({"templateId": 9}, "Template with ID 9 does not exist!"),
    ({"mailContent": "<p>a</p>", "alternativeMailContent": "<b>b</b>"},
     "Both (mailContent AND alternativeMailContent is HTML.)"),
    ({"mailContent": "a", "alternativeMailContent": "b"},
     "Both (mailContent AND alternativeMailContent is TEXT.)"),
    ({"voucherListId": 5}, "Voucher list 5 does not exist."),
    ({"list_id": 7}, "Newsletter list 7 does not exist."),
    ({"to": "not an address"}, 'Invalid recipient address "not an address".'),
])
def test_transaction_faults_change_nothing(server, client, kwargs, message):
    error = fault(transaction, client, **kwargs)
    assert error.message == message and error.code == "soap:Server"
    assert server.outbox() == []
    assert server.rows("SELECT count(*) AS n FROM vouchers WHERE used_at IS NOT NULL")[0]["n"] == 0
    assert server.rows("SELECT count(*) AS n FROM subscribers")[0]["n"] == 9


def test_channels_belong_to_their_mandator(server, client):
    other = client.service.createTransactionChannel(mandatorId=2, apiKey="other-key-9876")
    error = fault(transaction, client, channelId=other)
    assert error.message == f"Transaction channel {other} does not exist."
