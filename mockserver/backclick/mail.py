"""BACKCLICK's part in its mails: blank field values, the system sender, the content of a
compact newsletter mail, and what an unsubscribe event does to the subscriber."""
from __future__ import annotations

import json

from mockserver.backclick import newsletter_tables, tables
from mockserver.machinery import outbox
from mockserver.store import Store


def blank_fields(store: Store, mandator_id: int) -> dict[str, str]:
    """Every database field of the mandator with an empty value: a field a recipient has no
    value for renders as nothing, as at the vendor (unknown placeholders stay as written)."""
    return {name: "" for name in tables.field_names(store, mandator_id).values()}


def system_sender(store: Store, mandator_id: int) -> tuple[str, str]:
    """(address, name) the mandator's system mails (opt-in, welcome) come from."""
    domains = tables.sender_domains(store, mandator_id)
    mandator = tables.mandator(store, mandator_id) or {}
    domain = domains[0] if domains else "backclick.example"
    return f"newsletter@{domain}", mandator.get("name", "")


def newsletter_content(store: Store, row: dict) -> tuple[str, str, str] | None:
    """(subject, html, text) of a compact newsletter mail (one that keeps no content of its
    own): the newsletter's content with this recipient's values; None for any other mail."""
    if not (row["kind"] == "newsletter" and row["newsletter_id"]
            and not (row["html"] or row["text"])):
        return None
    letter = newsletter_tables.newsletter_by_id(store, row["newsletter_id"]) or {}
    values = dict(blank_fields(store, row["mandator_id"]), **json.loads(row["personalisation"]),
                  EMAIL=row["to_addr"])
    values["SPECIAL-REPLACEMENT-TEXT"] = letter.get("adhock", "")
    values["UNSUBSCRIBE-LINK"] = outbox.unsubscribe_url(row)
    return (row["subject"], outbox.personalise(letter.get("html", ""), values),
            outbox.personalise(letter.get("text", ""), values))


def react_to_event(store: Store, row: dict, event_type: str) -> None:
    """An unsubscribe event on a mail unsubscribes its recipient from the mail's list (all
    lists when it has none), inside the event's transaction."""
    from mockserver.backclick import subscribers  # subscribers send mails through this module

    if event_type == "unsubscribe":
        subscribers.unsubscribe(store, row["mandator_id"], row["to_addr"],
                                [row["list_id"]] if row["list_id"] else [])
