"""The ``copernica`` section: users and accounts (with the members of the vendor's User and
Account), access tokens, databases (fields, interests, collections, profiles with their
subprofiles and contacts, callbacks, contact types), and login sessions. Names that refer to
each other and values checked against their field's type are checked in
mockserver/copernica/fixtures.py."""
from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, create_model

from mockserver.copernica import (accounts, callback_expressions, callbacks, databases, field_types,
                                  users)
from mockserver.machinery.errors import InvalidRequest
from mockserver.machinery.fixture_schema.scalars import (Count, FieldValue, FixtureMapping, Ident,
    Moment, Name, Network, NonEmpty, only_given)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
FieldType = Literal[field_types.FIELD_TYPES]
UnsubscribeBehavior = Literal[databases.UNSUBSCRIBE_BEHAVIORS]
Method = Literal[callbacks.METHODS]
ActionFilter = Literal[callbacks.ACTION_FILTERS]
Source = Literal[callbacks.SOURCES]
Values = Annotated[dict[str, FieldValue], Field(
    description="{FIELD: value}, each a valid value of its field's type")]


def _identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError("a field name is an identifier (letters, digits, _)")
    return name


def _expression(expression: str) -> str:
    if expression:
        try:
            callback_expressions.parse_expression(expression)
        except Exception as error:  # noqa: BLE001 - the parser's own message names the fault
            raise ValueError(str(error)) from None
    return expression


def vendor_moment(what: str) -> Any:
    """A vendor time, ``YYYY-MM-DD hh:mm:ss`` (empty: none); YAML's own dates are taken too."""
    def moment(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, dt.date):
            return value.isoformat() + " 00:00:00"
        if not isinstance(value, str):
            return value  # a type error
        try:
            return field_types.moment(value, what)
        except InvalidRequest as error:
            raise ValueError(str(error)) from None
    return Annotated[str, BeforeValidator(moment)]


def members(defaults: dict, model: str) -> dict:
    """The members of the vendor's Account or User (``defaults``: name → default) as keys of a
    model: of their default's type, each checked as the SOAP API checks a client's value."""
    def checked(name: str):
        def check(value: Any) -> Any:
            try:
                return users.checked_properties({name: value}, defaults)[name]
            except InvalidRequest as error:
                raise ValueError(str(error)) from None
        return AfterValidator(check)

    keys = {}
    for name, default in defaults.items():
        kind = bool if isinstance(default, bool) else Count if isinstance(default, int) else \
            vendor_moment(name) if name in ("end", "created") else str
        unset = "the time of seeding" if name == "created" else repr(default)
        keys[name] = (Annotated[kind, checked(name)] | None,
                      only_given(description=f"the {model} member; default: {unset}"))
    return keys


def _chosen(flags: Any) -> Any:
    """Interests written as {name: 1}: the names whose flag is 1, true or yes."""
    if isinstance(flags, dict):
        return [k for k, v in flags.items() if str(v).strip().lower() in ("1", "true", "yes")]
    return flags


class AccessToken(FixtureMapping):
    """An access token of the REST and SOAP APIs."""

    token: NonEmpty
    readOnly: bool = False
    allowedIps: list[Network] = Field(default_factory=list, description="empty: any caller")


class DatabaseField(FixtureMapping):
    """A field of a database or a collection."""

    id: Ident | None = only_given()
    name: Annotated[Name, AfterValidator(_identifier)]
    type: FieldType = "text"
    value: FieldValue = Field("", description="the default value")
    displayed: bool = False
    ordered: bool = False
    length: Count = 50
    textlines: Count = 1
    hidden: bool = False
    index: bool = False
    pixelwidth: Count = 0
    weight: Count = 0


class Interest(FixtureMapping):
    """An interest of a database."""

    id: Ident | None = only_given()
    name: Name
    group: str = ""


class Collection(FixtureMapping):
    """A collection of a database."""

    id: Ident | None = only_given()
    name: Name
    weight: int = Field(0, description="the collection's weight (its place among the others)")
    unsubscribeBehavior: UnsubscribeBehavior = "nothing"
    unsubscribeValues: Values = Field(default_factory=dict)
    created: Moment | None = None
    fields: list[DatabaseField] = Field(default_factory=list)


class Subprofile(FixtureMapping):
    """A subprofile, in a collection of the profile's database."""

    id: Ident | None = only_given()
    collection: str = Field(description="the collection's name")
    code: NonEmpty | None = only_given(description="default: a generated 32-hex code")
    fields: Values = Field(default_factory=dict)
    created: Moment | None = None
    modified: Moment | None = None


class Profile(FixtureMapping):
    """A profile of a database."""

    id: Ident | None = only_given()
    code: NonEmpty | None = only_given(description="default: a generated 32-hex code")
    fields: Values = Field(default_factory=dict)
    interests: Annotated[list[str], BeforeValidator(
        _chosen, json_schema_input_type=list[str] | dict[str, Any])] = Field(
        [], description="interest names, or {name: 1}")
    created: Moment | None = None
    modified: Moment | None = None
    subprofiles: list[Subprofile] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)


class ContactData(FixtureMapping):
    """The remarks or the report of a contact."""

    type: str = ""
    source: str = ""


class Contact(FixtureMapping):
    """A contact moment with the profile (a call, a visit)."""

    id: Ident | None = only_given()
    type: str | None = Field(None, description="a contact type's name")
    user: str | None = Field(None, description="a user's name")
    plannedtime: vendor_moment("plannedtime") | None = Field(
        None, description="default: when it was created")
    executedtime: vendor_moment("executedtime") | None = Field(None, description="set: done")
    remarks: ContactData = Field(default_factory=ContactData)
    report: ContactData = Field(default_factory=ContactData)
    important: bool = False
    extra: str = ""
    created: Moment | None = None


class ContactType(FixtureMapping):
    """A contact type of a database."""

    id: Ident | None = only_given()
    name: Name
    description: str = ""
    icon: str = ""


class Callback(FixtureMapping):
    """A callback (webhook) of a database, or of one of its collections."""

    id: Ident | None = only_given()
    collection: str | None = Field(None, description="a collection's name")
    url: NonEmpty
    method: Method = "json"
    expression: Annotated[str, AfterValidator(_expression)] = ""
    actionfilter: ActionFilter = "all"
    sources: list[Source] | None = only_given()
    baseUrl: str | None = only_given()
    created: str | None = None


class Database(FixtureMapping):
    """A database of the account."""

    id: Ident | None = only_given()
    name: Name
    description: str = ""
    archived: bool = False
    unsubscribeBehavior: UnsubscribeBehavior = "nothing"
    unsubscribeValues: Values = Field(default_factory=dict)
    created: Moment | None = None
    fields: list[DatabaseField] = Field(default_factory=list)
    interests: list[Interest] = Field(default_factory=list)
    collections: list[Collection] = Field(default_factory=list)
    profiles: list[Profile] = Field(default_factory=list)
    callbacks: list[Callback] = Field(default_factory=list)
    contactTypes: list[ContactType] = Field(default_factory=list)


class _AccountKeys(FixtureMapping):
    id: Ident
    name: str = ""
    tokens: list[AccessToken] = Field(default_factory=list)
    databases: list[Database] = Field(default_factory=list)


class _UserKeys(FixtureMapping):
    username: Name
    password: str
    accounts: list[Ident] = Field(default_factory=list)


Account = create_model(
    "Account", __base__=_AccountKeys, __doc__="A Copernica account, with the members of the "
    "vendor's Account that are set.", **members(accounts.ACCOUNT_PROPERTIES, "Account"))
User = create_model(
    "User", __base__=_UserKeys, __doc__="A user who logs in (the first of its accounts is "
    "its default), with the members of the vendor's User that are set.",
    **members(users.USER_PROPERTIES, "User"))


class Session(FixtureMapping):
    """A login session (its cookie)."""

    cookie: NonEmpty
    accountId: Ident
    username: str
    created: Moment | None = None


class Copernica(FixtureMapping):
    """Copernica: users, accounts and login sessions."""

    users: list[User] = Field(default_factory=list)
    accounts: list[Account] = Field(default_factory=list)
    sessions: list[Session] = Field(default_factory=list)
