"""Fixtures: YAML or JSON documents that configure and fill the store (see docs/fixtures.md).

``load_paths`` reads and validates files and merges them into one document, ``seed`` writes
a document into the store in one transaction, ``export`` reads the whole store back as a
document such that seeding it into an empty store reproduces every row.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import re
import sqlite3
from pathlib import Path

import yaml

from mockserver import clock, outbox, tokens
from mockserver.store import TABLES, Store
from mockserver.subscribers import is_valid_address

SUFFIXES = (".yaml", ".yml", ".json")
REQUEST_BODY = "<request body>"
DOCUMENT = "<document>"

STATUS_NAMES = {"subscribed": 0, "unsubscribed": 1, "pending": 2}
STATUS_OF = {code: name for name, code in STATUS_NAMES.items()}
OPERATORS = ("=", "!=", "<", ">", "<=", ">=", "contains")
CONFIRMATION_KINDS = ("doi", "change")
NEWSLETTER_STATES = ("scheduled", "sending", "sent")
NEWSLETTER_KINDS = ("list", "recipients")
RELAY_STATES = ("pending", "relaying", "sent", "failed")
MAX_ID = 2**31 - 1

TOP_KEYS = ("seed", "clock", "backclick", "copernica", "state")
CLOCK_KEYS = ("start", "frozen")
BACKCLICK_KEYS = ("blockList", "mandators")
MANDATOR_KEYS = ("id", "name", "apiKeys", "allowedIps", "senderDomains", "fields", "lists",
                 "templates", "profileFilters", "voucherLists", "subscribers")
LIST_KEYS = ("id", "name", "description", "welcomeTemplateId")
TEMPLATE_KEYS = ("id", "name", "subject", "html", "text")
FILTER_KEYS = ("id", "name", "conditions")
CONDITION_KEYS = ("field", "operator", "value")
VOUCHER_LIST_KEYS = ("id", "name", "codes")
VOUCHER_KEYS = ("code", "usedAt", "usedBy")
SUBSCRIBER_KEYS = ("id", "email", "fields", "lists", "listsChanged", "created", "modified")
STATE_KEYS = ("confirmations", "channels", "newsletters", "outbox")
STATE_COUNTERS = ("tokensIssued",)  # state keys that hold a number, not rows
CONFIRMATION_KEYS = ("token", "kind", "mandatorId", "subscriberId", "listIds", "changes",
                     "sendWelcome", "sendLastNewsletter", "created", "confirmed")
CHANNEL_KEYS = ("id", "mandatorId", "name", "description", "created")
NEWSLETTER_COUNTS = {"numRecipientsUnadjusted": "num_unadjusted",
                     "numExcludedBlocked": "excluded_blocked",
                     "numExcludedInvalid": "excluded_invalid",
                     "numExcludedDuplicate": "excluded_duplicate",
                     "numRecipientsAdjusted": "num_adjusted"}
NEWSLETTER_KEYS = ("id", "mandatorId", "kind", "listId", "filterIds", "recipients", "templateId",
                   "subject", "html", "text", "adhockInformation", "senderName", "senderEmail",
                   "baseUrl", "created", "sendTime", "state", "started", "finished",
                   *NEWSLETTER_COUNTS)
RECIPIENT_KEYS = ("email", "fields")
MAIL_KEYS = ("id", "mandatorId", "kind", "to", "from", "fromName", "replyTo", "subject", "html",
             "text", "created", "newsletterId", "listId", "subscriberId", "channelId",
             "campaignId", "token", "baseUrl", "personalisation", "links", "attachments",
             "events", "relay")
ATTACHMENT_KEYS = ("name", "contentType", "data")
EVENT_KEYS = ("id", "type", "detail", "at")
RELAY_KEYS = ("state", "error")

_FIELD_NAME = re.compile(r"[A-Za-z0-9_-]+\Z")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The safe YAML loader (libyaml when present); a plain ``=`` is the string "="."""


_Loader.add_constructor("tag:yaml.org,2002:value",
                        lambda loader, node: loader.construct_scalar(node))
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class FixtureError(Exception):
    """A fixture problem, worded ``file: path: problem``."""


class FixtureConflict(FixtureError):
    """A valid document that clashes with what the store already holds."""


# -- reading ------------------------------------------------------------------


def fixture_files(path: str) -> list[Path]:
    """The files a path names: itself, or a folder's .yaml/.yml/.json files, sorted by name."""
    p = Path(path)
    if not p.is_dir():
        return [p]
    files = sorted(f for f in p.iterdir() if f.suffix in SUFFIXES and f.is_file())
    if not files:
        raise FixtureError(f"{p}: no fixture files (.yaml, .yml, .json) in this folder")
    return files


def parse_text(text: str, source: str, as_json: bool | None = None) -> object:
    """Parse fixture text as JSON or YAML (``None``: JSON if it parses, else YAML)."""
    if as_json is not False:
        try:
            return json.loads(text)
        except ValueError as error:
            if as_json:
                line, column = getattr(error, "lineno", 1), getattr(error, "colno", 1)
                raise FixtureError(f"{source}: line {line}, column {column}: not valid JSON: "
                                   f"{getattr(error, 'msg', error)}")
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise FixtureError(f"{source}: {where}not valid YAML: {problem}")


def load_file(path: Path) -> dict:
    """Read and validate one fixture file (not yet merged)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FixtureError(f"{path}: cannot read: not UTF-8 text")
    except OSError as error:
        raise FixtureError(f"{path}: cannot read: {error.strerror or error}")
    return validate(parse_text(text, str(path), as_json=path.suffix == ".json"), str(path))


def load_paths(paths: list[str]) -> dict:
    """Read fixture files and folders, validate each and merge them into one document."""
    return merge([(str(f), load_file(f)) for path in paths for f in fixture_files(path)])


def read_document(document: object, source: str = DOCUMENT) -> dict:
    """Validate one parsed document (e.g. a request body) into the merged, normalised form."""
    return merge([(source, validate(document, source))])


# -- validation of one document ----------------------------------------------


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


class _Checker:
    """Validates one document; every failure names the source and the path."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, problem: str):
        raise FixtureError(f"{self.source}: {path or 'document'}: {problem}")

    def mapping(self, value, path: str, known: tuple, required: tuple = ()) -> dict:
        if not isinstance(value, dict):
            self.fail(path, "expected a mapping")
        for key in value:
            if key not in known:
                self.fail(_join(path, key), f"unknown key (known keys: {', '.join(known)})")
        for key in required:
            if value.get(key) is None:
                self.fail(_join(path, key), "required key is missing")
        return value

    def any_mapping(self, value, path: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, "expected a mapping")
        return value

    def sequence(self, value, path: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, "expected a list")
        return value

    def integer(self, value, path: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(path, "expected an integer")
        return value

    def ident(self, value, path: str) -> int:
        self.integer(value, path)
        if not 1 <= value <= MAX_ID:
            self.fail(path, f"expected an id between 1 and {MAX_ID}")
        return value

    def optional_ident(self, value, path: str) -> int | None:
        return None if value is None else self.ident(value, path)

    def count(self, value, path: str) -> int:
        if value is None:
            return 0
        self.integer(value, path)
        if value < 0:
            self.fail(path, "expected a count, 0 or more")
        return value

    def optional_text(self, value, path: str) -> str | None:
        return None if value is None else self.text(value, path)

    def base64(self, value, path: str) -> str:
        """Bytes written as base64 text, checked; line breaks and spaces are dropped."""
        text = "".join(self.text(value, path).split())
        try:
            base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            self.fail(path, "expected base64 data (A-Z, a-z, 0-9, +, / and = padding)")
        return text

    def text(self, value, path: str, default: str = "", nonempty: bool = False) -> str:
        if value is None:
            value = default
        if not isinstance(value, str):
            self.fail(path, "expected a string")
        if nonempty and not value.strip():
            self.fail(path, "must not be empty")
        return value

    def value(self, value, path: str) -> str:
        """A field value: a string (a YAML date is taken as its ISO form)."""
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        if not isinstance(value, str):
            self.fail(path, "expected a string (quote numbers in YAML: 01067 would lose its 0)")
        return value

    def flag(self, value, path: str, default: bool = False) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(path, "expected true or false")
        return value

    def moment(self, value, path: str, default: str | None = None) -> str | None:
        """A date and time, normalised to the store's stamp (UTC; naive means UTC)."""
        if value is None:
            return default
        if isinstance(value, dt.datetime):
            moment = value
        elif isinstance(value, dt.date):
            moment = dt.datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            try:
                moment = clock.parse_stamp(value.strip())
            except ValueError:
                self.fail(path, "expected an ISO 8601 date and time, e.g. 2026-11-22T12:00:00+01:00")
        else:
            self.fail(path, "expected an ISO 8601 date and time, e.g. 2026-11-22T12:00:00+01:00")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        try:
            return clock.stamp(moment)
        except OverflowError:  # beyond year 9999 once in UTC
            self.fail(path, "expected a date and time within the years 1 to 9999 in UTC")

    def choice(self, value, path: str, choices: tuple, default: str | None = None) -> str:
        if value is None and default is not None:
            return default
        if value not in choices:
            self.fail(path, f"expected one of {', '.join(choices)}")
        return value

    def unique(self, seen: dict, key, path: str, what: str, first: str) -> None:
        if key in seen:
            self.fail(path, f"duplicate {what} (also {seen[key]})")
        seen[key] = first


def validate(document: object, source: str) -> dict:
    """Check one parsed fixture document; return it normalised (defaults filled in)."""
    c = _Checker(source)
    if document is None:
        document = {}
    c.mapping(document, "", TOP_KEYS)
    out: dict = {}
    if "seed" in document:
        out["seed"] = c.integer(document["seed"], "seed")
    if document.get("clock") is not None:
        raw = c.mapping(document["clock"], "clock", CLOCK_KEYS)
        out["clock"] = {}
        if raw.get("start") is not None:
            out["clock"]["start"] = c.moment(raw["start"], "clock.start")
            try:
                clock.in_range(clock.parse_stamp(out["clock"]["start"]))
            except clock.ClockRangeError as error:
                c.fail("clock.start", str(error))
        if raw.get("frozen") is not None:
            out["clock"]["frozen"] = c.flag(raw["frozen"], "clock.frozen")
    if document.get("copernica") is not None:
        out["copernica"] = _copernica(c, document["copernica"])
    bc = document.get("backclick")
    bc = {} if bc is None else c.mapping(bc, "backclick", BACKCLICK_KEYS)
    out["backclick"] = {"blockList": _block_list(c, bc.get("blockList")),
                        "mandators": []}
    seen: dict = {}
    for i, raw in enumerate(c.sequence(bc.get("mandators"), "backclick.mandators")):
        path = f"backclick.mandators[{i}]"
        mandator = _mandator(c, raw, path)
        c.unique(seen, mandator["id"], _join(path, "id"),
                 f"mandator id {mandator['id']}", f"backclick.mandators[{seen.get(mandator['id'], i)}]")
        out["backclick"]["mandators"].append(mandator)
    state = document.get("state")
    state = {} if state is None else c.mapping(state, "state", STATE_KEYS + STATE_COUNTERS)
    out["state"] = {
        "confirmations": [_confirmation(c, r, f"state.confirmations[{i}]") for i, r in
                          enumerate(c.sequence(state.get("confirmations"), "state.confirmations"))],
        "channels": [_channel(c, r, f"state.channels[{i}]") for i, r in
                     enumerate(c.sequence(state.get("channels"), "state.channels"))],
        "newsletters": [_newsletter(c, r, f"state.newsletters[{i}]") for i, r in
                        enumerate(c.sequence(state.get("newsletters"), "state.newsletters"))],
        "outbox": [_mail(c, r, f"state.outbox[{i}]") for i, r in
                   enumerate(c.sequence(state.get("outbox"), "state.outbox"))],
    }
    if state.get("tokensIssued") is not None:
        out["state"]["tokensIssued"] = c.count(state["tokensIssued"], "state.tokensIssued")
    return out


def _domain_ok(domain: str) -> bool:
    return bool(domain) and is_valid_address("x@" + domain)


def _block_list(c: _Checker, raw) -> list[str]:
    patterns: list[str] = []
    for i, entry in enumerate(c.sequence(raw, "backclick.blockList")):
        path = f"backclick.blockList[{i}]"
        entry = c.text(entry, path, nonempty=True).strip()
        ok = _domain_ok(entry[2:]) if entry.startswith("*@") else is_valid_address(entry)
        if not ok:
            c.fail(path, f"expected an e-mail address or *@domain, got {entry!r}")
        if entry.lower() not in patterns:
            patterns.append(entry.lower())
    return patterns


def _strings(c: _Checker, raw, path: str, what: str, check=None) -> list[str]:
    values: list[str] = []
    seen: dict = {}
    for i, value in enumerate(c.sequence(raw, path)):
        item = f"{path}[{i}]"
        value = c.text(value, item, nonempty=True).strip()
        if check:
            value = check(value, item)
        c.unique(seen, value.lower(), item, f"{what} {value!r}", f"{path.rsplit('.', 1)[-1]}[{i}]")
        values.append(value)
    return values


def _mandator(c: _Checker, raw, path: str) -> dict:
    c.mapping(raw, path, MANDATOR_KEYS, required=("id",))
    m = {"id": c.ident(raw["id"], _join(path, "id")),
         "name": c.text(raw.get("name"), _join(path, "name"))}

    def cidr(value: str, item: str) -> str:
        try:
            return str(ipaddress.ip_network(value, strict=True))
        except ValueError as error:
            c.fail(item, f"expected a CIDR network like 127.0.0.1/32: {error}")

    def domain(value: str, item: str) -> str:
        if not _domain_ok(value):
            c.fail(item, f"expected a domain name, got {value!r}")
        return value.lower()

    def field(value: str, item: str) -> str:
        if value.upper() == "EMAIL":
            c.fail(item, "EMAIL is built in; do not list it")
        if not _FIELD_NAME.match(value):
            c.fail(item, "field names use letters, digits, _ and - only "
                         "(they are used as $$NAME$$ placeholders)")
        return value

    m["apiKeys"] = _strings(c, raw.get("apiKeys"), _join(path, "apiKeys"), "API key")
    m["allowedIps"] = _strings(c, raw.get("allowedIps"), _join(path, "allowedIps"), "network", cidr)
    m["senderDomains"] = _strings(c, raw.get("senderDomains"), _join(path, "senderDomains"),
                                  "domain", domain)
    m["fields"] = _strings(c, raw.get("fields"), _join(path, "fields"), "field", field)
    known = {name.lower(): name for name in m["fields"]}

    m["templates"] = []
    seen: dict = {}
    for i, t in enumerate(c.sequence(raw.get("templates"), _join(path, "templates"))):
        item = f"{path}.templates[{i}]"
        c.mapping(t, item, TEMPLATE_KEYS, required=("id",))
        tid = c.ident(t["id"], _join(item, "id"))
        c.unique(seen, tid, _join(item, "id"), f"template id {tid}", f"templates[{seen.get(tid, i)}]")
        m["templates"].append({"id": tid, **{k: c.text(t.get(k), _join(item, k))
                                             for k in ("name", "subject", "html", "text")}})
    templates = set(seen)

    m["lists"] = []
    seen = {}
    for i, li in enumerate(c.sequence(raw.get("lists"), _join(path, "lists"))):
        item = f"{path}.lists[{i}]"
        c.mapping(li, item, LIST_KEYS, required=("id", "name"))
        lid = c.ident(li["id"], _join(item, "id"))
        c.unique(seen, lid, _join(item, "id"), f"list id {lid}", f"lists[{seen.get(lid, i)}]")
        welcome = c.optional_ident(li.get("welcomeTemplateId"), _join(item, "welcomeTemplateId"))
        if welcome is not None and welcome not in templates:
            c.fail(_join(item, "welcomeTemplateId"), f"no template with id {welcome}")
        m["lists"].append({"id": lid, "name": c.text(li["name"], _join(item, "name")),
                           "description": c.text(li.get("description"), _join(item, "description")),
                           "welcomeTemplateId": welcome})
    lists = set(seen)

    m["profileFilters"] = []
    seen = {}
    for i, f in enumerate(c.sequence(raw.get("profileFilters"), _join(path, "profileFilters"))):
        item = f"{path}.profileFilters[{i}]"
        c.mapping(f, item, FILTER_KEYS, required=("id",))
        fid = c.ident(f["id"], _join(item, "id"))
        c.unique(seen, fid, _join(item, "id"), f"profile filter id {fid}",
                 f"profileFilters[{seen.get(fid, i)}]")
        conditions = []
        for j, cond in enumerate(c.sequence(f.get("conditions"), _join(item, "conditions"))):
            at = f"{item}.conditions[{j}]"
            c.mapping(cond, at, CONDITION_KEYS, required=("field", "operator", "value"))
            name = c.text(cond["field"], _join(at, "field"), nonempty=True).strip()
            if name.upper() == "EMAIL":
                name = "EMAIL"
            elif name.lower() in known:
                name = known[name.lower()]
            else:
                c.fail(_join(at, "field"), f"no field named {name!r}")
            conditions.append({"field": name,
                               "operator": c.choice(cond["operator"], _join(at, "operator"),
                                                    OPERATORS),
                               "value": c.value(cond["value"], _join(at, "value"))})
        m["profileFilters"].append({"id": fid, "name": c.text(f.get("name"), _join(item, "name")),
                                    "conditions": conditions})

    m["voucherLists"] = []
    seen = {}
    for i, v in enumerate(c.sequence(raw.get("voucherLists"), _join(path, "voucherLists"))):
        item = f"{path}.voucherLists[{i}]"
        c.mapping(v, item, VOUCHER_LIST_KEYS, required=("id",))
        vid = c.ident(v["id"], _join(item, "id"))
        c.unique(seen, vid, _join(item, "id"), f"voucher list id {vid}",
                 f"voucherLists[{seen.get(vid, i)}]")
        codes, seen_codes = [], {}
        for j, code in enumerate(c.sequence(v.get("codes"), _join(item, "codes"))):
            at = f"{item}.codes[{j}]"
            if isinstance(code, dict):
                c.mapping(code, at, VOUCHER_KEYS, required=("code",))
                entry = {"code": c.text(code["code"], _join(at, "code"), nonempty=True),
                         "usedAt": c.moment(code.get("usedAt"), _join(at, "usedAt")),
                         "usedBy": None if code.get("usedBy") is None
                         else c.text(code["usedBy"], _join(at, "usedBy"))}
                value = entry["code"]
                if entry["usedAt"] is None and entry["usedBy"] is None:
                    entry = value
            else:
                value = entry = c.text(code, at, nonempty=True)
            c.unique(seen_codes, value, at, f"voucher code {value!r}",
                     f"codes[{seen_codes.get(value, j)}]")
            codes.append(entry)
        m["voucherLists"].append({"id": vid, "name": c.text(v.get("name"), _join(item, "name")),
                                  "codes": codes})

    m["subscribers"] = []
    seen = {}
    for i, s in enumerate(c.sequence(raw.get("subscribers"), _join(path, "subscribers"))):
        item = f"{path}.subscribers[{i}]"
        sub = _subscriber(c, s, item, known, lists)
        key = sub["email"].lower()
        c.unique(seen, key, _join(item, "email"), f"address {key}",
                 f"subscribers[{seen.get(key, i)}]")
        m["subscribers"].append(sub)
    return m


def _subscriber(c: _Checker, s, item: str, known: dict, lists: set) -> dict:
    c.mapping(s, item, SUBSCRIBER_KEYS, required=("email",))
    email = c.text(s["email"], _join(item, "email"), nonempty=True).strip()
    if not is_valid_address(email):
        c.fail(_join(item, "email"), f"not a valid e-mail address (RFC 5322 addr-spec): {email!r}")
    sub: dict = {}
    if s.get("id") is not None:
        sub["id"] = c.ident(s["id"], _join(item, "id"))
    sub["email"] = email
    sub["fields"] = _field_values(c, s.get("fields"), _join(item, "fields"), known)
    sub["lists"] = {}
    for key, status in c.any_mapping(s.get("lists"), _join(item, "lists")).items():
        at = _join(_join(item, "lists"), key)
        lid = _list_key(c, key, at, lists)
        sub["lists"][lid] = c.choice(status, at, tuple(STATUS_NAMES))
    sub["listsChanged"] = {}
    for key, when in c.any_mapping(s.get("listsChanged"), _join(item, "listsChanged")).items():
        at = _join(_join(item, "listsChanged"), key)
        lid = _list_key(c, key, at, lists)
        if lid not in sub["lists"]:
            c.fail(at, f"list {lid} is not among this subscriber's lists")
        sub["listsChanged"][lid] = c.moment(when, at)
    for key in ("created", "modified"):
        if s.get(key) is not None:
            sub[key] = c.moment(s[key], _join(item, key))
    return sub


def _list_key(c: _Checker, key, at: str, lists: set) -> int:
    if isinstance(key, str) and key.strip().isdigit():
        key = int(key)
    lid = c.ident(key, at)
    if lid not in lists:
        c.fail(at, f"no list with id {lid}")
    return lid


def _field_values(c: _Checker, raw, path: str, known: dict) -> dict:
    values: dict = {}
    for name, value in c.any_mapping(raw, path).items():
        at = _join(path, name)
        canonical = known.get(str(name).lower())
        if canonical is None:
            c.fail(at, f"no such field (defined fields: {', '.join(known.values()) or 'none'})")
        if canonical in values:
            c.fail(at, f"field {canonical} is given twice")
        values[canonical] = c.value(value, at)
    return values


def _confirmation(c: _Checker, r, path: str) -> dict:
    c.mapping(r, path, CONFIRMATION_KEYS, required=("token", "kind", "mandatorId", "subscriberId"))
    changes = c.any_mapping(r.get("changes"), _join(path, "changes"))
    return {
        "token": c.text(r["token"], _join(path, "token"), nonempty=True),
        "kind": c.choice(r["kind"], _join(path, "kind"), CONFIRMATION_KINDS),
        "mandatorId": c.ident(r["mandatorId"], _join(path, "mandatorId")),
        "subscriberId": c.ident(r["subscriberId"], _join(path, "subscriberId")),
        "listIds": [c.ident(v, f"{path}.listIds[{i}]")
                    for i, v in enumerate(c.sequence(r.get("listIds"), _join(path, "listIds")))],
        "changes": {name: c.value(v, _join(_join(path, "changes"), name))
                    for name, v in changes.items()},
        "sendWelcome": c.flag(r.get("sendWelcome"), _join(path, "sendWelcome")),
        "sendLastNewsletter": c.flag(r.get("sendLastNewsletter"), _join(path, "sendLastNewsletter")),
        "created": c.moment(r.get("created"), _join(path, "created")),
        "confirmed": c.moment(r.get("confirmed"), _join(path, "confirmed")),
    }


def _channel(c: _Checker, r, path: str) -> dict:
    c.mapping(r, path, CHANNEL_KEYS, required=("mandatorId",))
    out = {} if r.get("id") is None else {"id": c.ident(r["id"], _join(path, "id"))}
    out.update({
        "mandatorId": c.ident(r["mandatorId"], _join(path, "mandatorId")),
        "name": c.optional_text(r.get("name"), _join(path, "name")),
        "description": c.text(r.get("description"), _join(path, "description")),
        "created": c.moment(r.get("created"), _join(path, "created")),
    })
    return out


def _personal_values(c: _Checker, raw, path: str) -> dict:
    """A mapping of placeholder names to string values (recipient fields, personalisation)."""
    return {str(name): c.value(v, _join(path, name))
            for name, v in c.any_mapping(raw, path).items()}


def _newsletter(c: _Checker, r, path: str) -> dict:
    c.mapping(r, path, NEWSLETTER_KEYS, required=("mandatorId",))
    out = {} if r.get("id") is None else {"id": c.ident(r["id"], _join(path, "id"))}
    recipients = []
    for i, item in enumerate(c.sequence(r.get("recipients"), _join(path, "recipients"))):
        at = f"{path}.recipients[{i}]"
        c.mapping(item, at, RECIPIENT_KEYS, required=("email",))
        recipients.append({"email": c.text(item["email"], _join(at, "email")),
                           "fields": _personal_values(c, item.get("fields"), _join(at, "fields"))})
    kind = c.choice(r.get("kind"), _join(path, "kind"), NEWSLETTER_KINDS,
                    "recipients" if recipients else "list")
    if kind == "list" and recipients:
        c.fail(_join(path, "recipients"), "only a newsletter of kind recipients has recipients")
    if kind == "recipients" and r.get("listId") is not None:
        c.fail(_join(path, "listId"), "a newsletter of kind recipients has no list")
    out.update({
        "mandatorId": c.ident(r["mandatorId"], _join(path, "mandatorId")),
        "kind": kind,
        "listId": c.optional_ident(r.get("listId"), _join(path, "listId")),
        "filterIds": [c.ident(v, f"{path}.filterIds[{i}]") for i, v in
                      enumerate(c.sequence(r.get("filterIds"), _join(path, "filterIds")))],
        "recipients": recipients,
        "templateId": c.optional_ident(r.get("templateId"), _join(path, "templateId")),
        **{k: c.text(r.get(k), _join(path, k))
           for k in ("subject", "html", "text", "adhockInformation", "senderName",
                     "senderEmail", "baseUrl")},
        **{k: c.moment(r.get(k), _join(path, k))
           for k in ("created", "sendTime", "started", "finished")},
        "state": c.choice(r.get("state"), _join(path, "state"), NEWSLETTER_STATES, "sent"),
        **{k: c.count(r.get(k), _join(path, k)) for k in NEWSLETTER_COUNTS},
    })
    return out


def _attachment(c: _Checker, r, path: str) -> dict:
    c.mapping(r, path, ATTACHMENT_KEYS, required=("name", "data"))
    return {"name": c.text(r["name"], _join(path, "name"), nonempty=True),
            "contentType": c.text(r.get("contentType"), _join(path, "contentType"),
                                  "application/octet-stream", nonempty=True),
            "data": c.base64(r["data"], _join(path, "data"))}


def _event(c: _Checker, r, path: str) -> dict:
    c.mapping(r, path, EVENT_KEYS, required=("type",))
    out = {} if r.get("id") is None else {"id": c.ident(r["id"], _join(path, "id"))}
    out["type"] = c.choice(r["type"], _join(path, "type"), outbox.EVENT_TYPES)
    out["detail"] = c.text(r.get("detail"), _join(path, "detail"))
    if out["type"] == "bounce" and out["detail"] not in ("hard", "soft"):
        c.fail(_join(path, "detail"), "a bounce is hard or soft")
    out["at"] = c.moment(r.get("at"), _join(path, "at"))
    return out


def _mail(c: _Checker, r, path: str) -> dict:
    c.mapping(r, path, MAIL_KEYS, required=("mandatorId", "kind", "to"))
    out = {} if r.get("id") is None else {"id": c.ident(r["id"], _join(path, "id"))}
    relay = c.mapping(r["relay"], _join(path, "relay"), RELAY_KEYS, required=("state",)) \
        if r.get("relay") is not None else {}
    out.update({
        "mandatorId": c.ident(r["mandatorId"], _join(path, "mandatorId")),
        "kind": c.choice(r["kind"], _join(path, "kind"), outbox.KINDS),
        "to": c.text(r["to"], _join(path, "to"), nonempty=True),
        **{k: c.text(r.get(k), _join(path, k))
           for k in ("from", "fromName", "replyTo", "subject", "html", "text", "baseUrl")},
        "created": c.moment(r.get("created"), _join(path, "created")),
        **{k: c.optional_ident(r.get(k), _join(path, k))
           for k in ("newsletterId", "listId", "subscriberId", "channelId", "campaignId")},
        "token": None if r.get("token") is None
        else c.text(r["token"], _join(path, "token"), nonempty=True),
        "personalisation": _personal_values(c, r.get("personalisation"),
                                            _join(path, "personalisation")),
        "links": dict(c.any_mapping(r.get("links"), _join(path, "links"))),
        "attachments": [_attachment(c, a, f"{path}.attachments[{i}]") for i, a in
                        enumerate(c.sequence(r.get("attachments"), _join(path, "attachments")))],
        "events": [_event(c, e, f"{path}.events[{i}]") for i, e in
                   enumerate(c.sequence(r.get("events"), _join(path, "events")))],
        "relay": {"state": c.choice(relay["state"], _join(path, "relay.state"), RELAY_STATES),
                  "error": c.optional_text(relay.get("error"), _join(path, "relay.error"))}
        if relay else None,
    })
    return out


# -- merging several documents ------------------------------------------------


def merge(parts: list[tuple[str, dict]]) -> dict:
    """Merge validated documents (source, document): mandators concatenated, ids checked across."""
    doc: dict = {"backclick": {"blockList": [], "mandators": []},
                 "state": {key: [] for key in STATE_KEYS}}
    origin: dict = {}
    mandators: dict[int, dict] = {}
    subscriber_ids: dict[int, tuple[str, str, int]] = {}
    for source, part in parts:
        c = _Checker(source)
        for key in ("seed", "clock"):
            if key in part:
                if key in doc:
                    c.fail(key, f"already set in {origin[key]}")
                doc[key], origin[key] = part[key], source
        if "tokensIssued" in part["state"]:
            if "tokensIssued" in doc["state"]:
                c.fail("state.tokensIssued", f"already set in {origin['tokensIssued']}")
            doc["state"]["tokensIssued"] = part["state"]["tokensIssued"]
            origin["tokensIssued"] = source
        for pattern in part["backclick"]["blockList"]:
            if pattern not in doc["backclick"]["blockList"]:
                doc["backclick"]["blockList"].append(pattern)
        for i, m in enumerate(part["backclick"]["mandators"]):
            path = f"backclick.mandators[{i}]"
            if m["id"] in mandators:
                c.fail(_join(path, "id"), f"mandator {m['id']} is also defined in "
                                          f"{origin[('mandator', m['id'])]}")
            mandators[m["id"]], origin[("mandator", m["id"])] = m, source
            for j, s in enumerate(m["subscribers"]):
                if "id" in s:
                    at = f"{path}.subscribers[{j}].id"
                    if s["id"] in subscriber_ids:
                        other_source, other_path, _ = subscriber_ids[s["id"]]
                        where = other_path if other_source == source else f"{other_path} in {other_source}"
                        c.fail(at, f"duplicate subscriber id {s['id']} (also {where})")
                    subscriber_ids[s["id"]] = (source, at, m["id"])
            doc["backclick"]["mandators"].append(m)
    newsletter_ids: dict[int, str] = {}
    channel_ids: dict[int, str] = {}
    channel_owner: dict[int, int] = {}
    for source, part in parts:
        c = _Checker(source)
        for i, ch in enumerate(part["state"]["channels"]):
            path = f"state.channels[{i}]"
            _check_owner(c, path, ch, mandators, None)
            if "id" in ch:
                c.unique(channel_ids, ch["id"], _join(path, "id"), f"channel id {ch['id']}",
                         path if len(parts) == 1 else f"{path} in {source}")
                channel_owner[ch["id"]] = ch["mandatorId"]
            doc["state"]["channels"].append(ch)
        for i, n in enumerate(part["state"]["newsletters"]):
            path = f"state.newsletters[{i}]"
            m = _check_owner(c, path, n, mandators, n["listId"])
            filters = {f["id"] for f in m["profileFilters"]}
            for j, fid in enumerate(n["filterIds"]):
                if fid not in filters:
                    c.fail(f"{path}.filterIds[{j}]", f"no profile filter with id {fid} in "
                                                     f"mandator {m['id']}")
            if n["templateId"] is not None and \
                    n["templateId"] not in {t["id"] for t in m["templates"]}:
                c.fail(_join(path, "templateId"), f"no template with id {n['templateId']} in "
                                                  f"mandator {m['id']}")
            if "id" in n:
                c.unique(newsletter_ids, n["id"], _join(path, "id"), f"newsletter id {n['id']}",
                         path if len(parts) == 1 else f"{path} in {source}")
            doc["state"]["newsletters"].append(n)
    confirmation_tokens: dict[str, str] = {}
    mail_ids: dict[int, str] = {}
    mail_tokens: dict[str, str] = {}
    event_ids: dict[int, str] = {}
    for source, part in parts:
        c = _Checker(source)
        for i, r in enumerate(part["state"]["confirmations"]):
            path = f"state.confirmations[{i}]"
            m = _check_owner(c, path, r, mandators, None)
            owner = subscriber_ids.get(r["subscriberId"])
            if owner is None or owner[2] != r["mandatorId"]:
                c.fail(_join(path, "subscriberId"), f"no subscriber with id {r['subscriberId']} "
                                                     f"in mandator {r['mandatorId']}")
            lists = {li["id"] for li in m["lists"]}
            for j, lid in enumerate(r["listIds"]):
                if lid not in lists:
                    c.fail(f"{path}.listIds[{j}]", f"no list with id {lid} in mandator {m['id']}")
            known = {name.lower(): name for name in m["fields"]}
            r = dict(r, changes=_field_values(c, r["changes"], _join(path, "changes"), known))
            c.unique(confirmation_tokens, r["token"], _join(path, "token"), "confirmation token",
                     path if len(parts) == 1 else f"{path} in {source}")
            doc["state"]["confirmations"].append(r)
        for i, r in enumerate(part["state"]["outbox"]):
            path = f"state.outbox[{i}]"
            _check_owner(c, path, r, mandators, r["listId"])
            if r["newsletterId"] is not None and r["newsletterId"] not in newsletter_ids:
                c.fail(_join(path, "newsletterId"), f"no newsletter with id {r['newsletterId']} "
                                                     f"in state.newsletters")
            if "id" in r:
                c.unique(mail_ids, r["id"], _join(path, "id"), f"mail id {r['id']}",
                         path if len(parts) == 1 else f"{path} in {source}")
            if r["channelId"] is not None and channel_owner.get(r["channelId"]) != r["mandatorId"]:
                c.fail(_join(path, "channelId"), f"no channel with id {r['channelId']} of "
                                                 f"mandator {r['mandatorId']} in state.channels")
            if r["subscriberId"] is not None:
                owner = subscriber_ids.get(r["subscriberId"])
                if owner is None or owner[2] != r["mandatorId"]:
                    c.fail(_join(path, "subscriberId"), f"no subscriber with id "
                                                        f"{r['subscriberId']} in mandator "
                                                        f"{r['mandatorId']}")
            if r["token"] is not None:
                c.unique(mail_tokens, r["token"], _join(path, "token"), "mail token",
                         path if len(parts) == 1 else f"{path} in {source}")
            for j, e in enumerate(r["events"]):
                if "id" in e:
                    at = f"{path}.events[{j}]"
                    c.unique(event_ids, e["id"], _join(at, "id"), f"event id {e['id']}",
                             at if len(parts) == 1 else f"{at} in {source}")
            doc["state"]["outbox"].append(r)
    doc["copernica"] = _merge_copernica(parts)
    return doc


def _check_owner(c: _Checker, path: str, row: dict, mandators: dict, list_id) -> dict:
    m = mandators.get(row["mandatorId"])
    if m is None:
        c.fail(_join(path, "mandatorId"), f"no mandator with id {row['mandatorId']}")
    if list_id is not None and list_id not in {li["id"] for li in m["lists"]}:
        c.fail(_join(path, "listId"), f"no list with id {list_id} in mandator {m['id']}")
    return m


# -- seeding --------------------------------------------------------------------


def seed(store: Store, document: dict, source: str = DOCUMENT) -> dict:
    """Load a fixture document into the store in one transaction; return counts of what was added."""
    doc = read_document(document, source)
    mandators = doc["backclick"]["mandators"]
    state = doc["state"]
    with store.transaction():
        if "clock" in doc:  # first: rows without times of their own are dated by it
            clock.configure(store, doc["clock"].get("start"), doc["clock"].get("frozen", False))
        now = clock.now_stamp(store)
        taken = store.mandator_ids()
        for i, m in enumerate(mandators):
            if m["id"] in taken:
                raise FixtureConflict(f"{source}: backclick.mandators[{i}].id: mandator {m['id']} "
                                      f"already exists in the store")
        taken = store.account_ids()
        for i, a in enumerate(doc["copernica"]["accounts"]):
            if a["id"] in taken:
                raise FixtureConflict(f"{source}: copernica.accounts[{i}].id: account {a['id']} "
                                      f"already exists in the store")
        if "seed" in doc:  # first: the codes generated below already come from it
            store.meta_set("seed", str(doc["seed"]))
        tokens.continue_after(store, state.get("tokensIssued", 0))
        max_ids = store.max_ids()
        tables = _rows(doc, now, max_ids, store.block_list())
        tables.update(_copernica_rows(doc["copernica"], now, max_ids, store))
        try:
            store.load(tables)
        except sqlite3.IntegrityError as error:
            raise FixtureConflict(f"{source}: conflicts with the store: {error}")
    return {"mandators": len(mandators), "subscribers": len(tables["subscribers"]),
            "blockList": len(tables["block_list"]),
            **{key: len(state[key]) for key in STATE_KEYS}}


def _next_ids(rows: list[dict], start: int) -> None:
    """Give rows without an id the next free ids, in document order."""
    next_id = max([start] + [r["id"] for r in rows if "id" in r]) + 1
    for row in rows:
        if "id" not in row:
            row["id"] = next_id
            next_id += 1


def _rows(doc: dict, now: str, max_ids: dict, blocked: set) -> dict[str, list[dict]]:
    tables: dict[str, list[dict]] = {table: [] for table in TABLES}
    tables["block_list"] = [{"pattern": p} for p in doc["backclick"]["blockList"] if p not in blocked]
    mandators = doc["backclick"]["mandators"]
    all_subscribers = [dict(s) for m in mandators for s in m["subscribers"]]
    _next_ids(all_subscribers, max_ids["subscribers"])
    subscribers = iter(all_subscribers)
    for m in mandators:
        mid = m["id"]
        tables["mandators"].append({"id": mid, "name": m["name"]})
        tables["api_keys"] += [{"mandator_id": mid, "key": k} for k in m["apiKeys"]]
        tables["allowed_ips"] += [{"mandator_id": mid, "cidr": c} for c in m["allowedIps"]]
        tables["sender_domains"] += [{"mandator_id": mid, "domain": d} for d in m["senderDomains"]]
        tables["fields"] += [{"mandator_id": mid, "name": f, "name_key": f.lower(), "position": i}
                             for i, f in enumerate(m["fields"])]
        tables["lists"] += [{"mandator_id": mid, "id": li["id"], "name": li["name"],
                             "description": li["description"],
                             "welcome_template_id": li["welcomeTemplateId"]} for li in m["lists"]]
        tables["templates"] += [{"mandator_id": mid, **t} for t in m["templates"]]
        tables["profile_filters"] += [
            {"mandator_id": mid, "id": f["id"], "name": f["name"],
             "conditions": json.dumps(f["conditions"], ensure_ascii=False)}
            for f in m["profileFilters"]]
        for v in m["voucherLists"]:
            tables["voucher_lists"].append({"mandator_id": mid, "id": v["id"], "name": v["name"]})
            for position, code in enumerate(v["codes"]):
                used = code if isinstance(code, dict) else {"code": code}
                tables["vouchers"].append({
                    "mandator_id": mid, "voucher_list_id": v["id"], "position": position,
                    "code": used["code"], "used_at": used.get("usedAt"),
                    "used_by": used.get("usedBy")})
        for _ in m["subscribers"]:
            s = next(subscribers)
            created = s.get("created", now)
            tables["subscribers"].append({
                "id": s["id"], "mandator_id": mid, "email": s["email"],
                "email_key": s["email"].lower(),
                "fields": json.dumps(s["fields"], ensure_ascii=False),
                "created": created, "modified": s.get("modified", created)})
            tables["memberships"] += [
                {"subscriber_id": s["id"], "list_id": lid, "status": STATUS_NAMES[status],
                 "changed": s["listsChanged"].get(lid, created)}
                for lid, status in s["lists"].items()]
    state = doc["state"]
    channels = [dict(ch) for ch in state["channels"]]
    _next_ids(channels, max_ids["channels"])
    tables["channels"] = [{
        "id": ch["id"], "mandator_id": ch["mandatorId"],
        "name": f"Channel {ch['id']}" if ch["name"] is None else ch["name"],
        "description": ch["description"], "created": ch["created"] or now} for ch in channels]
    newsletters = [dict(n) for n in state["newsletters"]]
    _next_ids(newsletters, max_ids["newsletters"])
    tables["newsletters"] = [{
        "id": n["id"], "mandator_id": n["mandatorId"], "list_id": n["listId"],
        "subject": n["subject"], "html": n["html"], "text": n["text"],
        "sender_name": n["senderName"], "sender_email": n["senderEmail"],
        "send_time": n["sendTime"] or now, "state": n["state"], "kind": n["kind"],
        "filter_ids": json.dumps(n["filterIds"]), "adhock": n["adhockInformation"],
        "template_id": n["templateId"], "base_url": n["baseUrl"], "created": n["created"],
        "started": n["started"], "finished": n["finished"],
        **{column: n[key] for key, column in NEWSLETTER_COUNTS.items()}} for n in newsletters]
    tables["newsletter_recipients"] = [
        {"newsletter_id": n["id"], "position": i, "email": r["email"],
         "fields": json.dumps(r["fields"], ensure_ascii=False)}
        for n in newsletters for i, r in enumerate(n["recipients"])]
    tables["confirmations"] = [{
        "token": r["token"], "kind": r["kind"], "mandator_id": r["mandatorId"],
        "subscriber_id": r["subscriberId"], "list_ids": json.dumps(r["listIds"]),
        "changes": json.dumps(r["changes"], ensure_ascii=False),
        "send_welcome": int(r["sendWelcome"]), "send_last_newsletter": int(r["sendLastNewsletter"]),
        "created": r["created"] or now, "confirmed": r["confirmed"]}
        for r in state["confirmations"]]
    mails = [dict(r) for r in state["outbox"]]
    _next_ids(mails, max_ids["outbox"])
    tables["outbox"] = [{
        "id": r["id"], "mandator_id": r["mandatorId"], "kind": r["kind"], "to_addr": r["to"],
        "from_addr": r["from"], "from_name": outbox.header_text(r["fromName"]),
        "subject": outbox.header_text(r["subject"]),
        "html": r["html"], "text": r["text"], "created": r["created"] or now,
        "newsletter_id": r["newsletterId"], "list_id": r["listId"],
        "links": json.dumps(r["links"]), "token": r["token"], "subscriber_id": r["subscriberId"],
        "personalisation": json.dumps(r["personalisation"], ensure_ascii=False),
        "base_url": r["baseUrl"], "reply_to": r["replyTo"], "channel_id": r["channelId"],
        "campaign_id": r["campaignId"],
        "relay_state": r["relay"]["state"] if r["relay"] else None,
        "relay_error": r["relay"]["error"] if r["relay"] else None} for r in mails]
    tables["attachments"] = [
        {"mail_id": r["id"], "position": i, "name": outbox.header_text(a["name"]),
         "content_type": a["contentType"],
         "data": base64.b64decode(a["data"])} for r in mails for i, a in enumerate(r["attachments"])]
    events = [dict(e, mail_id=r["id"]) for r in mails for e in r["events"]]
    _next_ids(events, max_ids["mail_events"])
    tables["mail_events"] = [
        {"id": e["id"], "mail_id": e["mail_id"], "type": e["type"], "detail": e["detail"],
         "at": e["at"] or now} for e in sorted(events, key=lambda e: e["id"])]
    return tables


# -- export ---------------------------------------------------------------------


def _grouped(rows: list[dict], key: str) -> dict:
    groups: dict = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


def export(store: Store) -> dict:
    """The whole store as a fixture document; seeding it into an empty store reproduces it."""
    with store.transaction():  # one consistent snapshot
        tables = store.dump()
        seed_value, clock_value = store.meta_get("seed"), store.meta_get("clock")
        issued = tokens.issued(store)
    doc: dict = {}
    if seed_value is not None:
        doc["seed"] = int(seed_value)
    if clock_value is not None:
        doc["clock"] = json.loads(clock_value)
    by = {table: _grouped(tables[table], "mandator_id") for table in (
        "api_keys", "allowed_ips", "sender_domains", "fields", "lists", "templates",
        "profile_filters", "voucher_lists", "subscribers")}
    vouchers = _grouped(tables["vouchers"], "voucher_list_id")
    memberships = _grouped(tables["memberships"], "subscriber_id")
    recipients = _grouped(tables["newsletter_recipients"], "newsletter_id")
    attachments = _grouped(tables["attachments"], "mail_id")
    events = _grouped(tables["mail_events"], "mail_id")
    mandators = []
    for m in tables["mandators"]:
        mid = m["id"]
        part = {table: by[table].get(mid, []) for table in by}
        mandators.append({
            "id": mid, "name": m["name"],
            "apiKeys": [r["key"] for r in part["api_keys"]],
            "allowedIps": [r["cidr"] for r in part["allowed_ips"]],
            "senderDomains": [r["domain"] for r in part["sender_domains"]],
            "fields": [r["name"] for r in part["fields"]],
            "lists": [_list_out(r) for r in part["lists"]],
            "templates": [{k: r[k] for k in TEMPLATE_KEYS} for r in part["templates"]],
            "profileFilters": [{"id": r["id"], "name": r["name"],
                                "conditions": json.loads(r["conditions"])}
                               for r in part["profile_filters"]],
            "voucherLists": [{"id": r["id"], "name": r["name"], "codes": [
                _voucher_out(v) for v in vouchers.get(r["id"], []) if v["mandator_id"] == mid]}
                for r in part["voucher_lists"]],
            "subscribers": [_subscriber_out(r, memberships.get(r["id"], []))
                            for r in part["subscribers"]],
        })
    doc["backclick"] = {"blockList": [r["pattern"] for r in tables["block_list"]],
                        "mandators": mandators}
    copernica = _copernica_out(tables)
    if copernica is not None:
        doc["copernica"] = copernica
    state = {
        "confirmations": [{
            "token": r["token"], "kind": r["kind"], "mandatorId": r["mandator_id"],
            "subscriberId": r["subscriber_id"], "listIds": json.loads(r["list_ids"]),
            "changes": json.loads(r["changes"]), "sendWelcome": bool(r["send_welcome"]),
            "sendLastNewsletter": bool(r["send_last_newsletter"]), "created": r["created"],
            "confirmed": r["confirmed"]} for r in tables["confirmations"]],
        "channels": [{
            "id": r["id"], "mandatorId": r["mandator_id"], "name": r["name"],
            "description": r["description"], "created": r["created"]}
            for r in tables["channels"]],
        "newsletters": [_newsletter_out(r, recipients.get(r["id"], []))
                        for r in tables["newsletters"]],
        "outbox": [_mail_out(r, attachments.get(r["id"], []), events.get(r["id"], []))
                   for r in tables["outbox"]],
    }
    state = {key: rows for key, rows in state.items() if rows}
    if issued:
        state["tokensIssued"] = issued
    if state:
        doc["state"] = state
    return doc


def _newsletter_out(row: dict, recipients: list[dict]) -> dict:
    out = {"id": row["id"], "mandatorId": row["mandator_id"], "kind": row["kind"],
           "listId": row["list_id"], "filterIds": json.loads(row["filter_ids"])}
    if recipients or row["kind"] == "recipients":
        out["recipients"] = [{"email": r["email"], "fields": json.loads(r["fields"])}
                             for r in recipients]
    out.update({
        "templateId": row["template_id"], "subject": row["subject"], "html": row["html"],
        "text": row["text"], "adhockInformation": row["adhock"],
        "senderName": row["sender_name"], "senderEmail": row["sender_email"],
        "baseUrl": row["base_url"], "created": row["created"], "sendTime": row["send_time"],
        "state": row["state"], "started": row["started"], "finished": row["finished"],
        **{key: row[column] for key, column in NEWSLETTER_COUNTS.items()}})
    return out


def _mail_out(row: dict, attachments: list[dict], events: list[dict]) -> dict:
    out = {
        "id": row["id"], "mandatorId": row["mandator_id"], "kind": row["kind"],
        "to": row["to_addr"], "from": row["from_addr"], "fromName": row["from_name"],
        "replyTo": row["reply_to"], "subject": row["subject"], "html": row["html"],
        "text": row["text"], "created": row["created"], "newsletterId": row["newsletter_id"],
        "listId": row["list_id"], "subscriberId": row["subscriber_id"],
        "channelId": row["channel_id"], "campaignId": row["campaign_id"], "token": row["token"],
        "baseUrl": row["base_url"], "personalisation": json.loads(row["personalisation"]),
        "links": json.loads(row["links"])}
    if attachments:
        out["attachments"] = [{"name": a["name"], "contentType": a["content_type"],
                               "data": base64.b64encode(a["data"]).decode("ascii")}
                              for a in attachments]
    if events:
        out["events"] = [{"id": e["id"], "type": e["type"], "detail": e["detail"], "at": e["at"]}
                         for e in events]
    if row["relay_state"] is not None or row["relay_error"] is not None:
        out["relay"] = {"state": row["relay_state"], "error": row["relay_error"]}
    return out


def _list_out(row: dict) -> dict:
    out = {"id": row["id"], "name": row["name"], "description": row["description"]}
    if row["welcome_template_id"] is not None:
        out["welcomeTemplateId"] = row["welcome_template_id"]
    return out


def _voucher_out(row: dict):
    if row["used_at"] is None and row["used_by"] is None:
        return row["code"]
    return {"code": row["code"], "usedAt": row["used_at"], "usedBy": row["used_by"]}


def _subscriber_out(row: dict, memberships: list[dict]) -> dict:
    created = row["created"]
    out: dict = {"id": row["id"], "email": row["email"]}
    fields = json.loads(row["fields"])
    if fields:
        out["fields"] = fields
    if memberships:
        out["lists"] = {r["list_id"]: STATUS_OF[r["status"]] for r in memberships}
        changed = {r["list_id"]: r["changed"] for r in memberships if r["changed"] != created}
        if changed:
            out["listsChanged"] = changed
    out["created"] = created
    if row["modified"] != created:
        out["modified"] = row["modified"]
    return out


# -- Copernica ------------------------------------------------------------------------

COPERNICA_KEYS = ("users", "accounts", "sessions")
# Besides these, a user and an account take the members of the vendor's User and Account
# that are set (users.USER_PROPERTIES, accounts.ACCOUNT_PROPERTIES), by their names.
CP_USER_KEYS = ("username", "password", "accounts")
CP_ACCOUNT_KEYS = ("id", "name", "tokens", "databases")
CP_TOKEN_KEYS = ("token", "readOnly", "allowedIps")
CP_DATABASE_KEYS = ("id", "name", "description", "archived", "unsubscribeBehavior",
                    "unsubscribeValues", "created", "fields", "interests", "collections",
                    "profiles", "callbacks", "contactTypes")
CP_CONTACT_TYPE_KEYS = ("id", "name", "description", "icon")
CP_CONTACT_KEYS = ("id", "type", "user", "plannedtime", "executedtime", "remarks", "report",
                   "important", "extra", "created")
CP_CONTACT_DATA_KEYS = ("type", "source")
CP_FIELD_KEYS = ("id", "name", "type", "value", "displayed", "ordered", "length", "textlines",
                 "hidden", "index", "pixelwidth", "weight")
CP_INTEREST_KEYS = ("id", "name", "group")
CP_COLLECTION_KEYS = ("id", "name", "weight", "unsubscribeBehavior", "unsubscribeValues",
                      "created", "fields")
CP_PROFILE_KEYS = ("id", "code", "fields", "interests", "created", "modified", "subprofiles",
                   "contacts")
CP_SUBPROFILE_KEYS = ("id", "collection", "code", "fields", "created", "modified")
CP_CALLBACK_KEYS = ("id", "collection", "url", "method", "expression", "actionfilter",
                    "sources", "baseUrl", "created")
CP_SESSION_KEYS = ("cookie", "accountId", "username", "created")
CP_ID_TABLES = ("databases", "collections", "database_fields", "interests", "profiles",
                "subprofiles", "callbacks", "contact_types", "contacts")


def _cp_flag(c: _Checker, raw: dict, key: str, path: str) -> bool:
    return c.flag(raw.get(key), _join(path, key))


def _cp_vendor_moment(c: _Checker, value, path: str, what: str) -> str:
    """A vendor time (``YYYY-MM-DD hh:mm:ss``, empty: none); YAML's own dates are taken too."""
    from mockserver import databases
    from mockserver.errors import InvalidRequest

    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat() + " 00:00:00"
    try:
        return databases.moment(c.text(value, path), what)
    except InvalidRequest as error:
        c.fail(path, str(error))


def _cp_properties(c: _Checker, raw: dict, path: str, defaults: dict) -> dict:
    """The members of the vendor's User or Account a fixture sets, checked as a client's."""
    from mockserver import users
    from mockserver.errors import InvalidRequest

    out = {}
    for name, default in defaults.items():
        if name not in raw:
            continue
        at = _join(path, name)
        if isinstance(default, bool):
            value = _cp_flag(c, raw, name, path)
        elif isinstance(default, int):
            value = c.count(raw[name], at)
        elif name in ("end", "created"):
            value = _cp_vendor_moment(c, raw[name], at, name)
        else:
            value = c.text(raw[name], at)
        try:
            out.update(users.checked_properties({name: value}, defaults))
        except InvalidRequest as error:
            c.fail(at, str(error))
    return out


def _cp_contact_types(c: _Checker, raw, path: str) -> list[dict]:
    out, seen = [], {}
    for i, r in enumerate(c.sequence(raw, path)):
        item = f"{path}[{i}]"
        c.mapping(r, item, CP_CONTACT_TYPE_KEYS, required=("name",))
        name = c.text(r["name"], _join(item, "name"), nonempty=True).strip()
        c.unique(seen, name.lower(), _join(item, "name"), f"contact type {name!r}", item)
        kind = {"name": name, "description": c.text(r.get("description"),
                                                    _join(item, "description")),
                "icon": c.text(r.get("icon"), _join(item, "icon"))}
        if "id" in r:
            kind["id"] = c.ident(r["id"], _join(item, "id"))
        out.append(kind)
    return out


def _cp_contacts(c: _Checker, raw, path: str, types: list[dict]) -> list[dict]:
    by_name = {t["name"].lower(): t["name"] for t in types}
    out = []
    for i, r in enumerate(c.sequence(raw, path)):
        item = f"{path}[{i}]"
        c.mapping(r, item, CP_CONTACT_KEYS)
        contact = {"type": None, "user": c.optional_text(r.get("user"), _join(item, "user")),
                   "important": _cp_flag(c, r, "important", item),
                   "extra": c.text(r.get("extra"), _join(item, "extra")),
                   "created": c.moment(r.get("created"), _join(item, "created"))}
        if r.get("type") is not None:
            contact["type"] = by_name.get(c.text(r["type"], _join(item, "type")).lower())
            if contact["type"] is None:
                c.fail(_join(item, "type"), f"no contact type named {r['type']!r}")
        for name in ("plannedtime", "executedtime"):
            contact[name] = _cp_vendor_moment(c, r.get(name), _join(item, name), name) \
                if r.get(name) is not None else None
        for name in ("remarks", "report"):
            at = _join(item, name)
            data = c.mapping(r.get(name) or {}, at, CP_CONTACT_DATA_KEYS)
            contact[name] = {k: c.text(data.get(k), _join(at, k)) for k in CP_CONTACT_DATA_KEYS}
        if "id" in r:
            contact["id"] = c.ident(r["id"], _join(item, "id"))
        out.append(contact)
    return out


def _cp_fields(c: _Checker, raw, path: str) -> list[dict]:
    from mockserver import databases

    out, seen = [], {}
    for i, f in enumerate(c.sequence(raw, path)):
        item = f"{path}[{i}]"
        c.mapping(f, item, CP_FIELD_KEYS, required=("name",))
        name = c.text(f["name"], _join(item, "name"), nonempty=True).strip()
        if not re.match(r"[A-Za-z_][A-Za-z0-9_]*\Z", name):
            c.fail(_join(item, "name"), "a field name is an identifier (letters, digits, _)")
        c.unique(seen, name.lower(), _join(item, "name"), f"field {name!r}", item)
        field = {"name": name,
                 "type": c.choice(f.get("type"), _join(item, "type"), databases.FIELD_TYPES,
                                  "text"),
                 "value": c.value(f.get("value", ""), _join(item, "value")),
                 "displayed": _cp_flag(c, f, "displayed", item),
                 "ordered": _cp_flag(c, f, "ordered", item),
                 "length": c.count(f.get("length", 50), _join(item, "length")),
                 "textlines": c.count(f.get("textlines", 1), _join(item, "textlines")),
                 "hidden": _cp_flag(c, f, "hidden", item),
                 "index": _cp_flag(c, f, "index", item),
                 "pixelwidth": c.count(f.get("pixelwidth", 0), _join(item, "pixelwidth")),
                 "weight": c.count(f.get("weight", 0), _join(item, "weight"))}
        if "id" in f:
            field["id"] = c.ident(f["id"], _join(item, "id"))
        out.append(field)
    for kind in databases.ONE_PER_DATABASE:
        if sum(1 for f in out if f["type"] == kind) > 1:
            c.fail(path, f"more than one {kind} field")
    return out


def _cp_values(c: _Checker, raw, path: str, fields: list[dict]) -> dict:
    from mockserver import databases

    by_name = {f["name"].lower(): f for f in fields}
    out = {}
    for name, value in c.any_mapping(raw, path).items():
        at = _join(path, name)
        f = by_name.get(str(name).lower())
        if f is None:
            c.fail(at, f"no field named {name!r}")
        checked = databases.check_value(f, c.value(value, at))
        if checked is None:
            c.fail(at, f"{value!r} is not a valid {f['type']} value")
        out[f["name"]] = checked
    return out


def _cp_record(c: _Checker, raw: dict, item: str, keys: tuple, fields: list[dict]) -> dict:
    c.mapping(raw, item, keys)
    record = {"fields": _cp_values(c, raw.get("fields"), _join(item, "fields"), fields)}
    if "id" in raw:
        record["id"] = c.ident(raw["id"], _join(item, "id"))
    if raw.get("code") is not None:
        record["code"] = c.text(raw["code"], _join(item, "code"), nonempty=True)
    record["created"] = c.moment(raw.get("created"), _join(item, "created"))
    record["modified"] = c.moment(raw.get("modified"), _join(item, "modified"))
    return record


def _cp_database(c: _Checker, raw, path: str) -> dict:
    from mockserver import databases

    c.mapping(raw, path, CP_DATABASE_KEYS, required=("name",))
    db = {"name": c.text(raw["name"], _join(path, "name"), nonempty=True).strip(),
          "description": c.text(raw.get("description"), _join(path, "description")),
          "archived": _cp_flag(c, raw, "archived", path),
          "unsubscribeBehavior": c.choice(raw.get("unsubscribeBehavior"),
                                          _join(path, "unsubscribeBehavior"),
                                          databases.UNSUBSCRIBE_BEHAVIORS, "nothing"),
          "created": c.moment(raw.get("created"), _join(path, "created")),
          "fields": _cp_fields(c, raw.get("fields"), _join(path, "fields"))}
    if "id" in raw:
        db["id"] = c.ident(raw["id"], _join(path, "id"))
    db["unsubscribeValues"] = _cp_values(c, raw.get("unsubscribeValues"),
                                         _join(path, "unsubscribeValues"), db["fields"])
    names = {f["name"].lower(): _join(path, "fields") for f in db["fields"]}
    db["interests"] = []
    for i, r in enumerate(c.sequence(raw.get("interests"), _join(path, "interests"))):
        item = f"{path}.interests[{i}]"
        c.mapping(r, item, CP_INTEREST_KEYS, required=("name",))
        name = c.text(r["name"], _join(item, "name"), nonempty=True).strip()
        c.unique(names, name.lower(), _join(item, "name"), f"name {name!r}", item)
        interest = {"name": name, "group": c.text(r.get("group"), _join(item, "group"))}
        if "id" in r:
            interest["id"] = c.ident(r["id"], _join(item, "id"))
        db["interests"].append(interest)
    db["collections"] = []
    for i, r in enumerate(c.sequence(raw.get("collections"), _join(path, "collections"))):
        item = f"{path}.collections[{i}]"
        c.mapping(r, item, CP_COLLECTION_KEYS, required=("name",))
        name = c.text(r["name"], _join(item, "name"), nonempty=True).strip()
        c.unique(names, name.lower(), _join(item, "name"), f"name {name!r}", item)
        collection = {"name": name, "created": c.moment(r.get("created"), _join(item, "created")),
                      "unsubscribeBehavior": c.choice(
                          r.get("unsubscribeBehavior"), _join(item, "unsubscribeBehavior"),
                          databases.UNSUBSCRIBE_BEHAVIORS, "nothing"),
                      "weight": c.integer(r.get("weight", 0), _join(item, "weight")),
                      "fields": _cp_fields(c, r.get("fields"), _join(item, "fields"))}
        collection["unsubscribeValues"] = _cp_values(
            c, r.get("unsubscribeValues"), _join(item, "unsubscribeValues"), collection["fields"])
        if "id" in r:
            collection["id"] = c.ident(r["id"], _join(item, "id"))
        db["collections"].append(collection)
    db["contactTypes"] = _cp_contact_types(c, raw.get("contactTypes"),
                                           _join(path, "contactTypes"))
    by_collection = {co["name"].lower(): co for co in db["collections"]}
    interest_names = {i["name"].lower(): i["name"] for i in db["interests"]}
    db["profiles"] = []
    for i, r in enumerate(c.sequence(raw.get("profiles"), _join(path, "profiles"))):
        item = f"{path}.profiles[{i}]"
        profile = _cp_record(c, r, item, CP_PROFILE_KEYS, db["fields"])
        flags = r.get("interests")
        chosen = []
        if isinstance(flags, dict):
            flags = [k for k, v in flags.items() if str(v).strip().lower() in ("1", "true", "yes")]
        for j, name in enumerate(c.sequence(flags, _join(item, "interests"))):
            at = f"{item}.interests[{j}]"
            known = interest_names.get(c.text(name, at).strip().lower())
            if known is None:
                c.fail(at, f"no interest named {name!r}")
            chosen.append(known)
        profile["interests"] = chosen
        profile["subprofiles"] = []
        for j, s in enumerate(c.sequence(r.get("subprofiles"), _join(item, "subprofiles"))):
            at = f"{item}.subprofiles[{j}]"
            c.mapping(s, at, CP_SUBPROFILE_KEYS, required=("collection",))
            co = by_collection.get(c.text(s["collection"], _join(at, "collection")).lower())
            if co is None:
                c.fail(_join(at, "collection"), f"no collection named {s['collection']!r}")
            sub = _cp_record(c, s, at, CP_SUBPROFILE_KEYS, co["fields"])
            sub["collection"] = co["name"]
            profile["subprofiles"].append(sub)
        profile["contacts"] = _cp_contacts(c, r.get("contacts"), _join(item, "contacts"),
                                           db["contactTypes"])
        db["profiles"].append(profile)
    db["callbacks"] = []
    for i, r in enumerate(c.sequence(raw.get("callbacks"), _join(path, "callbacks"))):
        item = f"{path}.callbacks[{i}]"
        db["callbacks"].append(_cp_callback(c, r, item, by_collection))
    return db


def _cp_callback(c: _Checker, r, item: str, by_collection: dict) -> dict:
    from mockserver import callbacks

    c.mapping(r, item, CP_CALLBACK_KEYS, required=("url",))
    cb = {"url": c.text(r["url"], _join(item, "url"), nonempty=True),
          "method": c.choice(r.get("method"), _join(item, "method"), callbacks.METHODS, "json"),
          "expression": c.text(r.get("expression"), _join(item, "expression")),
          "actionfilter": c.choice(r.get("actionfilter"), _join(item, "actionfilter"),
                                   callbacks.ACTION_FILTERS, "all"),
          "created": c.optional_text(r.get("created"), _join(item, "created")),
          "collection": None}
    if cb["expression"]:
        try:
            callbacks.parse_expression(cb["expression"])
        except Exception as error:  # noqa: BLE001 - the parser's own message names the fault
            c.fail(_join(item, "expression"), str(error))
    sources = r.get("sources")
    if sources is not None:
        cb["sources"] = [c.choice(s, f"{item}.sources[{k}]", callbacks.SOURCES)
                         for k, s in enumerate(c.sequence(sources, _join(item, "sources")))]
    if r.get("collection") is not None:
        co = by_collection.get(c.text(r["collection"], _join(item, "collection")).lower())
        if co is None:
            c.fail(_join(item, "collection"), f"no collection named {r['collection']!r}")
        cb["collection"] = co["name"]
    if r.get("baseUrl") is not None:
        cb["baseUrl"] = c.text(r["baseUrl"], _join(item, "baseUrl"))
    if "id" in r:
        cb["id"] = c.ident(r["id"], _join(item, "id"))
    return cb


def _copernica(c: _Checker, raw) -> dict:
    """The ``copernica`` section, checked and normalised."""
    from mockserver import accounts, users

    raw = c.mapping(raw, "copernica", COPERNICA_KEYS)
    out: dict = {"users": [], "accounts": [], "sessions": []}
    seen: dict = {}
    for i, a in enumerate(c.sequence(raw.get("accounts"), "copernica.accounts")):
        path = f"copernica.accounts[{i}]"
        c.mapping(a, path, CP_ACCOUNT_KEYS + tuple(accounts.ACCOUNT_PROPERTIES), required=("id",))
        account = {"id": c.ident(a["id"], _join(path, "id")),
                   "name": c.text(a.get("name"), _join(path, "name")), "tokens": [],
                   "databases": [], **_cp_properties(c, a, path, accounts.ACCOUNT_PROPERTIES)}
        c.unique(seen, account["id"], _join(path, "id"), f"account id {account['id']}", path)
        for j, tk in enumerate(c.sequence(a.get("tokens"), _join(path, "tokens"))):
            at = f"{path}.tokens[{j}]"
            c.mapping(tk, at, CP_TOKEN_KEYS, required=("token",))
            ips = []
            for k, cidr in enumerate(c.sequence(tk.get("allowedIps"), _join(at, "allowedIps"))):
                try:
                    ips.append(str(ipaddress.ip_network(c.text(cidr, f"{at}.allowedIps[{k}]"),
                                                        strict=False)))
                except ValueError as error:
                    c.fail(f"{at}.allowedIps[{k}]", f"expected a CIDR network: {error}")
            account["tokens"].append({
                "token": c.text(tk["token"], _join(at, "token"), nonempty=True),
                "readOnly": _cp_flag(c, tk, "readOnly", at), "allowedIps": ips})
        names: dict = {}
        for j, d in enumerate(c.sequence(a.get("databases"), _join(path, "databases"))):
            db = _cp_database(c, d, f"{path}.databases[{j}]")
            c.unique(names, db["name"].lower(), f"{path}.databases[{j}].name",
                     f"database name {db['name']!r}", f"{path}.databases[{j}]")
            account["databases"].append(db)
        out["accounts"].append(account)
    seen_users: dict = {}
    for i, u in enumerate(c.sequence(raw.get("users"), "copernica.users")):
        path = f"copernica.users[{i}]"
        c.mapping(u, path, CP_USER_KEYS + tuple(users.USER_PROPERTIES),
                  required=("username", "password"))
        name = c.text(u["username"], _join(path, "username"), nonempty=True).strip()
        c.unique(seen_users, name.lower(), _join(path, "username"), f"user {name!r}", path)
        ids = [c.ident(x, f"{path}.accounts[{k}]")
               for k, x in enumerate(c.sequence(u.get("accounts"), _join(path, "accounts")))]
        out["users"].append({"username": name,
                             "password": c.text(u["password"], _join(path, "password")),
                             "accounts": ids,
                             **_cp_properties(c, u, path, users.USER_PROPERTIES)})
    for i, s in enumerate(c.sequence(raw.get("sessions"), "copernica.sessions")):
        path = f"copernica.sessions[{i}]"
        c.mapping(s, path, CP_SESSION_KEYS, required=("cookie", "accountId", "username"))
        out["sessions"].append({
            "cookie": c.text(s["cookie"], _join(path, "cookie"), nonempty=True),
            "accountId": c.ident(s["accountId"], _join(path, "accountId")),
            "username": c.text(s["username"], _join(path, "username")),
            "created": c.moment(s.get("created"), _join(path, "created"))})
    return out


def _merge_copernica(parts: list[tuple[str, dict]]) -> dict:
    """The Copernica sections of several documents, concatenated; references checked."""
    doc: dict = {"users": [], "accounts": [], "sessions": []}
    accounts: dict[int, str] = {}
    for source, part in parts:
        c = _Checker(source)
        cp = part.get("copernica") or {"users": [], "accounts": [], "sessions": []}
        for i, a in enumerate(cp["accounts"]):
            if a["id"] in accounts:
                c.fail(f"copernica.accounts[{i}].id", f"account {a['id']} is also defined in "
                                                      f"{accounts[a['id']]}")
            accounts[a["id"]] = source
            doc["accounts"].append(a)
    users: dict = {}
    for source, part in parts:
        c = _Checker(source)
        cp = part.get("copernica") or {"users": [], "accounts": [], "sessions": []}
        for i, u in enumerate(cp["users"]):
            if u["username"].lower() in users:
                c.fail(f"copernica.users[{i}].username", f"user {u['username']!r} is also "
                                                         f"defined in {users[u['username'].lower()]}")
            users[u["username"].lower()] = source
            for k, account_id in enumerate(u["accounts"]):
                if account_id not in accounts:
                    c.fail(f"copernica.users[{i}].accounts[{k}]", f"no account with id "
                                                                   f"{account_id}")
            doc["users"].append(u)
        for i, s in enumerate(cp["sessions"]):
            if s["accountId"] not in accounts:
                c.fail(f"copernica.sessions[{i}].accountId", f"no account with id "
                                                              f"{s['accountId']}")
            doc["sessions"].append(s)
    for source, part in parts:
        c = _Checker(source)
        cp = part.get("copernica") or {"users": [], "accounts": [], "sessions": []}
        for at, contact in _cp_contacts_of(cp):
            if contact["user"] is not None and contact["user"].lower() not in users:
                c.fail(_join(at, "user"), f"no user named {contact['user']!r}")
    return doc


def _cp_contacts_of(cp: dict):
    """(path, contact) for every contact of a Copernica section."""
    for i, a in enumerate(cp["accounts"]):
        for j, d in enumerate(a["databases"]):
            for k, p in enumerate(d["profiles"]):
                for m, contact in enumerate(p["contacts"]):
                    yield (f"copernica.accounts[{i}].databases[{j}].profiles[{k}]."
                           f"contacts[{m}]"), contact


def _copernica_rows(cp: dict, now: str, max_ids: dict, store: Store) -> dict[str, list[dict]]:
    """Store rows for a merged Copernica section (ids given or the next free ones)."""
    from mockserver import databases

    tables: dict[str, list[dict]] = {t: [] for t in (
        "accounts", "users", "user_accounts", "access_tokens", "sessions", *CP_ID_TABLES)}
    dbs = [d for a in cp["accounts"] for d in a["databases"]]
    nested = {
        "databases": dbs,
        "collections": [co for d in dbs for co in d["collections"]],
        "database_fields": [f for d in dbs for f in
                            d["fields"] + [cf for co in d["collections"] for cf in co["fields"]]],
        "interests": [i for d in dbs for i in d["interests"]],
        "profiles": [p for d in dbs for p in d["profiles"]],
        "subprofiles": [s for d in dbs for p in d["profiles"] for s in p["subprofiles"]],
        "callbacks": [cb for d in dbs for cb in d["callbacks"]],
        "contact_types": [t for d in dbs for t in d["contactTypes"]],
        "contacts": [ct for d in dbs for p in d["profiles"] for ct in p["contacts"]],
    }
    copies = {table: [dict(r) for r in rows] for table, rows in nested.items()}
    codes = iter(tokens.new_tokens(store, sum(not r.get("code") for table in
                                               ("profiles", "subprofiles") for r in nested[table])))
    for table, rows in copies.items():
        _next_ids(rows, max_ids.get(table, 0))
    ids = {table: iter(r["id"] for r in rows) for table, rows in copies.items()}
    from mockserver import accounts, users

    moment = clock.parse_stamp(now)
    seeded = databases.vendor_time(now)

    def properties(given: dict, known: dict) -> str:
        """The members a user or an account sets, as stored (``created``: now by default)."""
        return json.dumps({"created": seeded, **{k: given[k] for k in known if k in given}},
                          ensure_ascii=False)

    for a in cp["accounts"]:
        tables["accounts"].append({"id": a["id"], "name": a["name"],
                                   "properties": properties(a, accounts.ACCOUNT_PROPERTIES)})
        tables["access_tokens"] += [{"token": tk["token"], "account_id": a["id"],
                                     "read_only": int(tk["readOnly"]),
                                     "allowed_ips": json.dumps(tk["allowedIps"])}
                                    for tk in a["tokens"]]
        for d in a["databases"]:
            db_id = next(ids["databases"])
            tables["databases"].append({
                "id": db_id, "account_id": a["id"], "name": d["name"],
                "description": d["description"], "archived": int(d["archived"]),
                "unsubscribebehavior": d["unsubscribeBehavior"],
                "unsubscribe_values": json.dumps(d["unsubscribeValues"], ensure_ascii=False),
                "created": d["created"] or now})
            fields_of = {}
            for f in d["fields"]:
                tables["database_fields"].append({"id": next(ids["database_fields"]),
                                                  "database_id": db_id, "collection_id": None,
                                                  **_cp_field_row(f)})
            fields_of[None] = d["fields"]
            collection_ids = {}
            for co in d["collections"]:
                co_id = collection_ids[co["name"]] = next(ids["collections"])
                tables["collections"].append({
                    "id": co_id, "database_id": db_id, "name": co["name"],
                    "unsubscribebehavior": co["unsubscribeBehavior"], "weight": co["weight"],
                    "unsubscribe_values": json.dumps(co["unsubscribeValues"],
                                                     ensure_ascii=False),
                    "created": co["created"] or now})
                fields_of[co["name"]] = co["fields"]
            for co in d["collections"]:
                for f in co["fields"]:
                    tables["database_fields"].append({
                        "id": next(ids["database_fields"]), "database_id": db_id,
                        "collection_id": collection_ids[co["name"]], **_cp_field_row(f)})
            for i in d["interests"]:
                tables["interests"].append({"id": next(ids["interests"]), "database_id": db_id,
                                            "name": i["name"], "groupname": i["group"]})
            type_ids = {}
            for t in d["contactTypes"]:
                type_ids[t["name"]] = next(ids["contact_types"])
                tables["contact_types"].append({"id": type_ids[t["name"]], "database_id": db_id,
                                                "name": t["name"],
                                                "description": t["description"],
                                                "icon": t["icon"]})
            for p in d["profiles"]:
                p_id = next(ids["profiles"])
                tables["contacts"] += [_cp_contact_row(ct, next(ids["contacts"]), p_id,
                                                       type_ids, now) for ct in p["contacts"]]
                created = p["created"] or now
                full = {f["name"]: p["fields"].get(f["name"], databases.default_value(f, moment))
                        for f in d["fields"]}
                tables["profiles"].append({
                    "id": p_id, "database_id": db_id, "code": p.get("code") or next(codes),
                    "fields": json.dumps(full, ensure_ascii=False),
                    "interests": json.dumps({n: 1 for n in p["interests"]}, ensure_ascii=False),
                    "created": created, "modified": p["modified"] or created})
                for s in p["subprofiles"]:
                    created = s["created"] or now
                    full = {f["name"]: s["fields"].get(f["name"],
                                                       databases.default_value(f, moment))
                            for f in fields_of[s["collection"]]}
                    tables["subprofiles"].append({
                        "id": next(ids["subprofiles"]),
                        "collection_id": collection_ids[s["collection"]], "profile_id": p_id,
                        "code": s.get("code") or next(codes),
                        "fields": json.dumps(full, ensure_ascii=False), "created": created,
                        "modified": s["modified"] or created})
            for cb in d["callbacks"]:
                row = {"id": next(ids["callbacks"]), "account_id": a["id"],
                       "database_id": None if cb["collection"] else db_id,
                       "collection_id": collection_ids[cb["collection"]] if cb["collection"]
                       else None, "url": cb["url"], "method": cb["method"],
                       "expression": cb["expression"], "actionfilter": cb["actionfilter"],
                       "created": cb["created"] or databases.vendor_time(now)}
                if "sources" in cb:
                    row["sources"] = json.dumps(cb["sources"])
                if "baseUrl" in cb:
                    row["base_url"] = cb["baseUrl"]
                tables["callbacks"].append(row)
    for u in cp["users"]:
        tables["users"].append({"username": u["username"], "password": u["password"],
                                "properties": properties(u, users.USER_PROPERTIES)})
        tables["user_accounts"] += [{"username": u["username"], "account_id": a, "position": k}
                                    for k, a in enumerate(u["accounts"])]
    tables["sessions"] = [{"cookie": s["cookie"], "account_id": s["accountId"],
                           "username": s["username"], "created": s["created"] or now}
                          for s in cp["sessions"]]
    return tables


def _cp_contact_row(ct: dict, contact_id: int, profile_id: int, type_ids: dict,
                    now: str) -> dict:
    """A contact of the fixture format as a ``contacts`` row (planned when it was made)."""
    from mockserver.databases import vendor_time

    created = ct["created"] or now
    return {"id": contact_id, "profile_id": profile_id,
            "contact_type_id": type_ids[ct["type"]] if ct["type"] else None,
            "username": ct["user"],
            "plannedtime": vendor_time(created) if ct["plannedtime"] is None
            else ct["plannedtime"], "executedtime": ct["executedtime"] or "",
            "remarks_type": ct["remarks"]["type"], "remarks_source": ct["remarks"]["source"],
            "report_type": ct["report"]["type"], "report_source": ct["report"]["source"],
            "important": int(ct["important"]), "extra": ct["extra"], "created": created}


def _cp_field_row(f: dict) -> dict:
    """A field of the fixture format as a ``database_fields`` row (without ids)."""
    return {"name": f["name"], "type": f["type"], "value": f["value"],
            "displayed": int(f["displayed"]), "ordered": int(f["ordered"]),
            "length": f["length"], "textlines": f["textlines"], "hidden": int(f["hidden"]),
            "indexed": int(f["index"]), "pixelwidth": f["pixelwidth"], "weight": f["weight"]}


def _copernica_out(tables: dict) -> dict | None:
    """The Copernica section of an export (None when the store holds no Copernica data)."""
    if not (tables["accounts"] or tables["users"]):
        return None
    fields = _grouped([f for f in tables["database_fields"] if f["collection_id"] is None],
                      "database_id")
    collection_fields = _grouped([f for f in tables["database_fields"]
                                  if f["collection_id"] is not None], "collection_id")
    collections = _grouped(tables["collections"], "database_id")
    collection_names = {co["id"]: co["name"] for co in tables["collections"]}
    interests = _grouped(tables["interests"], "database_id")
    profiles = _grouped(tables["profiles"], "database_id")
    subprofiles = _grouped(tables["subprofiles"], "profile_id")
    collection_db = {co["id"]: co["database_id"] for co in tables["collections"]}
    callbacks = _grouped([dict(cb, owner=cb["database_id"] or collection_db.get(cb["collection_id"]))
                          for cb in tables["callbacks"]], "owner")
    tokens_of = _grouped(tables["access_tokens"], "account_id")
    databases_of = _grouped(tables["databases"], "account_id")
    contact_types = _grouped(tables["contact_types"], "database_id")
    type_names = {t["id"]: t["name"] for t in tables["contact_types"]}
    contacts = _grouped(tables["contacts"], "profile_id")

    def contact_out(ct: dict) -> dict:
        out = {"id": ct["id"]}
        if ct["contact_type_id"] is not None:
            out["type"] = type_names[ct["contact_type_id"]]
        if ct["username"] is not None:
            out["user"] = ct["username"]
        return {**out, "plannedtime": ct["plannedtime"], "executedtime": ct["executedtime"],
                "remarks": {"type": ct["remarks_type"], "source": ct["remarks_source"]},
                "report": {"type": ct["report_type"], "source": ct["report_source"]},
                "important": bool(ct["important"]), "extra": ct["extra"],
                "created": ct["created"]}

    def field_out(f: dict) -> dict:
        return {"id": f["id"], "name": f["name"], "type": f["type"], "value": f["value"],
                "displayed": bool(f["displayed"]), "ordered": bool(f["ordered"]),
                "length": f["length"], "textlines": f["textlines"], "hidden": bool(f["hidden"]),
                "index": bool(f["indexed"]), "pixelwidth": f["pixelwidth"], "weight": f["weight"]}

    def record_out(r: dict) -> dict:
        return {"id": r["id"], "code": r["code"], "fields": json.loads(r["fields"]),
                "created": r["created"], "modified": r["modified"]}

    def callback_out(cb: dict) -> dict:
        out = {"id": cb["id"], "url": cb["url"], "method": cb["method"],
               "expression": cb["expression"], "actionfilter": cb["actionfilter"],
               "sources": json.loads(cb["sources"]), "created": cb["created"]}
        if cb["collection_id"] is not None:
            out["collection"] = collection_names[cb["collection_id"]]
        if cb.get("base_url"):
            out["baseUrl"] = cb["base_url"]
        return out

    def database_out(d: dict) -> dict:
        return {
            "id": d["id"], "name": d["name"], "description": d["description"],
            "archived": bool(d["archived"]), "unsubscribeBehavior": d["unsubscribebehavior"],
            "unsubscribeValues": json.loads(d["unsubscribe_values"]), "created": d["created"],
            "fields": [field_out(f) for f in fields.get(d["id"], [])],
            "interests": [{"id": i["id"], "name": i["name"], "group": i["groupname"]}
                          for i in interests.get(d["id"], [])],
            "collections": [{"id": co["id"], "name": co["name"], "weight": co["weight"],
                             "unsubscribeBehavior": co["unsubscribebehavior"],
                             "unsubscribeValues": json.loads(co["unsubscribe_values"]),
                             "created": co["created"],
                             "fields": [field_out(f) for f in collection_fields.get(co["id"], [])]}
                            for co in collections.get(d["id"], [])],
            "profiles": [{**record_out(p),
                          "interests": [n for n, v in json.loads(p["interests"]).items() if v],
                          "subprofiles": [{**record_out(s),
                                           "collection": collection_names[s["collection_id"]]}
                                          for s in subprofiles.get(p["id"], [])],
                          "contacts": [contact_out(ct) for ct in contacts.get(p["id"], [])]}
                         for p in profiles.get(d["id"], [])],
            "callbacks": [callback_out(cb) for cb in callbacks.get(d["id"], [])],
            "contactTypes": [{"id": t["id"], "name": t["name"], "description": t["description"],
                              "icon": t["icon"]} for t in contact_types.get(d["id"], [])],
        }

    user_accounts = _grouped(tables["user_accounts"], "username")
    return {
        "users": [{"username": u["username"], "password": u["password"],
                   "accounts": [r["account_id"] for r in sorted(
                       user_accounts.get(u["username"], []), key=lambda r: r["position"])],
                   **json.loads(u["properties"])}
                  for u in tables["users"]],
        "accounts": [{"id": a["id"], "name": a["name"], **json.loads(a["properties"]),
                      "tokens": [{"token": tk["token"], "readOnly": bool(tk["read_only"]),
                                  "allowedIps": json.loads(tk["allowed_ips"])}
                                 for tk in tokens_of.get(a["id"], [])],
                      "databases": [database_out(d) for d in databases_of.get(a["id"], [])]}
                     for a in tables["accounts"]],
        "sessions": [{"cookie": s["cookie"], "accountId": s["account_id"],
                      "username": s["username"], "created": s["created"]}
                     for s in tables["sessions"]],
    }


# -- writing --------------------------------------------------------------------


class _Dumper(_BaseDumper):
    """YAML output: short scalar-only collections inline, multi-line strings as blocks."""


def _is_short(value) -> bool:
    if isinstance(value, (dict, list)):
        return False
    return not isinstance(value, str) or ("\n" not in value and len(value) <= 60)


def _represent_str(dumper, value: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value,
                                   style="|" if "\n" in value and value == value.strip(" ")
                                   else None)


def _represent_dict(dumper, value: dict):
    inline = all(_is_short(v) for v in value.values()) and \
        sum(len(str(k)) + len(str(v)) + 4 for k, v in value.items()) <= 100
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=inline)


def _represent_list(dumper, value: list):
    inline = all(_is_short(v) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=inline)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def dumps(document: dict, as_json: bool = False) -> str:
    """A fixture document as YAML (or JSON) text."""
    if as_json:
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    return yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)
