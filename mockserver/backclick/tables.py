"""BACKCLICK's queries of its tables: mandators and their configuration, the block list,
subscribers and memberships, confirmations, the import lock; each takes the store first."""
from __future__ import annotations

import json
import sqlite3
from typing import Iterable

from mockserver.backclick.schema import BACKCLICK_TABLES
from mockserver.store.rows import chunks, chunks_of, query_row, query_rows


def mandator(store, mandator_id: int) -> dict | None:
    """The mandator row, or None."""
    return query_row(store.conn, "SELECT * FROM mandators WHERE id=?", [mandator_id])


def mandator_has_key(store, mandator_id: int, key: str) -> bool:
    """True when ``key`` is one of the mandator's API keys."""
    return store.conn.execute("SELECT 1 FROM api_keys WHERE mandator_id=? AND key=?",
                           [mandator_id, key]).fetchone() is not None


def allowed_ips(store, mandator_id: int) -> list[str]:
    """The mandator's allowed client networks (CIDR strings)."""
    return [r[0] for r in store.conn.execute(
        "SELECT cidr FROM allowed_ips WHERE mandator_id=? ORDER BY cidr", [mandator_id])]


def field_names(store, mandator_id: int) -> dict[str, str]:
    """The mandator's database fields: lower-case name -> name as defined, in order."""
    return {r[0]: r[1] for r in store.conn.execute(
        "SELECT name_key, name FROM fields WHERE mandator_id=? ORDER BY position",
        [mandator_id])}


def lists(store, mandator_id: int) -> dict[int, dict]:
    """The mandator's newsletter lists by id."""
    return {r["id"]: r for r in query_rows(store.conn, 
        "SELECT * FROM lists WHERE mandator_id=? ORDER BY id", [mandator_id])}


def template(store, mandator_id: int, template_id: int) -> dict | None:
    """A mail template, or None."""
    return query_row(store.conn, "SELECT * FROM templates WHERE mandator_id=? AND id=?",
                [mandator_id, template_id])


def sender_domains(store, mandator_id: int) -> list[str]:
    """The domains the mandator may send from."""
    return [r[0] for r in store.conn.execute(
        "SELECT domain FROM sender_domains WHERE mandator_id=? ORDER BY domain", [mandator_id])]


def block_list(store) -> set[str]:
    """The global block list: lower-case addresses and ``*@domain`` patterns."""
    return {r[0] for r in store.conn.execute("SELECT pattern FROM block_list")}


def is_blocked(store, email_key: str) -> bool:
    """True when the lower-case address or its domain is on the block list."""
    domain = email_key.rpartition("@")[2]
    return store.conn.execute("SELECT 1 FROM block_list WHERE pattern IN (?, ?)",
                           [email_key, "*@" + domain]).fetchone() is not None


def subscriber(store, mandator_id: int, email_key: str) -> dict | None:
    """A subscriber by lower-case address, fields decoded, or None."""
    row = query_row(store.conn, "SELECT * FROM subscribers WHERE mandator_id=? AND email_key=?",
               [mandator_id, email_key])
    if row:
        row["fields"] = json.loads(row["fields"])
    return row


def subscriber_by_id(store, subscriber_id: int) -> dict | None:
    """A subscriber by id, fields decoded, or None."""
    row = query_row(store.conn, "SELECT * FROM subscribers WHERE id=?", [subscriber_id])
    if row:
        row["fields"] = json.loads(row["fields"])
    return row


def subscribers_with_memberships(store, mandator_id: int, email_keys: list[str]) -> dict[str, dict]:
    """Subscribers by lower-case address with ``memberships`` {list_id: status}, in two queries."""
    if not email_keys:
        return {}
    found: dict[str, dict] = {}
    by_id: dict[int, dict] = {}
    for chunk in chunks(list(dict.fromkeys(email_keys)), 500):
        marks = ",".join("?" * len(chunk))
        for row in store.conn.execute(
                f"SELECT id, email, email_key, fields FROM subscribers "
                f"WHERE mandator_id=? AND email_key IN ({marks})", [mandator_id, *chunk]):
            sub = {"id": row[0], "email": row[1], "fields": row[3], "memberships": {}}
            found[row[2]] = by_id[row[0]] = sub
    for chunk in chunks(list(by_id), 500):
        marks = ",".join("?" * len(chunk))
        for sid, list_id, status in store.conn.execute(
                f"SELECT subscriber_id, list_id, status FROM memberships "
                f"WHERE subscriber_id IN ({marks}) ORDER BY list_id", chunk):
            by_id[sid]["memberships"][list_id] = status
    return found


def insert_subscriber(store, mandator_id: int, email: str, fields: dict, now: str) -> int:
    """Create a subscriber; return its id."""
    cur = store.conn.execute(
        "INSERT INTO subscribers (mandator_id, email, email_key, fields, created, modified) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [mandator_id, email, email.lower(), json.dumps(fields, ensure_ascii=False), now, now])
    return cur.lastrowid


def insert_subscribers(store, mandator_id: int, subscribers: list[tuple[str, dict]],
                       now: str) -> list[int]:
    """Create many subscribers, (address, fields) in order; their ids (call in a transaction).

    The ids are the ones inserting them one by one would give (AUTOINCREMENT: past both
    the highest id in use and the highest id ever handed out).
    """
    conn = store.conn
    (first,) = conn.execute(
        "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name='subscribers'), 0), "
        "COALESCE((SELECT MAX(id) FROM subscribers), 0)) + 1").fetchone()
    ids = list(range(first, first + len(subscribers)))
    conn.executemany(
        "INSERT INTO subscribers (id, mandator_id, email, email_key, fields, created, "
        "modified) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(sid, mandator_id, email, email.lower(), json.dumps(fields, ensure_ascii=False),
          now, now) for sid, (email, fields) in zip(ids, subscribers)])
    return ids


def update_subscribers_fields(store, changes: Iterable[tuple[int, dict]], now: str) -> None:
    """Replace the field values of many subscribers: (subscriber id, fields) pairs."""
    store.conn.executemany("UPDATE subscribers SET fields=?, modified=? WHERE id=?",
                          [(json.dumps(fields, ensure_ascii=False), now, sid)
                           for sid, fields in changes])


def set_memberships(store, memberships: Iterable[tuple[int, int, int]], now: str) -> None:
    """Create or change many list memberships: (subscriber id, list id, status) triples."""
    store.conn.executemany(
        "INSERT INTO memberships (subscriber_id, list_id, status, changed) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (subscriber_id, list_id) DO UPDATE SET status=excluded.status, "
        "changed=excluded.changed", [(sid, lid, status, now) for sid, lid, status in memberships])


def update_subscriber_fields(store, subscriber_id: int, fields: dict, now: str) -> None:
    """Replace a subscriber's field values."""
    store.conn.execute("UPDATE subscribers SET fields=?, modified=? WHERE id=?",
                    [json.dumps(fields, ensure_ascii=False), now, subscriber_id])


def memberships(store, subscriber_id: int) -> dict[int, int]:
    """A subscriber's list memberships: {list_id: status}."""
    return {r[0]: r[1] for r in store.conn.execute(
        "SELECT list_id, status FROM memberships WHERE subscriber_id=? ORDER BY list_id",
        [subscriber_id])}


def subscribers_page(store, mandator_id: int, offset: int, limit: int,
                     search: str | None = None) -> tuple[int, list[dict]]:
    """(how many match, one page of them by id): the mandator's subscribers whose address
    contains ``search`` (all without one), fields decoded, with ``memberships``
    {list_id: status}."""
    where, args = "mandator_id=?", [mandator_id]
    if search:
        where += " AND instr(email_key, ?) > 0"
        args.append(search.lower())
    total = store.conn.execute(f"SELECT COUNT(*) FROM subscribers WHERE {where}",
                              args).fetchone()[0]
    rows = list(query_rows(store.conn, f"SELECT * FROM subscribers WHERE {where} ORDER BY id "
                       f"LIMIT ? OFFSET ?", [*args, limit, offset]))
    by_id = {row["id"]: row for row in rows}
    for row in rows:
        row["fields"], row["memberships"] = json.loads(row["fields"]), {}
    if by_id:
        marks = ",".join("?" * len(by_id))
        for sid, list_id, status in store.conn.execute(
                f"SELECT subscriber_id, list_id, status FROM memberships "
                f"WHERE subscriber_id IN ({marks}) ORDER BY list_id", list(by_id)):
            by_id[sid]["memberships"][list_id] = status
    return total, rows


def list_member_counts(store, mandator_id: int) -> dict[int, dict[int, int]]:
    """Per list of the mandator: {status: how many subscribers have it}."""
    counts: dict[int, dict[int, int]] = {}
    for list_id, status, count in store.conn.execute(
            "SELECT m.list_id, m.status, COUNT(*) FROM memberships m JOIN subscribers s "
            "ON s.id=m.subscriber_id WHERE s.mandator_id=? GROUP BY m.list_id, m.status",
            [mandator_id]):
        counts.setdefault(list_id, {})[status] = count
    return counts


def set_membership(store, subscriber_id: int, list_id: int, status: int, now: str) -> None:
    """Create or change one list membership."""
    store.conn.execute(
        "INSERT INTO memberships (subscriber_id, list_id, status, changed) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (subscriber_id, list_id) DO UPDATE SET status=excluded.status, "
        "changed=excluded.changed", [subscriber_id, list_id, status, now])


def bulk_insert_subscribers(store, mandator_id: int, emails: Iterable[str],
                            list_ids: list[int], now: str, batch: int = 50_000,
                            fields=None) -> int:
    """Insert many new subscribers, each subscribed to ``list_ids``; return the count.

    ``fields``, when given, maps an address to that subscriber's field values.
    """
    count = 0
    values = (lambda e: json.dumps(fields(e), ensure_ascii=False)) if fields else \
        (lambda e: "{}")
    with store.transaction() as conn:
        (last,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM subscribers").fetchone()
        for chunk in chunks_of(emails, batch):
            ids = range(last + 1, last + 1 + len(chunk))
            conn.executemany(
                "INSERT INTO subscribers (id, mandator_id, email, email_key, fields, created, "
                "modified) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(i, mandator_id, e, e.lower(), values(e), now, now)
                 for i, e in zip(ids, chunk)])
            conn.executemany(
                "INSERT INTO memberships (subscriber_id, list_id, status, changed) "
                "VALUES (?, ?, 0, ?)", [(i, list_id, now) for i in ids for list_id in list_ids])
            last += len(chunk)
            count += len(chunk)
    return count


def insert_confirmation(store, row: dict) -> None:
    """Store a pending confirmation (double opt-in or profile change)."""
    row = dict(row, list_ids=json.dumps(row.get("list_ids", [])),
               changes=json.dumps(row.get("changes", {}), ensure_ascii=False))
    store.db["confirmations"].insert(row)


def confirmation(store, token: str) -> dict | None:
    """A confirmation by token, lists and changes decoded, or None."""
    row = query_row(store.conn, "SELECT * FROM confirmations WHERE token=?", [token])
    if row:
        row["list_ids"] = json.loads(row["list_ids"])
        row["changes"] = json.loads(row["changes"])
    return row


def mark_confirmed(store, token: str, now: str) -> None:
    """Record that a confirmation link was opened."""
    store.conn.execute("UPDATE confirmations SET confirmed=? WHERE token=?", [now, token])


def subscriber_fields_by_key(store, mandator_id: int, email_keys: list[str]) -> dict[str, tuple]:
    """{lower-case address: (subscriber id, fields JSON)} of existing subscribers."""
    found = {}
    for chunk in chunks(list(dict.fromkeys(email_keys)), 500):
        marks = ",".join("?" * len(chunk))
        for sid, key, fields in store.conn.execute(
                f"SELECT id, email_key, fields FROM subscribers WHERE mandator_id=? AND "
                f"email_key IN ({marks})", [mandator_id, *chunk]):
            found[key] = (sid, fields)
    return found


def profile_filter(store, mandator_id: int, filter_id: int) -> dict | None:
    """A profile filter with its conditions decoded, or None."""
    row = query_row(store.conn, "SELECT * FROM profile_filters WHERE mandator_id=? AND id=?",
               [mandator_id, filter_id])
    if row:
        row["conditions"] = json.loads(row["conditions"])
    return row


def acquire_import_lock(store, mandator_id: int, now: str, stale_before: str) -> bool:
    """Take the mandator's import lock (committed at once); False when another holds it.

    A running import holds the write lock for its whole transaction, so the write
    lock is only tried briefly, and the lock row re-read, never waited on.
    """
    conn = store.conn
    while True:
        if import_running(store, mandator_id, stale_before):
            return False
        conn.execute("PRAGMA busy_timeout=100")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # another write is running: look again
            continue
        finally:
            conn.execute("PRAGMA busy_timeout=30000")
        try:
            conn.execute("DELETE FROM import_locks WHERE mandator_id=? AND started<?",
                         [mandator_id, stale_before])
            conn.execute("INSERT INTO import_locks (mandator_id, started) VALUES (?, ?)",
                         [mandator_id, now])
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK")
            return False
        conn.execute("COMMIT")
        return True


def release_import_lock(store, mandator_id: int) -> None:
    """Give the mandator's import lock back."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM import_locks WHERE mandator_id=?", [mandator_id])


def import_running(store, mandator_id: int, stale_before: str = "") -> bool:
    """True while an import of the mandator holds the lock (a read: never waits on writers)."""
    return store.conn.execute("SELECT 1 FROM import_locks WHERE mandator_id=? AND started>=?",
                           [mandator_id, stale_before]).fetchone() is not None


def mandator_ids(store) -> set[int]:
    """The ids of every configured mandator."""
    return {r[0] for r in store.conn.execute("SELECT id FROM mandators")}


def delete_mandator(store, mandator_id: int) -> None:
    """Delete a mandator and every row that belongs to it (call inside a transaction)."""
    conn = store.conn
    conn.execute("DELETE FROM memberships WHERE subscriber_id IN "
                 "(SELECT id FROM subscribers WHERE mandator_id=?)", [mandator_id])
    conn.execute("DELETE FROM newsletter_recipients WHERE newsletter_id IN "
                 "(SELECT id FROM newsletters WHERE mandator_id=?)", [mandator_id])
    for table in ("attachments", "mail_events"):
        conn.execute(f"DELETE FROM {table} WHERE mail_id IN "
                     f"(SELECT id FROM outbox WHERE mandator_id=?)", [mandator_id])
    for table in ("confirmations", "outbox", "newsletters", "channels", "subscribers",
                  "vouchers", "voucher_lists", "profile_filters", "templates", "lists",
                  "fields", "sender_domains", "allowed_ips", "api_keys", "import_locks"):
        conn.execute(f"DELETE FROM {table} WHERE mandator_id=?", [mandator_id])
    conn.execute("DELETE FROM mandators WHERE id=?", [mandator_id])


def mandator_rows(store, table: str, mandator_id: int) -> list[dict]:
    """A mandator's configuration rows of one table (fields, lists, templates, ...)."""
    assert table in ("fields", "lists", "templates", "sender_domains", "profile_filters"), table
    return list(query_rows(store.conn, f"SELECT * FROM {table} WHERE mandator_id=? ORDER BY "
                       f"{BACKCLICK_TABLES[table]}", [mandator_id]))


def has_mandator(store) -> bool:
    """True when some mandator has been configured."""
    return store.conn.execute("SELECT 1 FROM mandators LIMIT 1").fetchone() is not None


def subscriber_count(store) -> int:
    """How many subscribers the store holds (of every mandator)."""
    return store.conn.execute("SELECT count(*) FROM subscribers").fetchone()[0]


def max_mandator_id(store) -> int:
    """The highest mandator id in use (0 when there is none)."""
    return store.conn.execute("SELECT COALESCE(MAX(id), 0) FROM mandators").fetchone()[0]


def max_backclick_ids(store) -> dict[str, int]:
    """The highest id in use in each BACKCLICK table with generated ids (0 when empty)."""
    return store.highest_ids(("subscribers", "newsletters", "channels"))
