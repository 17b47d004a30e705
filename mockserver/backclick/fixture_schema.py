"""The ``backclick`` section: the block list and the mandators with their configuration and
subscribers. Ids, addresses and field names that refer to each other are checked in
mockserver/backclick/fixtures.py."""
from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_serializer, model_validator

from mockserver.machinery.fixture_schema.scalars import (FieldValue, FixtureMapping, Ident,
    IdentKey, Moment, Name, NonEmpty, domain_ok, only_given)
from mockserver.machinery.addresses import is_valid_address

STATUS_NAMES = {"subscribed": 0, "unsubscribed": 1, "pending": 2}
OPERATORS = ("=", "!=", "<", ">", "<=", ">=", "contains")
_FIELD_NAME = re.compile(r"[A-Za-z0-9_-]+\Z")
LIST_IDS = {"propertyNames": {"pattern": "^ *[0-9]+ *$"}}  # mapping keys: list ids


def _blocked(entry: str) -> str:
    ok = domain_ok(entry[2:]) if entry.startswith("*@") else is_valid_address(entry)
    if not ok:
        raise ValueError(f"expected an e-mail address or *@domain, got {entry!r}")
    return entry.lower()


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as error:
        raise ValueError(f"expected a CIDR network like 127.0.0.1/32: {error}") from None


def _domain(value: str) -> str:
    if not domain_ok(value):
        raise ValueError(f"expected a domain name, got {value!r}")
    return value.lower()


def _field_name(value: str) -> str:
    if value.upper() == "EMAIL":
        raise ValueError("EMAIL is built in; do not list it")
    if not _FIELD_NAME.match(value):
        raise ValueError("field names use letters, digits, _ and - only "
                         "(they are used as $$NAME$$ placeholders)")
    return value


def _address(value: str) -> str:
    if not is_valid_address(value):
        raise ValueError(f"not a valid e-mail address (RFC 5322 addr-spec): {value!r}")
    return value


Status = Literal[tuple(STATUS_NAMES)]
Operator = Literal[OPERATORS]
FieldValues = Annotated[dict[str, FieldValue], Field(
    description="{NAME: value}: values of the mandator's fields, names matched ignoring case")]


class Template(FixtureMapping):
    """A mail template; placeholders $$FIELD$$, $$EMAIL$$, $$CONFIRMATION-LINK$$,
    $$UNSUBSCRIBE-LINK$$, $$VOUCHER$$, $$SPECIAL-REPLACEMENT-TEXT$$."""

    id: Ident
    name: str = ""
    subject: str = ""
    html: str = ""
    text: str = ""


class MailingList(FixtureMapping):
    """A newsletter list."""

    id: Ident
    name: str
    description: str = ""
    welcomeTemplateId: Ident | None = Field(None, description="a template of the mandator")


class Condition(FixtureMapping):
    """A condition of a profile filter."""

    field: Name = Field(description="a field of the mandator, or EMAIL")
    operator: Operator
    value: FieldValue


class ProfileFilter(FixtureMapping):
    """A profile filter: subscribers that meet all its conditions."""

    id: Ident
    name: str = ""
    conditions: list[Condition] = Field(default_factory=list)


class VoucherCode(FixtureMapping):
    """A voucher code: a string, or {code, usedAt, usedBy} once handed out."""

    code: NonEmpty
    usedAt: Moment | None = None
    usedBy: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: Any) -> Any:
        return {"code": data} if isinstance(data, str) else data

    @model_serializer(mode="wrap")
    def _dump(self, handler) -> Any:
        out = handler(self)
        unused = isinstance(out, dict) and out["usedAt"] is None and out["usedBy"] is None
        return out["code"] if unused else out


class VoucherList(FixtureMapping):
    """A voucher list; its codes are handed out in this order, unique per list."""

    id: Ident
    name: str = ""
    codes: list[Annotated[VoucherCode, BeforeValidator(
        lambda value: value, json_schema_input_type=NonEmpty | VoucherCode)]] = Field(
        default_factory=list)


class Subscriber(FixtureMapping):
    """A subscriber of the mandator."""

    id: Ident | None = only_given(description="unique across the store; default: next free")
    email: Annotated[Name, AfterValidator(_address)] = Field(
        description="an RFC 5322 addr-spec; unique per mandator, ignoring case")
    fields: FieldValues = Field(default_factory=dict)
    lists: dict[IdentKey, Status] = Field(
        default_factory=dict, json_schema_extra=LIST_IDS,
        description="{listId: status}; pending: double opt-in not yet confirmed")
    listsChanged: dict[IdentKey, Moment] = Field(
        default_factory=dict, json_schema_extra=LIST_IDS,
        description="{listId: date-time} the membership last changed; default: created")
    created: Moment | None = only_given(description="default: the time of seeding")
    modified: Moment | None = only_given(description="default: created")


class Mandator(FixtureMapping):
    """A BACKCLICK mandator (``mandatorId`` on the wire) with its configuration."""

    id: Ident
    name: str = ""
    apiKeys: list[Name] = Field(default_factory=list, description="a valid key admits any address")
    allowedIps: list[Annotated[Name, AfterValidator(_network)]] = Field(
        [], description="CIDR networks callers without a key must come from")
    senderDomains: list[Annotated[Name, AfterValidator(_domain)]] = Field(
        [], description="stored lower-case; the first is used for system mails")
    fields: list[Annotated[Name, AfterValidator(_field_name)]] = Field(
        [], description="letters, digits, _ and -; unique ignoring case; not EMAIL")
    lists: list[MailingList] = Field(default_factory=list)
    templates: list[Template] = Field(default_factory=list)
    profileFilters: list[ProfileFilter] = Field(default_factory=list)
    voucherLists: list[VoucherList] = Field(default_factory=list)
    subscribers: list[Subscriber] = Field(default_factory=list)


class Backclick(FixtureMapping):
    """BACKCLICK: the global block list and the mandators."""

    blockList: Annotated[list[Annotated[Name, AfterValidator(_blocked)]], AfterValidator(
        lambda patterns: list(dict.fromkeys(patterns)))] = Field(
        [], description="exact addresses and *@domain; stored lower-case, duplicates dropped")
    mandators: list[Mandator] = Field(default_factory=list)
