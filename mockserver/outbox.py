"""The outbox: every mail the vendor would have sent, rendered for its recipient."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from mockserver import clock
from mockserver.store import Store

KINDS = ("newsletter", "transaction", "doi", "welcome", "change-confirm")

_PLACEHOLDER = re.compile(r"\$\$([A-Za-z0-9_\-]+)\$\$")


def personalise(text: str, values: dict[str, str]) -> str:
    """Replace ``$$NAME$$`` placeholders (names case-insensitive); unknown ones stay as they are."""
    lookup = {k.upper(): v for k, v in values.items()}

    def replace(match: re.Match) -> str:
        value = lookup.get(match.group(1).upper())
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER.sub(replace, text)


def has_placeholder(text: str, name: str) -> bool:
    """True when ``$$NAME$$`` occurs in the text."""
    return f"$${name}$$".upper() in text.upper()


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


def put(store: Store, mail: Mail, now: str | None = None) -> int:
    """Store a mail in the outbox (inside the caller's transaction); return its id."""
    row = {k: v for k, v in mail.__dict__.items()}
    row["created"] = now or clock.now_stamp(store)
    return store.insert_mail(row)


def mails(store: Store, to: str | None = None, mandator_id: int | None = None,
          kind: str | None = None, since: str | None = None, limit: int | None = None) -> list[dict]:
    """Outbox mails matching the filters, oldest first."""
    return store.mails(to=to, mandator_id=mandator_id, kind=kind, since=since, limit=limit)


def mail(store: Store, mail_id: int) -> dict | None:
    """One outbox mail, or None."""
    return store.mail(mail_id)


def system_sender(store: Store, mandator_id: int) -> tuple[str, str]:
    """(address, name) the mandator's system mails (opt-in, welcome) come from."""
    domains = store.sender_domains(mandator_id)
    mandator = store.mandator(mandator_id) or {}
    domain = domains[0] if domains else "backclick.example"
    return f"newsletter@{domain}", mandator.get("name", "")
