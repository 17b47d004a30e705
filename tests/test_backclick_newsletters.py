"""BACKCLICK newsletters and statistics through zeep, asserted on the wire, the outbox and the store."""
import datetime as dt
import http.client
import json
import time
import urllib.parse

import pytest
import zeep

from conftest import running_import
from test_backclick_subscribers import KEY, fault, items, memberships, save, sub

SENDER = "news@shop.example"
DOMAIN_FAULT = ('Invalid domain of sender address ("{}"). If you want to send email for this '
                'domain, please contact your admin.')
HTML = ('<html><body><p>Hello $$FIRSTNAME$$ ($$EMAIL$$)</p><p>$$SPECIAL-REPLACEMENT-TEXT$$</p>'
        '<p><a href="https://shop.example/sale">Sale</a></p>'
        '<p><a href="$$UNSUBSCRIBE-LINK$$">Unsubscribe</a></p></body></html>')


def send(client, *recipients, **kwargs):
    """sendNewsletter for mandator 1 (subject and HTML content unless given)."""
    kwargs.setdefault("subject", "News")
    if "templateId" not in kwargs:
        kwargs.setdefault("newsletterContent", HTML)
    return client.service.sendNewsletter(mandatorId=1, apiKey=KEY,
                                         recipients={"item": list(recipients)}, **kwargs)


def send_to_list(client, list_id=None, filters=None, **kwargs):
    """sendNewsletterToList for mandator 1."""
    kwargs.setdefault("subject", "News")
    if "templateId" not in kwargs:
        kwargs.setdefault("newsletterContent", HTML)
    if filters is not None:
        kwargs["profileFilterIds"] = {"item": filters}
    return client.service.sendNewsletterToList(mandatorId=1, apiKey=KEY, newsletterListId=list_id,
                                               **kwargs)


def state(server, newsletter_id):
    """The newsletter's state in the store."""
    return server.rows("SELECT state FROM newsletters WHERE id=?", newsletter_id)[0]["state"]


def wait_sent(server, newsletter_id, timeout=30):
    """Wait until the background sender has finished the newsletter; its mails."""
    deadline = time.monotonic() + timeout
    while state(server, newsletter_id) != "sent":
        assert time.monotonic() < deadline, f"newsletter {newsletter_id} was not sent"
        time.sleep(0.05)
    return server.outbox(newsletter=newsletter_id)


def newsletter_stats(client, *ids):
    """NewsletterStatistic by ids."""
    return listed(client.service.NewsletterStatistic(mandatorId=1, apiKey=KEY,
                                                     newsletterIds={"item": list(ids)}))


def backclick_stats(client, *ids):
    """BackclickStatistic by ids."""
    return listed(client.service.BackclickStatistic(mandatorId=1, apiKey=KEY,
                                                    newsletterIds={"item": list(ids)}))


def listed(value):
    """A single wrapped-array result as zeep returns it (the array itself, None when empty)."""
    return list(value or [])


def counts(stat, *names):
    return {n: getattr(stat, n) for n in names}


def local_path(server, url):
    assert url.startswith(server.base_url), url
    return url[len(server.base_url) - 1:]


def raw_get(server, url):
    """GET without following redirects; (status, headers, body)."""
    parts = urllib.parse.urlsplit(server.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", local_path(server, url))
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        conn.close()


# -- sendNewsletter: content and personalisation --------------------------------------------------

def test_html_newsletter_is_rendered_for_each_recipient(server, client):
    newsletter_id = send(
        client, sub("anna.schmidt@example.de"),
        sub("new.reader@example.com", fields={"FIRSTNAME": "Nina"}),
        subject="Hi $$FIRSTNAME$$: $$SPECIAL-REPLACEMENT-TEXT$$", alternativeContent="Hello $$FIRSTNAME$$ <$$EMAIL$$>: "
        "$$SPECIAL-REPLACEMENT-TEXT$$ / $$UNSUBSCRIBE-LINK$$",
        adhockInformation="Only today: 20 %", senderEmail=SENDER, senderName="Shop News")
    assert isinstance(newsletter_id, int) and newsletter_id > 0
    (row,) = server.rows("SELECT * FROM newsletters WHERE id=?", newsletter_id)
    assert row["mandator_id"] == 1 and row["list_id"] is None and row["subject"].startswith("Hi $$FIRSTNAME$$")
    mails = wait_sent(server, newsletter_id)
    assert [(m["to"], m["subject"]) for m in mails] == [
        ("anna.schmidt@example.de", "Hi Anna: Only today: 20 %"),
        ("new.reader@example.com", "Hi Nina: Only today: 20 %")]
    anna = mails[0]
    assert anna["kind"] == "newsletter" and anna["newsletterId"] == newsletter_id
    assert anna["from"] == SENDER and anna["fromName"] == "Shop News"
    assert "<p>Hello Anna (anna.schmidt@example.de)</p><p>Only today: 20 %</p>" in anna["html"]
    unsubscribe = anna["links"]["unsubscribe"]
    assert unsubscribe.startswith(server.base_url + "bc/t/u/")
    assert f'<a href="{unsubscribe}">Unsubscribe</a>' in anna["html"]
    assert anna["text"] == ("Hello Anna <anna.schmidt@example.de>: Only today: 20 % / "
                            + unsubscribe)
    assert "$$" not in anna["html"] + anna["text"] + mails[1]["html"] + mails[1]["text"]
    assert "Hello Nina (new.reader@example.com)" in mails[1]["html"]
    # the recipient's own link is tracked; the unsubscribe link is not
    assert anna["links"]["original"] == ["https://shop.example/sale"]
    assert "https://shop.example/sale" not in anna["html"]
    assert anna["links"]["tracked"][0] in anna["html"] and anna["links"]["openPixel"] in anna["html"]
    assert mails[1]["links"]["unsubscribe"] != unsubscribe
    # sent to explicit recipients: nobody new is stored
    assert server.rows("SELECT * FROM subscribers WHERE email_key='new.reader@example.com'") == []


def test_text_content_makes_a_text_mail(server, client):
    newsletter_id = send(client, sub("both@example.de"),
                         newsletterContent="Dear $$FIRSTNAME$$, 3 < 4 and 5 > 2.\n$$UNSUBSCRIBE-LINK$$")
    (mail,) = wait_sent(server, newsletter_id)
    assert mail["html"] == ""
    assert mail["text"] == "Dear Ben, 3 < 4 and 5 > 2.\n" + mail["links"]["unsubscribe"]
    assert mail["from"] == "newsletter@shop.example"  # no sender given: the mandator's


def test_html_without_alternative_has_no_text_part(server, client):
    (mail,) = wait_sent(server, send(client, sub("both@example.de")))
    assert mail["text"] == "" and "Hello Ben" in mail["html"]


def test_template_supplies_the_content(server, client):
    newsletter_id = send(client, sub("carla@example.de"), sub("both@example.de"),
                         subject="Monthly", templateId=40)
    carla, ben = wait_sent(server, newsletter_id)
    assert carla["subject"] == "Monthly"  # the template's own subject is not used
    assert "<h1>News for Carla</h1>" in carla["html"] and "<h1>News for Ben</h1>" in ben["html"]
    assert carla["text"] == "News for Carla. Unsubscribe: " + carla["links"]["unsubscribe"]
    assert carla["links"]["original"] == ["https://shop.example/offer?id=1", "https://shop.example/"]


def test_fields_from_the_request_override_stored_ones(server, client):
    (mail,) = wait_sent(server, send(client, sub("Anna.Schmidt@example.de",
                                                 fields={"firstname": "Annie"})))
    assert "Hello Annie" in mail["html"]
    assert server.rows("SELECT fields FROM subscribers WHERE email_key='anna.schmidt@example.de'"
                       )[0]["fields"] == '{"FIRSTNAME": "Anna", "LASTNAME": "Schmidt"}'


def test_empty_fields_render_as_nothing_and_unknown_placeholders_stay(server, client):
    newsletter_id = send(client, sub("lapsed@example.de"), subject="Hi $$FIRSTNAME$$!",
                         newsletterContent="Dear $$FIRSTNAME$$ $$LASTNAME$$, $$NOSUCHFIELD$$")
    wait_sent(server, newsletter_id)
    (mail,) = server.outbox(to="lapsed@example.de", kind="newsletter")
    assert mail["subject"] == "Hi !"
    assert mail["text"] == "Dear  , $$NOSUCHFIELD$$"


def test_blocked_invalid_and_duplicate_recipients_are_excluded_and_counted(server, client):
    newsletter_id = send(client, sub("one@example.com"), sub("not an address"),
                         sub("ONE@example.com"), sub("blocked@example.org"),
                         sub("someone@SpamDomain.example"), sub("two@example.com"),
                         sub("x@@example.com"))
    mails = wait_sent(server, newsletter_id)
    assert [m["to"] for m in mails] == ["one@example.com", "two@example.com"]
    (stat,) = newsletter_stats(client, newsletter_id)
    assert counts(stat, "numRecipientsUnadjusted", "numExcludedBlocked", "numExcludedInvalid",
                  "numExcludedDuplicate", "numRecipientsAdjusted", "numDelivered",
                  "numBounced") == {
        "numRecipientsUnadjusted": 7, "numExcludedBlocked": 2, "numExcludedInvalid": 2,
        "numExcludedDuplicate": 1, "numRecipientsAdjusted": 2, "numDelivered": 2, "numBounced": 0}
    assert stat.state == "sent" and stat.newsletterListId == 0 and stat.newsletterSubject == "News"


def test_sender_domain_is_checked_case_insensitively(server, client):
    (mail,) = wait_sent(server, send(client, sub("both@example.de"), senderEmail="Info@SHOP.example"))
    assert mail["from"] == "Info@SHOP.example"
    error = fault(send, client, sub("both@example.de"), senderEmail="news@other.example")
    assert error.message == DOMAIN_FAULT.format("other.example") and error.code == "soap:Server"


# -- sendNewsletterToList: targeting ---------------------------------------------------------------

def test_newsletter_to_a_list_reaches_its_active_subscribers(server, client):
    newsletter_id = send_to_list(client, 1, senderEmail=SENDER, subject="For $$FIRSTNAME$$")
    mails = wait_sent(server, newsletter_id)
    assert sorted((m["to"], m["subject"]) for m in mails) == [
        ("Anna.Schmidt@example.de", "For Anna"), ("both@example.de", "For Ben"),
        ("carla@example.de", "For Carla")]
    assert {m["listId"] for m in mails} == {1}
    (stat,) = newsletter_stats(client, newsletter_id)
    assert counts(stat, "newsletterListId", "numRecipientsUnadjusted", "numExcludedBlocked",
                  "numRecipientsAdjusted", "numDelivered") == {
        "newsletterListId": 1, "numRecipientsUnadjusted": 4, "numExcludedBlocked": 1,
        "numRecipientsAdjusted": 3, "numDelivered": 3}
    assert server.rows("SELECT list_id, kind FROM newsletters WHERE id=?", newsletter_id) == [
        {"list_id": 1, "kind": "list"}]


@pytest.mark.parametrize("list_id, filters, expected", [
    (None, [1], ["carla@example.de", "emil@example.de"]),  # filters alone: every matching subscriber
    (None, [1, 2], ["carla@example.de"]),  # all filters must match
    (2, [1], ["emil@example.de"]),  # list and filter
    (1, [2], ["Anna.Schmidt@example.de", "both@example.de", "carla@example.de"]),
])
def test_profile_filters_narrow_the_audience(shared_server, list_id, filters, expected):
    client = shared_server.zeep()
    newsletter_id = send_to_list(client, list_id, filters)
    assert sorted(m["to"] for m in wait_sent(shared_server, newsletter_id)) == expected
    (row,) = shared_server.rows("SELECT list_id, filter_ids FROM newsletters WHERE id=?",
                                newsletter_id)
    assert row["list_id"] == list_id and json.loads(row["filter_ids"]) == filters


def test_sending_is_asynchronous(server, client):
    count = 20000
    data = "EMAIL\tFIRSTNAME\tNEWSLETTER\n" + "".join(
        f"reader{i}@example.net\tR{i}\t2\n" for i in range(count))
    assert client.service.importSubscribers(mandatorId=1, apiKey=KEY,
                                            importData=data).importedCount == count
    started = time.monotonic()
    newsletter_id = send_to_list(client, 2, subject="Big $$FIRSTNAME$$")
    took = time.monotonic() - started
    sent_at_return = server.rows("SELECT count(*) AS n FROM outbox WHERE newsletter_id=?",
                                 newsletter_id)[0]["n"]
    assert took < 2.0 and sent_at_return < count + 3
    deadline = time.monotonic() + 60
    while state(server, newsletter_id) != "sent":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert server.rows("SELECT count(*) AS n FROM outbox WHERE newsletter_id=?",
                       newsletter_id)[0]["n"] == count + 3  # + both, dieter and emil
    status, body, _ = server.get("_mock/outbox/wait?to=reader19999@example.net&timeout=5")
    assert status == 200 and b'"subject": "Big R19999"' in body


# -- faults ---------------------------------------------------------------------------------------

def nothing_sent(server):
    time.sleep(0.3)  # the background sender would have started by now
    assert server.rows("SELECT count(*) AS n FROM newsletters")[0]["n"] == 0
    assert server.outbox() == []


@pytest.mark.parametrize("kwargs, message", [
    ({"newsletterContent": None}, "No templateId AND no newsletterContent given!"),
    ({"newsletterContent": ""}, "No templateId AND no newsletterContent given!"),
    ({"subject": None}, "No subject given."),
    ({"subject": "  "}, "No subject given."),
    ({"templateId": 99}, "Invalid templateId!"),
    ({"senderEmail": "news@example.com"}, DOMAIN_FAULT.format("example.com")),
    ({"senderEmail": "news@sub.shop.example"}, DOMAIN_FAULT.format("sub.shop.example")),
])
def test_send_newsletter_faults_change_nothing(server, client, kwargs, message):
    if kwargs.get("newsletterContent", "x") in (None, ""):
        kwargs["templateId"] = None
    error = fault(send, client, sub("both@example.de"), **kwargs)
    assert error.message == message and error.code == "soap:Server"
    nothing_sent(server)


def test_no_recipients_is_a_fault(server, client):
    error = fault(client.service.sendNewsletter, mandatorId=1, apiKey=KEY, subject="S",
                  newsletterContent="Text")
    assert error.message == "No Recipients are given!"
    assert fault(send, client).message == "No Recipients are given!"
    nothing_sent(server)


@pytest.mark.parametrize("list_id, filters, kwargs, message", [
    (None, None, {}, "No Recipients are given!"),
    (None, [], {}, "No Recipients are given!"),
    (0, None, {}, "No Recipients are given!"),
    (1, [1, 5], {}, "Filter with ID #5 is non existent."),
    (None, [5], {}, "Filter with ID #5 is non existent."),
    (7, None, {}, "Newsletter list 7 does not exist."),
    (1, None, {"newsletterContent": None}, "No templateId AND no newsletterContent given!"),
    (1, None, {"subject": None}, "No subject given."),
    (1, None, {"templateId": 99}, "Invalid templateId!"),
    (1, None, {"senderEmail": "a@example.com"}, DOMAIN_FAULT.format("example.com")),
])
def test_send_newsletter_to_list_faults_change_nothing(server, client, list_id, filters, kwargs,
                                                        message):
    error = fault(send_to_list, client, list_id, filters, **kwargs)
    assert error.message == message and error.code == "soap:Server"
    nothing_sent(server)


def test_no_newsletter_while_an_import_runs(server, client):
    slowest, faults = 0.0, 0
    with running_import(server) as first:
        while first["thread"].is_alive():  # refused at once for as long as the import runs
            started = time.monotonic()
            try:
                (send_to_list(client, 1) if faults % 2 else send(client, sub("both@example.de")))
            except zeep.exceptions.Fault as error:
                assert error.message == "Autoimport is running. Please try again later."
                faults += 1
            else:
                assert not server.rows("SELECT * FROM import_locks"), "sent while importing"
                break
            finally:
                slowest = max(slowest, time.monotonic() - started)
    assert faults >= 2 and slowest < 0.5, f"{faults} faults; a call waited {slowest:.2f} s"
    assert first["result"].importedCount == 60000
    assert isinstance(send_to_list(client, 2), int)


# -- statistics -----------------------------------------------------------------------------------

def test_statistics_by_list_and_period(server, client):
    now = dt.datetime.now(dt.timezone.utc)
    first = send_to_list(client, 2, subject="First")
    wait_sent(server, first)
    later = send_to_list(client, 2, subject="Later", sendTime=now + dt.timedelta(days=2))
    other_list = send_to_list(client, 1, subject="Other list")
    wait_sent(server, other_list)

    def by_period(operation, start, end):
        return listed(getattr(client.service, operation)(
            mandatorId=1, apiKey=KEY, newsletterListId=2, **{"from": start, "to": end}))

    hour = dt.timedelta(hours=1)
    for operation in ("NewsletterStatistic", "BackclickStatistic"):
        assert [s.newsletterId for s in by_period(operation, now - hour, now + hour)] == [first]
        assert [s.newsletterId for s in by_period(operation, now - hour, now + 3 * 24 * hour)] == [
            first, later]
        assert by_period(operation, now + 3 * 24 * hour, now + 4 * 24 * hour) == []
        assert [s.newsletterId for s in listed(getattr(client.service, operation)(
            mandatorId=1, apiKey=KEY, newsletterListId=2))] == [first, later]
    first_stat, later_stat = by_period("NewsletterStatistic", now - hour, now + 3 * 24 * hour)
    assert (first_stat.state, first_stat.numRecipientsAdjusted) == ("sent", 3)
    assert (later_stat.state, later_stat.numRecipientsAdjusted, later_stat.numDelivered) == (
        "scheduled", 0, 0)
    assert abs(later_stat.sendStartTime - (now + dt.timedelta(days=2))) < dt.timedelta(seconds=1)
    (bc,) = by_period("BackclickStatistic", now - hour, now + hour)
    assert (bc.newsletterListName, bc.newsletterSubject, bc.newsletterListId) == ("Offers", "First", 2)
    assert (bc.sendedByInternalMta, bc.usedConversionTracking, bc.abTest) == (True, False, False)
    assert counts(bc, "numRecipientsUnadjusted", "numRecipientsAdjusted", "numSend",
                  "numDelivered") == {"numRecipientsUnadjusted": 3, "numRecipientsAdjusted": 3,
                                      "numSend": 3, "numDelivered": 3}


@pytest.mark.parametrize("operation", ["NewsletterStatistic", "BackclickStatistic"])
def test_statistics_of_an_unknown_list_is_a_fault(shared_server, operation):
    call = getattr(shared_server.zeep().service, operation)
    assert fault(call, mandatorId=1, apiKey=KEY, newsletterListId=9).message == \
        "Error getting Newsletter-List-ID"
    assert fault(call, mandatorId=1, apiKey=KEY).message == "Error getting Newsletter-List-ID"


def test_statistics_by_ids_in_request_order_without_unknown_ids(server, client):
    a = send(client, sub("both@example.de"), subject="A")
    b = send(client, sub("carla@example.de"), sub("emil@example.de"), subject="B")
    wait_sent(server, a), wait_sent(server, b)
    assert [(s.newsletterId, s.newsletterSubject, s.numDelivered)
            for s in newsletter_stats(client, b, 999, a)] == [(b, "B", 2), (a, "A", 1)]
    assert [s.newsletterId for s in backclick_stats(client, b, a)] == [b, a]
    # another mandator does not see them
    assert listed(client.service.NewsletterStatistic(mandatorId=2, apiKey="other-key-9876",
                                                    newsletterIds={"item": [a]})) == []


def event(server, mail_id, **body):
    status, answer, _ = server.post(f"_mock/outbox/{mail_id}/events", json.dumps(body).encode(),
                                    {"Content-Type": "application/json"})
    assert status == 201, answer
    return json.loads(answer)


def test_recorded_events_are_exactly_the_statistics(server, client):
    newsletter_id = send(client, sub("one@example.com"), sub("two@example.com"),
                         sub("three@example.com"))
    one, two, three = wait_sent(server, newsletter_id)
    event(server, one["id"], type="open")
    event(server, one["id"], type="open")
    event(server, two["id"], type="open")
    event(server, three["id"], type="bounce", bounce="hard")
    recorded = event(server, one["id"], type="click", url="https://shop.example/sale")
    assert recorded["type"] == "click" and recorded["detail"] == "https://shop.example/sale"
    (bc,) = backclick_stats(client, newsletter_id)
    assert counts(bc, "numSend", "numDelivered", "numOpened", "numUniqueOpened",
                  "numLinksClicked", "numUniqueClicks", "numHardBounces", "numSoftBounces",
                  "numUnsubscribes", "numComplaints", "numConversions") == {
        "numSend": 3, "numDelivered": 2, "numOpened": 3, "numUniqueOpened": 2,
        "numLinksClicked": 1, "numUniqueClicks": 1, "numHardBounces": 1, "numSoftBounces": 0,
        "numUnsubscribes": 0, "numComplaints": 0, "numConversions": 0}
    (stat,) = newsletter_stats(client, newsletter_id)
    assert (stat.numBounced, stat.numDelivered, stat.numRecipientsAdjusted) == (1, 2, 3)
    assert [e["type"] for e in server.json(f"_mock/outbox/{one['id']}")["events"]] == [
        "open", "open", "click"]


def test_following_tracked_links_records_clicks_opens_and_unsubscribes(server, client):
    newsletter_id = send_to_list(client, 1, templateId=40, subject="Monthly")
    mails = wait_sent(server, newsletter_id)
    carla = next(m for m in mails if m["to"] == "carla@example.de")
    offer, shop = carla["links"]["tracked"]
    assert f'href="{offer}"' in carla["html"] and f'href="{shop}"' in carla["html"]
    status, headers, _ = raw_get(server, offer)
    assert status == 302 and headers["Location"] == "https://shop.example/offer?id=1"
    status, headers, _ = raw_get(server, shop)
    assert status == 302 and headers["Location"] == "https://shop.example/"
    status, headers, _ = raw_get(server, offer)
    assert status == 302
    assert raw_get(server, offer[:-1] + "7")[0] == 404  # no link number 7
    status, headers, body = raw_get(server, carla["links"]["openPixel"])
    assert status == 200 and headers["Content-Type"] == "image/gif" and body.startswith(b"GIF89a")
    status, headers, body = raw_get(server, carla["links"]["unsubscribe"])
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"carla@example.de" in body
    assert memberships(server, "carla@example.de") == {1: 1}
    relation = client.service.getSubscriberToNewsletterListRelation(
        mandatorId=1, apiKey=KEY, newsletterListId=1, subscriberEmail="carla@example.de")
    assert [i.listStatus for i in items(relation.listInformations)] == [1]
    (bc,) = backclick_stats(client, newsletter_id)
    assert counts(bc, "numLinksClicked", "numUniqueClicks", "numOpened", "numUniqueOpened",
                  "numUnsubscribes") == {"numLinksClicked": 3, "numUniqueClicks": 1,
                                         "numOpened": 1, "numUniqueOpened": 1,
                                         "numUnsubscribes": 1}
    assert [(e["type"], e["detail"]) for e in server.json(f"_mock/outbox/{carla['id']}")["events"]] \
        == [("click", "https://shop.example/offer?id=1"), ("click", "https://shop.example/"),
            ("click", "https://shop.example/offer?id=1"), ("open", ""), ("unsubscribe", "")]
    assert raw_get(server, server.base_url + "bc/t/u/unknown")[0] == 404
    assert raw_get(server, server.base_url + "bc/t/c/unknown/0")[0] == 404
    # the next newsletter to the list no longer reaches her
    again = wait_sent(server, send_to_list(client, 1))
    assert "carla@example.de" not in [m["to"] for m in again]


def test_send_last_newsletter_to_a_new_subscriber(server, client):
    newsletter_id = send_to_list(client, 1, subject="Latest for $$FIRSTNAME$$ ($$EMAIL$$)",
                                 adhockInformation="Spring edition")
    wait_sent(server, newsletter_id)
    older = send_to_list(client, 1, subject="Future",
                         sendTime=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    assert save(client, sub("nora@example.com", [1, 2], {"FIRSTNAME": "Nora"}),
                sendLastNewsletter=True).responseCode == 0
    (mail,) = server.outbox(to="nora@example.com")
    assert mail["kind"] == "newsletter" and mail["newsletterId"] == newsletter_id != older
    assert mail["subject"] == "Latest for Nora (nora@example.com)" and mail["listId"] == 1
    assert "Hello Nora (nora@example.com)" in mail["html"] and "Spring edition" in mail["html"]
    assert mail["links"]["unsubscribe"] in mail["html"]
    # without the flag, or for a list with no newsletter yet, nothing is sent
    save(client, sub("olga@example.com", [1]))
    save(client, sub("paul@example.com", [2]), sendLastNewsletter=True)
    assert server.outbox(to="olga@example.com") == server.outbox(to="paul@example.com") == []
