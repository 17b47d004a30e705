"""The ``copernica`` section: users, accounts with their access tokens and databases (fields,
interests, collections, profiles, subprofiles, callbacks), and login sessions. Names that
refer to each other and values checked against their field's type are checked in
mockserver/fixtures.py."""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from mockserver import callbacks, databases
from mockserver.fixture_schema.scalars import (Count, FieldValue, FixtureMapping, Ident, Moment,
                                               Name, Network, NonEmpty,
                                               only_given)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
FieldType = Literal[databases.FIELD_TYPES]
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
            callbacks.parse_expression(expression)
        except Exception as error:  # noqa: BLE001 - the parser's own message names the fault
            raise ValueError(str(error)) from None
    return expression


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
    unsubscribeBehavior: UnsubscribeBehavior = "nothing"
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


class Account(FixtureMapping):
    """A Copernica account."""

    id: Ident
    name: str = ""
    tokens: list[AccessToken] = Field(default_factory=list)
    databases: list[Database] = Field(default_factory=list)


class User(FixtureMapping):
    """A user who logs in; the first of its accounts is its default."""

    username: Name
    password: str
    accounts: list[Ident] = Field(default_factory=list)


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
