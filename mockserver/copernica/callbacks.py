"""Copernica-style callbacks: configuration, condition expressions, signed HTTP delivery.

A callback belongs to a database (profile changes) or a collection (subprofile changes).
Every write of a (sub)profile calls ``record_change`` inside its transaction; each callback
whose action filter, trigger sources and expression match gets one queued delivery with its
body ready. The scheduler thread of every worker calls ``deliver_due``: deliveries are
claimed with one UPDATE (never sent twice), a record's changes go out in change order, and
each POST is signed (draft-cavage-http-signatures, rsa-sha256) with a key pair kept in the
store. Failed attempts are retried after 1, 2, 4, 8 and 16 s of the mock's clock.
"""
from __future__ import annotations

import base64
import datetime as dt
import email.utils
import functools
import hashlib
import http.client
import ipaddress
import json
import logging
import os
import re
import socket
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor, wait

from lxml import etree

from mockserver.machinery import clock
from mockserver.copernica import databases
from mockserver.machinery.errors import InvalidRequest, NotFound
from mockserver.store import Store
from mockserver.copernica import callback_tables as callback_tables

log = logging.getLogger(__name__)

METHODS = ("json", "xml")
ACTIONS = ("create", "update", "delete")
ACTION_FILTERS = ("create", "update", "delete", "all")
SOURCES = ("soap", "import", "publisher", "open", "click", "bounce")
KINDS = ("profile", "subprofile")
STATES = ("pending", "sending", "delivered", "failed")

RETRY_DELAYS = (1, 2, 4, 8, 16)  # seconds of the mock's clock after each failed attempt
TIMEOUT = 5.0  # seconds to wait for the receiver's answer
CLAIM_SECONDS = 60  # a claim older than this (real time) belongs to a sender that died
SENDERS = 8  # concurrent POSTs per worker process
KEY_META = "callback_signing_key"
KEY_PATH = "_mock/callbacks/key.pem"
SIGNED_HEADERS = "(request-target) host date x-copernica-id digest"


# -- expressions ----------------------------------------------------------------------------
#
# The vendor's conditions are JavaScript (``company == 'Apple' && age >= 18``). The mock
# understands a small, closed subset and evaluates it itself; nothing reaches an interpreter.
#
#   expression := or [';']
#   or         := and ('||' and)*
#   and        := equality ('&&' equality)*
#   equality   := relation (('==' | '!=' | '===' | '!==') relation)*
#   relation   := unary (('<' | '>' | '<=' | '>=') unary)*
#   unary      := ('!' | '-') unary | primary
#   primary    := number | string | true | false | null | field | '(' or ')'
#   field      := name | ('profile' | 'subprofile') '.' name

MAX_EXPRESSION = 2000  # characters
MAX_TOKENS = 400
MAX_DEPTH = 40  # nesting of parentheses and unary operators
RECORD_NAMES = ("profile", "subprofile")
CONSTANTS = {"true": True, "false": False, "null": None, "undefined": None}
FORBIDDEN_NAMES = frozenset("""
    constructor prototype __proto__ __defineGetter__ __defineSetter__ __lookupGetter__
    __lookupSetter__ this new function return var let const class delete typeof instanceof
    void in yield await import export eval Function globalThis arguments with debugger throw
    try catch finally if else for while do switch case break continue default super extends
""".split())

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>===|!==|==|!=|<=|>=|&&|\|\||[<>!()\-.;])
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _refuse(expression: str, reason: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid callback expression {expression[:80]!r}: {reason}")


def _tokens(expression: str) -> list[tuple[str, object, int]]:
    """(kind, value, position) tokens; anything outside the subset is refused."""
    tokens, position = [], 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            char = expression[position]
            hint = {"=": "assignment is not allowed", "[": "indexing is not allowed",
                    "`": "template strings are not allowed", "+": "arithmetic is not allowed",
                    "*": "arithmetic is not allowed", "/": "arithmetic is not allowed",
                    "%": "arithmetic is not allowed", "?": "the ?: operator is not allowed",
                    ",": "commas are not allowed", "{": "object literals are not allowed",
                    "&": "use && (bitwise operators are not allowed)",
                    "|": "use || (bitwise operators are not allowed)"}.get(
                        char, f"unexpected character {char!r}")
            raise _refuse(expression, f"{hint} (at position {position})")
        kind = match.lastgroup
        text = match.group()
        position = match.end()
        if kind == "space":
            continue
        if kind == "number":
            value = float(text)
            tokens.append(("value", int(value) if value.is_integer() and abs(value) < 2**53
                           else value, match.start()))
        elif kind == "string":
            tokens.append(("value", _unescape(text[1:-1]), match.start()))
        elif kind == "name":
            if text in CONSTANTS:
                tokens.append(("value", CONSTANTS[text], match.start()))
            else:
                tokens.append(("name", text, match.start()))
        else:
            tokens.append(("op", text, match.start()))
        if len(tokens) > MAX_TOKENS:
            raise _refuse(expression, f"more than {MAX_TOKENS} tokens")
    return tokens


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


class _Parser:
    """Recursive descent over the tokens; builds a tuple tree."""

    def __init__(self, expression: str, tokens: list):
        self.expression, self.tokens, self.at, self.depth = expression, tokens, 0, 0

    def peek(self):
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", None, None)

    def take(self):
        token = self.peek()
        self.at += 1
        return token

    def fail(self, reason: str, token=None):
        token = token or self.peek()
        where = f" at position {token[2]}" if token[2] is not None else " at the end"
        return _refuse(self.expression, reason + where)

    def parse(self):
        tree = self.binary(0)
        if self.peek() == ("op", ";", self.peek()[2]):
            self.take()
        kind, value, _ = self.peek()
        if kind != "end":
            if kind == "op" and value == "(":
                raise self.fail("function calls are not allowed")
            raise self.fail(f"unexpected {value!r}")
        return tree

    LEVELS = (("||",), ("&&",), ("==", "!=", "===", "!=="), ("<", ">", "<=", ">="))

    def binary(self, level: int):
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in self.LEVELS[level]:
            operator = self.take()[1]
            left = (operator, left, self.binary(level + 1))
        return left

    def unary(self):
        kind, value, _ = self.peek()
        if kind == "op" and value in ("!", "-"):
            self.take()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            return ("not" if value == "!" else "neg", operand)
        return self.primary()

    def enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep")

    def primary(self):
        token = self.take()
        kind, value, _ = token
        if kind == "value":
            return ("value", value)
        if kind == "op" and value == "(":
            self.enter()
            tree = self.binary(0)
            self.depth -= 1
            if self.take()[1] != ")":
                raise self.fail("missing ')'", self.tokens[self.at - 1] if self.at <= len(
                    self.tokens) else None)
            return tree
        if kind == "name":
            name = value
            if name in FORBIDDEN_NAMES:
                raise self.fail(f"{name!r} is not allowed", token)
            if self.peek()[1] == "." and self.peek()[0] == "op":
                if name not in RECORD_NAMES:
                    raise self.fail("property access is not allowed (only profile.<field> "
                                    "and subprofile.<field>)", token)
                self.take()
                kind, name, _ = field = self.take()
                if kind != "name" or name in FORBIDDEN_NAMES:
                    raise self.fail("a field name must follow 'profile.'", field)
                if self.peek()[1] == "." and self.peek()[0] == "op":
                    raise self.fail("property access chains are not allowed")
            if self.peek()[1] == "(" and self.peek()[0] == "op":
                raise self.fail("function calls are not allowed")
            return ("field", name)
        if kind == "end":
            raise self.fail("the expression ends too early", token)
        raise self.fail(f"unexpected {value!r}", token)


@functools.lru_cache(maxsize=512)
def parse_expression(expression: str):
    """The syntax tree of a condition (None when empty); InvalidRequest when refused."""
    if not isinstance(expression, str):
        raise InvalidRequest("A callback expression must be text.")
    if len(expression) > MAX_EXPRESSION:
        raise _refuse(expression, f"longer than {MAX_EXPRESSION} characters")
    if not expression.strip():
        return None
    tokens = _tokens(expression)
    if not tokens or tokens == [("op", ";", tokens[0][2])]:
        return None
    return _Parser(expression, tokens).parse()


def evaluate(expression: str, fields: dict) -> bool:
    """Whether a condition holds for a record's fields (an empty condition always does)."""
    tree = parse_expression(expression or "")
    if tree is None:
        return True
    lowered = {str(k).lower(): v for k, v in fields.items()}
    return _truthy(_eval(tree, fields, lowered))


def _eval(tree, fields: dict, lowered: dict):
    op = tree[0]
    if op == "value":
        return tree[1]
    if op == "field":
        name = tree[1]
        return fields[name] if name in fields else lowered.get(name.lower())
    if op == "not":
        return not _truthy(_eval(tree[1], fields, lowered))
    if op == "neg":
        return -_number(_eval(tree[1], fields, lowered))
    if op == "&&":
        left = _eval(tree[1], fields, lowered)
        return _eval(tree[2], fields, lowered) if _truthy(left) else left
    if op == "||":
        left = _eval(tree[1], fields, lowered)
        return left if _truthy(left) else _eval(tree[2], fields, lowered)
    left, right = _eval(tree[1], fields, lowered), _eval(tree[2], fields, lowered)
    if op == "==":
        return _loose_equal(left, right)
    if op == "!=":
        return not _loose_equal(left, right)
    if op == "===":
        return _strict_equal(left, right)
    if op == "!==":
        return not _strict_equal(left, right)
    if isinstance(left, str) and isinstance(right, str):
        a, b = left, right
    else:
        a, b = _number(left), _number(right)
        if a != a or b != b:  # NaN: every comparison is false
            return False
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


def _truthy(value) -> bool:
    if isinstance(value, float) and value != value:
        return False
    return bool(value)


def _number(value) -> float:
    """JavaScript's Number(value)."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _loose_equal(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    return _number(left) == _number(right)


def _strict_equal(left, right) -> bool:
    def kind(value):
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "boolean"
        return "number" if isinstance(value, (int, float)) else "string"
    if kind(left) != kind(right):
        return False
    return _number(left) == _number(right) if kind(left) == "number" else left == right


# -- configuration ---------------------------------------------------------------------------

def _check_url(url) -> str:
    if not isinstance(url, str) or not url.strip():
        raise InvalidRequest("A callback needs a url.")
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"Invalid callback url {url!r}: an absolute http:// or https:// "
                             f"URL is required.")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise InvalidRequest(f"Invalid callback url {url!r}: bad port.")
    return url


# -- the mock itself --------------------------------------------------------------------------
#
# A callback is a POST the mock makes; pointed at the mock's own address it would be a way
# around the admin API's gate (``/_mock/reset`` wipes the store) or a loop through the SOAP
# API. Such URLs are refused when a callback is created and checked again before each
# delivery (fixtures, snapshots, a direct row or a restart on another port bring them in).

ITSELF = "it points at the mock itself."
_listening: set[int] = set()  # ports the servers of this process listen on


def listening_on(port: int | str | None) -> None:
    """Remember a port a server of this process listens on: callbacks to it on this machine
    are refused when created and never delivered."""
    try:
        if port and int(port) > 0:
            _listening.add(int(port))
    except (TypeError, ValueError):
        pass


def _target(url: str) -> tuple[str, int] | None:
    """(host name, port) a URL connects to: the name lower-case, without brackets or a
    trailing dot; the port the scheme's default when absent. None when it has none."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return None
    return host, port if port is not None else (443 if parts.scheme.lower() == "https" else 80)


def _is_this_machine(sockaddr: tuple) -> bool:
    """True for a loopback or unspecified address, or any address of this machine (one a
    socket can be bound to)."""
    try:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
    except ValueError:
        return False
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    if address.is_loopback or address.is_unspecified:
        return True
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    bind_to = (str(address), 0) if address.version == 4 or len(sockaddr) < 4 \
        else (str(address), 0, 0, sockaddr[3])
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind(bind_to)
        return True
    except OSError:
        return False


def _resolves_here(host: str, port: int) -> bool:
    """True when a host name means this machine (``localhost`` and ``*.localhost`` always do)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return any(_is_this_machine(info[4]) for info in found)


def is_the_mock(url: str, base_url: str = "", ports=()) -> bool:
    """True when a URL is the mock itself: its host:port is the one the mock was addressed by
    (``base_url``, from a request's Host; behind a proxy the proxy's), or its port is one the
    mock listens on (``ports`` and those of ``listening_on``) and its host is that name or
    this machine (a loopback address, any address of this machine, localhost). Every path
    counts: the admin API, the UI, the SOAP endpoints and the tracking links alike."""
    target = _target(url)
    if target is None:
        return False
    addressed = _target(base_url) if base_url else None
    if addressed and target == addressed:
        return True
    own = {int(p) for p in ports if str(p).isdigit()} | _listening
    if target[1] not in own:
        return False
    return bool(addressed and target[0] == addressed[0]) or _resolves_here(*target)


def _callback_json(row: dict) -> dict:
    return {"id": row["id"], "database_id": row["database_id"],
            "collection_id": row["collection_id"], "url": row["url"], "method": row["method"],
            "expression": row["expression"], "actionfilter": row["actionfilter"],
            "sources": json.loads(row["sources"]), "created": row["created"]}


def create_callback(store: Store, account_id: int, *, database_id: int | None = None,
                    collection_id: int | None = None, url: str, method: str = "json",
                    expression: str = "", actionfilter: str = "all", sources=None,
                    base_url: str = "", server_port: int | str | None = None) -> dict:
    """Create a callback of a database or collection after validating it; the new callback.

    ``base_url`` and ``server_port`` say how the creating request reached the mock (its Host,
    the port it came in on): a URL of the mock itself is refused (see ``is_the_mock``).
    """
    if database_id is None and collection_id is None:
        raise InvalidRequest("A callback belongs to a database or a collection.")
    url = _checked_target(url, base_url, server_port)
    method = _checked_method(method)
    actionfilter = _checked_actionfilter(actionfilter)
    if sources is None:
        sources = list(SOURCES)
    if isinstance(sources, str):
        sources = [s for s in re.split(r"[,\s]+", sources) if s]
    sources = [str(s).strip().lower() for s in sources]
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise InvalidRequest(f"Unknown callback source {unknown[0]!r}: one of "
                             f"{', '.join(SOURCES)}.")
    sources = [s for s in SOURCES if s in sources]
    expression = expression or ""
    parse_expression(expression)
    signing_key(store)  # made now, so the first delivery does not wait for it
    with store.transaction():
        callback_id = callback_tables.insert_callback(store, {
            "account_id": account_id, "database_id": database_id,
            "collection_id": collection_id, "url": url, "method": method,
            "expression": expression, "actionfilter": actionfilter,
            "sources": json.dumps(sources), "base_url": base_url or "",
            "created": _local_time(clock.now(store))})
        return _callback_json(callback_tables.callback(store, callback_id))


def _checked_target(url: str, base_url: str, server_port) -> str:
    url = _check_url(url)
    if is_the_mock(url, base_url, [server_port] if server_port else ()):
        raise InvalidRequest(f"Invalid callback url {url!r}: {ITSELF}")
    return url


def _checked_method(method: str | None) -> str:
    method = (method or "json").strip().lower()
    if method not in METHODS:
        raise InvalidRequest(f"Invalid callback method {method!r}: use json or xml.")
    return method


def _checked_actionfilter(actionfilter: str | None) -> str:
    actionfilter = (actionfilter or "all").strip().lower()
    if actionfilter not in ACTION_FILTERS:
        raise InvalidRequest(f"Invalid callback actionfilter {actionfilter!r}: one of "
                             f"{', '.join(ACTION_FILTERS)}.")
    return actionfilter


def update_callback(store: Store, account_id: int, callback_id: int, *, url: str | None = None,
                    method: str | None = None, expression: str | None = None,
                    actionfilter: str | None = None, base_url: str = "",
                    server_port: int | str | None = None) -> dict | None:
    """Change a callback's url, method, expression or action filter (None: kept), checked as
    at creation; the callback after, or None when the account has no such callback."""
    changes: dict = {}
    if url is not None:
        changes["url"] = _checked_target(url, base_url, server_port)
        changes["base_url"] = base_url or ""
    if method is not None:
        changes["method"] = _checked_method(method)
    if actionfilter is not None:
        changes["actionfilter"] = _checked_actionfilter(actionfilter)
    if expression is not None:
        parse_expression(expression)
        changes["expression"] = expression
    with store.transaction():
        if get_callback(store, account_id, callback_id) is None:
            return None
        callback_tables.update_callback(store, callback_id, changes)
        return get_callback(store, account_id, callback_id)


def set_source(store: Store, account_id: int, callback_id: int, *,
               database_id: int | None = None, collection_id: int | None = None) -> dict:
    """Make a callback watch another database's profiles or collection's subprofiles of the
    account (exactly one of them); the callback after. NotFound for an unknown callback,
    database or collection."""
    if (database_id is None) == (collection_id is None):
        raise InvalidRequest("Give one source: database {id} or collection {id}.")
    with store.transaction():
        if get_callback(store, account_id, callback_id) is None:
            raise NotFound(f"Unknown callback {callback_id}.")
        if database_id is not None:
            databases.require_database(store, account_id, database_id)
        else:
            databases.require_collection(store, account_id, collection_id)
        callback_tables.update_callback(store, callback_id, {"database_id": database_id,
                                            "collection_id": collection_id})
        return get_callback(store, account_id, callback_id)


def get_callback(store: Store, account_id: int, callback_id: int) -> dict | None:
    """One of the account's callbacks, or None."""
    row = callback_tables.callback(store, callback_id)
    return _callback_json(row) if row and row["account_id"] == account_id else None


def callback_by_url(store: Store, account_id: int, database_id: int | None, url: str) -> dict | None:
    """The account's callback of a database with this URL, or None."""
    row = callback_tables.callback_by_url(store, account_id, database_id, url)
    return _callback_json(row) if row else None


def callbacks_of(store: Store, database_id: int | None = None,
                 collection_id: int | None = None) -> list[dict]:
    """The callbacks of a collection, or of a database's profiles, oldest first."""
    return [_callback_json(r) for r in callback_tables.callbacks_of(store, database_id, collection_id)]


def remove_callback(store: Store, account_id: int, callback_id: int) -> bool:
    """Remove one of the account's callbacks and its queued deliveries; False when unknown."""
    return callback_tables.delete_callback(store, account_id, callback_id)


# -- changes -> deliveries -------------------------------------------------------------------

def _local_time(moment: dt.datetime) -> str:
    return clock.local(moment).strftime("%Y-%m-%d %H:%M:%S")


def _interest_names(interests) -> list[str]:
    if isinstance(interests, dict):
        return [str(k) for k, v in interests.items() if v not in (0, "0", False, None, "")]
    return [str(i) for i in interests or []]


def json_payload(payload: dict) -> bytes:
    """The form body of a json callback: field ``json`` holding the payload."""
    return urllib.parse.urlencode(
        {"json": json.dumps(payload, ensure_ascii=False)}).encode("ascii")


_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _xml_map(parent, tag: str, values: dict) -> None:
    element = etree.SubElement(parent, tag)
    for name, value in values.items():
        name = str(name)
        if _XML_NAME.match(name) and not name.lower().startswith("xml"):
            child = etree.SubElement(element, name)
        else:
            child = etree.SubElement(element, "field", name=name)
        child.text = _xml_text(value)


def _xml_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)


def xml_payload(payload: dict) -> bytes:
    """The ``text/xml`` body of an xml callback: ``<callback>`` with fields and updated values."""
    root = etree.Element("callback")
    for name in ("id", "action", "database", "collection", "timestamp"):
        if payload.get(name) is not None:
            etree.SubElement(root, name).text = _xml_text(payload[name])
    _xml_map(root, "fields", payload["fields"])
    _xml_map(root, "updated", payload["parameters"])
    interests = etree.SubElement(root, "interests")
    for name in payload["interests"]:
        etree.SubElement(interests, "interest").text = _xml_text(name)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def record_change(store: Store, *, account_id: int, database_id: int,
                  collection_id: int | None, kind: str, record_id: int, action: str,
                  fields: dict, changed: dict, interests, source: str = "soap") -> int:
    """Queue the deliveries one (sub)profile write triggers (call inside the write's
    transaction); how many were queued."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, not {action!r}")
    rows = callback_tables.callbacks_of(store, None if kind == "subprofile" else database_id,
                              collection_id if kind == "subprofile" else None)
    if not rows:
        return 0
    fields, changed = dict(fields or {}), dict(changed or {})
    queued, payload, moment = 0, None, None
    for row in rows:
        if row["actionfilter"] not in ("all", action) or source not in json.loads(row["sources"]):
            continue
        try:
            if not evaluate(row["expression"], fields):
                continue
        except Exception:  # noqa: BLE001 - an old bad expression never breaks a write
            log.warning("callback %s: expression %r failed", row["id"], row["expression"])
            continue
        if payload is None:
            moment = clock.now(store)
            payload = {"id": record_id, "action": action, "database": database_id}
            if kind == "subprofile":
                payload["collection"] = collection_id
            payload.update(fields=fields, interests=_interest_names(interests),
                           parameters=changed, timestamp=_local_time(moment))
            if kind == "profile":  # receivers also read profile.fields.<name>
                payload["profile"] = {"id": record_id, "fields": fields,
                                      "interests": payload["interests"]}
        if row["method"] == "xml":
            content_type, body = "text/xml; charset=utf-8", xml_payload(payload)
        else:
            content_type, body = "application/x-www-form-urlencoded", json_payload(payload)
        callback_tables.insert_callback_delivery(store, {
            "callback_id": row["id"], "account_id": row["account_id"],
            "record": f"{kind}:{record_id}", "action": action, "url": row["url"],
            "content_type": content_type, "body": body, "state": "pending",
            "next_attempt": clock.stamp(moment), "created": clock.stamp(moment)})
        queued += 1
    return queued


# -- signing ---------------------------------------------------------------------------------

_KEYS: dict[str, object] = {}
_KEYS_LOCK = threading.Lock()


def signing_key(store: Store):
    """The store's RSA private key (made once, kept in the meta table, shared by workers)."""
    pem = store.meta_get(KEY_META)
    if pem is None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        fresh = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode("ascii")
        with store.transaction():  # another worker may have been first: keep theirs
            if store.meta_get(KEY_META) is None:
                store.meta_set(KEY_META, fresh)
        pem = store.meta_get(KEY_META)
    with _KEYS_LOCK:
        key = _KEYS.get(pem)
        if key is None:
            from cryptography.hazmat.primitives import serialization
            key = _KEYS[pem] = serialization.load_pem_private_key(pem.encode("ascii"), None)
    return key


def public_key_pem(store: Store) -> bytes:
    """The public half of the signing key, PEM (SubjectPublicKeyInfo)."""
    from cryptography.hazmat.primitives import serialization
    return signing_key(store).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_url(base_url: str) -> str:
    """The ``keyId`` of signatures: where the mock serves its public key."""
    return (base_url or "http://127.0.0.1/").rstrip("/") + "/" + KEY_PATH


def signed_headers(store: Store, url: str, body: bytes, account_id: int, base_url: str,
                   moment: dt.datetime) -> dict:
    """The headers of a signed callback POST: Host, Date, Digest, X-Copernica-ID, Signature."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    parts = urllib.parse.urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    headers = {
        "Host": parts.netloc.rsplit("@", 1)[-1],
        "Date": email.utils.format_datetime(moment.astimezone(dt.timezone.utc), usegmt=True),
        "X-Copernica-ID": f"account_{account_id}",
        "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii"),
    }
    signing_string = "\n".join([
        f"(request-target): post {target}", f"host: {headers['Host']}",
        f"date: {headers['Date']}", f"x-copernica-id: {headers['X-Copernica-ID']}",
        f"digest: {headers['Digest']}"])
    signature = signing_key(store).sign(signing_string.encode("utf-8"), padding.PKCS1v15(),
                                        hashes.SHA256())
    headers["Signature"] = (
        f'keyId="{key_url(base_url)}",algorithm="rsa-sha256",headers="{SIGNED_HEADERS}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"')
    return headers


# -- delivery --------------------------------------------------------------------------------

_pool: ThreadPoolExecutor | None = None
_pool_pid = None
_in_flight = 0
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid, _in_flight
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="mockserver-callback")
            _pool_pid, _in_flight = os.getpid(), 0
        return _pool


class _ItIsTheMock(Exception):
    """The connection of a delivery reached the mock itself (a name that resolved to it)."""


def _post(url: str, headers: dict, body: bytes) -> tuple[int | None, str]:
    """POST once; (status, error text), status None when no answer came. Nothing is sent
    when the connection turns out to reach the mock itself (``_ItIsTheMock``)."""
    parts = urllib.parse.urlsplit(url)
    connection_class = (http.client.HTTPSConnection if parts.scheme.lower() == "https"
                        else http.client.HTTPConnection)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = connection_class(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        connection.connect()
        peer = connection.sock.getpeername()
        if peer[1] in _listening and _is_this_machine(peer):
            raise _ItIsTheMock(url)
        connection.request("POST", target, body=body, headers=headers)
        answer = connection.getresponse()
        text = answer.read(2000)
        if 200 <= answer.status < 300:
            return answer.status, ""
        return answer.status, f"HTTP {answer.status} {answer.reason}: " + \
            text.decode("utf-8", "replace").strip()[:200]
    except _ItIsTheMock:
        raise
    except Exception as error:  # noqa: BLE001 - recorded on the attempt
        return None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    finally:
        connection.close()


def send(store: Store, delivery_id: int) -> bool:
    """Make one attempt of a claimed delivery and record it; True when it was accepted."""
    row = callback_tables.callback_delivery(store, delivery_id)
    if row is None:  # removed with its callback, or by a reset
        return False
    callback = callback_tables.callback(store, row["callback_id"]) or {}
    body = bytes(row["body"]) if not isinstance(row["body"], str) else row["body"].encode()
    moment = clock.now(store)
    if is_the_mock(row["url"], callback.get("base_url", "")):
        return _refuse_delivery(store, row, moment)
    headers = {"Content-Type": row["content_type"], "User-Agent": "mockserver-callbacks",
               **signed_headers(store, row["url"], body, row["account_id"],
                                callback.get("base_url", ""), moment)}
    started = time.monotonic()
    try:
        status, error = _post(row["url"], headers, body)
    except _ItIsTheMock:
        return _refuse_delivery(store, row, moment)
    duration_ms = int((time.monotonic() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    attempt_number = row["attempts"] + 1
    now = clock.now(store)
    if ok:
        state, next_at, finished = "delivered", row["next_attempt"], clock.stamp(now)
    elif attempt_number > len(RETRY_DELAYS):
        state, next_at, finished = "failed", row["next_attempt"], clock.stamp(now)
    else:
        state, finished = "pending", None
        next_at = clock.stamp(now + dt.timedelta(seconds=RETRY_DELAYS[attempt_number - 1]))
    callback_tables.finish_callback_attempt(store, delivery_id, {
        "at": clock.stamp(moment), "status": status, "error": error,
        "duration_ms": duration_ms, "request_headers": headers}, state, next_at, finished)
    if not ok:
        log.info("callback delivery %s to %s: attempt %s failed: %s", delivery_id, row["url"],
                 attempt_number, error)
    return ok


def _refuse_delivery(store: Store, row: dict, moment: dt.datetime) -> bool:
    """Give a delivery to the mock itself up at once, nothing sent: one attempt without a
    status whose error says why, state ``failed``, no retries. False."""
    log.warning("callback delivery %s to %s refused: %s", row["id"], row["url"], ITSELF)
    callback_tables.finish_callback_attempt(store, row["id"], {
        "at": clock.stamp(moment), "status": None,
        "error": f"Refused, not sent: {row['url']!r}: {ITSELF}", "duration_ms": 0,
        "request_headers": {}}, "failed", row["next_attempt"], clock.now_stamp(store))
    return False


def _send_and_release(store: Store, delivery_id: int, more: bool = True) -> None:
    """Send a claimed delivery; then, while there is more due, claim and send the next one
    (a sender keeps busy without waiting for the next scheduler round)."""
    global _in_flight
    try:
        while delivery_id is not None:
            try:
                send(store, delivery_id)
            except Exception:  # noqa: BLE001 - the claim expires and another round retries
                log.exception("callback delivery %s failed", delivery_id)
            following = _claim(store, 1) if more else []
            delivery_id = following[0] if following else None
    finally:
        with _pool_lock:
            _in_flight -= 1


def _claim(store: Store, limit: int) -> list[int]:
    now = clock.now_stamp(store)
    real = dt.datetime.now(dt.timezone.utc)
    real_now = clock.stamp(real)
    if limit <= 0 or not callback_tables.callback_work_due(store, now, real_now):
        return []
    return callback_tables.claim_callback_deliveries(store, 
        now, real_now, clock.stamp(real + dt.timedelta(seconds=CLAIM_SECONDS)), limit)


def _submit(store: Store, ids: list[int], more: bool = True) -> list:
    global _in_flight
    pool = _executor()
    with _pool_lock:
        _in_flight += len(ids)
    return [pool.submit(_send_and_release, store, i, more) for i in ids]


def deliver_due(store: Store) -> int:
    """Claim the deliveries due now and start sending them (in this worker's sender threads);
    how many were claimed. Called by every scheduler round."""
    _executor()
    with _pool_lock:
        free = 2 * SENDERS - _in_flight
    ids = _claim(store, free)
    if ids:
        _submit(store, ids)
    return len(ids)


def flush(store: Store, timeout: float = 60.0) -> int:
    """Deliver what is due now and wait for it (also for sends another worker claimed);
    how many attempts this call made."""
    now = clock.now_stamp(store)
    deadline = time.monotonic() + timeout
    attempts = 0
    while time.monotonic() < deadline:
        ids = _claim(store, 4 * SENDERS)
        if ids:
            wait(_submit(store, ids, more=False),
                 timeout=max(0.0, deadline - time.monotonic()))
            attempts += len(ids)
            continue
        if not callback_tables.callback_deliveries_open(store, now):
            break
        time.sleep(0.02)
    return attempts


def deliveries(store: Store, callback_id: int | None = None, state: str | None = None,
               account_id: int | None = None, limit: int = 1000) -> list[dict]:
    """Deliveries with their attempts, as the admin API shows them, oldest first."""
    result = []
    for row in callback_tables.callback_deliveries(store, callback_id, state, account_id, limit):
        body = bytes(row["body"]) if not isinstance(row["body"], str) else row["body"].encode()
        result.append({
            "id": row["id"], "callback": row["callback_id"],
            "tenant": f"account-{row['account_id']}", "record": row["record"],
            "action": row["action"], "url": row["url"], "contentType": row["content_type"],
            "body": body.decode("utf-8", "replace"), "state": row["state"],
            "created": row["created"], "nextAttempt": row["next_attempt"]
            if row["state"] == "pending" else None, "finished": row["finished"],
            "attempts": [{"at": a["at"], "status": a["status"], "error": a["error"],
                          "durationMs": a["duration_ms"],
                          "requestHeaders": json.loads(a["request_headers"] or "{}")}
                         for a in row["attempts"]]})
    return result
