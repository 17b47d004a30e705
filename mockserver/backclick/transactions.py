"""BACKCLICK transaction mails: channels, and single personalised mails with attachments."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from mockserver.machinery import addresses, clock, outbox
from mockserver.backclick import subscribers
from mockserver.machinery.errors import InvalidRequest, NotFound
from mockserver.backclick.newsletters import check_sender
from mockserver.store import Store
from mockserver.machinery.tokens import new_token
from mockserver.backclick import mail as backclick_mail
from mockserver.backclick import tables as backclick_tables
from mockserver.backclick import newsletter_tables as newsletter_tables


@dataclass
class TransactionMail:
    """sendTransactionMail as the client sends it."""

    channel_id: int
    recipient_email: str
    subject: str | None = None
    sender_email: str = ""
    sender_name: str = ""
    reply_to: str = ""
    content: str | None = None
    alternative: str | None = None
    template_id: int | None = None
    campaign_id: int | None = None
    fields: list[tuple[str, str | None]] = field(default_factory=list)
    list_id: int | None = None
    attachments: list[outbox.Attachment] = field(default_factory=list)
    voucher_list_id: int | None = None


def create_channel(store: Store, mandator_id: int, name: str | None,
                   description: str | None) -> int:
    """A new transaction channel; without a name it is called ``Channel <id>``."""
    with store.transaction():
        channel_id = store.insert_row("channels", {
            "mandator_id": mandator_id, "name": name or "", "description": description or "",
            "created": clock.now_stamp(store)})
        if not name:
            newsletter_tables.rename_channel(store, channel_id, f"Channel {channel_id}")
    return channel_id


def _content(store: Store, mandator_id: int, mail: TransactionMail) -> tuple[str, str, str]:
    """(subject, html, text) before personalisation, checked as the vendor checks them."""
    if not mail.template_id and not mail.content:
        raise InvalidRequest("No templateId AND no newsletterContent given!")
    subject, html, text = mail.subject or "", "", ""
    if mail.template_id:
        template = backclick_tables.template(store, mandator_id, mail.template_id)
        if template is None:
            raise NotFound(f"Template with ID {mail.template_id} does not exist!")
        subject = subject or template["subject"]
        html, text = template["html"], template["text"]
    if mail.content:
        main_html = outbox.is_html(mail.content)
        if mail.alternative:
            if main_html and outbox.is_html(mail.alternative):
                raise InvalidRequest("Both (mailContent AND alternativeMailContent is HTML.)")
            if not main_html and not outbox.is_html(mail.alternative):
                raise InvalidRequest("Both (mailContent AND alternativeMailContent is TEXT.)")
        if main_html:
            html, text = mail.content, mail.alternative or ""
        else:
            html, text = mail.alternative or "", mail.content
    if not outbox.header_text(subject).strip():  # controls alone are no subject
        raise InvalidRequest("No subject given.")
    return subject, html, text


def send_transaction_mail(store: Store, mandator_id: int, mail: TransactionMail,
                          base_url: str) -> int:
    """Render one transaction mail into the outbox; its transaction id (the outbox mail id)."""
    with store.transaction():
        if newsletter_tables.channel(store, mandator_id, mail.channel_id) is None:
            raise NotFound(f"Transaction channel {mail.channel_id} does not exist.")
        sender_email = check_sender(store, mandator_id, mail.sender_email)
        reply_to = (mail.reply_to or "").strip()
        if reply_to and not addresses.is_valid_address(reply_to):
            raise InvalidRequest(f'Invalid reply-to address "{reply_to}".')
        subject, html, text = _content(store, mandator_id, mail)
        email = (mail.recipient_email or "").strip()
        if not addresses.is_valid_address(email):
            raise InvalidRequest(f'Invalid recipient address "{email}".')
        if mail.list_id and mail.list_id not in backclick_tables.lists(store, mandator_id):
            raise NotFound(f"Newsletter list {mail.list_id} does not exist.")
        now = clock.now_stamp(store)
        values = {(n or "").strip().upper(): v or "" for n, v in mail.fields}
        stored = backclick_tables.subscriber(store, mandator_id, email.lower())
        values = {**backclick_mail.blank_fields(store, mandator_id),
                  **{k.upper(): v for k, v in (stored or {}).get("fields", {}).items()}, **values}
        values["EMAIL"] = email
        if mail.voucher_list_id:
            if newsletter_tables.voucher_list(store, mandator_id, mail.voucher_list_id) is None:
                raise NotFound(f"Voucher list {mail.voucher_list_id} does not exist.")
            code = newsletter_tables.take_voucher(store, mandator_id, mail.voucher_list_id, email, now)
            if code is None:
                raise InvalidRequest(f"Voucher list {mail.voucher_list_id} is exhausted.")
            values["VOUCHER"] = code
        subscriber_id = stored["id"] if stored else None
        if mail.list_id:
            subscriber_id = _store_on_list(store, mandator_id, email, mail, now)
        default_sender, default_name = backclick_mail.system_sender(store, mandator_id)
        token = new_token(store)
        row = {"token": token, "base_url": base_url}
        values["UNSUBSCRIBE-LINK"] = outbox.unsubscribe_url(row)
        return outbox.put(store, outbox.Mail(
            mandator_id=mandator_id, kind="transaction", to_addr=email,
            subject=outbox.personalise(subject, values), html=outbox.personalise(html, values),
            text=outbox.personalise(text, values), from_addr=sender_email or default_sender,
            from_name=mail.sender_name or default_name, reply_to=reply_to,
            list_id=mail.list_id, channel_id=mail.channel_id, campaign_id=mail.campaign_id,
            subscriber_id=subscriber_id, base_url=base_url, token=token,
            personalisation=json.dumps(values, ensure_ascii=False)), now, mail.attachments)


def _store_on_list(store: Store, mandator_id: int, email: str, mail: TransactionMail,
                   now: str) -> int:
    """Keep the recipient on ``mail.list_id`` (creating the subscriber); the subscriber id."""
    known = backclick_tables.field_names(store, mandator_id)
    fields = {known[n.strip().lower()]: v for n, v in mail.fields
              if (n or "").strip().lower() in known and v}
    existing = backclick_tables.subscriber(store, mandator_id, email.lower())
    if existing is None:
        subscriber_id = backclick_tables.insert_subscriber(store, mandator_id, email, fields, now)
    else:
        subscriber_id = existing["id"]
        if fields and {**existing["fields"], **fields} != existing["fields"]:
            backclick_tables.update_subscriber_fields(store, subscriber_id, {**existing["fields"], **fields}, now)
    if backclick_tables.memberships(store, subscriber_id).get(mail.list_id) != subscribers.SUBSCRIBED:
        backclick_tables.set_membership(store, subscriber_id, mail.list_id, subscribers.SUBSCRIBED, now)
    return subscriber_id
