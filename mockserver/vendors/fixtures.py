"""Fixtures of both vendors: YAML or JSON documents that configure and fill the store (see
docs/fixtures.md).

``load_paths`` reads and validates files and merges them into one document, ``seed`` writes
a document into the store in one transaction, ``export`` reads the whole store back as a
document such that seeding it into an empty store reproduces every row. The format's
structure and types are declared in mockserver/vendors/fixture_schema.py; what refers to what
(ids, names, a value and its field's type) is checked by each vendor's fixtures.py. Every
problem of every file is reported, not only the first.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from mockserver.backclick import fixtures as backclick_fixtures
from mockserver.backclick import tables as backclick_tables
from mockserver.copernica import fixtures as copernica_fixtures
from mockserver.copernica import tables as copernica_tables
from mockserver.machinery import clock, tokens
from mockserver.machinery.fixtures import (DOCUMENT, REQUEST_BODY, STATE_KEYS, FixtureConflict,
                                           FixtureError, Report, dumps, fixture_files,
                                           outbox_rows, parse_text, valid)
from mockserver.store import Store
from mockserver.vendors import fixture_schema
from mockserver.vendors import store as vendor_store

__all__ = ["DOCUMENT", "REQUEST_BODY", "FixtureConflict", "FixtureError", "dumps", "export",
           "fixture_files", "load_file", "load_paths", "merge", "parse_text", "read_document",
           "seed", "validate"]


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
    return _validated(document, Report(str(path), found))


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
    doc = merge([(source, _validated(document, Report(source, found)))], found)
    if found:
        raise FixtureError(found)
    return doc


def validate(document: object, source: str) -> dict:
    """Check one parsed fixture document; return it normalised (defaults filled in)."""
    found: list[str] = []
    doc = _validated(document, Report(source, found))
    if found:
        raise FixtureError(found)
    return doc


def _validated(document: object, report: Report) -> dict | None:
    """The document checked against the schema, then its references; problems to ``report``
    (with problems: the valid part, for the checks across documents)."""
    doc, problems = fixture_schema.check({} if document is None else document)
    for path, problem in problems:
        report.add(path, problem)
    if doc is None:
        return None
    backclick_fixtures.check_section(doc, report)
    if doc.get("copernica") is not None:
        copernica_fixtures.check_section(doc["copernica"], report)
    return doc


def merge(parts: list[tuple[str, dict | None]], found: list[str] | None = None) -> dict:
    """Merge validated documents (source, document): mandators concatenated, ids checked across.

    Problems go to ``found`` when given (the caller raises), else raise FixtureError."""
    problems: list[str] = [] if found is None else found
    doc: dict = {"backclick": {"blockList": [], "mandators": []},
                 "state": {key: [] for key in STATE_KEYS}}
    parts = [(source, part) for source, part in parts if part is not None]
    book = backclick_fixtures.Book(complete=all(part["backclick"] is not None for _, part in parts))
    for source, part in parts:
        _merge_settings(doc, part, book, Report(source, problems))
    for source, part in parts:
        backclick_fixtures.merge_mandators(doc, part, book, Report(source, problems))
    single = len(parts) == 1
    for key, check in backclick_fixtures.STATE_CHECKS:
        for source, part in parts:
            report = Report(source, problems)
            rows = part["state"][key] if part["state"] is not None else [None]  # unknown
            book.complete_rows[key] = book.complete_rows.get(key, True) and None not in rows
            for i, row in valid(rows):
                path = f"state.{key}[{i}]"
                check(row, path, path if single else f"{path} in {source}", book, report)
                doc["state"][key].append(row)
    doc["copernica"] = copernica_fixtures.merge_sections(parts, problems)
    if found is None and problems:
        raise FixtureError(problems)
    return doc


def _merge_settings(doc: dict, part: dict, book: backclick_fixtures.Book, report: Report) -> None:
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


def seed(store: Store, document: dict, source: str = DOCUMENT) -> dict:
    """Load a fixture document into the store in one transaction; return counts of what was added."""
    doc = read_document(document, source)
    mandators = doc["backclick"]["mandators"]
    state = doc["state"]
    with store.transaction():
        if "clock" in doc:  # first: rows without times of their own are dated by it
            clock.configure(store, doc["clock"].get("start"), doc["clock"].get("frozen", False))
        now = clock.now_stamp(store)
        taken = backclick_tables.mandator_ids(store)
        for i, m in enumerate(mandators):
            if m["id"] in taken:
                raise FixtureConflict(f"{source}: backclick.mandators[{i}].id: mandator {m['id']} "
                                      f"already exists in the store")
        taken = copernica_tables.account_ids(store)
        for i, a in enumerate(doc["copernica"]["accounts"]):
            if a["id"] in taken:
                raise FixtureConflict(f"{source}: copernica.accounts[{i}].id: account {a['id']} "
                                      f"already exists in the store")
        if "seed" in doc:  # first: the codes generated below already come from it
            store.meta_set("seed", str(doc["seed"]))
        tokens.continue_after(store, state.get("tokensIssued", 0))
        max_ids = vendor_store.max_ids(store)
        tables = backclick_fixtures.backclick_rows(doc, now, max_ids,
                                                  backclick_tables.block_list(store),
                                                  store.schema.tables)
        tables.update(outbox_rows(state, now, max_ids))
        tables.update(copernica_fixtures.copernica_rows(doc["copernica"], now, max_ids, store))
        try:
            store.load(tables)
        except sqlite3.IntegrityError as error:
            raise FixtureConflict(f"{source}: conflicts with the store: {error}")
    return {"mandators": len(mandators), "subscribers": len(tables["subscribers"]),
            "blockList": len(tables["block_list"]),
            **{key: len(state[key]) for key in STATE_KEYS}}


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
    doc["backclick"] = backclick_fixtures.export_section(tables)
    copernica = copernica_fixtures.export_section(tables)
    if copernica is not None:
        doc["copernica"] = copernica
    state = backclick_fixtures.export_state(tables)
    if issued:
        state["tokensIssued"] = issued
    if state:
        doc["state"] = state
    return doc
