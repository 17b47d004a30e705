"""The outbox and its attachments, tracked events and SMTP relay state."""
from __future__ import annotations

import json

from mockserver.store.rows import insert_sql, query_row, query_rows

# The columns of a compact newsletter mail (see ``OutboxTable.insert_newsletter_mails``).
NEWSLETTER_MAIL_COLUMNS = (
    "mandator_id", "kind", "to_addr", "from_addr", "from_name", "subject", "created",
    "newsletter_id", "list_id", "token", "subscriber_id", "personalisation", "base_url",
    "relay_state")


class OutboxTable:
    """The Store's queries of ``outbox``, ``attachments`` and ``mail_events`` (a part of ``Store``)."""

    def insert_mail(self, row: dict) -> int:
        """Put a mail in the outbox; return its id."""
        row = dict(row, links=json.dumps(row.get("links", {})))
        return self.db["outbox"].insert(row).last_pk

    def mails(self, to: str | None = None, mandator_id: int | None = None,
              kind: str | None = None, since: str | None = None,
              limit: int | None = None, subject: str | None = None,
              after_id: int = 0, newsletter_id: int | None = None,
              before_id: int | None = None, newest_first: bool = False) -> list[dict]:
        """Outbox mails matching the filters, oldest first (``newest_first``: the newest
        ``limit`` of them, newest first)."""
        where, args = ["id > ?"], [after_id]
        if before_id is not None:
            where.append("id < ?")
            args.append(before_id)
        if subject:
            where.append("subject LIKE ?")
            args.append(f"%{subject}%")
        if newsletter_id is not None:
            where.append("newsletter_id = ?")
            args.append(newsletter_id)
        if to:
            where.append("to_addr = ? COLLATE NOCASE")
            args.append(to)
        if mandator_id is not None:
            where.append("mandator_id = ?")
            args.append(mandator_id)
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if since:
            where.append("created >= ?")
            args.append(since)
        sql = "SELECT * FROM outbox"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC" if newest_first else " ORDER BY id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = [dict(r) for r in query_rows(self.conn, sql, args)]
        for row in rows:
            row["links"] = json.loads(row["links"])
        return rows

    def mail(self, mail_id: int) -> dict | None:
        """One outbox mail, or None."""
        rows = query_row(self.conn, "SELECT * FROM outbox WHERE id=?", [mail_id])
        if rows:
            rows["links"] = json.loads(rows["links"])
        return rows

    def insert_newsletter_mails(self, rows: list[tuple]) -> None:
        """Put compact newsletter mails in the outbox: tuples in ``NEWSLETTER_MAIL_COLUMNS`` order."""
        self.conn.executemany(insert_sql("outbox", NEWSLETTER_MAIL_COLUMNS), rows)

    def mail_by_token(self, token: str) -> dict | None:
        """An outbox mail by its tracking token, or None."""
        row = query_row(self.conn, "SELECT * FROM outbox WHERE token=?", [token])
        if row:
            row["links"] = json.loads(row["links"])
        return row

    def attachments(self, mail_id: int) -> list[dict]:
        """A mail's attachments: name, content type and bytes, in order."""
        return list(query_rows(self.conn, "SELECT name, content_type, data FROM attachments "
                           "WHERE mail_id=? ORDER BY position", [mail_id]))

    def events(self, mail_id: int) -> list[dict]:
        """A mail's tracked events, oldest first."""
        return list(query_rows(self.conn, "SELECT type, detail, at FROM mail_events WHERE mail_id=? "
                           "ORDER BY id", [mail_id]))

    def relay_pending(self, limit: int) -> list[int]:
        """Ids of mails waiting for the SMTP relay, oldest first."""
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM outbox WHERE relay_state='pending' ORDER BY id LIMIT ?", [limit])]

    def claim_relay(self, mail_id: int) -> bool:
        """Take a pending mail for relaying (False when another worker took it)."""
        with self.transaction() as conn:
            return conn.execute("UPDATE outbox SET relay_state='relaying' WHERE id=? AND "
                                "relay_state='pending'", [mail_id]).rowcount == 1

    def set_relay_state(self, mail_id: int, state: str, error: str | None = None) -> None:
        """Record how relaying a mail went."""
        with self.transaction() as conn:
            conn.execute("UPDATE outbox SET relay_state=?, relay_error=? WHERE id=?",
                         [state, error, mail_id])
