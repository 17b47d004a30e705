"""Copernica's queries of callbacks, their deliveries and attempts; each takes the store first."""
from __future__ import annotations

import json

from mockserver.store.rows import chunks, query_row, query_rows


def insert_callback(store, row: dict) -> int:
    """Create a callback; return its id."""
    return store.insert_row("callbacks", row)


def callback(store, callback_id: int) -> dict | None:
    """A callback row, or None."""
    return query_row(store.conn, "SELECT * FROM callbacks WHERE id=?", [callback_id])


def callback_by_url(store, account_id: int, database_id: int | None, url: str) -> dict | None:
    """The account's first callback of a database (any database when None) with this URL."""
    sql, args = "SELECT * FROM callbacks WHERE account_id=? AND url=?", [account_id, url]
    if database_id is not None:
        sql += " AND database_id=?"
        args.append(database_id)
    return query_row(store.conn, sql + " ORDER BY id LIMIT 1", args)


def callbacks_of(store, database_id: int | None = None,
                 collection_id: int | None = None) -> list[dict]:
    """Callbacks of a collection, or of a database's profiles (no collection), by id."""
    if collection_id is not None:
        return list(query_rows(store.conn, "SELECT * FROM callbacks WHERE collection_id=? "
                           "ORDER BY id", [collection_id]))
    if database_id is not None:
        return list(query_rows(store.conn, "SELECT * FROM callbacks WHERE database_id=? AND "
                           "collection_id IS NULL ORDER BY id", [database_id]))
    return list(query_rows(store.conn, "SELECT * FROM callbacks ORDER BY id"))


def update_callback(store, callback_id: int, changes: dict) -> None:
    """Set columns of one callback."""
    names = [n for n in changes if n in ("url", "method", "expression", "actionfilter",
                                         "sources", "base_url", "database_id",
                                         "collection_id")]
    if names:
        store.conn.execute("UPDATE callbacks SET " + ", ".join(f"{n}=?" for n in names) +
                          " WHERE id=?", [*(changes[n] for n in names), callback_id])


def delete_callback(store, account_id: int, callback_id: int) -> bool:
    """Remove one of the account's callbacks (and its deliveries); False when unknown."""
    with store.transaction() as conn:
        return conn.execute("DELETE FROM callbacks WHERE id=? AND account_id=?",
                            [callback_id, account_id]).rowcount == 1


def insert_callback_delivery(store, row: dict) -> int:
    """Queue one delivery of a callback; return its id."""
    return store.insert_row("callback_deliveries", row)


def callback_work_due(store, now: str, real_now: str) -> bool:
    """True when a delivery is due by ``now`` or a claim expired before ``real_now`` (a read)."""
    return store.conn.execute(
        "SELECT 1 FROM callback_deliveries WHERE (state='pending' AND next_attempt<=?) OR "
        "(state='sending' AND claimed_until<?) LIMIT 1", [now, real_now]).fetchone() is not None


def claim_callback_deliveries(store, now: str, real_now: str, claim_until: str,
                              limit: int) -> list[int]:
    """Mark up to ``limit`` due deliveries as sending; their ids, oldest first.

    One UPDATE, so of several workers exactly one claims each delivery. Only the first
    unfinished delivery of each (callback, record) is taken: a record's later change never
    overtakes an earlier one. A claim older than its ``claimed_until`` (real time; the
    sender died) is taken again.
    """
    with store.transaction() as conn:
        ids = [r[0] for r in conn.execute(
            "UPDATE callback_deliveries SET state='sending', claimed_until=? WHERE id IN ("
            " SELECT d.id FROM callback_deliveries d WHERE"
            " ((d.state='pending' AND d.next_attempt<=?) OR"
            "  (d.state='sending' AND d.claimed_until<?)) AND NOT EXISTS ("
            "  SELECT 1 FROM callback_deliveries e WHERE e.callback_id=d.callback_id AND"
            "  e.record=d.record AND e.id<d.id AND e.state IN ('pending', 'sending'))"
            " ORDER BY d.id LIMIT ?) RETURNING id",
            [claim_until, now, real_now, limit]).fetchall()]
    return sorted(ids)


def callback_delivery(store, delivery_id: int) -> dict | None:
    """One delivery row, or None."""
    return query_row(store.conn, "SELECT * FROM callback_deliveries WHERE id=?", [delivery_id])


def finish_callback_attempt(store, delivery_id: int, attempt: dict, state: str,
                            next_attempt: str, finished: str | None) -> None:
    """Record an attempt and the delivery's new state (pending again, delivered, failed)."""
    with store.transaction() as conn:
        conn.execute("INSERT INTO callback_attempts (delivery_id, at, status, error, "
                     "duration_ms, request_headers) VALUES (?, ?, ?, ?, ?, ?)",
                     [delivery_id, attempt["at"], attempt["status"], attempt["error"],
                      attempt["duration_ms"], json.dumps(attempt["request_headers"])])
        conn.execute("UPDATE callback_deliveries SET state=?, attempts=attempts+1, "
                     "next_attempt=?, claimed_until='', finished=? WHERE id=?",
                     [state, next_attempt, finished, delivery_id])


def callback_deliveries_open(store, now: str) -> int:
    """How many deliveries are due by ``now`` and not finished (pending or being sent)."""
    return store.conn.execute(
        "SELECT COUNT(*) FROM callback_deliveries WHERE state='sending' OR "
        "(state='pending' AND next_attempt<=?)", [now]).fetchone()[0]


def callback_deliveries(store, callback_id: int | None = None, state: str | None = None,
                        account_id: int | None = None, limit: int = 1000) -> list[dict]:
    """Deliveries matching the filters, oldest first, each with its ``attempts`` list."""
    where, args = [], []
    for column, value in (("callback_id", callback_id), ("state", state),
                          ("account_id", account_id)):
        if value is not None:
            where.append(f"{column}=?")
            args.append(value)
    sql = "SELECT * FROM callback_deliveries"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = list(query_rows(store.conn, sql + " ORDER BY id LIMIT ?", [*args, int(limit)]))
    attempts: dict[int, list] = {row["id"]: [] for row in rows}
    for chunk in chunks(list(attempts), 500):
        for attempt in query_rows(store.conn, "SELECT * FROM callback_attempts WHERE delivery_id "
                              f"IN ({', '.join('?' * len(chunk))}) ORDER BY id", chunk):
            attempts[attempt["delivery_id"]].append(attempt)
    for row in rows:
        row["attempts"] = attempts[row["id"]]
    return rows
