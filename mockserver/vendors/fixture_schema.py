"""The fixture format, declared: the pydantic model of a fixture document (its parts:
mockserver/backclick/fixture_schema.py, mockserver/copernica/fixture_schema.py and the state in
mockserver/machinery/fixture_schema/state.py), its JSON Schema (``mockserver schema``), and its problems worded
``path: problem``.

``check`` validates the structure and types of one parsed document and normalises it; what
refers to what (ids, names, a value and its field's type) is checked in
mockserver/vendors/fixtures.py and each vendor's fixtures.py.
"""
from __future__ import annotations

import copy
import json
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError
from pydantic.json_schema import GenerateJsonSchema

from mockserver.machinery import clock
from mockserver.backclick.fixture_schema import Backclick
from mockserver.copernica.fixture_schema import Copernica
from mockserver.machinery.fixture_schema.scalars import (MAX_ID, FixtureMapping, Moment, UnknownKey,
                                               only_given)
from mockserver.machinery.fixture_schema.state import State

SCHEMA_FILE = "mockserver-fixtures.schema.json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MESSAGES = {
    "missing": "required key is missing",
    "int_type": "expected an integer", "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "string_type": "expected a string", "string_too_short": "must not be empty",
    "bool_type": "expected true or false", "bool_parsing": "expected true or false",
    "dict_type": "expected a mapping", "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "list_type": "expected a list",
}


def _on_the_clock(stamp: str) -> str:
    """A moment the mock's clock can show (clock.EARLIEST to clock.LATEST)."""
    try:
        clock.in_range(clock.parse_stamp(stamp))
    except clock.ClockRangeError as error:
        raise ValueError(str(error)) from None
    return stamp


class Clock(FixtureMapping):
    """The mock's clock, set when the fixture is seeded."""

    start: Annotated[Moment, AfterValidator(_on_the_clock)] | None = only_given(
        description="the clock starts at this moment (default: now) and runs on from there")
    frozen: bool | None = only_given(description="the clock stands still (default false)")


class FixtureDocument(FixtureMapping):
    """A mockserver fixture document: configuration and data of the mock's store (see
    docs/fixtures.md). Several files merge: mandators, accounts and state rows concatenate."""

    seed: int | None = only_given(
        description="the seed of every secret the mock generates (tokens, codes)")
    clock: Clock | None = only_given()
    backclick: Backclick = Field(default_factory=Backclick)
    copernica: Copernica | None = only_given()
    state: State = Field(default_factory=State)


def check(document: Any) -> tuple[dict | None, list[tuple[str, str]]]:
    """Validate one parsed document: (its normalised form, problems as (path, problem)).

    With problems, the form is that of the document without its invalid rows, None standing
    where they were, so that the checks of references can go on with the valid ones."""
    try:
        return FixtureDocument.model_validate(document).model_dump(by_alias=True), []
    except ValidationError as error:
        errors = error.errors()
    return _salvaged(document, errors), [(_path(document, e["loc"]), _problem(e))
                                         for e in errors]


def _steps(document: Any, loc: tuple) -> list[tuple[Any, bool]]:
    """The keys and list indices (True: an index) from the document to what a pydantic error
    location names; locations inside a value that is no mapping (a union member, a mapping's
    key) are not among them."""
    steps, node = [], document
    for part in loc:
        if isinstance(node, list) and isinstance(part, int):
            steps.append((part, True))
            node = node[part] if part < len(node) else None
        elif isinstance(node, dict):
            steps.append((part, False))
            node = node.get(part)
    return steps


def _path(document: Any, loc: tuple) -> str:
    """A pydantic error location as the document path ``a.b[0].c``."""
    path = ""
    for step, index in _steps(document, loc):
        path = f"{path}[{step}]" if index else f"{path}.{step}" if path else str(step)
    return path or "document"


def _salvaged(document: Any, errors: list[dict]) -> dict | None:
    """The normalised form of the document without the rows (list items, or top-level keys)
    that have problems and without unknown keys; None stands where a row was."""
    if not isinstance(document, dict):
        return None
    pruned = copy.deepcopy(document)
    rows = set()
    for error in errors:
        steps = _steps(document, error["loc"])
        keys = tuple(step for step, _ in steps)
        if not keys:
            return None
        if error["type"] == "extra_forbidden":
            _parent(pruned, keys).pop(keys[-1], None)
            continue
        cut = max((i for i, (_, index) in enumerate(steps) if index), default=0)
        rows.add(keys[:cut + 1])
    rows = sorted((r for r in rows if not any(r[:n] in rows for n in range(1, len(r)))),
                  key=_order)
    for row in reversed(rows):
        del _parent(pruned, row)[row[-1]]
    try:
        doc = FixtureDocument.model_validate(pruned).model_dump(by_alias=True)
    except ValidationError:
        return None
    for row in rows:
        parent = _parent(doc, row)
        if isinstance(parent, list):
            parent.insert(row[-1], None)
        else:
            parent[row[-1]] = None
    return doc


def _parent(document: Any, steps) -> Any:
    """The list or mapping that holds what ``steps`` lead to."""
    for step in steps[:-1]:
        document = document[step]
    return document


def _order(row: tuple) -> tuple:
    """Rows in document order (list indices and keys compared apart)."""
    return tuple((0, step, "") if isinstance(step, int) else (1, 0, str(step)) for step in row)


def _problem(error: dict) -> str:
    """A pydantic error in the words of the format."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden" and isinstance(error["input"], UnknownKey):
        return f"unknown key (known keys: {', '.join(error['input'].known)})"
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "literal_error":  # expected: "'a', 'b' or 'c'"
        return "expected one of " + ", ".join(re.findall(r"'([^']*)'", ctx["expected"]))
    if kind in ("greater_than_equal", "less_than_equal"):
        return "expected a count, 0 or more" if ctx.get("ge") == 0 else \
            f"expected an id between 1 and {MAX_ID}"
    return MESSAGES.get(kind) or error["msg"]


class _Generator(GenerateJsonSchema):
    """JSON Schema of the format: keys carry descriptions, not titles made from their names."""

    def field_title_should_be_set(self, schema) -> bool:
        return False


def json_schema() -> dict:
    """The JSON Schema of a fixture document (draft 2020-12), for editors and validators."""
    schema = FixtureDocument.model_json_schema(by_alias=True, schema_generator=_Generator)
    schema.pop("title", None)
    return {"$schema": JSON_SCHEMA_DIALECT, "title": "mockserver fixtures", **schema}


def json_schema_text() -> str:
    """The JSON Schema as the text ``mockserver schema`` prints and the repository keeps."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
