"""The web UI under /_mock/ui/: pages after data made over SOAP, forms that change the store,
the CSRF rule, the login with an admin token, the loopback rule, escaping and error pages."""
import datetime as dt
import email
import email.policy
import html
import http.server
import json
import re
import threading
import time

import pytest
import requests
import zeep

from conftest import start_server
from copernica_harness import Api, copernica_server, pairs
from test_backclick_newsletters import send_to_list, state
from test_backclick_subscribers import KEY, save, sub
from test_backclick_transactions import channel, transaction

PDF = b"%PDF-1.4\x00\xff binary \r\n bytes"


def page(server, path: str, **kwargs) -> requests.Response:
    """GET a UI path (not following redirects)."""
    return requests.get(server.base_url + "_mock/ui/" + path, allow_redirects=False,
                        timeout=30, **kwargs)


def submit(server, path: str, data: dict, origin: str | None = "same", **kwargs):
    """POST a UI form as the UI's own page would: with this server as its Origin
    (``origin`` None: no Origin header; any other value: that Origin)."""
    headers = dict(kwargs.pop("headers", {}))
    if origin == "same":
        headers["Origin"] = server.base_url.rstrip("/")
    elif origin is not None:
        headers["Origin"] = origin
    return requests.post(server.base_url + "_mock/ui/" + path, data=data, headers=headers,
                         allow_redirects=False, timeout=30, **kwargs)


def is_ui_page(response: requests.Response) -> bool:
    """True for an HTML page of the UI (its navigation or its login), never a traceback."""
    return response.headers["Content-Type"] == "text/html; charset=utf-8" and \
        "mockserver" in response.text and "Traceback" not in response.text


def mail_with_attachment(client) -> int:
    """A transaction mail to Anna with an HTML and a text part, a link and two attachments."""
    return transaction(
        client, to="Anna.Schmidt@example.de", channelId=channel(client, channelName="Orders"),
        subject="Order for $$FIRSTNAME$$", senderEmail="orders@shop.example",
        senderName="Shop Orders", replyTo="help@shop.example",
        mailContent='<html><head><title>t</title></head><body><p>Dear $$FIRSTNAME$$</p>'
                    '<a href="https://shop.example/orders/1">Your order</a>'
                    '<script>document.title="ran"</script></body></html>',
        alternativeMailContent="Dear $$FIRSTNAME$$, see https://shop.example/orders/1",
        attachments={"item": [{"name": "invoice.pdf", "data": PDF},
                              {"name": "terms.txt", "data": "Terms – ü".encode()}]})


# -- start --------------------------------------------------------------------------------------

def test_the_ready_lines_url_links_the_ui(server):
    ready_url = server.ready_line.split()[3]  # "mockserver ready on URL ..."
    front = requests.get(ready_url, headers={"Accept": "text/html"}, timeout=30)
    [ui_url] = re.findall(r"href='([^']*/_mock/ui/)'", front.text)
    assert ui_url == f"{server.base_url}_mock/ui/"
    answer = requests.get(ui_url, timeout=30)
    assert answer.status_code == 200 and is_ui_page(answer)
    for section in ("Inbox", "Journal", "Tenants &amp; data", "Callbacks", "Clock", "Faults"):
        assert f">{section}</a>" in answer.text
    assert page(server, "../ui").status_code == 200  # /_mock/ui without the slash
    style = page(server, "ui.css")
    assert style.status_code == 200 and style.headers["Content-Type"].startswith("text/css")


# -- inbox ----------------------------------------------------------------------------------------

def test_a_transaction_mail_in_the_inbox_with_its_parts_and_attachments(server, client):
    mail_id = mail_with_attachment(client)
    transaction(client, to="other@example.com", subject="Second mail")
    inbox = page(server, "")
    assert inbox.status_code == 200 and is_ui_page(inbox)
    assert inbox.text.index("Second mail") < inbox.text.index("Order for Anna")  # newest first
    assert f'href="/_mock/ui/outbox/{mail_id}"' in inbox.text
    assert "Anna.Schmidt@example.de" in inbox.text and "transaction" in inbox.text
    filtered = page(server, "", params={"to": "other@example.com"}).text
    assert "Second mail" in filtered and "Order for Anna" not in filtered
    assert "Order for Anna" not in page(server, "", params={"kind": "doi"}).text

    mail = page(server, f"outbox/{mail_id}")
    assert mail.status_code == 200 and is_ui_page(mail)
    text = mail.text
    for header in ("From</th><td>Shop Orders &lt;orders@shop.example&gt;",
                   "To</th><td>Anna.Schmidt@example.de", "Reply-To</th><td>help@shop.example",
                   "Subject</th><td>Order for Anna", "List-Unsubscribe</th><td>&lt;http"):
        assert header in text
    frame = re.search(r"<iframe[^>]*>", text).group(0)
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in frame
    assert "allow-scripts" not in frame and "allow-same-origin" not in frame
    assert f'src="/_mock/ui/outbox/{mail_id}/html"' in frame
    assert "Dear Anna</p>" not in text  # the mail's HTML is never part of the UI's page
    assert '<pre class="text-part">Dear Anna, see https://shop.example/orders/1</pre>' in text

    part = page(server, f"outbox/{mail_id}/html")
    policy = part.headers["Content-Security-Policy"]
    assert part.status_code == 200 and policy.startswith("sandbox allow-popups ")
    assert "allow-scripts" not in policy and "allow-same-origin" not in policy
    assert "<p>Dear Anna</p>" in part.text and '<base target="_blank">' in part.text
    assert "/bc/t/c/" in part.text and "/bc/t/o/" not in part.text  # tracked; no open pixel

    links = re.findall(r'href="(/_mock/ui/outbox/\d+/attachments/\d+)" download="([^"]+)"', text)
    assert [name for _, name in links] == ["invoice.pdf", "terms.txt"]
    download = requests.get(server.base_url + links[0][0].lstrip("/"), timeout=30)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == 'attachment; filename=invoice.pdf'
    assert requests.get(server.base_url + links[1][0].lstrip("/"),
                        timeout=30).content == "Terms – ü".encode()
    assert page(server, f"outbox/{mail_id}/attachments/2").status_code == 404

    eml = page(server, f"outbox/{mail_id}.eml")
    assert eml.status_code == 200 and eml.headers["Content-Type"] == "message/rfc822"
    message = email.message_from_bytes(eml.content, policy=email.policy.default)
    admin = email.message_from_bytes(server.get(f"_mock/outbox/{mail_id}.eml")[1],
                                     policy=email.policy.default)
    assert message["Subject"] == admin["Subject"] == "Order for Anna"  # the admin API's .eml
    assert [(p.get_content_type(), p.get_payload(decode=True)) for p in message.walk()] == \
        [(p.get_content_type(), p.get_payload(decode=True)) for p in admin.walk()]
    assert [(p.get_filename(), p.get_payload(decode=True)) for p in message.iter_attachments()] \
        == [("invoice.pdf", PDF), ("terms.txt", "Terms – ü".encode())]


def test_a_tracked_link_of_the_mail_page_records_a_click(server, client):
    mail_id = mail_with_attachment(client)
    text = page(server, f"outbox/{mail_id}").text
    (tracked,) = re.findall(r'<a href="(http://[^"]+/bc/t/c/[^"]+)" target="_blank"', text)
    assert "https://shop.example/orders/1" in text
    assert server.rows("SELECT * FROM mail_events") == []  # looking at the mail is not opening it
    answer = requests.get(tracked, allow_redirects=False, timeout=30)
    assert answer.status_code == 302 and answer.headers["Location"] == "https://shop.example/orders/1"
    assert [(e["mail_id"], e["type"], e["detail"]) for e in server.rows(
        "SELECT * FROM mail_events")] == [(mail_id, "click", "https://shop.example/orders/1")]
    events = page(server, f"outbox/{mail_id}").text.split("<h2>Events</h2>")[1]
    assert '<span class="badge event">click</span>' in events


def test_event_buttons_record_events(server, client):
    mail_id = mail_with_attachment(client)
    for data in ({"type": "open"}, {"type": "bounce", "bounce": "hard"}, {"type": "complaint"},
                 {"type": "unsubscribe"}):
        answer = submit(server, f"outbox/{mail_id}/events", dict(data, tenant="mandator-1"))
        assert answer.status_code == 303
        assert answer.headers["Location"] == f"/_mock/ui/outbox/{mail_id}?tenant=mandator-1"
    assert [(e["type"], e["detail"]) for e in server.rows(
        "SELECT type, detail FROM mail_events ORDER BY id")] == [
        ("open", ""), ("bounce", "hard"), ("complaint", ""), ("unsubscribe", "")]
    assert [e["type"] for e in server.json(f"_mock/outbox/{mail_id}")["events"]] == [
        "open", "bounce", "complaint", "unsubscribe"]
    refused = submit(server, f"outbox/{mail_id}/events", {"type": "bounce", "bounce": "medium"})
    assert refused.status_code == 400 and is_ui_page(refused)
    assert "A bounce is &#39;hard&#39; or &#39;soft&#39;." in refused.text
    assert submit(server, "outbox/999/events", {"type": "open"}).status_code == 404
    assert len(server.rows("SELECT * FROM mail_events")) == 4


def test_the_tenant_selector_filters_the_inbox(server, client):
    transaction(client, to="one@example.com", subject="From mandator one")
    other = client.service.createTransactionChannel(mandatorId=2, apiKey="other-key-9876")
    client.service.sendTransactionMail(mandatorId=2, apiKey="other-key-9876", channelId=other,
                                       subject="From mandator two", mailContent="two",
                                       recipient={"emailAddress": "two@example.com"})
    text = page(server, "", params={"tenant": "mandator-2"}).text
    assert "From mandator two" in text and "From mandator one" not in text
    assert '<option value="mandator-2" selected>' in text
    assert 'href="/_mock/ui/journal?tenant=mandator-2"' in text  # the nav keeps the tenant
    account = page(server, "", params={"tenant": "account-1"}).text
    assert "From mandator" not in account and "mails belong to BACKCLICK mandators" in account


# -- journal --------------------------------------------------------------------------------------

def test_the_journal_shows_exchanges_with_raw_envelopes_and_masked_keys(server, client):
    client.service.getSubscribers(mandatorId=1, apiKey=KEY,
                                  emailAddresses={"item": ["anna.schmidt@example.de"]})
    with pytest.raises(zeep.exceptions.Fault):
        client.service.getSubscribers(mandatorId=1, apiKey="wrong-key-5678",
                                      emailAddresses={"item": ["x@example.com"]})
    listing = page(server, "journal")
    assert listing.status_code == 200 and is_ui_page(listing)
    assert "shop-key-1234" not in listing.text
    rows = re.findall(r'<tr(?: class="failed")?>\s*<td class="num"><a href="/_mock/ui/journal/'
                      r'(\d+)">', listing.text)
    first, second = server.json("_mock/journal")["exchanges"]
    assert rows == [str(second["id"]), str(first["id"])]  # newest first
    assert "Invalid API key." in listing.text and 'class="failed"' in listing.text
    assert page(server, "journal", params={"operation": "saveOrCreateSubscriber"}).text.count(
        'href="/_mock/ui/journal/') == 0

    exchange = page(server, f"journal/{first['id']}")
    assert exchange.status_code == 200 and is_ui_page(exchange)
    assert "shop-key-1234" not in exchange.text
    assert "<code>********1234</code>" in exchange.text
    request_pre, response_pre = re.findall(r'<pre class="code xml">(.*?)</pre>', exchange.text,
                                           re.S)
    request_xml = html.unescape(request_pre)
    assert ":apiKey>********1234</" in request_xml and "\n  <" in request_xml  # indented
    assert "<tns:subscriberEmail>Anna.Schmidt@example.de</tns:subscriberEmail>" in \
        html.unescape(response_pre)
    assert "&#34;mandatorId&#34;: &#34;1&#34;" in exchange.text  # the parsed arguments
    failed = page(server, f"journal/{second['id']}").text
    assert "wrong-key-5678" not in failed and "********5678" in failed
    assert "Invalid API key." in failed
    missing = page(server, "journal/99999")
    assert missing.status_code == 404 and is_ui_page(missing)


# -- tenants and their data -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cop(tmp_path_factory):
    """A server with the BACKCLICK and Copernica fixtures, for the read-only data pages."""
    running = copernica_server(tmp_path_factory.mktemp("ui-data"))
    yield running
    running.stop()


def test_mandator_page_lists_lists_and_subscribers(cop):
    client = cop.zeep()
    save(client, sub("New.Person@example.com", [2], {"FIRSTNAME": "Nora", "CITY": "Essen"}))
    overview = page(cop, "tenants")
    assert overview.status_code == 200 and 'href="/_mock/ui/mandators/1">Shop</a>' in overview.text
    mandator = page(cop, "mandators/1")
    assert mandator.status_code == 200 and is_ui_page(mandator)
    text = mandator.text
    assert "<td>Newsletter</td><td>Weekly news</td>" in text
    row = re.search(r"<td>New\.Person@example\.com</td>.*?</tr>", text, re.S).group(0)
    assert "2: subscribed" in row and "<dt>FIRSTNAME</dt><dd>Nora</dd>" in row
    assert "<dt>CITY</dt><dd>Essen</dd>" in row
    anna = re.search(r"<td>Anna\.Schmidt@example\.de</td>.*?</tr>", text, re.S).group(0)
    assert "1: subscribed" in anna
    found = page(cop, "mandators/1", params={"q": "NEW.person"}).text
    assert "New.Person@example.com" in found and "Anna.Schmidt@example.de" not in found
    assert "1 in all." in found
    assert page(cop, "mandators/1", params={"page": "9"}).status_code == 404
    assert page(cop, "mandators/1", params={"page": "x"}).status_code == 400
    assert page(cop, "mandators/999").status_code == 404


def test_mandator_subscribers_are_paged(cop):
    client = cop.zeep()
    save(client, *[sub(f"paged{i:02}@bulk.example", [1]) for i in range(60)])
    first = page(cop, "mandators/1", params={"q": "@bulk.example"}).text
    second = page(cop, "mandators/1", params={"q": "@bulk.example", "page": "2"}).text
    assert "page 1 of 2 (60 in all)" in first and "page 2 of 2 (60 in all)" in second
    assert first.count("@bulk.example</td>") == 50 and second.count("@bulk.example</td>") == 10
    assert "paged00@" in first and "paged59@" in second and "paged59@" not in first
    assert 'href="/_mock/ui/mandators/1?page=2&amp;q=%40bulk.example"' in first


def test_account_database_and_collection_pages_list_profiles(cop):
    api = Api(cop)
    customers = api("Account_database", identifier="Customers").database.id
    zoe = api("Database_createProfile", id=customers,
              fields=pairs({"Email": "zoe@example.com", "FirstName": "Zoë", "City": "Utrecht"}))
    api("Profile_updateInterests", id=zoe.profile.id, interests={"item": ["tennis"]})
    account = page(cop, "accounts/1")
    assert account.status_code == 200 and is_ui_page(account)
    assert f'href="/_mock/ui/accounts/1/databases/{customers}">Customers</a>' in account.text
    database = page(cop, f"accounts/1/databases/{customers}")
    assert database.status_code == 200
    zoe = re.search(r"<dd>zoe@example\.com</dd>.*?</tr>", database.text, re.S).group(0)
    assert "<dt>FirstName</dt><dd>Zoë</dd>" in zoe and '<span class="badge">tennis</span>' in zoe
    anna = re.search(r"<dd>anna@example\.com</dd>.*?</tr>", database.text, re.S).group(0)
    assert '<span class="badge">football</span>' in anna
    orders = re.search(r'href="/_mock/ui/accounts/1/collections/(\d+)">Orders</a>',
                       database.text).group(1)
    collection = page(cop, f"accounts/1/collections/{orders}")
    assert collection.status_code == 200
    assert "<dt>Product</dt><dd>Bike</dd>" in collection.text
    assert page(cop, "accounts/1/databases/9999").status_code == 404
    assert page(cop, "accounts/999").status_code == 404


def test_the_tenants_page_lists_tenants_and_filters_by_one(cop):
    status, body, _ = cop.post("_mock/tenants?name=ui-tenant", b"")
    assert status == 201
    made = json.loads(body)
    mandator_id = made["backclick"]["mandatorId"]
    everything = page(cop, "tenants").text
    assert "<td>ui-tenant</td>" in everything and ">mandator-1</a>" in everything
    only = page(cop, "tenants", params={"tenant": "ui-tenant"}).text
    assert "<td>ui-tenant</td>" in only
    assert f'href="/_mock/ui/mandators/{mandator_id}?tenant=ui-tenant"' in only
    assert not re.search(r'href="/_mock/ui/mandators/1[?"]', only)
    unknown = page(cop, "tenants", params={"tenant": "nobody"})
    assert unknown.status_code == 400 and "Unknown tenant &#39;nobody&#39;" in unknown.text


# -- callbacks ------------------------------------------------------------------------------------

class _Receiver(http.server.BaseHTTPRequestHandler):
    """A callback receiver that accepts every delivery with a 204."""

    def do_POST(self):  # noqa: N802 - the handler's name
        """Read the delivery, answer 204."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        """Quiet."""


def test_the_callbacks_page_shows_deliveries_and_their_attempts(tmp_path):
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    running = copernica_server(tmp_path)
    try:
        api = Api(running)
        customers = api("Account_database", identifier="Customers").database.id
        hook = f"http://127.0.0.1:{receiver.server_port}/hook"
        api("Database_createCallback", id=customers, url=hook)
        api("Database_createProfile", id=customers, fields=pairs({"Email": "cb@example.com"}))
        answer = submit(running, "callbacks/flush", {})
        assert answer.status_code == 303 and answer.headers["Location"] == "/_mock/ui/callbacks"
        deliveries = page(running, "callbacks")
        assert deliveries.status_code == 200 and is_ui_page(deliveries)
        assert f'<td class="url">{hook}</td>' in deliveries.text
        assert '<span class="badge state-delivered">delivered</span>' in deliveries.text
        assert "1 attempt</summary>" in deliveries.text and "<td>204</td>" in deliveries.text
        assert "cb%40example.com" in deliveries.text  # the body, form-encoded JSON
        assert "No callback deliveries" in page(running, "callbacks",
                                                params={"state": "failed"}).text
        assert page(running, "callbacks", params={"state": "lost"}).status_code == 400
    finally:
        running.stop()
        receiver.shutdown()


# -- clock ----------------------------------------------------------------------------------------

def test_the_clock_forms_move_the_clock_and_send_what_fell_due(server, client):
    before = dt.datetime.fromisoformat(server.json("_mock/clock")["now"])
    newsletter_id = send_to_list(client, 2, subject="Tomorrow",
                                 sendTime=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    assert state(server, newsletter_id) == "scheduled"
    answer = submit(server, "clock", {"action": "advance", "amount": "2", "unit": "days"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/_mock/ui/clock?sent=1&attempts=0"
    assert state(server, newsletter_id) == "sent"
    moved = dt.datetime.fromisoformat(server.json("_mock/clock")["now"])
    assert dt.timedelta(days=2) <= moved - before < dt.timedelta(days=2, minutes=1)
    shown = page(server, "clock?sent=1&attempts=0").text
    assert "1 newsletter sent" in shown and '<span class="badge running">running</span>' in shown

    assert submit(server, "clock", {"action": "set", "now": "2030-01-02T03:04:05",
                                    "frozen": "1"}).status_code == 303
    clock = server.json("_mock/clock")
    assert (clock["now"], clock["frozen"]) == ("2030-01-02T03:04:05.000+00:00", True)
    assert "2030-01-02T03:04:05.000+00:00" in page(server, "clock").text
    assert submit(server, "clock", {"action": "release"}).status_code == 303
    assert server.json("_mock/clock")["frozen"] is False
    assert submit(server, "clock", {"action": "freeze"}).status_code == 303
    assert server.json("_mock/clock")["frozen"] is True
    assert submit(server, "clock", {"action": "real"}).status_code == 303
    real = server.json("_mock/clock")
    assert real["frozen"] is False and abs(real["offsetSeconds"]) < 5
    for data in ({"action": "advance", "amount": "-1"}, {"action": "advance", "amount": "soon"},
                 {"action": "set", "now": "tomorrow"}, {"action": "rewind"}):
        refused = submit(server, "clock", data)
        assert refused.status_code == 400 and is_ui_page(refused)
    assert abs(server.json("_mock/clock")["offsetSeconds"]) < 5


# -- faults ---------------------------------------------------------------------------------------

def test_the_fault_form_adds_a_rule_that_fails_calls_and_delete_removes_it(server, client):
    answer = submit(server, "faults", {"dialect": "backclick", "operation": "getSubscribers",
                                       "tenant_rule": "mandator-1", "effect": "fault",
                                       "fault": "Temporary failure, please try again later.",
                                       "faultcode": "Server"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/_mock/ui/faults"
    (rule,) = server.json("_mock/faults")["rules"]
    assert rule == {"id": rule["id"], "dialect": "backclick", "operation": "getSubscribers",
                    "tenant": "mandator-1", "fault": "Temporary failure, please try again later.",
                    "calls": 0}
    with pytest.raises(zeep.exceptions.Fault) as info:
        client.service.getSubscribers(mandatorId=1, apiKey=KEY,
                                      emailAddresses={"item": ["x@example.com"]})
    assert info.value.message == "Temporary failure, please try again later."
    listing = page(server, "faults").text
    row = re.search(rf'<td class="num">{rule["id"]}</td>.*?</tr>', listing, re.S).group(0)
    assert "<td>getSubscribers</td>" in row and '<td class="num">1</td>' in row  # one call
    assert submit(server, f"faults/{rule['id']}/delete", {}).status_code == 303
    assert server.json("_mock/faults")["rules"] == []
    assert client.service.getSubscribers(mandatorId=1, apiKey=KEY, emailAddresses={
        "item": ["x@example.com"]})[0].status == -1
    assert submit(server, f"faults/{rule['id']}/delete", {}).status_code == 404

    assert submit(server, "faults", {"effect": "status", "status": "503", "times": "2"}
                  ).status_code == 303
    assert [(r["status"], r["remaining"]) for r in server.json("_mock/faults")["rules"]] == [
        (503, 2)]
    assert submit(server, "faults/delete", {}).status_code == 303
    assert server.json("_mock/faults")["rules"] == []


def test_a_wrong_rule_is_shown_with_its_reason_and_not_stored(server):
    for data, reason in [
            ({"effect": "status", "status": "999"}, "&#39;status&#39; must be an integer from 100"),
            ({"effect": "fault", "fault": "x", "times": "2", "probability": "0.5"},
             "Give &#39;times&#39; or &#39;probability&#39;, not both."),
            ({"effect": "fault", "fault": "x", "tenant_rule": "nobody"}, "Unknown tenant"),
            ({"effect": "fault", "fault": "x", "times": "two"}, "&#39;times&#39; must be an integer"),
            ({"effect": "fault", "fault": "", "operation": "keepMe"}, "needs a fault string")]:
        answer = submit(server, "faults", data)
        assert answer.status_code == 400 and is_ui_page(answer)
        assert reason in answer.text
    assert 'name="operation" type="text" value="keepMe"' in answer.text  # the form as sent
    assert server.json("_mock/faults")["rules"] == []


def test_maintenance_is_switched_on_and_off(server, client):
    assert submit(server, "faults/maintenance", {"maintenance": "on", "fault": "Back soon."}
                  ).status_code == 303
    assert server.json("_mock/faults")["maintenanceFault"] == "Back soon."
    with pytest.raises(zeep.exceptions.Fault) as info:
        client.service.getSubscribers(mandatorId=1, apiKey=KEY,
                                      emailAddresses={"item": ["x@example.com"]})
    assert info.value.message == "Back soon."
    assert "Maintenance: on" in page(server, "faults").text
    assert submit(server, "faults/maintenance", {"maintenance": "off"}).status_code == 303
    assert server.json("_mock/faults")["maintenance"] is False


# -- the CSRF rule --------------------------------------------------------------------------------

def test_a_form_sent_from_elsewhere_is_refused_and_changes_nothing(server, client):
    mail_id = mail_with_attachment(client)
    clock_before = server.rows("SELECT value FROM meta WHERE key='clock_state'")
    forms = [(f"outbox/{mail_id}/events", {"type": "open"}),
             ("faults", {"effect": "fault", "fault": "CSRF"}),
             ("faults/maintenance", {"maintenance": "on"}),
             ("clock", {"action": "advance", "amount": "3", "unit": "days"}),
             ("callbacks/flush", {})]
    for path, data in forms:
        for origin, headers in [(None, {}), ("http://evil.example", {}), ("null", {}),
                                (None, {"Referer": "http://evil.example/page"}),
                                (server.base_url.rstrip("/") + ".evil.example", {})]:
            answer = submit(server, path, data, origin=origin, headers=headers)
            assert answer.status_code == 403, (path, origin, headers)
            assert is_ui_page(answer) and "Origin (or Referer)" in answer.text
    assert server.rows("SELECT * FROM mail_events") == []
    assert server.rows("SELECT * FROM fault_rules") == []
    assert server.rows("SELECT * FROM meta WHERE key='maintenance'") == []
    assert server.rows("SELECT value FROM meta WHERE key='clock_state'") == clock_before
    # the UI's own page without an Origin header: its Referer names this host
    answer = submit(server, f"outbox/{mail_id}/events", {"type": "open"}, origin=None,
                    headers={"Referer": f"{server.base_url}_mock/ui/outbox/{mail_id}"})
    assert answer.status_code == 303
    assert [e["type"] for e in server.rows("SELECT type FROM mail_events")] == ["open"]


# -- the admin token, the login and the loopback rule -----------------------------------------------

def test_with_an_admin_token_the_ui_needs_a_login(tmp_path):
    running = start_server(tmp_path, "--admin-token", "s3cret-token")
    try:
        answer = page(running, "journal?operation=getSubscribers")
        assert answer.status_code == 303
        assert answer.headers["Location"] == \
            "/_mock/ui/login?next=%2F_mock%2Fui%2Fjournal%3Foperation%3DgetSubscribers"
        login = page(running, "login?next=/_mock/ui/journal")
        assert login.status_code == 200 and 'type="password"' in login.text
        assert "Shop" not in login.text and "mandator-1" not in login.text  # nothing before login
        assert page(running, "ui.css").status_code == 200
        assert submit(running, "faults", {"effect": "fault", "fault": "x"}).status_code == 401

        wrong = submit(running, "login", {"token": "guess", "next": "/_mock/ui/"})
        assert wrong.status_code == 401 and "That is not the admin token." in wrong.text
        assert "Set-Cookie" not in wrong.headers
        assert submit(running, "login", {"token": "s3cret-token"},
                      origin="http://evil.example").status_code == 403
        good = submit(running, "login", {"token": "s3cret-token", "next": "/_mock/ui/journal"})
        assert good.status_code == 303 and good.headers["Location"] == "/_mock/ui/journal"
        cookie = good.headers["Set-Cookie"]
        name, value = cookie.split(";")[0].split("=", 1)
        attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
        assert name == "mockserver_ui" and value and "s3cret-token" not in value
        assert {"httponly", "samesite=strict", "path=/_mock/ui/"} <= attributes

        jar = {name: value}
        inbox = page(running, "", cookies=jar)
        assert inbox.status_code == 200 and "Log out" in inbox.text and ">mandator-1" in inbox.text
        assert submit(running, "faults", {"effect": "fault", "fault": "With cookie"},
                      cookies=jar).status_code == 303
        assert [r["fault"] for r in json.loads(requests.get(
            running.base_url + "_mock/faults", headers={"Authorization": "Bearer s3cret-token"},
            timeout=30).text)["rules"]] == ["With cookie"]
        # the cookie is for the UI only, never the JSON admin API
        api = requests.get(running.base_url + "_mock/faults", cookies=jar, timeout=30)
        assert api.status_code == 401 and api.headers["Content-Type"].startswith(
            "application/json")
        assert page(running, "", cookies={name: "forged"}).status_code == 303
        assert page(running, "", headers={"Authorization": "Bearer s3cret-token"}
                    ).status_code == 200
        # never sent elsewhere after logging in
        away = submit(running, "login", {"token": "s3cret-token", "next": "https://evil.example/"})
        assert away.headers["Location"] == "/_mock/ui/"
        out = submit(running, "logout", {}, cookies=jar)
        assert out.status_code == 303
        assert out.headers["Set-Cookie"].startswith("mockserver_ui=; Expires=Thu, 01 Jan 1970")
    finally:
        running.stop()


def test_a_caller_from_elsewhere_is_refused_without_an_admin_token(tmp_path):
    running = start_server(tmp_path, "--trusted-proxy", "127.0.0.1/32")
    try:
        far = {"X-Forwarded-For": "203.0.113.7"}
        for path in ("", "journal", "tenants", "login", "ui.css", "outbox/1/html"):
            answer = page(running, path, headers=far)
            assert answer.status_code == 403, path
            assert "203.0.113.7" in answer.json()["error"]
        refused = submit(running, "faults", {"effect": "fault", "fault": "far"}, headers=far)
        assert refused.status_code == 403
        assert running.rows("SELECT * FROM fault_rules") == []
        assert page(running, "", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200
    finally:
        running.stop()


# -- escaping and errors ----------------------------------------------------------------------------

def test_what_clients_send_is_shown_escaped(server, client):
    mail_id = transaction(client, to="x@example.com", subject="<script>alert(1)</script> & co",
                          mailContent='<p onclick="alert(2)">Hi</p><script>alert(3)</script>')
    save(client, sub("quote@example.com", [1], {"FIRSTNAME": '<img src=x onerror="alert(4)">'}))
    for path in ("", f"outbox/{mail_id}"):
        text = page(server, path).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
        assert "<script>" not in text and "alert(2)" not in text and "alert(3)" not in text
    subscribers = page(server, "mandators/1", params={"q": "quote@"}).text
    assert "&lt;img src=x onerror=&#34;alert(4)&#34;&gt;" in subscribers
    assert "<img" not in subscribers
    policy = page(server, "").headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert page(server, "").headers["X-Frame-Options"] == "DENY"


def test_unknown_pages_and_bad_parameters_get_the_ui_error_page(server):
    for path, status, message in [
            ("nope", 404, "No such page: /_mock/ui/nope"),
            ("outbox/999", 404, "No mail with id 999."),
            ("outbox/999/html", 404, "No mail with id 999."),
            ("outbox/abc", 404, "No such page"),
            ("?kind=spam", 400, "Unknown kind &#39;spam&#39;"),
            ("?before=late", 400, "&#39;before&#39; must be an integer"),
            ("journal?limit=0", 400, "&#39;limit&#39; must be from 1 to 10000"),
            ("journal?since=yesterday", 400, "ISO 8601"),
            ("journal?tenant=nobody", 400, "Unknown tenant"),
            ("mandators/1?page=0", 400, "&#39;page&#39; must be 1 or more")]:
        answer = page(server, path)
        assert answer.status_code == status, path
        assert is_ui_page(answer) and message in answer.text, (path, answer.text[-600:])
    answer = requests.put(server.base_url + "_mock/ui/journal", timeout=30)
    assert answer.status_code == 405 and is_ui_page(answer)
    # the JSON admin API keeps answering JSON
    status, body, headers = server.get("_mock/nope")
    assert status == 404 and headers["Content-Type"].startswith("application/json")


def test_ui_pages_are_not_journaled(server, client):
    client.service.getSubscribers(mandatorId=1, apiKey=KEY,
                                  emailAddresses={"item": ["anna.schmidt@example.de"]})
    for path in ("", "journal", "tenants", "clock", "faults", "callbacks"):
        assert page(server, path).status_code == 200
    time.sleep(0.3)  # past the journal's write interval
    assert [e["operation"] for e in server.json("_mock/journal")["exchanges"]] == [
        "getSubscribers"]
