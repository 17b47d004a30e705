"""The admin API's outbox and clock, and scheduled newsletters going out when the clock passes them."""
import datetime as dt
import json
import threading
import time

import pytest

from conftest import start_server
from test_backclick_newsletters import listed, send, send_to_list, state, wait_sent
from test_backclick_subscribers import KEY, sub
from test_backclick_transactions import transaction


def call(server, method, path, body=None):
    """An admin call with a JSON body; (status, decoded JSON)."""
    from conftest import http
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    status, answer, headers = http(method, server.base_url + path, data,
                                   {"Content-Type": "application/json"})
    assert headers["Content-Type"].startswith("application/json"), answer
    return status, json.loads(answer)


# -- outbox -------------------------------------------------------------------------------------

def test_outbox_filters(server, client):
    transaction(client, to="A@example.com", mailContent="one")
    status, answer = call(server, "GET", "_mock/clock")
    between = answer["now"]
    time.sleep(0.01)
    transaction(client, to="b@example.com", mailContent="two")
    other = client.service.createTransactionChannel(mandatorId=2, apiKey="other-key-9876")
    client.service.sendTransactionMail(mandatorId=2, apiKey="other-key-9876", channelId=other,
                                       subject="Special", mailContent="three",
                                       recipient={"emailAddress": "a@example.com"})
    wait_sent(server, send(client, sub("a@example.com"), newsletterContent="four"))
    texts = lambda mails: [m["text"] for m in mails]  # noqa: E731
    assert texts(server.outbox()) == ["one", "two", "three", "four"]
    assert texts(server.outbox(to="a@EXAMPLE.com")) == ["one", "three", "four"]
    assert texts(server.outbox(tenant="mandator-2")) == ["three"]
    assert texts(server.outbox(tenant="mandator-1", to="a@example.com")) == ["one", "four"]
    assert texts(server.outbox(kind="newsletter")) == ["four"]
    assert texts(server.outbox(kind="transaction", since=between.replace("+", "%2B"))) == [
        "two", "three"]
    assert texts(server.outbox(subject="special")) == ["three"]
    assert texts(server.outbox(limit=2)) == ["one", "two"]
    answer = server.json("_mock/outbox?kind=doi")
    assert answer == {"mails": [], "count": 0}
    for query, message in [("kind=spam", "Unknown kind 'spam'"), ("tenant=x", "Unknown tenant"),
                           ("since=yesterday", "'since' must be an ISO 8601 time"),
                           ("limit=many", "'limit' must be an integer")]:
        status, answer = call(server, "GET", "_mock/outbox?" + query)
        assert status == 400 and message in answer["error"]


def test_one_mail_and_its_eml(server, client):
    transaction(client, to="one@example.com", subject="Hello", mailContent="<p>Hi</p>")
    (listed_mail,) = server.outbox()
    mail = server.json(f"_mock/outbox/{listed_mail['id']}")
    assert mail == listed_mail
    assert mail["tenant"] == "mandator-1" and mail["kind"] == "transaction"
    assert mail["relay"] == {"state": None, "error": None} and mail["events"] == []
    status, body, headers = server.get(f"_mock/outbox/{mail['id']}.eml")
    assert status == 200 and b"Subject: Hello\r\n" in body and b"To: one@example.com" in body
    for path in ("_mock/outbox/999", "_mock/outbox/999.eml"):
        status, answer = call(server, "GET", path)
        assert status == 404 and answer == {"error": "No mail with id 999."}


def test_wait_returns_a_mail_that_arrives_while_it_waits(server, client):
    answer = {}

    def waiting():
        answer["result"] = call(server, "GET", "_mock/outbox/wait?to=late@example.com&timeout=20")

    thread = threading.Thread(target=waiting)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive()
    transaction(client, to="other@example.com")
    transaction(client, to="late@example.com", subject="Finally")
    thread.join(25)
    status, mail = answer["result"]
    assert status == 200 and mail["to"] == "late@example.com" and mail["subject"] == "Finally"


def test_wait_times_out_with_408(server):
    started = time.monotonic()
    status, answer = call(server, "GET", "_mock/outbox/wait?to=nobody@example.com&timeout=0.5")
    assert status == 408 and answer == {"error": "No matching mail arrived within 0.5 s."}
    assert 0.4 < time.monotonic() - started < 5
    status, answer = call(server, "GET", "_mock/outbox/wait?timeout=soon")
    assert status == 400 and "timeout" in answer["error"]


def test_wait_by_subject(server, client):
    transaction(client, to="x@example.com", subject="Order 17 shipped")
    status, mail = call(server, "GET", "_mock/outbox/wait?subject=Order%2017&timeout=1")
    assert status == 200 and mail["to"] == "x@example.com"


@pytest.mark.parametrize("body, status, message", [
    ({"type": "view"}, 400, "Unknown event type 'view'"),
    ({}, 400, "Unknown event type ''"),
    ({"type": "bounce"}, 400, "A bounce is 'hard' or 'soft'."),
    ({"type": "bounce", "bounce": "medium"}, 400, "A bounce is 'hard' or 'soft'."),
    (b"not json", 400, "The request body is not JSON"),
    (b"[1]", 400, "The request body must be a JSON object."),
])
def test_event_validation(server, client, body, status, message):
    transaction(client)
    (mail,) = server.outbox()
    got, answer = call(server, "POST", f"_mock/outbox/{mail['id']}/events", body)
    assert got == status and message in answer["error"]
    assert server.json(f"_mock/outbox/{mail['id']}")["events"] == []


def test_events_of_an_unknown_mail(server):
    status, answer = call(server, "POST", "_mock/outbox/999/events", {"type": "open"})
    assert status == 404 and answer == {"error": "No mail with id 999."}


def test_complaint_and_soft_bounce_are_counted(server, client):
    newsletter_id = send(client, sub("c@example.com"), sub("d@example.com"))
    c, d = wait_sent(server, newsletter_id)
    assert call(server, "POST", f"_mock/outbox/{c['id']}/events", {"type": "complaint"})[0] == 201
    assert call(server, "POST", f"_mock/outbox/{d['id']}/events",
                {"type": "bounce", "bounce": "soft"})[0] == 201
    (bc,) = listed(client.service.BackclickStatistic(mandatorId=1, apiKey=KEY,
                                                     newsletterIds={"item": [newsletter_id]}))
    assert (bc.numComplaints, bc.numSoftBounces, bc.numHardBounces, bc.numDelivered) == (1, 1, 0, 1)


def test_unsubscribe_event_acts_on_the_subscriber(server, client):
    newsletter_id = send_to_list(client, 2)
    mails = wait_sent(server, newsletter_id)
    emil = next(m for m in mails if m["to"] == "emil@example.de")
    assert call(server, "POST", f"_mock/outbox/{emil['id']}/events", {"type": "unsubscribe"})[0] == 201
    assert server.rows("SELECT m.list_id, m.status FROM memberships m JOIN subscribers s ON "
                       "s.id=m.subscriber_id WHERE s.email_key='emil@example.de'") == [
        {"list_id": 2, "status": 1}]


# -- clock ---------------------------------------------------------------------------------------

def parse(text):
    return dt.datetime.fromisoformat(text)


def test_clock_runs_in_real_time_by_default(server):
    answer = server.json("_mock/clock")
    assert answer["frozen"] is False
    assert abs(parse(answer["now"]) - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(seconds=5)


def test_clock_set_freeze_advance_release(server):
    status, answer = call(server, "PUT", "_mock/clock", {"now": "2030-01-01T10:00:00Z",
                                                         "frozen": True})
    assert status == 200 and answer["frozen"] is True
    assert parse(answer["now"]) == dt.datetime(2030, 1, 1, 10, tzinfo=dt.timezone.utc)
    time.sleep(0.05)
    assert server.json("_mock/clock")["now"] == answer["now"]
    status, answer = call(server, "POST", "_mock/clock/advance", {"seconds": 90})
    assert status == 200 and answer["frozen"] is True and answer["newslettersSent"] == 0
    assert parse(answer["now"]) == dt.datetime(2030, 1, 1, 10, 1, 30, tzinfo=dt.timezone.utc)
    status, answer = call(server, "PUT", "_mock/clock", {"frozen": False})
    assert answer["frozen"] is False
    time.sleep(0.05)
    later = server.json("_mock/clock")
    assert parse(later["now"]) > dt.datetime(2030, 1, 1, 10, 1, 30, tzinfo=dt.timezone.utc)
    assert parse(later["now"]) < dt.datetime(2030, 1, 1, 10, 2, tzinfo=dt.timezone.utc)
    status, answer = call(server, "DELETE", "_mock/clock")  # back to real time
    assert status == 200 and answer["frozen"] is False and abs(answer["offsetSeconds"]) < 1
    assert abs(parse(answer["now"]) - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(seconds=5)
    assert "clock" not in server.json("_mock/export")


@pytest.mark.parametrize("method, path, body, message", [
    ("PUT", "_mock/clock", {"now": "tomorrow"}, "'now' must be an ISO 8601 time"),
    ("PUT", "_mock/clock", {"frozen": "yes"}, "'frozen' must be true or false."),
    ("POST", "_mock/clock/advance", {}, "'seconds' must be a number of seconds, 0 or more."),
    ("POST", "_mock/clock/advance", {"seconds": -5}, "'seconds' must be a number"),
    ("POST", "_mock/clock/advance", {"seconds": "10"}, "'seconds' must be a number"),
])
def test_clock_validation(shared_server, method, path, body, message):
    before = shared_server.json("_mock/clock")["frozen"]
    status, answer = call(shared_server, method, path, body)
    assert status == 400 and message in answer["error"]
    assert shared_server.json("_mock/clock")["frozen"] == before


def test_scheduled_newsletter_goes_out_when_the_clock_passes_it(server, client):
    send_time = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    newsletter_id = send_to_list(client, 2, sendTime=send_time, subject="Later")
    time.sleep(0.6)  # the background sender runs several rounds meanwhile
    (stat,) = listed(client.service.NewsletterStatistic(mandatorId=1, apiKey=KEY,
                                                        newsletterIds={"item": [newsletter_id]}))
    assert stat.state == "scheduled" and stat.numDelivered == 0
    assert server.outbox(newsletter=newsletter_id) == []
    status, answer = call(server, "POST", "_mock/clock/advance", {"seconds": 1800})
    assert answer["newslettersSent"] == 0 and state(server, newsletter_id) == "scheduled"
    status, answer = call(server, "POST", "_mock/clock/advance", {"seconds": 1801})
    assert status == 200 and answer["newslettersSent"] == 1
    # sent by the time advance answers
    assert state(server, newsletter_id) == "sent"
    assert sorted(m["to"] for m in server.outbox(newsletter=newsletter_id)) == [
        "both@example.de", "dieter@example.de", "emil@example.de"]
    (stat,) = listed(client.service.NewsletterStatistic(mandatorId=1, apiKey=KEY,
                                                        newsletterIds={"item": [newsletter_id]}))
    assert stat.state == "sent" and stat.numDelivered == 3


def test_scheduled_newsletter_with_a_frozen_clock(server, client):
    call(server, "PUT", "_mock/clock", {"now": "2030-06-01T08:00:00+00:00", "frozen": True})
    newsletter_id = send(client, sub("both@example.de"), subject="At noon",
                         sendTime=dt.datetime(2030, 6, 1, 12, tzinfo=dt.timezone.utc))
    time.sleep(0.5)
    assert state(server, newsletter_id) == "scheduled" and server.outbox() == []
    call(server, "PUT", "_mock/clock", {"now": "2030-06-01T11:59:59Z"})
    time.sleep(0.5)
    assert state(server, newsletter_id) == "scheduled"
    status, answer = call(server, "POST", "_mock/clock/advance", {"seconds": 1})
    assert answer["newslettersSent"] == 1
    (mail,) = server.outbox(newsletter=newsletter_id)
    assert parse(mail["created"].replace("Z", "+00:00")) == dt.datetime(
        2030, 6, 1, 12, tzinfo=dt.timezone.utc)
    (stat,) = listed(client.service.NewsletterStatistic(mandatorId=1, apiKey=KEY,
                                                        newsletterIds={"item": [newsletter_id]}))
    assert stat.state == "sent"
    assert stat.sendStartTime == dt.datetime(2030, 6, 1, 12, tzinfo=dt.timezone.utc)
    # a newsletter without sendTime goes out at the frozen "now"
    now_id = send(client, sub("carla@example.de"))
    (mail,) = wait_sent(server, now_id)
    assert mail["created"].startswith("2030-06-01T12:00:00")


def test_putting_the_clock_past_a_send_time_sends(server, client):
    newsletter_id = send(client, sub("both@example.de"),
                         sendTime=dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc))
    status, answer = call(server, "PUT", "_mock/clock", {"now": "2031-01-01T00:00:01Z"})
    assert status == 200 and answer["newslettersSent"] == 1
    assert state(server, newsletter_id) == "sent"
    assert len(server.outbox(newsletter=newsletter_id)) == 1


def test_clock_survives_a_restart(tmp_path):
    first = start_server(tmp_path)
    try:
        call(first, "PUT", "_mock/clock", {"now": "2029-02-03T04:05:06Z", "frozen": True})
    finally:
        first.stop()
    second = start_server(tmp_path, db=first.db_path)
    try:
        answer = second.json("_mock/clock")
        assert answer["frozen"] is True
        assert parse(answer["now"]) == dt.datetime(2029, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
    finally:
        second.stop()
