"""BACKCLICK's part of the fixtures: what refers to what in the ``backclick`` section and in
the state rows that belong to its mandators (checked within one document and across merged
documents), its store rows, and its part of an export."""
from __future__ import annotations

import json

from mockserver.backclick.fixture_schema import STATUS_NAMES
from mockserver.machinery.fixtures import (Report, field_values, grouped, known_ids, mail_out,
                                           next_ids, valid)

STATUS_OF = {code: name for name, code in STATUS_NAMES.items()}
TEMPLATE_KEYS = ("id", "name", "subject", "html", "text")
NEWSLETTER_COUNTS = {"numRecipientsUnadjusted": "num_unadjusted",
                     "numExcludedBlocked": "excluded_blocked",
                     "numExcludedInvalid": "excluded_invalid",
                     "numExcludedDuplicate": "excluded_duplicate",
                     "numRecipientsAdjusted": "num_adjusted"}


# -- references within one document --------------------------------------------


def check_section(doc: dict, report: Report) -> None:
    """The unique ids and names of a validated document's BACKCLICK section and its state
    newsletters, and what they name within the document."""
    if doc["backclick"] is not None:
        seen: dict = {}
        for i, m in valid(doc["backclick"]["mandators"]):
            path = f"backclick.mandators[{i}]"
            report.unique(seen, m["id"], f"{path}.id", f"mandator id {m['id']}", path)
            check_mandator(m, path, report)
    if doc["state"] is not None:
        for i, n in valid(doc["state"]["newsletters"]):
            check_newsletter_kind(n, f"state.newsletters[{i}]", report)


def check_mandator(m: dict, path: str, report: Report) -> None:
    """A mandator's unique names and ids, and its references to its own lists and fields."""
    for key, what in (("apiKeys", "API key"), ("allowedIps", "network"),
                      ("senderDomains", "domain"), ("fields", "field")):
        seen: dict = {}
        for i, value in valid(m[key]):
            report.unique(seen, value.lower(), f"{path}.{key}[{i}]", f"{what} {value!r}",
                          f"{key}[{i}]")
    known = None if None in m["fields"] else {name.lower(): name for name in m["fields"]}
    for key, what in (("templates", "template"), ("lists", "list"),
                      ("profileFilters", "profile filter"), ("voucherLists", "voucher list")):
        seen = {}
        for i, row in valid(m[key]):
            report.unique(seen, row["id"], f"{path}.{key}[{i}].id", f"{what} id {row['id']}",
                          f"{key}[{i}]")
    templates = known_ids(m["templates"])
    for i, li in valid(m["lists"]):
        welcome = li["welcomeTemplateId"]
        if welcome is not None and templates is not None and welcome not in templates:
            report.add(f"{path}.lists[{i}].welcomeTemplateId", f"no template with id {welcome}")
    for i, f in valid(m["profileFilters"]):
        for j, cond in valid(f["conditions"]):
            _condition_field(cond, f"{path}.profileFilters[{i}].conditions[{j}].field", known,
                             report)
    for i, v in valid(m["voucherLists"]):
        seen = {}
        for j, code in valid(v["codes"]):
            value = code["code"] if isinstance(code, dict) else code
            report.unique(seen, value, f"{path}.voucherLists[{i}].codes[{j}]",
                          f"voucher code {value!r}", f"codes[{j}]")
    lists, seen = known_ids(m["lists"]), {}
    for i, s in valid(m["subscribers"]):
        item = f"{path}.subscribers[{i}]"
        key = s["email"].lower()
        report.unique(seen, key, f"{item}.email", f"address {key}", f"subscribers[{i}]")
        _subscriber(s, item, known, lists, report)


def _condition_field(cond: dict, at: str, known: dict | None, report: Report) -> None:
    """A filter condition's field: EMAIL or a field of the mandator, in its spelling."""
    name = cond["field"]
    if name.upper() == "EMAIL":
        cond["field"] = "EMAIL"
    elif known is not None and name.lower() in known:
        cond["field"] = known[name.lower()]
    elif known is not None:
        report.add(at, f"no field named {name!r}")


def _subscriber(s: dict, item: str, known: dict | None, lists: set | None,
                report: Report) -> None:
    """A subscriber's fields (stored in the mandator's spelling) and lists exist."""
    s["fields"] = field_values(s["fields"], f"{item}.fields", known, report)
    for lid in s["lists"]:
        if lists is not None and lid not in lists:
            report.add(f"{item}.lists.{lid}", f"no list with id {lid}")
    for lid in s["listsChanged"]:
        if lists is not None and lid not in lists:
            report.add(f"{item}.listsChanged.{lid}", f"no list with id {lid}")
        elif lid not in s["lists"]:
            report.add(f"{item}.listsChanged.{lid}",
                       f"list {lid} is not among this subscriber's lists")


def check_newsletter_kind(n: dict, path: str, report: Report) -> None:
    """A newsletter's kind (default: recipients when it has some) fits its audience."""
    n["kind"] = n["kind"] or ("recipients" if n["recipients"] else "list")
    if n["kind"] == "list" and n["recipients"]:
        report.add(f"{path}.recipients", "only a newsletter of kind recipients has recipients")
    if n["kind"] == "recipients" and n["listId"] is not None:
        report.add(f"{path}.listId", "a newsletter of kind recipients has no list")


# -- references across documents ----------------------------------------------------


class Book:
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

    def unique(self, report: Report, kind: str, key, path: str, what: str, where: str) -> None:
        """A problem when ``key`` of this kind was seen before."""
        report.unique(self.seen.setdefault(kind, {}), key, path, what, where)


def merge_mandators(doc: dict, part: dict, book: Book, report: Report) -> None:
    """Mandators (an id in two files is a problem) and subscriber ids (unique in the store)."""
    bc = part["backclick"]
    if bc is None:
        return
    for pattern in bc["blockList"]:
        if pattern is not None and pattern not in doc["backclick"]["blockList"]:
            doc["backclick"]["blockList"].append(pattern)
    if None in bc["mandators"]:
        book.complete = book.subscribers_complete = False
    for i, m in valid(bc["mandators"]):
        path = f"backclick.mandators[{i}]"
        other = book.origin.get(("mandator", m["id"]))
        if other is not None and other != report.source:
            report.add(f"{path}.id", f"mandator {m['id']} is also defined in {other}")
        book.mandators.setdefault(m["id"], m)
        book.origin.setdefault(("mandator", m["id"]), report.source)
        book.subscribers_complete = book.subscribers_complete and None not in m["subscribers"]
        for j, s in valid(m["subscribers"]):
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


def _owner(row: dict, path: str, book: Book, report: Report, list_id=None) -> dict | None:
    """The mandator a state row belongs to, and the list it names in it."""
    m = book.mandators.get(row["mandatorId"])
    if m is None:
        if book.complete:
            report.add(f"{path}.mandatorId", f"no mandator with id {row['mandatorId']}")
        return None
    lists = known_ids(m["lists"])
    if list_id is not None and lists is not None and list_id not in lists:
        report.add(f"{path}.listId", f"no list with id {list_id} in mandator {m['id']}")
    return m


def _subscriber_of(row: dict, path: str, book: Book, report: Report) -> None:
    """The subscriber a state row names is one of its mandator's."""
    owner = book.subscribers.get(row["subscriberId"])
    if (owner is None and book.subscribers_complete) or \
            (owner is not None and owner[2] != row["mandatorId"]):
        report.add(f"{path}.subscriberId", f"no subscriber with id {row['subscriberId']} in "
                                           f"mandator {row['mandatorId']}")


def merge_channel(ch: dict, path: str, where: str, book: Book, report: Report) -> None:
    """A transaction channel: its mandator exists, its id is unique."""
    _owner(ch, path, book, report)
    if "id" in ch:
        book.unique(report, "channel", ch["id"], f"{path}.id", f"channel id {ch['id']}", where)
        book.channel_owner.setdefault(ch["id"], ch["mandatorId"])


def merge_newsletter(n: dict, path: str, where: str, book: Book, report: Report) -> None:
    """A newsletter: its mandator, list, filters and template exist, its id is unique."""
    m = _owner(n, path, book, report, n["listId"])
    if m is not None:
        filters = known_ids(m["profileFilters"])
        for j, fid in valid(n["filterIds"]):
            if filters is not None and fid not in filters:
                report.add(f"{path}.filterIds[{j}]", f"no profile filter with id {fid} in "
                                                     f"mandator {m['id']}")
        templates = known_ids(m["templates"])
        if n["templateId"] is not None and templates is not None and \
                n["templateId"] not in templates:
            report.add(f"{path}.templateId", f"no template with id {n['templateId']} in "
                                             f"mandator {m['id']}")
    if "id" in n:
        book.unique(report, "newsletter", n["id"], f"{path}.id", f"newsletter id {n['id']}",
                    where)


def merge_confirmation(r: dict, path: str, where: str, book: Book, report: Report) -> None:
    """A confirmation: its mandator, subscriber, lists and fields exist, its token is unique."""
    m = _owner(r, path, book, report)
    _subscriber_of(r, path, book, report)
    if m is not None:
        lists = known_ids(m["lists"])
        for j, lid in valid(r["listIds"]):
            if lists is not None and lid not in lists:
                report.add(f"{path}.listIds[{j}]", f"no list with id {lid} in mandator {m['id']}")
        known = None if None in m["fields"] else {name.lower(): name for name in m["fields"]}
        r["changes"] = field_values(r["changes"], f"{path}.changes", known, report)
    book.unique(report, "confirmation token", r["token"], f"{path}.token", "confirmation token",
                where)


def merge_mail(r: dict, path: str, where: str, book: Book, report: Report) -> None:
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
    for j, e in valid(r["events"]):
        if "id" in e:
            at = f"{path}.events[{j}]"
            book.unique(report, "event", e["id"], f"{at}.id", f"event id {e['id']}",
                        at if where == path else f"{at} in {report.source}")


STATE_CHECKS = (("channels", merge_channel), ("newsletters", merge_newsletter),
                ("confirmations", merge_confirmation), ("outbox", merge_mail))


# -- seeding and export ------------------------------------------------------------


def backclick_rows(doc: dict, now: str, max_ids: dict, blocked: set,
                   table_names: list[str]) -> dict[str, list[dict]]:
    """Store rows of a merged document's BACKCLICK section and its state rows (channels,
    newsletters, confirmations); every table of ``table_names`` is in the result."""
    tables: dict[str, list[dict]] = {table: [] for table in table_names}
    tables["block_list"] = [{"pattern": p} for p in doc["backclick"]["blockList"] if p not in blocked]
    mandators = doc["backclick"]["mandators"]
    all_subscribers = [dict(s) for m in mandators for s in m["subscribers"]]
    next_ids(all_subscribers, max_ids["subscribers"])
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
    next_ids(channels, max_ids["channels"])
    tables["channels"] = [{
        "id": ch["id"], "mandator_id": ch["mandatorId"],
        "name": f"Channel {ch['id']}" if ch["name"] is None else ch["name"],
        "description": ch["description"], "created": ch["created"] or now} for ch in channels]
    newsletters = [dict(n) for n in state["newsletters"]]
    next_ids(newsletters, max_ids["newsletters"])
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
    return tables


def export_section(tables: dict) -> dict:
    """The ``backclick`` section of an export from ``Store.dump()`` tables."""
    by = {table: grouped(tables[table], "mandator_id") for table in (
        "api_keys", "allowed_ips", "sender_domains", "fields", "lists", "templates",
        "profile_filters", "voucher_lists", "subscribers")}
    vouchers = grouped(tables["vouchers"], "voucher_list_id")
    memberships = grouped(tables["memberships"], "subscriber_id")
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
    return {"blockList": [r["pattern"] for r in tables["block_list"]],
            "mandators": mandators}


def export_state(tables: dict) -> dict:
    """The state rows of an export (BACKCLICK's and the outbox), empty kinds left out."""
    recipients = grouped(tables["newsletter_recipients"], "newsletter_id")
    attachments = grouped(tables["attachments"], "mail_id")
    events = grouped(tables["mail_events"], "mail_id")
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
        "outbox": [mail_out(r, attachments.get(r["id"], []), events.get(r["id"], []))
                   for r in tables["outbox"]],
    }
    return {key: rows for key, rows in state.items() if rows}


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
