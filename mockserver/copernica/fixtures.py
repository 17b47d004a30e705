"""Copernica's part of the fixtures: what refers to what in the ``copernica`` section (names
of fields, interests, collections and contact types; values against their field's type;
accounts and users across merged documents), its store rows, and its part of an export."""
from __future__ import annotations

import json

from mockserver.machinery import clock, tokens
from mockserver.machinery.fixtures import Report, grouped, next_ids, valid
from mockserver.store import Store

CP_ID_TABLES = ("databases", "collections", "database_fields", "interests", "profiles",
                "subprofiles", "callbacks", "contact_types", "contacts")


# -- references within one document --------------------------------------------


def check_section(cp: dict, report: Report) -> None:
    """The Copernica section's unique ids and names and its references within databases."""
    seen: dict = {}
    for i, a in valid(cp["accounts"]):
        path = f"copernica.accounts[{i}]"
        report.unique(seen, a["id"], f"{path}.id", f"account id {a['id']}", path)
        names: dict = {}
        for j, db in valid(a["databases"]):
            at = f"{path}.databases[{j}]"
            _cp_database(db, at, report)
            report.unique(names, db["name"].lower(), f"{at}.name",
                          f"database name {db['name']!r}", at)
    seen = {}
    for i, u in valid(cp["users"]):
        path = f"copernica.users[{i}]"
        report.unique(seen, u["username"].lower(), f"{path}.username",
                      f"user {u['username']!r}", path)


def _cp_fields(fields: list, path: str, report: Report) -> None:
    """Field names unique ignoring case; at most one field of each ONE_PER_DATABASE type."""
    from mockserver.copernica import field_types

    seen: dict = {}
    for i, f in valid(fields):
        report.unique(seen, f["name"].lower(), f"{path}[{i}].name", f"field {f['name']!r}",
                      f"{path}[{i}]")
    for kind in field_types.ONE_PER_DATABASE:
        if sum(1 for _, f in valid(fields) if f["type"] == kind) > 1:
            report.add(path, f"more than one {kind} field")


def _cp_values(values: dict, path: str, fields: list, report: Report) -> dict:
    """Values of named fields, each checked (and normalised) for its field's type."""
    from mockserver.copernica import field_types

    if None in fields:
        return values
    by_name = {f["name"].lower(): f for f in fields}
    out = {}
    for name, value in values.items():
        f = by_name.get(str(name).lower())
        if f is None:
            report.add(f"{path}.{name}", f"no field named {name!r}")
            continue
        checked = field_types.check_value(f, value)
        if checked is None:
            report.add(f"{path}.{name}", f"{value!r} is not a valid {f['type']} value")
        else:
            out[f["name"]] = checked
    return out


def _cp_database(db: dict, path: str, report: Report) -> None:
    """A database: names of fields, interests and collections, and what its profiles,
    subprofiles and callbacks name."""
    _cp_fields(db["fields"], f"{path}.fields", report)
    db["unsubscribeValues"] = _cp_values(db["unsubscribeValues"], f"{path}.unsubscribeValues",
                                         db["fields"], report)
    names = {f["name"].lower(): f"{path}.fields" for _, f in valid(db["fields"])}
    for key in ("interests", "collections"):
        for i, r in valid(db[key]):
            item = f"{path}.{key}[{i}]"
            report.unique(names, r["name"].lower(), f"{item}.name", f"name {r['name']!r}", item)
    for i, co in valid(db["collections"]):
        item = f"{path}.collections[{i}]"
        _cp_fields(co["fields"], f"{item}.fields", report)
        co["unsubscribeValues"] = _cp_values(co["unsubscribeValues"], f"{item}.unsubscribeValues",
                                             co["fields"], report)
    collections = None if None in db["collections"] else \
        {co["name"].lower(): co for co in db["collections"]}
    interests = None if None in db["interests"] else \
        {i["name"].lower(): i["name"] for i in db["interests"]}
    for i, p in valid(db["profiles"]):
        item = f"{path}.profiles[{i}]"
        p["fields"] = _cp_values(p["fields"], f"{item}.fields", db["fields"], report)
        chosen = []
        for j, name in valid(p["interests"]):
            known = None if interests is None else interests.get(name.strip().lower())
            if known is None and interests is not None:
                report.add(f"{item}.interests[{j}]", f"no interest named {name!r}")
            chosen.append(known or name)
        p["interests"] = chosen
        for j, s in valid(p["subprofiles"]):
            at = f"{item}.subprofiles[{j}]"
            co = _cp_collection(s, at, collections, report)
            if co is not None:
                s["fields"] = _cp_values(s["fields"], f"{at}.fields", co["fields"], report)
    for i, cb in valid(db["callbacks"]):
        if cb["collection"] is not None:
            _cp_collection(cb, f"{path}.callbacks[{i}]", collections, report)
    _cp_contacts(db, path, report)


def _cp_contacts(db: dict, path: str, report: Report) -> None:
    """Contact type names unique ignoring case; a contact's type one of them (its spelling)."""
    seen: dict = {}
    for i, kind in valid(db["contactTypes"]):
        item = f"{path}.contactTypes[{i}]"
        report.unique(seen, kind["name"].lower(), f"{item}.name",
                      f"contact type {kind['name']!r}", item)
    types = None if None in db["contactTypes"] else \
        {kind["name"].lower(): kind["name"] for kind in db["contactTypes"]}
    for i, p in valid(db["profiles"]):
        for j, contact in valid(p["contacts"]):
            if contact["type"] is None or types is None:
                continue
            name = types.get(contact["type"].lower())
            if name is None:
                report.add(f"{path}.profiles[{i}].contacts[{j}].type",
                           f"no contact type named {contact['type']!r}")
            contact["type"] = name


def _cp_collection(row: dict, path: str, collections: dict | None,
                   report: Report) -> dict | None:
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


def merge_sections(parts: list[tuple[str, dict]], problems: list[str]) -> dict:
    """The Copernica sections of several documents, concatenated; references checked."""
    doc: dict = {"users": [], "accounts": [], "sessions": []}
    sections = [(Report(source, problems), part.get("copernica") or
                 {"users": [], "accounts": [], "sessions": []}) for source, part in parts]
    accounts: dict[int, str] = {}
    complete = all(None not in cp["accounts"] for _, cp in sections)
    for report, cp in sections:
        for i, a in valid(cp["accounts"]):
            other = accounts.setdefault(a["id"], report.source)
            if other != report.source:
                report.add(f"copernica.accounts[{i}].id",
                           f"account {a['id']} is also defined in {other}")
            doc["accounts"].append(a)
    users: dict = {}
    for report, cp in sections:
        for i, u in valid(cp["users"]):
            other = users.setdefault(u["username"].lower(), report.source)
            if other != report.source:
                report.add(f"copernica.users[{i}].username",
                           f"user {u['username']!r} is also defined in {other}")
            for k, account_id in valid(u["accounts"]):
                if complete and account_id not in accounts:
                    report.add(f"copernica.users[{i}].accounts[{k}]",
                               f"no account with id {account_id}")
            doc["users"].append(u)
        for i, s in valid(cp["sessions"]):
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
    for i, a in valid(cp["accounts"]):
        for j, d in valid(a["databases"]):
            for k, p in valid(d["profiles"]):
                for m, contact in valid(p["contacts"]):
                    yield (f"copernica.accounts[{i}].databases[{j}].profiles[{k}]."
                           f"contacts[{m}]"), contact


# -- seeding and export ------------------------------------------------------------


def copernica_rows(cp: dict, now: str, max_ids: dict, store: Store) -> dict[str, list[dict]]:
    """Store rows for a merged Copernica section (ids given or the next free ones)."""
    from mockserver.copernica import databases, field_types

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
        next_ids(rows, max_ids.get(table, 0))
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
                full = {f["name"]: p["fields"].get(f["name"], field_types.default_value(f, moment))
                        for f in d["fields"]}
                tables["profiles"].append({
                    "id": p_id, "database_id": db_id, "code": p.get("code") or next(codes),
                    "fields": json.dumps(full, ensure_ascii=False),
                    "interests": json.dumps({n: 1 for n in p["interests"]}, ensure_ascii=False),
                    "created": created, "modified": p["modified"] or created})
                for s in p["subprofiles"]:
                    created = s["created"] or now
                    full = {f["name"]: s["fields"].get(f["name"],
                                                       field_types.default_value(f, moment))
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


def export_section(tables: dict) -> dict | None:
    """The Copernica section of an export (None when the store holds no Copernica data)."""
    if not (tables["accounts"] or tables["users"]):
        return None
    fields = grouped([f for f in tables["database_fields"] if f["collection_id"] is None],
                      "database_id")
    collection_fields = grouped([f for f in tables["database_fields"]
                                  if f["collection_id"] is not None], "collection_id")
    collections = grouped(tables["collections"], "database_id")
    collection_names = {co["id"]: co["name"] for co in tables["collections"]}
    interests = grouped(tables["interests"], "database_id")
    profiles = grouped(tables["profiles"], "database_id")
    subprofiles = grouped(tables["subprofiles"], "profile_id")
    collection_db = {co["id"]: co["database_id"] for co in tables["collections"]}
    callbacks = grouped([dict(cb, owner=cb["database_id"] or collection_db.get(cb["collection_id"]))
                          for cb in tables["callbacks"]], "owner")
    tokens_of = grouped(tables["access_tokens"], "account_id")
    databases_of = grouped(tables["databases"], "account_id")
    contact_types = grouped(tables["contact_types"], "database_id")
    type_names = {t["id"]: t["name"] for t in tables["contact_types"]}
    contacts = grouped(tables["contacts"], "profile_id")

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

    user_accounts = grouped(tables["user_accounts"], "username")
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
