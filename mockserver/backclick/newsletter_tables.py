"""BACKCLICK's queries of newsletters, their recipients and counts, transaction channels and
voucher lists; each takes the store first."""
from __future__ import annotations

from typing import Iterator

from mockserver.store.rows import chunks, query_row, query_rows


def last_newsletter(store, mandator_id: int, list_id: int, now: str) -> dict | None:
    """The list's most recent newsletter already sent, or None."""
    return query_row(store.conn, "SELECT * FROM newsletters WHERE mandator_id=? AND list_id=? "
                "AND send_time<=? AND state='sent' ORDER BY send_time DESC, id DESC LIMIT 1",
                [mandator_id, list_id, now])


def newsletter(store, mandator_id: int, newsletter_id: int) -> dict | None:
    """A newsletter of the mandator, or None."""
    return query_row(store.conn, "SELECT * FROM newsletters WHERE mandator_id=? AND id=?",
                [mandator_id, newsletter_id])


def newsletter_by_id(store, newsletter_id: int) -> dict | None:
    """A newsletter by id, or None."""
    return query_row(store.conn, "SELECT * FROM newsletters WHERE id=?", [newsletter_id])


def newsletters_of_list(store, mandator_id: int, list_id: int, start: str,
                        end: str) -> list[dict]:
    """The list's newsletters sent (or due) between two moments, oldest first."""
    return list(query_rows(store.conn, "SELECT * FROM newsletters WHERE mandator_id=? AND "
                       "list_id=? AND send_time>=? AND send_time<=? ORDER BY send_time, id",
                       [mandator_id, list_id, start, end]))


def claim_due_newsletters(store, now: str) -> list[int]:
    """Mark scheduled newsletters whose time has come as sending; return their ids.

    One UPDATE, so of several workers exactly one claims each newsletter.
    """
    with store.transaction() as conn:
        return [r[0] for r in conn.execute(
            "UPDATE newsletters SET state='sending', started=? WHERE state='scheduled' "
            "AND send_time<=? RETURNING id", [now, now]).fetchall()]


def unfinished_due_newsletters(store, now: str) -> list[int]:
    """Ids of newsletters due by ``now`` that are not sent yet (scheduled or sending)."""
    return [r[0] for r in store.conn.execute(
        "SELECT id FROM newsletters WHERE state IN ('scheduled', 'sending') AND send_time<=? "
        "ORDER BY id", [now])]


def next_due_time(store) -> str | None:
    """The earliest send time of a scheduled newsletter, or None."""
    row = store.conn.execute("SELECT MIN(send_time) FROM newsletters WHERE "
                            "state='scheduled'").fetchone()
    return row[0]


def newsletter_recipients(store, newsletter_id: int) -> list[tuple[str, str]]:
    """The explicit recipients of a newsletter: (address, fields JSON), in request order."""
    return store.conn.execute("SELECT email, fields FROM newsletter_recipients WHERE "
                             "newsletter_id=? ORDER BY position", [newsletter_id]).fetchall()


def list_audience(store, mandator_id: int, list_id: int | None,
                  page: int = 5000) -> Iterator[tuple]:
    """(subscriber id, address, fields JSON) of the list's active subscribers, or of all
    subscribers active on some list when ``list_id`` is None; by subscriber id.

    Read ``page`` rows at a time, each page a finished query: no read stays open while
    the caller writes, so the WAL can be checkpointed and reset as sending goes on.
    """
    # "+s.mandator_id": walk subscribers by id (a range of the primary key, in order)
    # rather than by the mandator's index, which would sort every subscriber per page.
    if list_id is None:
        sql = ("SELECT s.id, s.email, s.fields FROM subscribers s WHERE +s.mandator_id=? "
               "AND s.id>? AND EXISTS (SELECT 1 FROM memberships m WHERE "
               "m.subscriber_id=s.id AND m.status=0) ORDER BY s.id LIMIT ?")
        args = [mandator_id]
    else:
        sql = ("SELECT s.id, s.email, s.fields FROM subscribers s JOIN memberships m "
               "ON m.subscriber_id=s.id WHERE +s.mandator_id=? AND m.list_id=? AND "
               "m.status=0 AND s.id>? ORDER BY s.id LIMIT ?")
        args = [mandator_id, list_id]
    after = 0
    while True:
        rows = store.conn.execute(sql, [*args, after, page]).fetchall()
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1][0]


def finish_newsletter(store, newsletter_id: int, counts: dict, now: str) -> None:
    """Record a newsletter as sent, with its recipient counts."""
    sets = ", ".join(f"{k}=?" for k in counts)
    store.conn.execute(f"UPDATE newsletters SET state='sent', finished=?, {sets} WHERE id=?",
                      [now, *counts.values(), newsletter_id])


def newsletter_counts(store, newsletter_ids: list[int]) -> dict[int, dict]:
    """Per newsletter: mails in the outbox and tracked events (all and unique per mail)."""
    counts = {i: {"mails": 0} for i in newsletter_ids}
    for chunk in chunks(newsletter_ids, 500):
        marks = ",".join("?" * len(chunk))
        for nid, mails in store.conn.execute(
                f"SELECT newsletter_id, COUNT(*) FROM outbox WHERE newsletter_id IN ({marks}) "
                f"GROUP BY newsletter_id", chunk):
            counts[nid]["mails"] = mails
        for nid, kind, detail, total, unique in store.conn.execute(
                f"SELECT o.newsletter_id, e.type, e.detail, COUNT(*), COUNT(DISTINCT e.mail_id) "
                f"FROM mail_events e JOIN outbox o ON o.id=e.mail_id "
                f"WHERE o.newsletter_id IN ({marks}) GROUP BY o.newsletter_id, e.type, "
                f"CASE WHEN e.type='bounce' THEN e.detail ELSE '' END", chunk):
            key = f"{kind}:{detail}" if kind == "bounce" else kind
            counts[nid][key] = (total, unique)
        for nid, bounced in store.conn.execute(
                f"SELECT o.newsletter_id, COUNT(DISTINCT e.mail_id) FROM mail_events e "
                f"JOIN outbox o ON o.id=e.mail_id WHERE o.newsletter_id IN ({marks}) "
                f"AND e.type='bounce' GROUP BY o.newsletter_id", chunk):
            counts[nid]["bounced"] = bounced
    return counts


def channel(store, mandator_id: int, channel_id: int) -> dict | None:
    """A transaction channel of the mandator, or None."""
    return query_row(store.conn, "SELECT * FROM channels WHERE mandator_id=? AND id=?",
                [mandator_id, channel_id])


def rename_channel(store, channel_id: int, name: str) -> None:
    """Give a transaction channel a name."""
    store.conn.execute("UPDATE channels SET name=? WHERE id=?", [name, channel_id])


def voucher_list(store, mandator_id: int, voucher_list_id: int) -> dict | None:
    """A voucher list, or None."""
    return query_row(store.conn, "SELECT * FROM voucher_lists WHERE mandator_id=? AND id=?",
                [mandator_id, voucher_list_id])


def take_voucher(store, mandator_id: int, voucher_list_id: int, used_by: str,
                 now: str) -> str | None:
    """Hand out the list's next unused code (None when none is left)."""
    row = store.conn.execute(
        "UPDATE vouchers SET used_at=?, used_by=? WHERE rowid = (SELECT rowid FROM vouchers "
        "WHERE mandator_id=? AND voucher_list_id=? AND used_at IS NULL ORDER BY position "
        "LIMIT 1) RETURNING code", [now, used_by, mandator_id, voucher_list_id]).fetchone()
    return row[0] if row else None
