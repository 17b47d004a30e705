"""BACKCLICK subscriber operations over HTTP through zeep, asserted on the wire and in the store."""
import re

import pytest
import zeep

from conftest import running_import

KEY = "shop-key-1234"


def save(client, *subscribers, **options):
    """saveOrCreateSubscriber for mandator 1 with the API key."""
    return client.service.saveOrCreateSubscriber(
        mandatorId=1, apiKey=KEY, subscribers={"item": list(subscribers)}, **options)


def sub(email, lists=None, fields=None, **extra):
    """A SubscriberData dict as zeep takes it."""
    data = {"subscriberEmail": email, **extra}
    if lists is not None:
        data["newsletterListIds"] = {"item": lists}
    if fields is not None:
        data["subscriberFields"] = {"item": [{"name": k, "value": v} for k, v in fields.items()]}
    return data


def get(client, *emails, fill=False):
    """getSubscribers for mandator 1."""
    return client.service.getSubscribers(mandatorId=1, apiKey=KEY, fillSubscriberFields=fill,
                                         emailAddresses={"item": list(emails)})


def relation(client, email, list_id=0):
    """getSubscriberToNewsletterListRelation for mandator 1."""
    return client.service.getSubscriberToNewsletterListRelation(
        mandatorId=1, apiKey=KEY, newsletterListId=list_id, subscriberEmail=email)


def fault(call, *args, **kwargs) -> zeep.exceptions.Fault:
    """The SOAP fault a call raises (fails the test when it raises none)."""
    with pytest.raises(zeep.exceptions.Fault) as info:
        call(*args, **kwargs)
    return info.value


def memberships(server, email):
    """{list_id: status} of a mandator-1 subscriber, read from the store."""
    return {r["list_id"]: r["status"] for r in server.rows(
        "SELECT m.list_id, m.status FROM memberships m JOIN subscribers s ON s.id=m.subscriber_id "
        "WHERE s.mandator_id=1 AND s.email_key=?", email.lower())}


def stored(server, email):
    """The stored subscriber row of mandator 1, or None."""
    rows = server.rows("SELECT * FROM subscribers WHERE mandator_id=1 AND email_key=?",
                       email.lower())
    return rows[0] if rows else None


def fields_of(server, email):
    import json
    return json.loads(stored(server, email)["fields"])


def items(value):
    """The members of a wrapped array as zeep returns it (None -> [])."""
    return list(value["item"]) if value else []


# -- saveOrCreateSubscriber --------------------------------------------------------------------

def test_creates_a_subscriber_with_fields_and_lists(server, client):
    result = save(client, sub("Max.Muster@Example.com", [1, 2], {"firstname": "Max", "CITY": "Köln"}))
    assert result.responseCode == 0
    assert items(result.invalidEmailAddresses) == items(result.blockedEmailAddresses) == []
    row = stored(server, "max.muster@example.com")
    assert row["email"] == "Max.Muster@Example.com"  # stored as given
    assert fields_of(server, "max.muster@example.com") == {"FIRSTNAME": "Max", "CITY": "Köln"}
    assert memberships(server, "max.muster@example.com") == {1: 0, 2: 0}
    (view,) = get(client, "MAX.MUSTER@EXAMPLE.COM", fill=True)
    assert view.status == 1 and view.newsletterListIds == "1,2"
    assert [(f.name, f.value) for f in items(view.subscriberFields)] == [
        ("EMAIL", "Max.Muster@Example.com"), ("FIRSTNAME", "Max"), ("LASTNAME", None),
        ("CITY", "Köln")]


def test_address_is_the_key_case_insensitively(server, client):
    save(client, sub("case@example.com", [1], {"FIRSTNAME": "A"}))
    save(client, sub("CASE@EXAMPLE.COM", [1], {"LASTNAME": "B"}), listsAdditive=True)
    rows = server.rows("SELECT email FROM subscribers WHERE email_key='case@example.com'")
    assert rows == [{"email": "case@example.com"}]
    assert fields_of(server, "case@example.com") == {"FIRSTNAME": "A", "LASTNAME": "B"}


def test_lists_are_the_complete_set_unless_additive(server, client):
    save(client, sub("lists@example.com", [1, 2]))
    save(client, sub("lists@example.com", [2]))
    assert memberships(server, "lists@example.com") == {1: 1, 2: 0}
    save(client, sub("lists@example.com", [1]), listsAdditive=True)
    assert memberships(server, "lists@example.com") == {1: 0, 2: 0}
    save(client, sub("lists@example.com", fields={"CITY": "Bonn"}))  # no list element: unchanged
    assert memberships(server, "lists@example.com") == {1: 0, 2: 0}
    save(client, sub("lists@example.com", []))  # an empty list element: none
    assert memberships(server, "lists@example.com") == {1: 1, 2: 1}
    (view,) = get(client, "lists@example.com")
    assert view.status == 0 and view.newsletterListIds in ("", None)


def test_blank_fields_are_ignored_unless_deleted(server, client):
    save(client, sub("blank@example.com", [1], {"FIRSTNAME": "Ada", "CITY": "Ulm"}))
    save(client, sub("blank@example.com", [1], {"FIRSTNAME": "", "CITY": "Bern"}))
    assert fields_of(server, "blank@example.com") == {"FIRSTNAME": "Ada", "CITY": "Bern"}
    save(client, sub("blank@example.com", [1], {"FIRSTNAME": ""}), deleteBlankFields=True)
    assert fields_of(server, "blank@example.com") == {"CITY": "Bern"}


def test_double_opt_in_stays_pending_until_the_link_is_opened(server, client):
    save(client, sub("doi@example.com", [2], {"FIRSTNAME": "Doris"}, doubleOptinTemplateId=20),
         sendWelcome=True)
    assert memberships(server, "doi@example.com") == {2: 2}
    assert get(client, "doi@example.com")[0].status == 2
    assert [i.listStatus for i in items(relation(client, "doi@example.com").listInformations)] == [2]
    (mail,) = server.outbox(to="doi@example.com")
    assert mail["kind"] == "doi" and mail["subject"] == "Please confirm"
    link = mail["links"]["confirm"]
    assert link.startswith(server.base_url + "bc/confirm/") and link in mail["text"]
    assert f'href="{link}"' in mail["html"]
    status, body, headers = server.get(link[len(server.base_url):])
    assert status == 200 and b"confirmed" in body and headers["Content-Type"].startswith("text/html")
    assert memberships(server, "doi@example.com") == {2: 0}
    (view,) = get(client, "doi@example.com")
    assert view.status == 1 and view.newsletterListIds == "2"
    # list 2 has no welcome template: no welcome mail; opening again changes nothing
    assert [m["kind"] for m in server.outbox(to="doi@example.com")] == ["doi"]
    status, body, _ = server.get(link[len(server.base_url):])
    assert status == 200 and b"before" in body
    assert server.get("bc/confirm/0000")[0] == 404


def test_welcome_mail_after_confirmation_when_the_list_has_one(server, client):
    save(client, sub("welcome-doi@example.com", [1], {"FIRSTNAME": "Wanda"},
                     doubleOptinTemplateId=20), sendWelcome=True)
    assert [m["kind"] for m in server.outbox(to="welcome-doi@example.com")] == ["doi"]
    link = server.outbox(to="welcome-doi@example.com")[0]["links"]["confirm"]
    server.get(link[len(server.base_url):])
    mails = server.outbox(to="welcome-doi@example.com")
    assert [m["kind"] for m in mails] == ["doi", "welcome"]
    assert mails[1]["subject"] == "Welcome Wanda" and mails[1]["html"] == "<p>Hello Wanda</p>"


def test_send_welcome_on_a_direct_subscription(server, client):
    save(client, sub("hello@example.com", [1, 2], {"FIRSTNAME": "Hugo"}), sendWelcome=True)
    (mail,) = server.outbox(to="hello@example.com", kind="welcome")
    assert mail["subject"] == "Welcome Hugo" and mail["text"] == "Hello Hugo"
    assert mail["from"] == "newsletter@shop.example" and mail["listId"] == 1
    save(client, sub("quiet@example.com", [1]))
    assert server.outbox(to="quiet@example.com") == []


def test_confirm_change_stages_fields_until_confirmed(server, client):
    save(client, sub("change@example.com", [1], {"FIRSTNAME": "Old"}))
    save(client, sub("change@example.com", [1], {"FIRSTNAME": "New"}, changeProfileTemplateId=30),
         confirmChange=True)
    assert fields_of(server, "change@example.com") == {"FIRSTNAME": "Old"}
    (mail,) = server.outbox(to="change@example.com", kind="change-confirm")
    assert mail["subject"] == "Confirm your change"
    server.get(mail["links"]["confirm"][len(server.base_url):])
    assert fields_of(server, "change@example.com") == {"FIRSTNAME": "New"}


def test_confirm_change_without_template_applies_at_once(server, client):
    save(client, sub("direct@example.com", [1], {"FIRSTNAME": "Old"}))
    save(client, sub("direct@example.com", [1], {"FIRSTNAME": "New"}), confirmChange=True)
    assert fields_of(server, "direct@example.com") == {"FIRSTNAME": "New"}


def test_invalid_blocked_and_role_addresses_are_skipped_and_listed(server, client):
    result = save(client, sub("ok@example.com", [1]), sub("not an address", [1]),
                  sub("x@@example.com", [1]), sub("blocked@example.org", [1]),
                  sub("someone@SpamDomain.example", [1]), sub("abuse@example.com", [1]),
                  sub("No-Reply@example.com", [1]))
    assert result.responseCode == 1
    assert items(result.invalidEmailAddresses) == ["not an address", "x@@example.com"]
    assert items(result.blockedEmailAddresses) == [
        "blocked@example.org", "someone@SpamDomain.example", "abuse@example.com",
        "No-Reply@example.com"]
    assert [r["email_key"] for r in server.rows(
        "SELECT email_key FROM subscribers WHERE email_key LIKE '%example.com' "
        "OR email_key LIKE '%spamdomain%' ORDER BY email_key")] == ["former@spamdomain.example",
                                                                    "ok@example.com"]


def test_anti_spam_filter_can_be_switched_off(server, client):
    result = save(client, sub("postmaster@example.com", [1]), filterAntiSpam=False)
    assert result.responseCode == 0 and stored(server, "postmaster@example.com")


def test_nothing_saved_answers_code_2(server, client):
    result = save(client, sub("bad", [1]), sub("blocked@example.org", [1]))
    assert result.responseCode == 2


def test_quoted_local_parts_and_domain_literals_are_valid(server, client):
    result = save(client, sub('"john doe"@example.com', [1]), sub("root@[192.0.2.1]", [1]))
    assert result.responseCode == 0


@pytest.mark.parametrize("bad, message", [
    (sub("a@example.com", [1], {"NOSUCHFIELD": "x"}), "Invalid field name in request."),
    (sub("a@example.com", [7]), "Newsletter list 7 does not exist."),
    (sub("a@example.com", [1], doubleOptinTemplateId=99), "Template with ID 99 does not exist!"),
])
def test_faults_change_nothing(server, client, bad, message):
    before = server.rows("SELECT count(*) AS n FROM subscribers")[0]["n"]
    error = fault(save, client, sub("first@example.com", [1]), bad)
    assert error.message == message and error.code == "soap:Server"
    assert server.rows("SELECT count(*) AS n FROM subscribers")[0]["n"] == before
    assert server.outbox() == []


def test_at_most_1000_subscribers_per_request(shared_server):
    client = shared_server.zeep()
    error = fault(save, client, *[sub(f"u{i}@example.com", [1]) for i in range(1001)])
    assert error.message == "Too many subscribers in request! Max subscribers per request: 1000"
    assert save(client, *[sub(f"bulk{i}@example.com", [1]) for i in range(1000)]).responseCode == 0


# -- getSubscribers ------------------------------------------------------------------------------

def test_statuses_in_request_order(shared_server):
    client = shared_server.zeep()
    views = get(client, "nobody@example.de", "lapsed@example.de", "anna.schmidt@example.de",
                "pending@example.de", "former@spamdomain.example", "both@example.de")
    assert [(v.subscriberEmail, v.status, v.mandatorId) for v in views] == [
        ("nobody@example.de", -1, 1), ("lapsed@example.de", 0, 1),
        ("Anna.Schmidt@example.de", 1, 1), ("pending@example.de", 2, 1),
        ("former@spamdomain.example", 3, 1), ("both@example.de", 1, 1)]
    assert views[5].newsletterListIds == "1,2"
    assert all(v.subscriberFields is None for v in views)


def test_fields_only_when_asked(shared_server):
    client = shared_server.zeep()
    (view,) = get(client, "both@example.de", fill=True)
    assert {f.name: f.value for f in items(view.subscriberFields)}["FIRSTNAME"] == "Ben"


def test_at_most_1000_addresses(shared_server):
    client = shared_server.zeep()
    error = fault(get, client, *[f"a{i}@example.com" for i in range(1001)])
    assert error.message == ("Too many emailaddresses in request! Max email addresses per "
                             "request: 1000")
    assert len(get(client, *[f"a{i}@example.com" for i in range(1000)])) == 1000


def test_other_mandators_do_not_see_the_subscriber(shared_server):
    client = shared_server.zeep()
    (view,) = client.service.getSubscribers(mandatorId=2, apiKey="other-key-9876",
                                            emailAddresses={"item": ["anna.schmidt@example.de"]})
    assert view.status == -1 and view.mandatorId == 2


# -- getSubscriberToNewsletterListRelation --------------------------------------------------------

def test_relation_to_all_lists_and_to_one(shared_server):
    client = shared_server.zeep()
    result = relation(shared_server.zeep(), "both@example.de")
    assert result.subscriberAvailable is True
    assert [(i.listId, i.listName, i.listDescription, i.listStatus)
            for i in items(result.listInformations)] == [
        (1, "Newsletter", "Weekly news", 0), (2, "Offers", "Special offers", 0)]
    one = relation(client, "both@example.de", 2)
    assert [i.listId for i in items(one.listInformations)] == [2]
    lapsed = relation(client, "lapsed@example.de", 1)
    assert [i.listStatus for i in items(lapsed.listInformations)] == [1]


def test_relation_of_an_unknown_address(shared_server):
    result = relation(shared_server.zeep(), "ghost@example.de")
    assert result.subscriberAvailable is False and items(result.listInformations) == []


def test_relation_to_an_unknown_list_is_a_fault(shared_server):
    error = fault(relation, shared_server.zeep(), "both@example.de", 9)
    assert error.message == "Newsletter list 9 does not exist."


# -- unsubscribeSubscriber ----------------------------------------------------------------------

def test_unsubscribe_from_one_list_then_from_all(server, client):
    save(client, sub("leaving@example.com", [1, 2]))
    assert client.service.unsubscribeSubscriber(
        mandatorId=1, apiKey=KEY, subscriberEmail="Leaving@example.com",
        newsletterListIds={"item": [2]}) == 0
    assert memberships(server, "leaving@example.com") == {1: 0, 2: 1}
    assert client.service.unsubscribeSubscriber(
        mandatorId=1, apiKey=KEY, subscriberEmail="leaving@example.com") == 0
    assert memberships(server, "leaving@example.com") == {1: 1, 2: 1}
    assert [i.listStatus for i in items(relation(client, "leaving@example.com").listInformations)] \
        == [1, 1]


def test_unsubscribe_unknown_address_answers_1(server, client):
    assert client.service.unsubscribeSubscriber(
        mandatorId=1, apiKey=KEY, subscriberEmail="ghost@example.com") == 1


def test_unsubscribe_from_unknown_list_is_a_fault(server, client):
    error = fault(client.service.unsubscribeSubscriber, mandatorId=1, apiKey=KEY,
                  subscriberEmail="anna.schmidt@example.de", newsletterListIds={"item": [5]})
    assert error.message == "Newsletter list 5 does not exist."
    assert memberships(server, "anna.schmidt@example.de") == {1: 0}


# -- importSubscribers -----------------------------------------------------------------------

def test_import_creates_and_updates(server, client):
    data = ("EMAIL\tFIRSTNAME\tCITY\tNEWSLETTER\n"
            "imp1@example.com\tIna\tMainz\t1;2\n"
            "Anna.Schmidt@example.de\t\tBerlin\t2\n"
            "imp2@example.com\tIgor\t\t1-2\n"
            "broken-address\tX\t\t1\n"
            "blocked@example.org\tB\t\t1\n")
    result = client.service.importSubscribers(mandatorId=1, apiKey=KEY, importData=data)
    assert result.importedCount == 3
    assert items(result.invalidEmailAddresses) == ["broken-address"]
    assert items(result.blockedEmailAddresses) == ["blocked@example.org"]
    assert memberships(server, "imp1@example.com") == {1: 0, 2: 0}
    assert memberships(server, "imp2@example.com") == {1: 0, 2: 0}
    assert memberships(server, "anna.schmidt@example.de") == {1: 0, 2: 0}  # additive
    assert fields_of(server, "anna.schmidt@example.de") == {
        "FIRSTNAME": "Anna", "LASTNAME": "Schmidt", "CITY": "Berlin"}
    assert fields_of(server, "imp1@example.com") == {"FIRSTNAME": "Ina", "CITY": "Mainz"}


@pytest.mark.parametrize("data, message", [
    ("EMAIL\tNOPE\nx@example.com\ty\n", "Invalid field name in request."),
    ("EMAIL\tNEWSLETTER\nx@example.com\t1\ny@example.com\t8\n", "Newsletter list 8 does not exist."),
    ("FIRSTNAME\nx\n", "Import data has no EMAIL column."),
    ("EMAIL\tNEWSLETTER\tCITY\nx@example.com\t1\tBonn\n",
     "The NEWSLETTER column must be the last column."),
    ("EMAIL\tCITY\nx@example.com\n", "Line 2 has 1 values; the header names 2 fields."),
    ("EMAIL\tNEWSLETTER\nx@example.com\tone\n", "Line 2: NEWSLETTER value 'one' is not a list id."),
])
def test_import_is_all_or_nothing(server, client, data, message):
    before = server.rows("SELECT count(*) AS n FROM subscribers")[0]["n"]
    error = fault(client.service.importSubscribers, mandatorId=1, apiKey=KEY, importData=data)
    assert error.message == message
    assert server.rows("SELECT count(*) AS n FROM subscribers")[0]["n"] == before
    assert server.rows("SELECT count(*) AS n FROM import_locks")[0]["n"] == 0


def test_a_second_import_while_one_runs_is_refused(server, client):
    with running_import(server) as first:
        error = fault(client.service.importSubscribers, mandatorId=1, apiKey=KEY,
                      importData="EMAIL\nsecond@example.com\n")
        assert error.message == "Another auto import is running. Please try again later."
    assert first["result"].importedCount == 60000
    assert stored(server, "second@example.com") is None
    assert client.service.importSubscribers(
        mandatorId=1, apiKey=KEY, importData="EMAIL\nsecond@example.com\n").importedCount == 1


# -- the wire: operation-name case, repeated elements, SOAP 1.2 -------------------------------

ENVELOPE = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<soap:Envelope xmlns:soap="{env}" xmlns:b="http://soap.rpc.bc.backclick.de/">'
            '<soap:Body>{body}</soap:Body></soap:Envelope>')
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def post(server, body, env=SOAP11, content_type="text/xml; charset=utf-8"):
    """POST an envelope around ``body``; (status, text, headers)."""
    status, out, headers = server.post("bc/rpc/soap/backclickService",
                                       ENVELOPE.format(env=env, body=body).encode(),
                                       {"Content-Type": content_type})
    return status, out.decode(), headers


def test_operation_names_match_case_insensitively(shared_server):
    status, out, _ = post(shared_server, "<b:GetSubscribers><b:mandatorId>1</b:mandatorId>"
                          "<b:emailAddresses><b:item>anna.schmidt@example.de</b:item>"
                          "</b:emailAddresses></b:GetSubscribers>")
    assert status == 200 and "<tns:getSubscribersResponse>" in out and "<tns:status>1<" in out


def test_repeated_elements_are_accepted_as_arrays(server, client):
    status, out, _ = post(server, (
        "<b:saveOrCreateSubscriber><b:mandatorId>1</b:mandatorId>"
        "<b:subscribers><b:subscriberEmail>rep@example.com</b:subscriberEmail>"
        "<b:newsletterListIds>1</b:newsletterListIds><b:newsletterListIds>2</b:newsletterListIds>"
        "<b:subscriberFields><b:name>CITY</b:name><b:value>Kiel</b:value></b:subscriberFields>"
        "</b:subscribers>"
        "<b:subscribers><b:subscriberEmail>rep2@example.com</b:subscriberEmail></b:subscribers>"
        "</b:saveOrCreateSubscriber>"))
    assert status == 200, out
    assert memberships(server, "rep@example.com") == {1: 0, 2: 0}
    assert fields_of(server, "rep@example.com") == {"CITY": "Kiel"}
    assert stored(server, "rep2@example.com")


def test_soap12_is_answered_in_soap12(shared_server):
    body = ("<b:getSubscribers><b:mandatorId>1</b:mandatorId><b:emailAddresses>"
            "<b:item>anna.schmidt@example.de</b:item></b:emailAddresses></b:getSubscribers>")
    status, out, headers = post(shared_server, body, SOAP12, "application/soap+xml; charset=utf-8")
    assert status == 200 and headers["Content-Type"].startswith("application/soap+xml")
    assert f'xmlns:soap="{SOAP12}"' in out and SOAP11 not in out
    status, out, headers = post(shared_server, body.replace(">1<", ">42<"), SOAP12,
                                "application/soap+xml")
    assert status == 500 and headers["Content-Type"].startswith("application/soap+xml")
    assert re.search(r"<soap:Value>soap:Receiver</soap:Value>.*<soap:Text xml:lang=\"en\">"
                     r"Unknown mandatorId 42\.</soap:Text>", out)


def test_vendor_fault_on_the_wire(shared_server):
    status, out, headers = post(shared_server, "<b:getSubscribers><b:mandatorId>42</b:mandatorId>"
                                "</b:getSubscribers>")
    assert status == 500 and headers["Content-Type"].startswith("text/xml")
    assert "<faultcode>soap:Server</faultcode><faultstring>Unknown mandatorId 42.</faultstring>" in out
