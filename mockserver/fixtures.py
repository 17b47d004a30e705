"""Fixtures: YAML or JSON documents that configure and fill the store.

(Minimal first version: loads and seeds mandators; validation and export follow.)
"""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from mockserver import clock
from mockserver.store import Store

STATUS_NAMES = {"subscribed": 0, "unsubscribed": 1, "pending": 2}


class FixtureError(Exception):
    """A fixture problem, worded ``file: path: problem``."""


def load_paths(paths: list[str]) -> dict:
    """Read fixture files (folders: every .yaml/.yml/.json inside, sorted) into one document."""
    merged: dict = {}
    for path in paths:
        p = Path(path)
        files = sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml", ".json")) \
            if p.is_dir() else [p]
        for f in files:
            try:
                text = f.read_text(encoding="utf-8")
            except OSError as error:
                raise FixtureError(f"{f}: cannot read: {error.strerror}")
            try:
                doc = json.loads(text) if f.suffix == ".json" else yaml.safe_load(text)
            except (ValueError, yaml.YAMLError) as error:
                raise FixtureError(f"{f}: not valid {f.suffix[1:].upper()}: {error}")
            mandators = ((doc or {}).get("backclick") or {}).get("mandators") or []
            merged.setdefault("backclick", {}).setdefault("mandators", []).extend(mandators)
            merged["backclick"].setdefault("blockList", []).extend(
                ((doc or {}).get("backclick") or {}).get("blockList") or [])
    return merged


def seed(store: Store, document: dict) -> None:
    """Load a fixture document into the store in one transaction."""
    now = clock.now_stamp(store)
    with store.transaction() as db:
        bc = document.get("backclick") or {}
        for pattern in bc.get("blockList") or []:
            db["block_list"].insert({"pattern": pattern.lower()}, ignore=True)
        for m in bc.get("mandators") or []:
            mid = m["id"]
            db["mandators"].insert({"id": mid, "name": m.get("name", "")})
            db["api_keys"].insert_all({"mandator_id": mid, "key": k} for k in m.get("apiKeys") or [])
            db["allowed_ips"].insert_all({"mandator_id": mid, "cidr": c}
                                         for c in m.get("allowedIps") or [])
            db["sender_domains"].insert_all({"mandator_id": mid, "domain": d}
                                            for d in m.get("senderDomains") or [])
            db["fields"].insert_all({"mandator_id": mid, "name": f, "name_key": f.lower(),
                                     "position": i} for i, f in enumerate(m.get("fields") or []))
            db["lists"].insert_all({"mandator_id": mid, "id": li["id"], "name": li["name"],
                                    "description": li.get("description", ""),
                                    "welcome_template_id": li.get("welcomeTemplateId")}
                                   for li in m.get("lists") or [])
            db["templates"].insert_all({"mandator_id": mid, "id": t["id"],
                                        "name": t.get("name", ""), "subject": t.get("subject", ""),
                                        "html": t.get("html", ""), "text": t.get("text", "")}
                                       for t in m.get("templates") or [])
            for s in m.get("subscribers") or []:
                sid = store.insert_subscriber(mid, s["email"], s.get("fields") or {}, now)
                for list_id, status in (s.get("lists") or {}).items():
                    store.set_membership(sid, int(list_id), STATUS_NAMES[status], now)


def export(store: Store) -> dict:
    """The store as a fixture document (to be completed)."""
    return {"tables": store.dump()}


def dumps(document: dict, as_json: bool = False) -> str:
    """A fixture document as YAML (or JSON) text."""
    if as_json:
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
