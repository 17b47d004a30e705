"""The machinery's own tables: meta, the outbox (attachments, tracked events, relay state) and
the fault rules, as the store's ``SchemaPart``."""
from __future__ import annotations

from mockserver.store.migrations import SchemaPart

# Each step, by global number, brings the store from version N-1 to N. Append, never edit.
MACHINERY_STEPS: dict[int, str] = {
    # 1: meta, the outbox.
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT, mandator_id INTEGER NOT NULL,
        kind TEXT NOT NULL, to_addr TEXT NOT NULL, from_addr TEXT NOT NULL DEFAULT '',
        from_name TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT '',
        html TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL, newsletter_id INTEGER, list_id INTEGER,
        links TEXT NOT NULL DEFAULT '{}');
    CREATE INDEX outbox_by_recipient ON outbox (to_addr);
    """,
    # 2: the outbox's tracking and relay columns, attachments, tracked events.
    2: """
    ALTER TABLE outbox ADD COLUMN token TEXT;
    ALTER TABLE outbox ADD COLUMN subscriber_id INTEGER;
    ALTER TABLE outbox ADD COLUMN personalisation TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE outbox ADD COLUMN base_url TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN reply_to TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN channel_id INTEGER;
    ALTER TABLE outbox ADD COLUMN campaign_id INTEGER;
    ALTER TABLE outbox ADD COLUMN relay_state TEXT;
    ALTER TABLE outbox ADD COLUMN relay_error TEXT;
    CREATE UNIQUE INDEX outbox_by_token ON outbox (token);
    DROP INDEX outbox_by_recipient;
    CREATE INDEX outbox_by_recipient ON outbox (to_addr COLLATE NOCASE);
    CREATE INDEX outbox_by_newsletter ON outbox (newsletter_id);
    CREATE INDEX outbox_relay_pending ON outbox (id) WHERE relay_state = 'pending';
    CREATE TABLE attachments (
        mail_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
        position INTEGER NOT NULL, name TEXT NOT NULL, content_type TEXT NOT NULL,
        data BLOB NOT NULL, PRIMARY KEY (mail_id, position)) WITHOUT ROWID;
    CREATE TABLE mail_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        mail_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
        type TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', at TEXT NOT NULL);
    CREATE INDEX mail_events_by_mail ON mail_events (mail_id);
    """,
    # 4: fault-injection rules (the request journal has a file of its own: JournalStore).
    4: """
    CREATE TABLE fault_rules (
        id INTEGER PRIMARY KEY AUTOINCREMENT, rule TEXT NOT NULL, remaining INTEGER,
        calls INTEGER NOT NULL DEFAULT 0);
    """,
}

MACHINERY = SchemaPart("machinery", MACHINERY_STEPS, tables={
    "outbox": "id", "attachments": "mail_id, position", "mail_events": "id"})
