"""Fixtures: YAML or JSON documents that configure and fill the store (see docs/fixtures.md).

``load_paths`` reads and validates files and merges them into one document, ``seed`` writes
a document into the store in one transaction, ``export`` reads the whole store back as a
document such that seeding it into an empty store reproduces every row. The format's
structure and types are declared in mockserver/machinery/fixture_schema/; what refers to what (ids,
names, a value and its field's type) is checked here. Every problem of every file is
reported, not only the first.
"""
from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import yaml

from mockserver.machinery import clock, outbox, tokens
from mockserver.vendors import fixture_schema
from mockserver.backclick.fixture_schema import STATUS_NAMES
from mockserver.store import Store

SUFFIXES = (".yaml", ".yml", ".json")
REQUEST_BODY = "<request body>"
DOCUMENT = "<document>"

STATUS_OF = {code: name for name, code in STATUS_NAMES.items()}
TEMPLATE_KEYS = ("id", "name", "subject", "html", "text")
STATE_KEYS = ("confirmations", "channels", "newsletters", "outbox")
NEWSLETTER_COUNTS = {"numRecipientsUnadjusted": "num_unadjusted",
                     "numExcludedBlocked": "excluded_blocked",
                     "numExcludedInvalid": "excluded_invalid",
                     "numExcludedDuplicate": "excluded_duplicate",
                     "numRecipientsAdjusted": "num_adjusted"}
CP_ID_TABLES = ("databases", "collections", "database_fields", "interests", "profiles",
                "subprofiles", "callbacks", "contact_types", "contacts")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The safe YAML loader (libyaml when present); a plain ``=`` is the string "="."""


_Loader.add_constructor("tag:yaml.org,2002:value",
                        lambda loader, node: loader.construct_scalar(node))
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class FixtureError(Exception):
    """Fixture problems, each worded ``file: path: problem``; str() gives one a line."""

    def __init__(self, problems: str | list[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class FixtureConflict(FixtureError):
    """A valid document that clashes with what the store already holds."""


# -- reading ------------------------------------------------------------------


def fixture_files(path: str) -> list[Path]:
    """The files a path names: itself, or a folder's .yaml/.yml/.json files, sorted by name
    (not its ``*.schema.json`` files: JSON Schemas, such as the format's own, are no fixtures)."""
    p = Path(path)
    if not p.is_dir():
        return [p]
    files = sorted(f for f in p.iterdir() if f.suffix in SUFFIXES and f.is_file()
                   and not f.name.endswith(".schema.json"))
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
    found: list[str] = []
    doc = _load_file(path, found)
    if found:
        raise FixtureError(found)
    return doc


def _load_file(path: Path, found: list[str]) -> dict | None:
    """Read and validate one fixture file; its problems go to ``found``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        found.append(f"{path}: cannot read: not UTF-8 text")
        return None
    except OSError as error:
        found.append(f"{path}: cannot read: {error.strerror or error}")
        return None
    try:
        document = parse_text(text, str(path), as_json=path.suffix == ".json")
    except FixtureError as error:
        found.extend(error.problems)
        return None
    return _validated(document, _Report(str(path), found))


def load_paths(paths: list[str]) -> dict:
    """Read fixture files and folders, validate each and merge them into one document;
    FixtureError names every problem of every file."""
    found: list[str] = []
    parts = []
    for path in paths:
        try:
            files = fixture_files(path)
        except FixtureError as error:
            found.extend(error.problems)
            continue
        parts += [(str(f), _load_file(f, found)) for f in files]
    doc = merge(parts, found)
    if found:
        order = {source: i for i, (source, _) in enumerate(parts)}  # grouped by file
        raise FixtureError(sorted(found, key=lambda line: order.get(line.split(": ")[0], -1)))
    return doc


def read_document(document: object, source: str = DOCUMENT) -> dict:
    """Validate one parsed document (e.g. a request body) into the merged, normalised form."""
    found: list[str] = []
    doc = merge([(source, _validated(document, _Report(source, found)))], found)
    if found:
        raise FixtureError(found)
    return doc


# -- references within one document --------------------------------------------


class _Report:
    """Where the problems of one source go, each worded ``source: path: problem``."""

    def __init__(self, source: str, found: list[str]):
        self.source, self.found = source, found

    def add(self, path: str, problem: str) -> None:
        """Note a problem at ``path`` and go on."""
        self.found.append(f"{self.source}: {path or 'document'}: {problem}")

    def unique(self, seen: dict, key, path: str, what: str, first: str) -> bool:
        """False (and a problem) when ``key`` was seen before; else remember it as ``first``."""
        if key in seen:
            self.add(path, f"duplicate {what} (also {seen[key]})")
            return False
        seen[key] = first
        return True


def _valid(rows) -> list[tuple[int, dict]]:
    """The valid rows with their index (the schema left None where a row was invalid)."""
    return [(i, row) for i, row in enumerate(rows or ()) if row is not None]


def _known(rows, key: str = "id") -> set | None:
    """The values of ``key`` in rows, or None when an invalid row hides some of them (its
    problem is reported; a reference to it would be reported twice)."""
    if rows is None or None in rows:
        return None
    return {row[key] for row in rows if key in row}


def validate(document: object, source: str) -> dict:
    """Check one parsed fixture document; return it normalised (defaults filled in)."""
    found: list[str] = []
    doc = _validated(document, _Report(source, found))
    if found:
        raise FixtureError(found)
    return doc


def _validated(document: object, report: _Report) -> dict | None:
    """The document checked against the schema, then its references; problems to ``report``
    (with problems: the valid part, for the checks across documents)."""
    doc, problems = fixture_schema.check({} if document is None else document)
    for path, problem in problems:
        report.add(path, problem)
    if doc is None:
        return None
    if doc["backclick"] is not None:
        seen: dict = {}
        for i, m in _valid(doc["backclick"]["mandators"]):
            path = f"backclick.mandators[{i}]"
            report.unique(seen, m["id"], f"{path}.id", f"mandator id {m['id']}", path)
            _mandator(m, path, report)
    if doc["state"] is not None:
        for i, n in _valid(doc["state"]["newsletters"]):
            _newsletter_kind(n, f"state.newsletters[{i}]", report)
    if doc.get("copernica") is not None:
        _copernica(doc["copernica"], report)
    return doc


def _mandator(m: dict, path: str, report: _Report) -> None:
    """A mandator's unique names and ids, and its references to its own lists and fields."""
    for key, what in (("apiKeys", "API key"), ("allowedIps", "network"),
                      ("senderDomains", "domain"), ("fields", "field")):
        seen: dict = {}
        for i, value in _valid(m[key]):
            report.unique(seen, value.lower(), f"{path}.{key}[{i}]", f"{what} {value!r}",
                          f"{key}[{i}]")
    known = None if None in m["fields"] else {name.lower(): name for name in m["fields"]}
    for key, what in (("templates", "template"), ("lists", "list"),
                      ("profileFilters", "profile filter"), ("voucherLists", "voucher list")):
        seen = {}
        for i, row in _valid(m[key]):
            report.unique(seen, row["id"], f"{path}.{key}[{i}].id", f"{what} id {row['id']}",
                          f"{key}[{i}]")
    templates = _known(m["templates"])
    for i, li in _valid(m["lists"]):
        welcome = li["welcomeTemplateId"]
        if welcome is not None and templates is not None and welcome not in templates:
            report.add(f"{path}.lists[{i}].welcomeTemplateId", f"no template with id {welcome}")
    for i, f in _valid(m["profileFilters"]):
        for j, cond in _valid(f["conditions"]):
            _condition_field(cond, f"{path}.profileFilters[{i}].conditions[{j}].field", known,
                             report)
    for i, v in _valid(m["voucherLists"]):
        seen = {}
        for j, code in _valid(v["codes"]):
            value = code["code"] if isinstance(code, dict) else code
            report.unique(seen, value, f"{path}.voucherLists[{i}].codes[{j}]",
                          f"voucher code {value!r}", f"codes[{j}]")
    lists, seen = _known(m["lists"]), {}
    for i, s in _valid(m["subscribers"]):
        item = f"{path}.subscribers[{i}]"
        key = s["email"].lower()
        report.unique(seen, key, f"{item}.email", f"address {key}", f"subscribers[{i}]")
        _subscriber(s, item, known, lists, report)


def _condition_field(cond: dict, at: str, known: dict | None, report: _Report) -> None:
    """A filter condition's field: EMAIL or a field of the mandator, in its spelling."""
    name = cond["field"]
    if name.upper() == "EMAIL":
        cond["field"] = "EMAIL"
    elif known is not None and name.lower() in known:
        cond["field"] = known[name.lower()]
    elif known is not None:
        report.add(at, f"no field named {name!r}")


def _subscriber(s: dict, item: str, known: dict | None, lists: set | None,
                report: _Report) -> None:
    """A subscriber's fields (stored in the mandator's spelling) and lists exist."""
    s["fields"] = _field_values(s["fields"], f"{item}.fields", known, report)
    for lid in s["lists"]:
        if lists is not None and lid not in lists:
            report.add(f"{item}.lists.{lid}", f"no list with id {lid}")
    for lid in s["listsChanged"]:
        if lists is not None and lid not in lists:
            report.add(f"{item}.listsChanged.{lid}", f"no list with id {lid}")
        elif lid not in s["lists"]:
            report.add(f"{item}.listsChanged.{lid}",
                       f"list {lid} is not among this subscriber's lists")


def _field_values(values: dict, path: str, known: dict | None, report: _Report) -> dict:
    """Field values under the defined spelling of their names (``known``: lower → defined)."""
    if known is None:
        return values
    out: dict = {}
    for name, value in values.items():
        canonical = known.get(str(name).lower())
        if canonical is None:
            report.add(f"{path}.{name}", f"no such field (defined fields: "
                                         f"{', '.join(known.values()) or 'none'})")
        elif canonical in out:
            report.add(f"{path}.{name}", f"field {canonical} is given twice")
        else:
            out[canonical] = value
    return out


def _newsletter_kind(n: dict, path: str, report: _Report) -> None:
    """A newsletter's kind (default: recipients when it has some) fits its audience."""
    n["kind"] = n["kind"] or ("recipients" if n["recipients"] else "list")
    if n["kind"] == "list" and n["recipients"]:
        report.add(f"{path}.recipients", "only a newsletter of kind recipients has recipients")
    if n["kind"] == "recipients" and n["listId"] is not None:
        report.add(f"{path}.listId", "a newsletter of kind recipients has no list")


def _copernica(cp: dict, report: _Report) -> None:
    """The Copernica section's unique ids and names and its references within databases."""
    seen: dict = {}
    for i, a in _valid(cp["accounts"]):
        path = f"copernica.accounts[{i}]"
        report.unique(seen, a["id"], f"{path}.id", f"account id {a['id']}", path)
        names: dict = {}
        for j, db in _valid(a["databases"]):
            at = f"{path}.databases[{j}]"
            _cp_database(db, at, report)
            report.unique(names, db["name"].lower(), f"{at}.name",
                          f"database name {db['name']!r}", at)
    seen = {}
    for i, u in _valid(cp["users"]):
        path = f"copernica.users[{i}]"
        report.unique(seen, u["username"].lower(), f"{path}.username",
                      f"user {u['username']!r}", path)


def _cp_fields(fields: list, path: str, report: _Report) -> None:
    """Field names unique ignoring case; at most one field of each ONE_PER_DATABASE type."""
    from mockserver.copernica import databases

    seen: dict = {}
    for i, f in _valid(fields):
        report.unique(seen, f["name"].lower(), f"{path}[{i}].name", f"field {f['name']!r}",
                      f"{path}[{i}]")
    for kind in databases.ONE_PER_DATABASE:
        if sum(1 for _, f in _valid(fields) if f["type"] == kind) > 1:
            report.add(path, f"more than one {kind} field")


def _cp_values(values: dict, path: str, fields: list, report: _Report) -> dict:
    """Values of named fields, each checked (and normalised) for its field's type."""
    from mockserver.copernica import databases

    if None in fields:
        return values
    by_name = {f["name"].lower(): f for f in fields}
    out = {}
    for name, value in values.items():
        f = by_name.get(str(name).lower())
        if f is None:
            report.add(f"{path}.{name}", f"no field named {name!r}")
            continue
        checked = databases.check_value(f, value)
        if checked is None:
            report.add(f"{path}.{name}", f"{value!r} is not a valid {f['type']} value")
        else:
            out[f["name"]] = checked
    return out


def _cp_database(db: dict, path: str, report: _Report) -> None:
    """A database: names of fields, interests and collections, and what its profiles,
    subprofiles and callbacks name."""
    _cp_fields(db["fields"], f"{path}.fields", report)
    db["unsubscribeValues"] = _cp_values(db["unsubscribeValues"], f"{path}.unsubscribeValues",
                                         db["fields"], report)
    names = {f["name"].lower(): f"{path}.fields" for _, f in _valid(db["fields"])}
    for key in ("interests", "collections"):
        for i, r in _valid(db[key]):
            item = f"{path}.{key}[{i}]"
            report.unique(names, r["name"].lower(), f"{item}.name", f"name {r['name']!r}", item)
    for i, co in _valid(db["collections"]):
        item = f"{path}.collections[{i}]"
        _cp_fields(co["fields"], f"{item}.fields", report)
        co["unsubscribeValues"] = _cp_values(co["unsubscribeValues"], f"{item}.unsubscribeValues",
                                             co["fields"], report)
    collections = None if None in db["collections"] else \
        {co["name"].lower(): co for co in db["collections"]}
    interests = None if None in db["interests"] else \
        {i["name"].lower(): i["name"] for i in db["interests"]}
    for i, p in _valid(db["profiles"]):
        item = f"{path}.profiles[{i}]"
        p["fields"] = _cp_values(p["fields"], f"{item}.fields", db["fields"], report)
        chosen = []
        for j, name in _valid(p["interests"]):
            known = None if interests is None else interests.get(name.strip().lower())
            if known is None and interests is not None:
                report.add(f"{item}.interests[{j}]", f"no interest named {name!r}")
            chosen.append(known or name)
        p["interests"] = chosen
        for j, s in _valid(p["subprofiles"]):
            at = f"{item}.subprofiles[{j}]"
            co = _cp_collection(s, at, collections, report)
            if co is not None:
                s["fields"] = _cp_values(s["fields"], f"{at}.fields", co["fields"], report)
    for i, cb in _valid(db["callbacks"]):
        if cb["collection"] is not None:
            _cp_collection(cb, f"{path}.callbacks[{i}]", collections, report)
    _cp_contacts(db, path, report)


def _cp_contacts(db: dict, path: str, report: _Report) -> None:
    """Contact type names unique ignoring case; a contact's type one of them (its spelling)."""
    seen: dict = {}
    for i, kind in _valid(db["contactTypes"]):
        item = f"{path}.contactTypes[{i}]"
        report.unique(seen, kind["name"].lower(), f"{item}.name",
                      f"contact type {kind['name']!r}", item)
    types = None if None in db["contactTypes"] else \
        {kind["name"].lower(): kind["name"] for kind in db["contactTypes"]}
    for i, p in _valid(db["profiles"]):
        for j, contact in _valid(p["contacts"]):
            if contact["type"] is None or types is None:
                continue
            name = types.get(contact["type"].lower())
            if name is None:
                report.add(f"{path}.profiles[{i}].contacts[{j}].type",
                           f"no contact type named {contact['type']!r}")
            contact["type"] = name


def _cp_collection(row: dict, path: str, collections: dict | None,
                   report: _Report) -> dict | None:
    """The collection a subprofile or callback names (its name set to the defined spelling)."""
    if collections is None:
        return None
    co = collections.get(row["collection"].lower())
    if co is None:
        report.add(f"{path}.collection", f"no collection named {row['collection']!r}")
        return None
    row["collection"] = co["name"]
    return co


# -- references across documents ----------------------------------------------------


def merge(parts: list[tuple[str, dict | None]], found: list[str] | None = None) -> dict:
    """Merge validated documents (source, document): mandators concatenated, ids checked across.

    Problems go to ``found`` when given (the caller raises), else raise FixtureError."""
    problems: list[str] = [] if found is None else found
    doc: dict = {"backclick": {"blockList": [], "mandators": []},
                 "state": {key: [] for key in STATE_KEYS}}
    parts = [(source, part) for source, part in parts if part is not None]
    book = _Book(complete=all(part["backclick"] is not None for _, part in parts))
    for source, part in parts:
        _merge_settings(doc, part, book, _Report(source, problems))
    for source, part in parts:
        _merge_mandators(doc, part, book, _Report(source, problems))
    single = len(parts) == 1
    for key, check in (("channels", _merge_channel), ("newsletters", _merge_newsletter),
                       ("confirmations", _merge_confirmation), ("outbox", _merge_mail)):
        for source, part in parts:
            report = _Report(source, problems)
            rows = part["state"][key] if part["state"] is not None else [None]  # unknown
            book.complete_rows[key] = book.complete_rows.get(key, True) and None not in rows
            for i, row in _valid(rows):
                path = f"state.{key}[{i}]"
                check(row, path, path if single else f"{path} in {source}", book, report)
                doc["state"][key].append(row)
    doc["copernica"] = _merge_copernica(parts, problems)
    if found is None and problems:
        raise FixtureError(problems)
    return doc


class _Book:
    """What the documents merged so far define, and where; ``complete`` (of mandators,
    ``subscribers_complete`` of subscribers) is False when an invalid row or section (its
    problem reported) may hide some of them."""

    def __init__(self, complete: bool):
        self.complete = self.subscribers_complete = complete
        self.complete_rows: dict[str, bool] = {}
        self.origin: dict = {}
        self.mandators: dict[int, dict] = {}
        self.subscribers: dict[int, tuple[str, str, int]] = {}  # id: source, path, mandator
        self.seen: dict[str, dict] = {}  # kind of id or token: value → where first
        self.channel_owner: dict[int, int] = {}

    def unique(self, report: _Report, kind: str, key, path: str, what: str, where: str) -> None:
        """A problem when ``key`` of this kind was seen before."""
        report.unique(self.seen.setdefault(kind, {}), key, path, what, where)


def _merge_settings(doc: dict, part: dict, book: _Book, report: _Report) -> None:
    """``seed``, ``clock`` and ``state.tokensIssued``: set in one file only."""
    settings = [(key, part[key]) for key in ("seed", "clock") if key in part]
    if part["state"] is not None and "tokensIssued" in part["state"]:
        settings.append(("state.tokensIssued", part["state"]["tokensIssued"]))
    for key, value in settings:
        if key in book.origin:
            report.add(key, f"already set in {book.origin[key]}")
            continue
        book.origin[key] = report.source
        if key == "state.tokensIssued":
            doc["state"]["tokensIssued"] = value
        else:
            doc[key] = value


def _merge_mandators(doc: dict, part: dict, book: _Book, report: _Report) -> None:
    """Mandators (an id in two files is a problem) and subscriber ids (unique in the store)."""
    bc = part["backclick"]
    if bc is None:
        return
    for pattern in bc["blockList"]:
        if pattern is not None and pattern not in doc["backclick"]["blockList"]:
            doc["backclick"]["blockList"].append(pattern)
    if None in bc["mandators"]:
        book.complete = book.subscribers_complete = False
    for i, m in _valid(bc["mandators"]):
        path = f"backclick.mandators[{i}]"
        other = book.origin.get(("mandator", m["id"]))
        if other is not None and other != report.source:
            report.add(f"{path}.id", f"mandator {m['id']} is also defined in {other}")
        book.mandators.setdefault(m["id"], m)
        book.origin.setdefault(("mandator", m["id"]), report.source)
        book.subscribers_complete = book.subscribers_complete and None not in m["subscribers"]
        for j, s in _valid(m["subscribers"]):
            if "id" not in s:
                continue
            at = f"{path}.subscribers[{j}].id"
            if s["id"] in book.subscribers:
                other_source, other_path, _ = book.subscribers[s["id"]]
                where = other_path if other_source == report.source else \
                    f"{other_path} in {other_source}"
                report.add(at, f"duplicate subscriber id {s['id']} (also {where})")
            else:
                book.subscribers[s["id"]] = (report.source, at, m["id"])
        doc["backclick"]["mandators"].append(m)


def _owner(row: dict, path: str, book: _Book, report: _Report, list_id=None) -> dict | None:
    """The mandator a state row belongs to, and the list it names in it."""
    m = book.mandators.get(row["mandatorId"])
    if m is None:
        if book.complete:
            report.add(f"{path}.mandatorId", f"no mandator with id {row['mandatorId']}")
        return None
    lists = _known(m["lists"])
    if list_id is not None and lists is not None and list_id not in lists:
        report.add(f"{path}.listId", f"no list with id {list_id} in mandator {m['id']}")
    return m


def _subscriber_of(row: dict, path: str, book: _Book, report: _Report) -> None:
    """The subscriber a state row names is one of its mandator's."""
    owner = book.subscribers.get(row["subscriberId"])
    if (owner is None and book.subscribers_complete) or \
            (owner is not None and owner[2] != row["mandatorId"]):
        report.add(f"{path}.subscriberId", f"no subscriber with id {row['subscriberId']} in "
                                           f"mandator {row['mandatorId']}")


def _merge_channel(ch: dict, path: str, where: str, book: _Book, report: _Report) -> None:
    """A transaction channel: its mandator exists, its id is unique."""
    _owner(ch, path, book, report)
    if "id" in ch:
        book.unique(report, "channel", ch["id"], f"{path}.id", f"channel id {ch['id']}", where)
        book.channel_owner.setdefault(ch["id"], ch["mandatorId"])


def _merge_newsletter(n: dict, path: str, where: str, book: _Book, report: _Report) -> None:
    """A newsletter: its mandator, list, filters and template exist, its id is unique."""
    m = _owner(n, path, book, report, n["listId"])
    if m is not None:
        filters = _known(m["profileFilters"])
        for j, fid in _valid(n["filterIds"]):
            if filters is not None and fid not in filters:
                report.add(f"{path}.filterIds[{j}]", f"no profile filter with id {fid} in "
                                                     f"mandator {m['id']}")
        templates = _known(m["templates"])
        if n["templateId"] is not None and templates is not None and \
                n["templateId"] not in templates:
            report.add(f"{path}.templateId", f"no template with id {n['templateId']} in "
                                             f"mandator {m['id']}")
    if "id" in n:
        book.unique(report, "newsletter", n["id"], f"{path}.id", f"newsletter id {n['id']}",
                    where)


def _merge_confirmation(r: dict, path: str, where: str, book: _Book, report: _Report) -> None:
    """A confirmation: its mandator, subscriber, lists and fields exist, its token is unique."""
    m = _owner(r, path, book, report)
    _subscriber_of(r, path, book, report)
    if m is not None:
        lists = _known(m["lists"])
        for j, lid in _valid(r["listIds"]):
            if lists is not None and lid not in lists:
                report.add(f"{path}.listIds[{j}]", f"no list with id {lid} in mandator {m['id']}")
        known = None if None in m["fields"] else {name.lower(): name for name in m["fields"]}
        r["changes"] = _field_values(r["changes"], f"{path}.changes", known, report)
    book.unique(report, "confirmation token", r["token"], f"{path}.token", "confirmation token",
                where)


def _merge_mail(r: dict, path: str, where: str, book: _Book, report: _Report) -> None:
    """An outbox mail: what it names exists, its id, token and event ids are unique."""
    _owner(r, path, book, report, r["listId"])
    newsletters = book.seen.get("newsletter", {})
    if r["newsletterId"] is not None and r["newsletterId"] not in newsletters and \
            book.complete_rows.get("newsletters", True):
        report.add(f"{path}.newsletterId", f"no newsletter with id {r['newsletterId']} in "
                                           f"state.newsletters")
    if "id" in r:
        book.unique(report, "mail", r["id"], f"{path}.id", f"mail id {r['id']}", where)
    owner = book.channel_owner.get(r["channelId"])
    if r["channelId"] is not None and owner != r["mandatorId"] and \
            (owner is not None or book.complete_rows.get("channels", True)):
        report.add(f"{path}.channelId", f"no channel with id {r['channelId']} of mandator "
                                        f"{r['mandatorId']} in state.channels")
    if r["subscriberId"] is not None:
        _subscriber_of(r, path, book, report)
    if r["token"] is not None:
        book.unique(report, "mail token", r["token"], f"{path}.token", "mail token", where)
    for j, e in _valid(r["events"]):
        if "id" in e:
            at = f"{path}.events[{j}]"
            book.unique(report, "event", e["id"], f"{at}.id", f"event id {e['id']}",
                        at if where == path else f"{at} in {report.source}")


def _merge_copernica(parts: list[tuple[str, dict]], problems: list[str]) -> dict:
    """The Copernica sections of several documents, concatenated; references checked."""
    doc: dict = {"users": [], "accounts": [], "sessions": []}
    sections = [(_Report(source, problems), part.get("copernica") or
                 {"users": [], "accounts": [], "sessions": []}) for source, part in parts]
    accounts: dict[int, str] = {}
    complete = all(None not in cp["accounts"] for _, cp in sections)
    for report, cp in sections:
        for i, a in _valid(cp["accounts"]):
            other = accounts.setdefault(a["id"], report.source)
            if other != report.source:
                report.add(f"copernica.accounts[{i}].id",
                           f"account {a['id']} is also defined in {other}")
            doc["accounts"].append(a)
    users: dict = {}
    for report, cp in sections:
        for i, u in _valid(cp["users"]):
            other = users.setdefault(u["username"].lower(), report.source)
            if other != report.source:
                report.add(f"copernica.users[{i}].username",
                           f"user {u['username']!r} is also defined in {other}")
            for k, account_id in _valid(u["accounts"]):
                if complete and account_id not in accounts:
                    report.add(f"copernica.users[{i}].accounts[{k}]",
                               f"no account with id {account_id}")
            doc["users"].append(u)
        for i, s in _valid(cp["sessions"]):
            if complete and s["accountId"] not in accounts:
                report.add(f"copernica.sessions[{i}].accountId",
                           f"no account with id {s['accountId']}")
            doc["sessions"].append(s)
    complete = all(None not in cp["users"] for _, cp in sections)
    for report, cp in sections:
        for at, contact in _cp_contacts_of(cp):
            if complete and contact["user"] is not None and contact["user"].lower() not in users:
                report.add(f"{at}.user", f"no user named {contact['user']!r}")
    return doc


def _cp_contacts_of(cp: dict):
    """(path, contact) for every valid contact of a Copernica section."""
    for i, a in _valid(cp["accounts"]):
        for j, d in _valid(a["databases"]):
            for k, p in _valid(d["profiles"]):
                for m, contact in _valid(p["contacts"]):
                    yield (f"copernica.accounts[{i}].databases[{j}].profiles[{k}]."
                           f"contacts[{m}]"), contact


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
        tables = _rows(doc, now, max_ids, store.block_list(), store.schema.tables)
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


def _rows(doc: dict, now: str, max_ids: dict, blocked: set,
          table_names: list[str]) -> dict[str, list[dict]]:
    tables: dict[str, list[dict]] = {table: [] for table in table_names}
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


# -- Copernica rows and export ------------------------------------------------------


def _copernica_rows(cp: dict, now: str, max_ids: dict, store: Store) -> dict[str, list[dict]]:
    """Store rows for a merged Copernica section (ids given or the next free ones)."""
    from mockserver.copernica import databases

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
    from mockserver.copernica import accounts, users

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
    from mockserver.copernica.databases import vendor_time

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
