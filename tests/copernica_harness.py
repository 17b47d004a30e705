"""What the Copernica tests share: a server with the Copernica fixtures and zeep clients."""
from __future__ import annotations

import itertools

import pytest
import zeep
from requests import Session
from zeep import Settings
from zeep.transports import Transport
from zeep.wsdl import Document

from conftest import BASIC, FIXTURES, start_server

COPERNICA = FIXTURES / "copernica.yaml"
TOKEN, READ_ONLY, OFFICE, LOCAL, AGENCY = ("shop-token-rw", "shop-token-ro", "shop-token-office",
                                           "shop-token-local", "agency-token")
USER, PASSWORD = "api@shop.example", "s3cret"
_names = itertools.count(1)
_documents: dict[str, Document] = {}  # parsed WSDLs by URL: zeep takes ~0.6 s for the 1 762 methods


def wsdl_document(url: str) -> Document:
    """The WSDL at ``url`` as zeep parsed it, once per URL."""
    if url not in _documents:
        _documents[url] = Document(url, Transport(), settings=Settings())
    return _documents[url]


def copernica_server(tmp_path, *args):
    """A server seeded with the BACKCLICK and Copernica test fixtures."""
    return start_server(tmp_path, *args, fixtures=(BASIC, COPERNICA))


class Api:
    """A zeep client on the Copernica WSDL that adds an access token to every call."""

    def __init__(self, server, token: str | None = TOKEN, headers: dict | None = None):
        session = Session()
        session.headers.update(headers or {})
        self.session = session
        self.client = zeep.Client(wsdl_document(server.base_url + "?SOAPAPI=WSDL"),
                                  transport=Transport(session=session))
        self.token = token

    def __call__(self, operation: str, /, **parameters):
        """Call a method with ``parameters`` (the token added); the Result."""
        if self.token is not None and "access_token" not in parameters:
            parameters["access_token"] = self.token
        return getattr(self.client.service, operation)(parameters=parameters)

    def fault(self, operation: str, /, **parameters) -> str:
        """Call a method that must fail; the fault string."""
        with pytest.raises(zeep.exceptions.Fault) as info:
            self(operation, **parameters)
        return info.value.message


def pairs(values: dict) -> dict:
    """A map parameter."""
    return {"pair": [{"key": k, "value": v} for k, v in values.items()]}


def as_dict(m) -> dict:
    """A map result as a dict."""
    return {p.key: p.value or "" for p in (m.pair if m is not None else [])}


def requirements(*conditions) -> dict:
    """A requirements parameter from (fieldname, operator, value[, casesensitive]) tuples."""
    return {"requirement": [{"fieldname": c[0], "operator": c[1], "value": c[2],
                             **({"casesensitive": c[3]} if len(c) > 3 else {})}
                            for c in conditions]}


def fresh_database(api: Api, fields=(("Email", "email"), ("Name", "text"), ("Age", "integer")),
                   interests=(), collections=()) -> int:
    """A new database with fields, interests and collections; its id."""
    db = api("Account_createDatabase", name=f"Test{next(_names)}").database.id
    for name, kind in fields:
        api("Database_createField", id=db, name=name, type=kind)
    for name in interests:
        api("Database_createInterest", id=db, name=name)
    for name in collections:
        api("Database_createCollection", id=db, name=name)
    return db
