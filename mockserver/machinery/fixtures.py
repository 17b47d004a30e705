"""Fixtures, the parts both vendors share: reading fixture files (YAML or JSON), problems
worded ``file: path: problem`` (FixtureError, Report), the row helpers of the checks and the
seeding, the outbox rows of the ``state`` section, and writing documents (``dumps``).

Each vendor checks, seeds and exports its own section (mockserver/backclick/fixtures.py,
mockserver/copernica/fixtures.py); mockserver/vendors/fixtures.py puts them together
(``load_paths``, ``seed``, ``export``).
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml

from mockserver.machinery import outbox

SUFFIXES = (".yaml", ".yml", ".json")
REQUEST_BODY = "<request body>"
DOCUMENT = "<document>"
STATE_KEYS = ("confirmations", "channels", "newsletters", "outbox")


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


# -- problems and rows ----------------------------------------------------------


class Report:
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


def valid(rows) -> list[tuple[int, dict]]:
    """The valid rows with their index (the schema left None where a row was invalid)."""
    return [(i, row) for i, row in enumerate(rows or ()) if row is not None]


def known_ids(rows, key: str = "id") -> set | None:
    """The values of ``key`` in rows, or None when an invalid row hides some of them (its
    problem is reported; a reference to it would be reported twice)."""
    if rows is None or None in rows:
        return None
    return {row[key] for row in rows if key in row}


def field_values(values: dict, path: str, known: dict | None, report: Report) -> dict:
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


def next_ids(rows: list[dict], start: int) -> None:
    """Give rows without an id the next free ids, in document order."""
    next_id = max([start] + [r["id"] for r in rows if "id" in r]) + 1
    for row in rows:
        if "id" not in row:
            row["id"] = next_id
            next_id += 1


def grouped(rows: list[dict], key: str) -> dict:
    """Rows by the value of their column ``key``, in their order."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


# -- the outbox (state.outbox) ----------------------------------------------------


def outbox_rows(state: dict, now: str, max_ids: dict) -> dict[str, list[dict]]:
    """Store rows (outbox, attachments, mail_events) of the mails of a merged state section."""
    tables: dict[str, list[dict]] = {}
    mails = [dict(r) for r in state["outbox"]]
    next_ids(mails, max_ids["outbox"])
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
    next_ids(events, max_ids["mail_events"])
    tables["mail_events"] = [
        {"id": e["id"], "mail_id": e["mail_id"], "type": e["type"], "detail": e["detail"],
         "at": e["at"] or now} for e in sorted(events, key=lambda e: e["id"])]
    return tables


def mail_out(row: dict, attachments: list[dict], events: list[dict]) -> dict:
    """An ``outbox`` row with its attachments and events as a mail of ``state.outbox``."""
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
