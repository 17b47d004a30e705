"""BACKCLICK's tables in the store: mandators and their configuration, subscribers and list
memberships, confirmations, newsletters and channels, vouchers, the import lock."""
from __future__ import annotations

from mockserver.store import SchemaPart

# Each step, by global number, brings the store from version N-1 to N. Append, never edit.
BACKCLICK_STEPS: dict[int, str] = {
    # 1: configuration, subscribers, confirmations, newsletters, the import lock.
    1: """
    CREATE TABLE mandators (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
    CREATE TABLE api_keys (
        mandator_id INTEGER NOT NULL REFERENCES mandators(id), key TEXT NOT NULL,
        PRIMARY KEY (mandator_id, key));
    CREATE TABLE allowed_ips (
        mandator_id INTEGER NOT NULL REFERENCES mandators(id), cidr TEXT NOT NULL,
        PRIMARY KEY (mandator_id, cidr));
    CREATE TABLE sender_domains (
        mandator_id INTEGER NOT NULL REFERENCES mandators(id), domain TEXT NOT NULL,
        PRIMARY KEY (mandator_id, domain));
    CREATE TABLE fields (
        mandator_id INTEGER NOT NULL REFERENCES mandators(id), name TEXT NOT NULL,
        name_key TEXT NOT NULL, position INTEGER NOT NULL,
        PRIMARY KEY (mandator_id, name_key));
    CREATE TABLE lists (
        mandator_id INTEGER NOT NULL REFERENCES mandators(id), id INTEGER NOT NULL,
        name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
        welcome_template_id INTEGER, PRIMARY KEY (mandator_id, id));
    CREATE TABLE templates (
        mandator_id INTEGER NOT NULL REFERENCES mandators(id), id INTEGER NOT NULL,
        name TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT '',
        html TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (mandator_id, id));
    CREATE TABLE profile_filters (
        mandator_id INTEGER NOT NULL REFERENCES mandators(id), id INTEGER NOT NULL,
        name TEXT NOT NULL DEFAULT '', conditions TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (mandator_id, id));
    CREATE TABLE voucher_lists (
        mandator_id INTEGER NOT NULL REFERENCES mandators(id), id INTEGER NOT NULL,
        name TEXT NOT NULL DEFAULT '', PRIMARY KEY (mandator_id, id));
    CREATE TABLE vouchers (
        mandator_id INTEGER NOT NULL, voucher_list_id INTEGER NOT NULL,
        position INTEGER NOT NULL, code TEXT NOT NULL, used_at TEXT, used_by TEXT,
        PRIMARY KEY (mandator_id, voucher_list_id, position));
    CREATE TABLE block_list (pattern TEXT PRIMARY KEY);
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        mandator_id INTEGER NOT NULL REFERENCES mandators(id),
        email TEXT NOT NULL, email_key TEXT NOT NULL,
        fields TEXT NOT NULL DEFAULT '{}',
        created TEXT NOT NULL, modified TEXT NOT NULL);
    CREATE UNIQUE INDEX subscribers_by_email ON subscribers (mandator_id, email_key);
    CREATE TABLE memberships (
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
        list_id INTEGER NOT NULL, status INTEGER NOT NULL, changed TEXT NOT NULL,
        PRIMARY KEY (subscriber_id, list_id)) WITHOUT ROWID;
    CREATE TABLE confirmations (
        token TEXT PRIMARY KEY, kind TEXT NOT NULL, mandator_id INTEGER NOT NULL,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
        list_ids TEXT NOT NULL DEFAULT '[]', changes TEXT NOT NULL DEFAULT '{}',
        send_welcome INTEGER NOT NULL DEFAULT 0,
        send_last_newsletter INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL, confirmed TEXT);
    CREATE TABLE newsletters (
        id INTEGER PRIMARY KEY AUTOINCREMENT, mandator_id INTEGER NOT NULL,
        list_id INTEGER, subject TEXT NOT NULL DEFAULT '', html TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '', sender_name TEXT NOT NULL DEFAULT '',
        sender_email TEXT NOT NULL DEFAULT '', send_time TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'sent');
    CREATE INDEX newsletters_by_list ON newsletters (mandator_id, list_id, send_time);
    CREATE TABLE import_locks (mandator_id INTEGER PRIMARY KEY, started TEXT NOT NULL);
    """,
    # 2: sending newsletters, newsletter recipients, transaction channels.
    2: """
    ALTER TABLE newsletters ADD COLUMN kind TEXT NOT NULL DEFAULT 'list';
    ALTER TABLE newsletters ADD COLUMN filter_ids TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE newsletters ADD COLUMN adhock TEXT NOT NULL DEFAULT '';
    ALTER TABLE newsletters ADD COLUMN template_id INTEGER;
    ALTER TABLE newsletters ADD COLUMN base_url TEXT NOT NULL DEFAULT '';
    ALTER TABLE newsletters ADD COLUMN created TEXT;
    ALTER TABLE newsletters ADD COLUMN started TEXT;
    ALTER TABLE newsletters ADD COLUMN finished TEXT;
    ALTER TABLE newsletters ADD COLUMN num_unadjusted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE newsletters ADD COLUMN excluded_blocked INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE newsletters ADD COLUMN excluded_invalid INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE newsletters ADD COLUMN excluded_duplicate INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE newsletters ADD COLUMN num_adjusted INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX newsletters_due ON newsletters (state, send_time);
    CREATE TABLE newsletter_recipients (
        newsletter_id INTEGER NOT NULL REFERENCES newsletters(id) ON DELETE CASCADE,
        position INTEGER NOT NULL, email TEXT NOT NULL, fields TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (newsletter_id, position)) WITHOUT ROWID;
    CREATE TABLE channels (
        id INTEGER PRIMARY KEY AUTOINCREMENT, mandator_id INTEGER NOT NULL,
        name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', created TEXT NOT NULL);
    """,
}

# Tables in dependency order, as exported and restored, each with its primary-key order.
BACKCLICK_TABLES = {
    "mandators": "id", "api_keys": "mandator_id, key", "allowed_ips": "mandator_id, cidr",
    "sender_domains": "mandator_id, domain", "fields": "mandator_id, position",
    "lists": "mandator_id, id", "templates": "mandator_id, id",
    "profile_filters": "mandator_id, id", "voucher_lists": "mandator_id, id",
    "vouchers": "mandator_id, voucher_list_id, position", "block_list": "pattern",
    "subscribers": "id", "memberships": "subscriber_id, list_id", "confirmations": "token",
    "newsletters": "id", "newsletter_recipients": "newsletter_id, position", "channels": "id",
}


def part() -> SchemaPart:
    """BACKCLICK's share of the schema."""
    return SchemaPart("backclick", BACKCLICK_STEPS, BACKCLICK_TABLES,
                      transient=("import_locks",))
