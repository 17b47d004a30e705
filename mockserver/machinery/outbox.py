"""The outbox: every mail the vendor would have sent, rendered for its recipient.

Newsletter mails are stored compactly (the newsletter once, per recipient only the
personalisation values) and rendered when read; other mails are stored rendered.
Reading a mail adds what the vendor adds on the way out: the unsubscribe link, link
tracking (links point at the mock, which records the click and redirects) and an
open-tracking pixel.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Sequence
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from urllib.parse import quote

from mockserver.machinery import clock
from mockserver.machinery.errors import InvalidRequest, NotFound
from mockserver.store import Store
from mockserver.machinery.tokens import new_token

# A vendor's content of a mail it keeps compact: (subject, html, text), or None if not its.
ContentSource = Callable[[Store, dict], "tuple[str, str, str] | None"]
# What a vendor does when an event is recorded on a mail: (store, mail row, event type).
EventReaction = Callable[[Store, dict, str], None]

KINDS = ("newsletter", "transaction", "doi", "welcome", "change-confirm")
EVENT_TYPES = ("open", "click", "bounce", "unsubscribe", "complaint")
TRACKED_KINDS = ("newsletter", "transaction")
RELAY_KEY = "smtp_relay"  # meta key: set while the server relays to SMTP

_PLACEHOLDER = re.compile(r"\$\$([A-Za-z0-9_\-]+)\$\$")
_HREF = re.compile(r'(<a\b[^>]*?\bhref\s*=\s*)(["\'])(https?://[^"\']+)\2', re.I)
_MARKUP = re.compile(r"<\s*(/?[a-zA-Z][a-zA-Z0-9]*|!--)[^>]*>")
# Line breaks and other controls: C0, DEL, C1 (NEL is U+0085), LINE and PARAGRAPH SEPARATOR.
_CONTROLS = "\x00-\x1f\x7f-\x9f\u2028\u2029"
_CONTROL_RUN = f"[ {_CONTROLS}]*[{_CONTROLS}][ {_CONTROLS}]*"
_CONTROL_RUNS = re.compile(_CONTROL_RUN)
_CONTROL_EDGES = re.compile(rf"\A{_CONTROL_RUN}|{_CONTROL_RUN}\Z")
_MIME_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


def header_text(value: str | None) -> str:
    """A value shown in a mail header (subject, sender name, file name) on one line: each run
    of line breaks and other control characters, with the spaces around it, becomes one space
    (at either end: nothing), so no value can start a header of its own."""
    if not value or not _CONTROL_RUNS.search(value):
        return value or ""
    return _CONTROL_RUNS.sub(" ", _CONTROL_EDGES.sub("", value))


def personalise(text: str, values: dict[str, str]) -> str:
    """Replace ``$$NAME$$`` placeholders (names case-insensitive); unknown ones stay as they are."""
    if "$$" not in text:
        return text
    lookup = {k.upper(): v for k, v in values.items()}

    def replace(match: re.Match) -> str:
        value = lookup.get(match.group(1).upper())
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER.sub(replace, text)


def has_placeholder(text: str, name: str) -> bool:
    """True when ``$$NAME$$`` occurs in the text."""
    return f"$${name}$$".upper() in text.upper()


def download_params(name: str) -> dict[str, str]:
    """The parameters of ``Content-Disposition: attachment`` for downloading a file named
    ``name`` over HTTP (RFC 6266): ``filename`` in ASCII, and ``filename*`` (UTF-8) when the
    name is not ASCII (an HTTP header cannot hold it as it is)."""
    name = header_text(name) or "attachment"
    if name.isascii():
        return {"filename": name}
    simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return {"filename": simple.strip() or "attachment",
            "filename*": "UTF-8''" + quote(name, safe="!#$&+^`|~")}


def is_html(content: str) -> bool:
    """True when the content contains markup (then it is the HTML part of a mail)."""
    return bool(_MARKUP.search(content or ""))


class _OneLineHeader(UnstructuredHeader):
    """A header written on one line: ``<URL>`` alone must not be folded onto a line of its own
    (parsers would then read the value as ``"\\r\\n <URL>"`` or ``" <URL>"``)."""

    def fold(self, *, policy) -> str:
        """``Name: value`` and the line ending, never folded (URLs stay far below 998 octets)."""
        return f"{self.name}: {self}{policy.linesep}"


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("list-unsubscribe", _OneLineHeader)
_POLICY = SMTP.clone(header_factory=_HEADERS)


@dataclass
class Mail:
    """A mail as the vendor would send it to one recipient."""

    mandator_id: int
    kind: str
    to_addr: str
    subject: str
    html: str = ""
    text: str = ""
    from_addr: str = ""
    from_name: str = ""
    newsletter_id: int | None = None
    list_id: int | None = None
    links: dict = field(default_factory=dict)
    base_url: str = ""
    reply_to: str = ""
    subscriber_id: int | None = None
    channel_id: int | None = None
    campaign_id: int | None = None
    personalisation: str = "{}"
    token: str | None = None


@dataclass
class Attachment:
    """A file attached to a mail."""

    name: str
    data: bytes
    content_type: str = "application/octet-stream"


def relay_state(store: Store) -> str | None:
    """The relay state a new mail starts in: 'pending' while an SMTP relay is configured."""
    return "pending" if store.meta_get(RELAY_KEY) else None


def put(store: Store, mail: Mail, now: str | None = None,
        attachments: list[Attachment] = ()) -> int:
    """Store a mail in the outbox (inside the caller's transaction); return its id."""
    row = dict(mail.__dict__)
    row["subject"], row["from_name"] = header_text(mail.subject), header_text(mail.from_name)
    row["links"] = json.dumps(row["links"])
    row["token"] = row["token"] or new_token(store)
    row["created"] = now or clock.now_stamp(store)
    row["relay_state"] = relay_state(store)
    mail_id = store.insert_row("outbox", row)
    if attachments:
        store.insert_rows("attachments", [
            {"mail_id": mail_id, "position": i, "name": header_text(a.name),
             "content_type": a.content_type,
             "data": a.data} for i, a in enumerate(attachments)])
    return mail_id


def mails(store: Store, **filters) -> list[dict]:
    """Outbox mails matching the filters (see ``Store.mails``), oldest first, not rendered."""
    return store.mails(**filters)


def mail(store: Store, mail_id: int) -> dict | None:
    """One outbox mail row, or None."""
    return store.mail(mail_id)


# -- links --------------------------------------------------------------------------------

def unsubscribe_url(row: dict) -> str:
    """The working unsubscribe link of a mail."""
    return f"{row['base_url'].rstrip('/')}/bc/t/u/{row['token']}"


def open_pixel_url(row: dict) -> str:
    """The open-tracking pixel of a mail."""
    return f"{row['base_url'].rstrip('/')}/bc/t/o/{row['token']}.gif"


def click_url(row: dict, number: int) -> str:
    """The tracking URL that stands for the mail's link number ``number``."""
    return f"{row['base_url'].rstrip('/')}/bc/t/c/{row['token']}/{number}"


def _content(store: Store, row: dict, sources: Sequence[ContentSource]) -> tuple[str, str, str]:
    """(subject, html, text) personalised, before tracking: the first source's that knows
    the mail, else the mail's own."""
    for source in sources:
        content = source(store, row)
        if content is not None:
            return content
    values = {"UNSUBSCRIBE-LINK": unsubscribe_url(row)} if row["token"] else {}
    return row["subject"], personalise(row["html"], values), personalise(row["text"], values)


def links(store: Store, row: dict, sources: Sequence[ContentSource] = ()) -> list[str]:
    """The tracked links of a mail's HTML part, in order (what click URLs stand for): every
    http(s) link but the unsubscribe link."""
    _, html, _ = _content(store, row, sources)
    unsubscribe = unsubscribe_url(row) if row["token"] else None
    return [m.group(3) for m in _HREF.finditer(html) if m.group(3) != unsubscribe]


def render(store: Store, row: dict, open_pixel: bool = True,
           sources: Sequence[ContentSource] = ()) -> dict:
    """A mail as its recipient gets it: subject, html and text, with tracking where the vendor
    tracks (without the open-tracking pixel when not ``open_pixel``: a preview)."""
    subject, html, text = _content(store, row, sources)
    if html and row["kind"] in TRACKED_KINDS and row["token"]:
        unsubscribe = unsubscribe_url(row)
        counter = iter(range(1 << 30))

        def track(match: re.Match) -> str:
            if match.group(3) == unsubscribe:
                return match.group(0)
            number = next(counter)
            return f"{match.group(1)}{match.group(2)}{click_url(row, number)}{match.group(2)}"

        html = _HREF.sub(track, html)
        pixel = f'<img src="{open_pixel_url(row)}" width="1" height="1" alt="" />' \
            if open_pixel else ""
        html = re.sub(r"(</body\s*>)", pixel + r"\1", html, count=1, flags=re.I) \
            if re.search(r"</body\s*>", html, re.I) else html + pixel
    return {"subject": subject, "html": html, "text": text}


def as_eml(store: Store, row: dict, sources: Sequence[ContentSource] = ()) -> bytes:
    """The mail as RFC 5322 bytes: multipart/alternative, attachments, List-Unsubscribe.

    Values are made one-line on their way into the outbox (``put``); every header value is
    passed through ``header_text`` here again, so that a row from an older store or snapshot
    is exported too (the email package refuses line breaks in a header value).
    """
    content = render(store, row, sources=sources)
    message = EmailMessage(policy=_POLICY)
    from_addr, from_name = header_text(row["from_addr"]), header_text(row["from_name"])
    message["From"] = formataddr((from_name, from_addr)) if from_name else from_addr
    message["To"] = header_text(row["to_addr"])
    message["Subject"] = header_text(content["subject"])
    message["Date"] = format_datetime(clock.parse_stamp(row["created"]))
    domain = from_addr.rpartition("@")[2].replace(" ", "") or "mockserver.invalid"
    message["Message-ID"] = f"<{row['token'] or row['id']}.{row['id']}@{domain}>"
    if row["reply_to"]:
        message["Reply-To"] = header_text(row["reply_to"])
    if row["token"]:
        message["List-Unsubscribe"] = f"<{header_text(unsubscribe_url(row))}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["X-Mockserver-Kind"] = row["kind"]
    if content["html"] and content["text"]:
        message.set_content(content["text"])
        message.add_alternative(content["html"], subtype="html")
    elif content["html"]:
        message.set_content(content["html"], subtype="html")
    else:
        message.set_content(content["text"] or "")
    for attachment in store.attachments(row["id"]):
        maintype, _, subtype = attachment["content_type"].partition("/")
        if not (_MIME_TOKEN.fullmatch(maintype) and _MIME_TOKEN.fullmatch(subtype)):
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(attachment["data"], maintype=maintype, subtype=subtype,
                               filename=header_text(attachment["name"]))
    return message.as_bytes()


# -- events -------------------------------------------------------------------------------

def record_event(store: Store, mail_id: int, event_type: str, detail: str = "",
                 reactions: Sequence[EventReaction] = ()) -> dict:
    """Record an open, click (detail: URL), bounce (hard|soft), unsubscribe or complaint;
    each reaction sees it in the same transaction."""
    if event_type not in EVENT_TYPES:
        raise InvalidRequest(f"Unknown event type {event_type!r}; one of {', '.join(EVENT_TYPES)}.")
    if event_type == "bounce" and detail not in ("hard", "soft"):
        raise InvalidRequest("A bounce is 'hard' or 'soft'.")
    with store.transaction():
        row = store.mail(mail_id)
        if row is None:
            raise NotFound(f"No mail with id {mail_id}.")
        now = clock.now_stamp(store)
        store.insert_row("mail_events", {"mail_id": mail_id, "type": event_type,
                                         "detail": detail or "", "at": now})
        for reaction in reactions:
            reaction(store, row, event_type)
    return {"mail": mail_id, "type": event_type, "detail": detail or "", "at": now}
