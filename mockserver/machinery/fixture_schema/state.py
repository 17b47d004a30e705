"""The ``state`` section: what the BACKCLICK mock did while it ran (confirmations, transaction
channels, newsletters, the outbox). ``mockserver export`` writes it; the rows refer to
mandators, subscribers, lists and to each other, checked in mockserver/vendors/fixtures.py."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from mockserver.machinery import outbox
from mockserver.machinery.fixture_schema.scalars import (Base64, Count, FieldValue, FixtureMapping,
    Ident, Moment, NonEmpty, PersonalValues, only_given)

CONFIRMATION_KINDS = ("doi", "change")
NEWSLETTER_KINDS = ("list", "recipients")
NEWSLETTER_STATES = ("scheduled", "sending", "sent")
RELAY_STATES = ("pending", "relaying", "sent", "failed")
ConfirmationKind = Literal[CONFIRMATION_KINDS]
NewsletterKind = Literal[NEWSLETTER_KINDS]
NewsletterState = Literal[NEWSLETTER_STATES]
RelayState = Literal[RELAY_STATES]
MailKind = Literal[outbox.KINDS]
EventType = Literal[outbox.EVENT_TYPES]


class Confirmation(FixtureMapping):
    """A double opt-in (doi) or change confirmation, pending until ``confirmed``."""

    token: NonEmpty = Field(description="unique; the link of its mail confirms it")
    kind: ConfirmationKind
    mandatorId: Ident
    subscriberId: Ident = Field(description="a subscriber id of that mandator")
    listIds: list[Ident] = Field(default_factory=list, description="the lists a doi activates")
    changes: dict[str, FieldValue] = Field(
        default_factory=dict, description="change: the field values applied on confirmation")
    sendWelcome: bool = False
    sendLastNewsletter: bool = False
    created: Moment | None = Field(None, description="default: now")
    confirmed: Moment | None = Field(None, description="null: still pending")


class Channel(FixtureMapping):
    """A transaction channel."""

    id: Ident | None = only_given(description="default: the next free id")
    mandatorId: Ident
    name: str | None = Field(None, description="default: Channel <id>")
    description: str = ""
    created: Moment | None = Field(None, description="default: now")


class Recipient(FixtureMapping):
    """A recipient of a sendNewsletter newsletter (the address is checked when sending)."""

    email: str
    fields: PersonalValues = Field(default_factory=dict)


class Newsletter(FixtureMapping):
    """A newsletter: to a list (sendNewsletterToList) or to recipients (sendNewsletter)."""

    id: Ident | None = only_given(description="default: the next free id")
    mandatorId: Ident
    kind: NewsletterKind | None = Field(
        None, description="default: recipients when recipients are given, else list")
    listId: Ident | None = Field(None, description="null: everyone on some list")
    filterIds: list[Ident] = Field(default_factory=list,
                                   description="profile filters of the mandator")
    recipients: list[Recipient] = Field(default_factory=list)
    templateId: Ident | None = None
    subject: str = ""
    html: str = ""
    text: str = ""
    adhockInformation: str = Field("", description="$$SPECIAL-REPLACEMENT-TEXT$$")
    senderName: str = ""
    senderEmail: str = ""
    baseUrl: str = Field("", description="the server address its mails' tracking links use")
    created: Moment | None = None
    sendTime: Moment | None = Field(None, description="default: now")
    state: NewsletterState = Field("sent", description="scheduled: goes out when the clock "
                                                       "passes sendTime")
    started: Moment | None = None
    finished: Moment | None = None
    numRecipientsUnadjusted: Count = 0
    numExcludedBlocked: Count = 0
    numExcludedInvalid: Count = 0
    numExcludedDuplicate: Count = 0
    numRecipientsAdjusted: Count = 0


class Attachment(FixtureMapping):
    """A file attached to a mail."""

    name: NonEmpty
    contentType: NonEmpty = "application/octet-stream"
    data: Base64 = Field(description="the file's bytes in base64 (line breaks allowed)")


class Event(FixtureMapping):
    """A tracked event of a mail."""

    id: Ident | None = only_given(description="unique across all mails; default: next free")
    type: EventType
    detail: str = Field("", validate_default=True,
                        description="a click's URL; a bounce's hard or soft")
    at: Moment | None = Field(None, description="default: now")

    @field_validator("detail")
    @classmethod
    def _bounce(cls, detail: str, info: ValidationInfo) -> str:
        if info.data.get("type") == "bounce" and detail not in ("hard", "soft"):
            raise ValueError("a bounce is hard or soft")
        return detail


class Relay(FixtureMapping):
    """How relaying the mail to --smtp-relay went."""

    state: RelayState
    error: str | None = None


class Mail(FixtureMapping):
    """A mail in the outbox."""

    id: Ident | None = only_given(description="default: the next free id")
    mandatorId: Ident
    kind: MailKind
    to: NonEmpty
    from_: str = Field("", alias="from")
    fromName: str = ""
    replyTo: str = ""
    subject: str = ""
    html: str = ""
    text: str = ""
    created: Moment | None = Field(None, description="default: now")
    newsletterId: Ident | None = Field(None, description="a newsletter in state.newsletters")
    listId: Ident | None = None
    subscriberId: Ident | None = Field(None, description="a subscriber id of the mandator")
    channelId: Ident | None = Field(None, description="a channel of the mandator")
    campaignId: Ident | None = None
    token: NonEmpty | None = Field(None, description="unique; its tracking links end in it")
    baseUrl: str = ""
    personalisation: PersonalValues = Field(
        default_factory=dict,
        description="{NAME: value}: the placeholder values of a newsletter mail")
    links: dict[Any, Any] = Field(default_factory=dict, description="e.g. {confirm: URL}")
    attachments: list[Attachment] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    relay: Relay | None = Field(None, description="absent: the mail was not meant for a relay")


class State(FixtureMapping):
    """Runtime state; rows refer to mandators and subscriber ids of the same set of files."""

    confirmations: list[Confirmation] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    newsletters: list[Newsletter] = Field(default_factory=list)
    outbox: list[Mail] = Field(default_factory=list)
    tokensIssued: Count | None = only_given(
        description="how many tokens the seeded sequence has handed out (one file only)")
