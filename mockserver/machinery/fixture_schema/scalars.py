"""The building blocks of the fixture format: the mapping every section is, and its scalars.

Each scalar is an ``Annotated`` type: pydantic checks and normalises the value and the JSON
Schema shows editors what to accept. A value that is wrong raises ValueError worded the way
``mockserver check`` prints it.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
from typing import Annotated, Any, ClassVar

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field,
                      model_validator)

from mockserver.machinery import clock
from mockserver.machinery.addresses import is_valid_address

MAX_ID = 2**31 - 1
MOMENT_PROBLEM = "expected an ISO 8601 date and time, e.g. 2026-11-22T12:00:00+01:00"
MOMENT_RANGE_PROBLEM = "expected a date and time within the years 1 to 9999 in UTC"


class UnknownKey:
    """Stands in for the value of a key a mapping does not know, so that the problem pydantic
    reports for it (``extra_forbidden``) can name the keys the mapping does know."""

    def __init__(self, known: tuple[str, ...]):
        self.known = known


class FixtureMapping(BaseModel):
    """A mapping of the format: unknown keys are refused, a null value means the key is not
    given, and values are never coerced (``"2"`` is no integer)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    KEYS: ClassVar[tuple[str, ...]] = ()
    KEYS_GIVEN: ClassVar[Any] = None  # KEYS_GIVEN(mapping): are all its keys known?

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Note the keys of the mapping, in the order the format documents them."""
        super().__pydantic_init_subclass__(**kwargs)
        cls.KEYS = tuple(field.alias or name for name, field in cls.model_fields.items())
        cls.KEYS_GIVEN = frozenset(cls.KEYS).issuperset

    @model_validator(mode="before")
    @classmethod
    def _given(cls, data: Any) -> Any:
        """Drop null values; mark unknown keys for the problem that names the known ones."""
        if not isinstance(data, dict) or (None not in data.values() and cls.KEYS_GIVEN(data)):
            return data
        return {key: value if key in cls.KEYS else UnknownKey(cls.KEYS)
                for key, value in data.items() if value is not None}


def only_given(**kwargs: Any) -> Any:
    """A key that is left out of the normalised document when it is not given."""
    return Field(None, exclude_if=lambda value: value is None, **kwargs)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _stripped(value: str) -> str:
    """The text without surrounding spaces; it must not be empty."""
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be empty")
    return stripped


def _moment(value: Any) -> Any:
    """A date and time as the store's stamp (UTC; no offset means UTC; a date is midnight)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = clock.parse_stamp(value.strip())
        except ValueError:
            raise ValueError(MOMENT_PROBLEM) from None
    else:
        raise ValueError(MOMENT_PROBLEM)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    try:
        return clock.stamp(moment)
    except OverflowError:  # beyond the year 9999 once in UTC
        raise ValueError(MOMENT_RANGE_PROBLEM) from None


def _field_value(value: Any) -> Any:
    """A field value is a string; a YAML date is taken as its ISO form."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError("expected a string (quote numbers in YAML: 01067 would lose its 0)")
    return value


def _base64(value: str) -> str:
    """Bytes written as base64 text; line breaks and spaces are dropped."""
    text = "".join(value.split())
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("expected base64 data (A-Z, a-z, 0-9, +, / and = padding)") from None
    return text


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError as error:
        raise ValueError(f"expected a CIDR network: {error}") from None


def _digits(key: Any) -> Any:
    """A mapping key written as digits (JSON has only string keys) is the integer."""
    return int(key) if isinstance(key, str) and key.strip().isdigit() else key


def domain_ok(domain: str) -> bool:
    """True for a domain name an address may end in."""
    return bool(domain) and is_valid_address("x@" + domain)


NonEmpty = Annotated[str, Field(min_length=1), AfterValidator(_not_blank)]
Name = Annotated[str, Field(min_length=1), AfterValidator(_stripped)]
Ident = Annotated[int, Field(ge=1, le=MAX_ID)]
IdentKey = Annotated[Ident, BeforeValidator(_digits)]
Count = Annotated[int, Field(ge=0)]
Moment = Annotated[str, BeforeValidator(_moment), Field(
    description="an ISO 8601 date and time (2026-11-22T12:00:00+01:00, ...Z, or a date "
                "alone); no offset means UTC")]
FieldValue = Annotated[str, BeforeValidator(_field_value)]
Base64 = Annotated[str, AfterValidator(_base64)]
Network = Annotated[str, AfterValidator(_network), Field(description="a CIDR network")]
PersonalValues = dict[Annotated[str, BeforeValidator(str)], FieldValue]
