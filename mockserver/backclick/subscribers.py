"""BACKCLICK subscribers: create, update, import, look up, unsubscribe, confirm.

Membership status of a subscriber on a newsletter list, as the vendor reports it in
``listStatus``: 0 subscribed, 1 was subscribed, 2 pending double opt-in.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field

from mockserver.machinery import clock, outbox
from mockserver.machinery.addresses import is_valid_address
from mockserver.machinery.errors import Busy, InvalidRequest, NotFound
from mockserver.store import Store
from mockserver.machinery.tokens import new_token
from mockserver.backclick import mail as backclick_mail
from mockserver.backclick import tables as backclick_tables
from mockserver.backclick import newsletter_tables as newsletter_tables

SUBSCRIBED, WAS_SUBSCRIBED, PENDING = 0, 1, 2

# getSubscribers status values.
NOT_IN_SYSTEM, NO_ACTIVE_LIST, ACTIVE, ONLY_PENDING, BLOCKED = -1, 0, 1, 2, 3

MAX_PER_REQUEST = 1000
ROLE_LOCAL_PARTS = frozenset({"abuse", "postmaster", "noreply", "no-reply"})
IMPORT_LOCK_STALE_AFTER = dt.timedelta(minutes=10)

_LIST_SEPARATOR = re.compile(r"[;\-]")  # between list ids in an import's NEWSLETTER column


def is_role_address(address: str) -> bool:
    """True for role addresses the anti-spam filter refuses (abuse@, postmaster@, noreply@, no-reply@)."""
    return address.rpartition("@")[0].lower() in ROLE_LOCAL_PARTS


@dataclass
class SubscriberData:
    """One subscriber as a client sends it."""

    email: str
    list_ids: list[int] | None = None
    mandator_id: int | None = None
    double_optin_template_id: int = 0
    change_profile_template_id: int = 0
    fields: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass
class SaveOptions:
    """The switches of saveOrCreateSubscriber."""

    lists_additive: bool = False
    delete_blank_fields: bool = False
    send_last_newsletter: bool = False
    send_welcome: bool = False
    filter_anti_spam: bool = True
    confirm_change: bool = False


@dataclass
class SaveResult:
    """What saveOrCreateSubscriber answers: 0 all saved, 1 some skipped, 2 none saved."""

    response_code: int
    invalid: list[str]
    blocked: list[str]


@dataclass
class ImportResult:
    """What importSubscribers answers."""

    imported: int
    invalid: list[str]
    blocked: list[str]


@dataclass
class SubscriberView:
    """One answer of getSubscribers."""

    email: str
    status: int
    mandator_id: int
    list_ids: str
    fields: list[tuple[str, str]] | None


@dataclass
class ListInformation:
    """One membership as getSubscriberToNewsletterListRelation reports it."""

    list_id: int
    name: str
    description: str
    status: int


def canonical_fields(known: dict[str, str], pairs) -> dict[str, str | None]:
    """Map client field names onto the mandator's fields (``known``); fault on an unknown name."""
    values: dict[str, str | None] = {}
    for name, value in pairs:
        key = (name or "").strip().lower()
        if key == "email":
            continue
        if key not in known:
            raise InvalidRequest("Invalid field name in request.")
        values[known[key]] = value
    return values


def _check_lists(lists: dict, list_ids) -> None:
    for list_id in list_ids or ():
        if list_id not in lists:
            raise NotFound(f"Newsletter list {list_id} does not exist.")


def _check_template(store: Store, mandator_id: int, template_id: int) -> dict:
    template = backclick_tables.template(store, mandator_id, template_id)
    if template is None:
        raise NotFound(f"Template with ID {template_id} does not exist!")
    return template


def _merge_fields(current: dict, incoming: dict, delete_blank: bool) -> dict:
    merged = dict(current)
    for name, value in incoming.items():
        if value is None or value == "":
            if delete_blank:
                merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def save_or_create(store: Store, mandator_id: int, subscribers: list[SubscriberData],
                   options: SaveOptions, base_url: str) -> SaveResult:
    """Create or update subscribers keyed by address; see the contract's saveOrCreateSubscriber."""
    if len(subscribers) > MAX_PER_REQUEST:
        raise InvalidRequest(
            f"Too many subscribers in request! Max subscribers per request: {MAX_PER_REQUEST}")
    with store.transaction():
        lists = backclick_tables.lists(store, mandator_id)
        known = backclick_tables.field_names(store, mandator_id)
        prepared = []
        for data in subscribers:
            if data.mandator_id not in (None, mandator_id):
                raise InvalidRequest(
                    f"Subscriber mandatorId {data.mandator_id} differs from request mandatorId "
                    f"{mandator_id}.")
            _check_lists(lists, data.list_ids)
            for template_id in (data.double_optin_template_id, data.change_profile_template_id):
                if template_id:
                    _check_template(store, mandator_id, template_id)
            prepared.append((data, canonical_fields(known, data.fields)))
        now = clock.now_stamp(store)
        invalid, blocked, saved = [], [], 0
        for data, values in prepared:
            email = (data.email or "").strip()
            if not is_valid_address(email):
                invalid.append(data.email or "")
                continue
            if backclick_tables.is_blocked(store, email.lower()) or (
                    options.filter_anti_spam and is_role_address(email)):
                blocked.append(email)
                continue
            _save_one(store, mandator_id, lists, email, data, values, options, base_url, now)
            saved += 1
    skipped = len(invalid) + len(blocked)
    code = 0 if skipped == 0 else (2 if saved == 0 else 1)
    return SaveResult(code, invalid, blocked)


def _save_one(store: Store, mandator_id: int, lists: dict, email: str, data: SubscriberData,
              values: dict, options: SaveOptions, base_url: str, now: str) -> None:
    existing = backclick_tables.subscriber(store, mandator_id, email.lower())
    if existing is None:
        sid = backclick_tables.insert_subscriber(store, 
            mandator_id, email, _merge_fields({}, values, options.delete_blank_fields), now)
        current: dict[int, int] = {}
    else:
        sid = existing["id"]
        merged = _merge_fields(existing["fields"], values, options.delete_blank_fields)
        if merged != existing["fields"]:
            if options.confirm_change and data.change_profile_template_id:
                _stage_change(store, mandator_id, existing, merged, data, base_url, now)
            else:
                backclick_tables.update_subscriber_fields(store, sid, merged, now)
        current = backclick_tables.memberships(store, sid)
    if data.list_ids is None:
        return
    wanted = list(dict.fromkeys(data.list_ids))
    if not options.lists_additive:
        for list_id, status in current.items():
            if list_id not in wanted and status in (SUBSCRIBED, PENDING):
                backclick_tables.set_membership(store, sid, list_id, WAS_SUBSCRIBED, now)
    new_lists = [i for i in wanted if current.get(i) not in (SUBSCRIBED, PENDING)]
    if not new_lists:
        return
    subscriber = backclick_tables.subscriber_by_id(store, sid)
    if data.double_optin_template_id:
        for list_id in new_lists:
            backclick_tables.set_membership(store, sid, list_id, PENDING, now)
        token = new_token(store)
        backclick_tables.insert_confirmation(store, {
            "token": token, "kind": "doi", "mandator_id": mandator_id, "subscriber_id": sid,
            "list_ids": new_lists, "send_welcome": int(options.send_welcome),
            "send_last_newsletter": int(options.send_last_newsletter), "created": now})
        _send_confirmation_mail(store, mandator_id, subscriber, "doi",
                                data.double_optin_template_id, token, base_url, now,
                                list_id=new_lists[0])
        return
    for list_id in new_lists:
        backclick_tables.set_membership(store, sid, list_id, SUBSCRIBED, now)
    _after_activation(store, mandator_id, subscriber, new_lists, lists,
                      options.send_welcome, options.send_last_newsletter, now, base_url)


def _stage_change(store: Store, mandator_id: int, existing: dict, merged: dict,
                  data: SubscriberData, base_url: str, now: str) -> None:
    token = new_token(store)
    backclick_tables.insert_confirmation(store, {
        "token": token, "kind": "change", "mandator_id": mandator_id,
        "subscriber_id": existing["id"], "changes": merged, "created": now})
    _send_confirmation_mail(store, mandator_id, existing, "change-confirm",
                            data.change_profile_template_id, token, base_url, now)


def confirmation_link(base_url: str, token: str) -> str:
    """The URL that confirms a double opt-in or a profile change."""
    return f"{base_url.rstrip('/')}/bc/confirm/{token}"


def _send_confirmation_mail(store: Store, mandator_id: int, subscriber: dict, kind: str,
                            template_id: int, token: str, base_url: str, now: str,
                            list_id: int | None = None) -> None:
    template = _check_template(store, mandator_id, template_id)
    link = confirmation_link(base_url, token)
    values = dict(backclick_mail.blank_fields(store, mandator_id), **subscriber["fields"],
                  EMAIL=subscriber["email"], **{
        "CONFIRMATION-LINK": link, "CONFIRM-LINK": link})
    html, text = template["html"], template["text"]
    if not any(outbox.has_placeholder(t, n) for t in (html, text)
               for n in ("CONFIRMATION-LINK", "CONFIRM-LINK")):
        if html:
            html += f'\n<p><a href="{link}">{link}</a></p>'
        text = (text + "\n\n" if text else "") + link
    sender, name = backclick_mail.system_sender(store, mandator_id)
    default_subject = "Please confirm your subscription" if kind == "doi" \
        else "Please confirm the change of your data"
    outbox.put(store, outbox.Mail(
        mandator_id=mandator_id, kind=kind, to_addr=subscriber["email"],
        subject=outbox.personalise(template["subject"] or default_subject, values),
        html=outbox.personalise(html, values), text=outbox.personalise(text, values),
        from_addr=sender, from_name=name, list_id=list_id, base_url=base_url,
        subscriber_id=subscriber["id"], links={"confirm": link}), now)


def _after_activation(store: Store, mandator_id: int, subscriber: dict, list_ids: list[int],
                      lists: dict, send_welcome: bool, send_last_newsletter: bool, now: str,
                      base_url: str) -> None:
    """Welcome mail and last newsletter for lists that just became active."""
    values = dict(backclick_mail.blank_fields(store, mandator_id), **subscriber["fields"],
                  EMAIL=subscriber["email"])
    sender, name = backclick_mail.system_sender(store, mandator_id)
    for list_id in list_ids:
        welcome = lists[list_id].get("welcome_template_id")
        if send_welcome and welcome:
            template = backclick_tables.template(store, mandator_id, welcome)
            if template:
                outbox.put(store, outbox.Mail(
                    mandator_id=mandator_id, kind="welcome", to_addr=subscriber["email"],
                    subject=outbox.personalise(template["subject"] or "Welcome", values),
                    html=outbox.personalise(template["html"], values),
                    text=outbox.personalise(template["text"], values),
                    from_addr=sender, from_name=name, list_id=list_id, base_url=base_url,
                    subscriber_id=subscriber["id"]), now)
        if send_last_newsletter:
            last = newsletter_tables.last_newsletter(store, mandator_id, list_id, now)
            if last:
                outbox.put(store, outbox.Mail(  # rendered from the newsletter when read
                    mandator_id=mandator_id, kind="newsletter", to_addr=subscriber["email"],
                    subject=outbox.personalise(last["subject"], {
                        **values, "SPECIAL-REPLACEMENT-TEXT": last["adhock"]}),
                    from_addr=last["sender_email"] or sender,
                    from_name=last["sender_name"] or name, newsletter_id=last["id"],
                    list_id=list_id, subscriber_id=subscriber["id"],
                    personalisation=json.dumps(subscriber["fields"], ensure_ascii=False),
                    base_url=last["base_url"] or base_url), now)


def confirm(store: Store, token: str, base_url: str) -> dict | None:
    """Open a confirmation link: activate pending lists or apply staged changes. None if unknown."""
    with store.transaction():
        row = backclick_tables.confirmation(store, token)
        if row is None:
            return None
        if row["confirmed"]:
            return dict(row, already=True)
        now = clock.now_stamp(store)
        sid = row["subscriber_id"]
        backclick_tables.mark_confirmed(store, token, now)
        if row["kind"] == "change":
            backclick_tables.update_subscriber_fields(store, sid, row["changes"], now)
            return dict(row, already=False)
        current = backclick_tables.memberships(store, sid)
        activated = [i for i in row["list_ids"] if current.get(i) == PENDING]
        for list_id in activated:
            backclick_tables.set_membership(store, sid, list_id, SUBSCRIBED, now)
        subscriber = backclick_tables.subscriber_by_id(store, sid)
        _after_activation(store, row["mandator_id"], subscriber, activated,
                          backclick_tables.lists(store, row["mandator_id"]), bool(row["send_welcome"]),
                          bool(row["send_last_newsletter"]), now, base_url)
        return dict(row, already=False, activated=activated)


def get_subscribers(store: Store, mandator_id: int, emails: list[str],
                    fill_fields: bool) -> list[SubscriberView]:
    """One view per requested address, in request order."""
    if len(emails) > MAX_PER_REQUEST:
        raise InvalidRequest("Too many emailaddresses in request! Max email addresses per "
                             f"request: {MAX_PER_REQUEST}")
    keys = [(e or "").strip().lower() for e in emails]
    with store.reading():
        return _views(store, mandator_id, emails, keys, fill_fields)


def _views(store: Store, mandator_id: int, emails: list[str], keys: list[str],
           fill_fields: bool) -> list[SubscriberView]:
    found = backclick_tables.subscribers_with_memberships(store, mandator_id, keys)
    field_names = list(backclick_tables.field_names(store, mandator_id).values()) if fill_fields else []
    views = []
    for email, key in zip(emails, keys):
        sub = found.get(key)
        if sub is None:
            views.append(SubscriberView(email, NOT_IN_SYSTEM, mandator_id, "",
                                        [] if fill_fields else None))
            continue
        statuses = sub["memberships"]
        active = [str(i) for i, s in statuses.items() if s == SUBSCRIBED]
        if backclick_tables.is_blocked(store, key):
            status = BLOCKED
        elif active:
            status = ACTIVE
        elif PENDING in statuses.values():
            status = ONLY_PENDING
        else:
            status = NO_ACTIVE_LIST
        fields = None
        if fill_fields:
            values = json.loads(sub["fields"])
            fields = [("EMAIL", sub["email"])] + [(n, values.get(n, "")) for n in field_names]
        views.append(SubscriberView(sub["email"], status, mandator_id, ",".join(active), fields))
    return views


def list_relation(store: Store, mandator_id: int, list_id: int,
                  email: str) -> tuple[list[ListInformation], bool]:
    """The subscriber's memberships (of one list, or of all for list 0) and whether they exist."""
    lists = backclick_tables.lists(store, mandator_id)
    if list_id:
        _check_lists(lists, [list_id])
    sub = backclick_tables.subscriber(store, mandator_id, (email or "").strip().lower())
    if sub is None:
        return [], False
    infos = []
    for lid, status in backclick_tables.memberships(store, sub["id"]).items():
        if list_id and lid != list_id:
            continue
        lst = lists.get(lid) or {"name": "", "description": ""}
        infos.append(ListInformation(lid, lst["name"], lst["description"], status))
    return infos, True


def unsubscribe(store: Store, mandator_id: int, email: str, list_ids: list[int]) -> int:
    """Unsubscribe from the given lists (all when empty): 0 done, 1 address unknown."""
    with store.transaction():
        _check_lists(backclick_tables.lists(store, mandator_id), list_ids)
        sub = backclick_tables.subscriber(store, mandator_id, (email or "").strip().lower())
        if sub is None:
            return 1
        now = clock.now_stamp(store)
        for lid, status in backclick_tables.memberships(store, sub["id"]).items():
            if (not list_ids or lid in list_ids) and status in (SUBSCRIBED, PENDING):
                backclick_tables.set_membership(store, sub["id"], lid, WAS_SUBSCRIBED, now)
    return 0


def parse_import(store: Store, mandator_id: int, data: str) -> tuple[list[str], list[tuple]]:
    """Check an import file (tab-separated, header first); return field names and rows."""
    lines = [line.rstrip("\r") for line in (data or "").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not lines[0].strip():
        raise InvalidRequest("Import data is empty: the first line must name the fields.")
    header = [h.strip() for h in lines[0].split("\t")]
    upper = [h.upper() for h in header]
    if "EMAIL" not in upper:
        raise InvalidRequest("Import data has no EMAIL column.")
    if "NEWSLETTER" in upper and upper.index("NEWSLETTER") != len(upper) - 1:
        raise InvalidRequest("The NEWSLETTER column must be the last column.")
    known = backclick_tables.field_names(store, mandator_id)
    names = []
    for h in upper:
        if h in ("EMAIL", "NEWSLETTER"):
            names.append(h)
        elif h.lower() in known:
            names.append(known[h.lower()])
        else:
            raise InvalidRequest("Invalid field name in request.")
    lists = backclick_tables.lists(store, mandator_id)
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        values = line.split("\t")
        if len(values) != len(names):
            raise InvalidRequest(f"Line {number} has {len(values)} values; the header names "
                                 f"{len(names)} fields.")
        record = dict(zip(names, values))
        list_ids = []
        for part in _LIST_SEPARATOR.split(record.pop("NEWSLETTER", "") or ""):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise InvalidRequest(f"Line {number}: NEWSLETTER value {part!r} is not a list id.")
            list_ids.append(int(part))
        _check_lists(lists, list_ids)
        rows.append((record.pop("EMAIL").strip(), record, list_ids))
    return names, rows


def import_subscribers(store: Store, mandator_id: int, data: str) -> ImportResult:
    """Import a BACKCLICK import file, all or nothing, one import per mandator at a time."""
    started = clock.now(store)
    stale_before = clock.stamp(started - IMPORT_LOCK_STALE_AFTER)
    if not backclick_tables.acquire_import_lock(store, mandator_id, clock.stamp(started), stale_before):
        raise Busy("Another auto import is running. Please try again later.")
    try:
        _, rows = parse_import(store, mandator_id, data)
        invalid, blocked, imported = [], [], set()
        with store.transaction():
            now = clock.now_stamp(store)
            blocks = backclick_tables.block_list(store)
            existing = backclick_tables.subscribers_with_memberships(store, 
                mandator_id, [email.lower() for email, _, _ in rows])
            # Collected row by row, written in bulk: the same end state as one write per row.
            created: dict[str, dict] = {}  # new subscribers by key, in order of first row
            changed: dict[int, dict] = {}  # merged fields of existing subscribers by id
            joined: list[tuple[int, int, int]] = []  # memberships of existing subscribers
            for email, values, list_ids in rows:
                key = email.lower()
                if not is_valid_address(email):
                    invalid.append(email)
                    continue
                if key in blocks or "*@" + key.rpartition("@")[2] in blocks:
                    blocked.append(email)
                    continue
                sub = existing.get(key)
                if sub is None:
                    new = created.get(key)
                    if new is None:
                        new = created[key] = {
                            "email": email, "lists": {},
                            "fields": {k: v for k, v in values.items() if v != ""}}
                    else:
                        new["fields"] = _merge_fields(new["fields"], values, False)
                    new["lists"].update(dict.fromkeys(list_ids))
                else:
                    current = changed[sub["id"]] if sub["id"] in changed else \
                        json.loads(sub["fields"])
                    merged = _merge_fields(current, values, False)
                    if merged != current:
                        changed[sub["id"]] = merged
                    for list_id in list_ids:
                        if sub["memberships"].get(list_id) != SUBSCRIBED:
                            joined.append((sub["id"], list_id, SUBSCRIBED))
                            sub["memberships"][list_id] = SUBSCRIBED
                imported.add(key)
            ids = backclick_tables.insert_subscribers(store, 
                mandator_id, [(new["email"], new["fields"]) for new in created.values()], now)
            backclick_tables.update_subscribers_fields(store, changed.items(), now)
            backclick_tables.set_memberships(store, joined + [(sid, list_id, SUBSCRIBED) for sid, new in
                                            zip(ids, created.values()) for list_id in new["lists"]],
                                  now)
        return ImportResult(len(imported), invalid, blocked)
    finally:
        backclick_tables.release_import_lock(store, mandator_id)
