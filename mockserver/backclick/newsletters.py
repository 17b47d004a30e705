"""BACKCLICK newsletters: create, schedule, send to recipients or a list, count.

Sending is asynchronous, as at the vendor: the SOAP call stores the newsletter as
``scheduled`` and answers at once; ``dispatch_due`` (run by a background thread of
every worker, and by the admin API when the clock is advanced) claims newsletters
whose send time the mock's clock has passed and puts one mail per recipient in the
outbox. Statistics are computed from the outbox and the events recorded on it.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

from mockserver.machinery import clock, outbox
from mockserver.machinery.errors import Busy, InvalidRequest, NotFound
from mockserver.store import Store
from mockserver.backclick.subscribers import SubscriberData, canonical_fields
from mockserver.machinery.addresses import is_valid_address
from mockserver.machinery.tokens import new_tokens
from mockserver.backclick import mail as backclick_mail
from mockserver.backclick import tables as backclick_tables
from mockserver.backclick import newsletter_tables as newsletter_tables

BATCH = 5000  # mails per transaction while sending


@dataclass
class Content:
    """What a newsletter says and who it comes from, as the client sends it."""

    subject: str | None = None
    content: str | None = None
    alternative: str | None = None
    template_id: int | None = None
    adhock: str = ""
    send_time: dt.datetime | None = None
    sender_name: str = ""
    sender_email: str = ""


@dataclass
class Figures:
    """Everything NewsletterStatistic and BackclickStatistic report of one newsletter."""

    newsletter: dict
    list_name: str
    mails: int
    bounced: int
    hard_bounces: int
    soft_bounces: int
    opens: int
    unique_opens: int
    clicks: int
    unique_clicks: int
    unsubscribes: int
    complaints: int

    @property
    def state(self) -> str:
        """scheduled, sending or sent."""
        return self.newsletter["state"]

    @property
    def delivered(self) -> int:
        """Mails sent that did not bounce."""
        return self.mails - self.bounced


def check_sender(store: Store, mandator_id: int, sender_email: str | None) -> str:
    """The sender address without surrounding white space ("" for none); a fault unless it
    is an address (RFC 5322 addr-spec) in a domain the mandator may send from."""
    address = (sender_email or "").strip()
    if not address:
        return ""
    if not is_valid_address(address):
        raise InvalidRequest(f'Invalid sender address "{address}".')
    domain = address.rpartition("@")[2].lower()
    if domain not in {d.lower() for d in backclick_tables.sender_domains(store, mandator_id)}:
        raise InvalidRequest(f'Invalid domain of sender address ("{domain}"). If you want to '
                             f'send email for this domain, please contact your admin.')
    return address


def _compose(store: Store, mandator_id: int, content: Content) -> tuple[str, str, str]:
    """(subject, html, text) of a newsletter, checked as the vendor checks them."""
    if not content.template_id and not content.content:
        raise InvalidRequest("No templateId AND no newsletterContent given!")
    html = text = ""
    if content.template_id:
        template = backclick_tables.template(store, mandator_id, content.template_id)
        if template is None:
            raise NotFound("Invalid templateId!")
        html, text = template["html"], template["text"]
    if content.content:
        if outbox.is_html(content.content):
            html, text = content.content, content.alternative or text
        else:
            html, text = "", content.content
    if not outbox.header_text(content.subject).strip():  # controls alone are no subject
        raise InvalidRequest("No subject given.")
    return content.subject, html, text


def _refuse_while_importing(store: Store, mandator_id: int) -> None:
    """Fault while an import of the mandator runs (a read: call it before the write
    transaction too, which would otherwise wait for the import to commit)."""
    if backclick_tables.import_running(store, mandator_id):
        raise Busy("Autoimport is running. Please try again later.")


def _create(store: Store, mandator_id: int, content: Content, base_url: str, kind: str,
            list_id: int | None, filter_ids: list[int]) -> int:
    subject, html, text = _compose(store, mandator_id, content)
    sender_email = check_sender(store, mandator_id, content.sender_email)
    now = clock.now(store)
    send_time = content.send_time or now
    return store.insert_row("newsletters", {
        "mandator_id": mandator_id, "list_id": list_id, "subject": outbox.header_text(subject),
        "html": html, "text": text, "sender_name": outbox.header_text(content.sender_name),
        "sender_email": sender_email, "send_time": clock.stamp(send_time),
        "state": "scheduled", "kind": kind, "filter_ids": json.dumps(filter_ids),
        "adhock": content.adhock or "", "template_id": content.template_id,
        "base_url": base_url, "created": clock.stamp(now)})


def send_newsletter(store: Store, mandator_id: int, recipients: list[SubscriberData],
                    content: Content, base_url: str) -> int:
    """Newsletter-Versand (I): a newsletter to the recipients in the request; its id."""
    _refuse_while_importing(store, mandator_id)
    with store.transaction():
        _refuse_while_importing(store, mandator_id)
        if not recipients:
            raise InvalidRequest("No Recipients are given!")
        known = backclick_tables.field_names(store, mandator_id)
        given = [(r.email or "", canonical_fields(known, r.fields)) for r in recipients]
        newsletter_id = _create(store, mandator_id, content, base_url, "recipients", None, [])
        store.insert_rows("newsletter_recipients", [
            {"newsletter_id": newsletter_id, "position": i, "email": email,
             "fields": json.dumps({k: v for k, v in fields.items() if v}, ensure_ascii=False)}
            for i, (email, fields) in enumerate(given)])
    return newsletter_id


def send_newsletter_to_list(store: Store, mandator_id: int, list_id: int | None,
                            filter_ids: list[int], content: Content, base_url: str) -> int:
    """Newsletter-Versand (II): a newsletter to a list and/or profile filters; its id."""
    _refuse_while_importing(store, mandator_id)
    with store.transaction():
        _refuse_while_importing(store, mandator_id)
        if not list_id and not filter_ids:
            raise InvalidRequest("No Recipients are given!")
        if list_id and list_id not in backclick_tables.lists(store, mandator_id):
            raise NotFound(f"Newsletter list {list_id} does not exist.")
        for filter_id in filter_ids:
            if backclick_tables.profile_filter(store, mandator_id, filter_id) is None:
                raise NotFound(f"Filter with ID #{filter_id} is non existent.")
        return _create(store, mandator_id, content, base_url, "list", list_id or None,
                       list(filter_ids))


# -- sending ------------------------------------------------------------------------------

def _matches(fields: dict, email: str, conditions: list[dict]) -> bool:
    """True when a subscriber's fields meet every condition of a profile filter."""
    for condition in conditions:
        name = condition["field"]
        actual = email if name.upper() == "EMAIL" else fields.get(name, "")
        wanted, op = str(condition["value"]), condition["operator"]
        if op == "contains":
            ok = wanted.lower() in actual.lower()
        elif op in ("=", "!="):
            ok = (actual.lower() == wanted.lower()) == (op == "=")
        else:
            try:
                left, right = float(actual), float(wanted)
            except ValueError:
                left, right = actual, wanted
            ok = {"<": left < right, ">": left > right, "<=": left <= right,
                  ">=": left >= right}[op]
        if not ok:
            return False
    return True


def _audience(store: Store, letter: dict):
    """(subscriber id or None, address, fields JSON) of everyone a newsletter is addressed to."""
    mandator_id = letter["mandator_id"]
    if letter["kind"] == "recipients":
        given = newsletter_tables.newsletter_recipients(store, letter["id"])
        stored = backclick_tables.subscriber_fields_by_key(store, mandator_id, [e.strip().lower() for e, _ in given])
        for email, fields in given:
            sid, current = stored.get(email.strip().lower(), (None, "{}"))
            merged = dict(json.loads(current), **json.loads(fields))
            yield sid, email.strip(), json.dumps(merged, ensure_ascii=False)
        return
    filters = [backclick_tables.profile_filter(store, mandator_id, i) for i in json.loads(letter["filter_ids"])]
    conditions = [c for f in filters if f for c in f["conditions"]]
    for sid, email, fields in newsletter_tables.list_audience(store, mandator_id, letter["list_id"]):
        if conditions and not _matches(json.loads(fields), email, conditions):
            continue
        yield sid, email, fields


def deliver(store: Store, newsletter_id: int) -> int:
    """Put one mail per remaining recipient of a claimed newsletter in the outbox; the count."""
    letter = newsletter_tables.newsletter_by_id(store, newsletter_id)
    mandator_id = letter["mandator_id"]
    blocks = backclick_tables.block_list(store)
    sender, name = backclick_mail.system_sender(store, mandator_id)
    sender, name = letter["sender_email"] or sender, letter["sender_name"] or name
    name = outbox.header_text(name)  # a mandator's name from fixtures, too
    relay = outbox.relay_state(store)
    seen: set[str] = set()
    counts = dict(num_unadjusted=0, excluded_blocked=0, excluded_invalid=0,
                  excluded_duplicate=0, num_adjusted=0)
    batch: list[tuple] = []  # (address, subject, subscriber id, fields JSON)
    now = clock.now_stamp(store)
    subject = outbox.personalise(letter["subject"], {"SPECIAL-REPLACEMENT-TEXT": letter["adhock"]})
    personal_subject = "$$" in subject
    subject = subject if personal_subject else outbox.header_text(subject)
    blanks = backclick_mail.blank_fields(store, mandator_id)
    list_id, base_url = letter["list_id"], letter["base_url"]

    def flush():
        with store.transaction():
            rows = [(mandator_id, "newsletter", email, sender, name, mail_subject, now,
                     newsletter_id, list_id, token, sid, fields, base_url, relay)
                    for (email, mail_subject, sid, fields), token
                    in zip(batch, new_tokens(store, len(batch)))]  # NEWSLETTER_MAIL_COLUMNS order
            store.insert_newsletter_mails(rows)
        batch.clear()

    for sid, email, fields in _audience(store, letter):
        counts["num_unadjusted"] += 1
        key = email.lower()
        if not is_valid_address(email):
            counts["excluded_invalid"] += 1
            continue
        if key in blocks or "*@" + key.rpartition("@")[2] in blocks:
            counts["excluded_blocked"] += 1
            continue
        if key in seen:
            counts["excluded_duplicate"] += 1
            continue
        seen.add(key)
        counts["num_adjusted"] += 1
        batch.append((email, outbox.header_text(outbox.personalise(
            subject, dict(blanks, **json.loads(fields), EMAIL=email)))
                      if personal_subject else subject, sid, fields))
        if len(batch) >= BATCH:
            flush()
    with store.transaction():  # the last mails and the end of the send become visible together
        if batch:
            flush()
        newsletter_tables.finish_newsletter(store, newsletter_id, counts, clock.now_stamp(store))
    return counts["num_adjusted"]


def dispatch_due(store: Store) -> int:
    """Send every scheduled newsletter whose time the clock has passed; the number sent."""
    now = clock.now_stamp(store)
    due = newsletter_tables.next_due_time(store)  # a read first: most rounds find nothing to claim
    if due is None or due > now:
        return 0
    claimed = newsletter_tables.claim_due_newsletters(store, now)
    for newsletter_id in claimed:
        deliver(store, newsletter_id)
    return len(claimed)


def send_due_now(store: Store, timeout: float = 60.0) -> int:
    """Send what the clock has made due and wait (up to ``timeout`` seconds) until it is sent,
    also what another worker's scheduler claimed first; the number of newsletters sent."""
    now = clock.now_stamp(store)
    due = newsletter_tables.unfinished_due_newsletters(store, now)
    dispatch_due(store)
    deadline = time.monotonic() + timeout
    while newsletter_tables.unfinished_due_newsletters(store, now) and time.monotonic() < deadline:
        time.sleep(0.02)
    return len(due)


# -- statistics ---------------------------------------------------------------------------

def statistics(store: Store, mandator_id: int, newsletter_ids: list[int] | None = None,
               list_id: int | None = None, start: dt.datetime | None = None,
               end: dt.datetime | None = None) -> list[Figures]:
    """Figures per newsletter, by ids (unknown ids are left out) or by list and period."""
    lists = backclick_tables.lists(store, mandator_id)
    if newsletter_ids is not None:
        letters = [n for n in (newsletter_tables.newsletter(store, mandator_id, i) for i in newsletter_ids) if n]
    else:
        if not list_id or list_id not in lists:
            raise NotFound("Error getting Newsletter-List-ID")
        letters = newsletter_tables.newsletters_of_list(store, 
            mandator_id, list_id, clock.stamp(start) if start else "",
            clock.stamp(end) if end else "9999")
    counts = newsletter_tables.newsletter_counts(store, [n["id"] for n in letters])
    figures = []
    for letter in letters:
        c = counts[letter["id"]]
        figures.append(Figures(
            newsletter=letter, list_name=lists.get(letter["list_id"], {}).get("name", ""),
            mails=c["mails"], bounced=c.get("bounced", 0),
            hard_bounces=c.get("bounce:hard", (0, 0))[1],
            soft_bounces=c.get("bounce:soft", (0, 0))[1],
            opens=c.get("open", (0, 0))[0], unique_opens=c.get("open", (0, 0))[1],
            clicks=c.get("click", (0, 0))[0], unique_clicks=c.get("click", (0, 0))[1],
            unsubscribes=c.get("unsubscribe", (0, 0))[1],
            complaints=c.get("complaint", (0, 0))[1]))
    return figures
