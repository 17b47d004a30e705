"""Copernica's tables in the store: accounts, users, tokens, sessions, databases with their
fields, interests and collections, profiles, subprofiles, contacts, callbacks and deliveries."""
from __future__ import annotations

from mockserver.store import SchemaPart

# Each step, by global number, brings the store from version N-1 to N. Append, never edit.
COPERNICA_STEPS: dict[int, str] = {
    # 3: users, accounts, tokens, sessions, databases, fields, interests,
    #    collections, profiles, subprofiles, callbacks and their deliveries.
    3: """
    CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
    CREATE TABLE users (username TEXT PRIMARY KEY COLLATE NOCASE, password TEXT NOT NULL);
    CREATE TABLE user_accounts (
        username TEXT NOT NULL COLLATE NOCASE REFERENCES users(username) ON DELETE CASCADE,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        position INTEGER NOT NULL, PRIMARY KEY (username, account_id));
    CREATE TABLE access_tokens (
        token TEXT PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id)
        ON DELETE CASCADE, read_only INTEGER NOT NULL DEFAULT 0,
        allowed_ips TEXT NOT NULL DEFAULT '[]');
    CREATE TABLE sessions (
        cookie TEXT PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id)
        ON DELETE CASCADE, username TEXT NOT NULL, created TEXT NOT NULL);
    CREATE TABLE databases (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
        archived INTEGER NOT NULL DEFAULT 0,
        unsubscribebehavior TEXT NOT NULL DEFAULT 'nothing',
        unsubscribe_values TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL);
    CREATE UNIQUE INDEX databases_by_name ON databases (account_id, name COLLATE NOCASE);
    CREATE TABLE collections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        database_id INTEGER NOT NULL REFERENCES databases(id) ON DELETE CASCADE,
        name TEXT NOT NULL, unsubscribebehavior TEXT NOT NULL DEFAULT 'nothing',
        created TEXT NOT NULL);
    CREATE TABLE database_fields (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        database_id INTEGER NOT NULL REFERENCES databases(id) ON DELETE CASCADE,
        collection_id INTEGER REFERENCES collections(id) ON DELETE CASCADE,
        name TEXT NOT NULL, type TEXT NOT NULL DEFAULT 'text', value TEXT NOT NULL DEFAULT '',
        displayed INTEGER NOT NULL DEFAULT 0, ordered INTEGER NOT NULL DEFAULT 0,
        length INTEGER NOT NULL DEFAULT 50, textlines INTEGER NOT NULL DEFAULT 1,
        hidden INTEGER NOT NULL DEFAULT 0, indexed INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX database_fields_by_owner ON database_fields (database_id, collection_id, id);
    CREATE TABLE interests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        database_id INTEGER NOT NULL REFERENCES databases(id) ON DELETE CASCADE,
        name TEXT NOT NULL, groupname TEXT NOT NULL DEFAULT '');
    CREATE TABLE profiles (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        database_id INTEGER NOT NULL REFERENCES databases(id) ON DELETE CASCADE,
        code TEXT NOT NULL, fields TEXT NOT NULL DEFAULT '{}',
        interests TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL, modified TEXT NOT NULL);
    CREATE INDEX profiles_by_database ON profiles (database_id, id);
    CREATE TABLE subprofiles (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
        code TEXT NOT NULL, fields TEXT NOT NULL DEFAULT '{}',
        created TEXT NOT NULL, modified TEXT NOT NULL);
    CREATE INDEX subprofiles_by_collection ON subprofiles (collection_id, id);
    CREATE INDEX subprofiles_by_profile ON subprofiles (profile_id, id);
    CREATE TABLE callbacks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        database_id INTEGER REFERENCES databases(id) ON DELETE CASCADE,
        collection_id INTEGER REFERENCES collections(id) ON DELETE CASCADE,
        url TEXT NOT NULL, method TEXT NOT NULL DEFAULT 'json',
        expression TEXT NOT NULL DEFAULT '', actionfilter TEXT NOT NULL DEFAULT 'all',
        sources TEXT NOT NULL DEFAULT '["soap", "import", "publisher", "open", "click", "bounce"]',
        base_url TEXT NOT NULL DEFAULT '', created TEXT NOT NULL);
    CREATE INDEX callbacks_by_database ON callbacks (database_id);
    CREATE INDEX callbacks_by_collection ON callbacks (collection_id);
    CREATE TABLE callback_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        callback_id INTEGER NOT NULL REFERENCES callbacks(id) ON DELETE CASCADE,
        account_id INTEGER NOT NULL, record TEXT NOT NULL, action TEXT NOT NULL,
        url TEXT NOT NULL DEFAULT '', content_type TEXT NOT NULL, body BLOB NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT NOT NULL, claimed_until TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL, finished TEXT);
    CREATE INDEX callback_deliveries_due ON callback_deliveries (state, next_attempt);
    CREATE INDEX callback_deliveries_by_record ON callback_deliveries (callback_id, record, id);
    CREATE TABLE callback_attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id INTEGER NOT NULL REFERENCES callback_deliveries(id) ON DELETE CASCADE,
        at TEXT NOT NULL, status INTEGER, error TEXT NOT NULL DEFAULT '',
        duration_ms INTEGER NOT NULL DEFAULT 0, request_headers TEXT NOT NULL DEFAULT '{}');
    """,
    # 5: field properties Field_update / CollectionField_update set.
    5: """
    ALTER TABLE database_fields ADD COLUMN pixelwidth INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE database_fields ADD COLUMN weight INTEGER NOT NULL DEFAULT 0;
    """,
    # 6: profile `extra` (Profile_update), interest `weight` (Interest_update) and
    #    the field values a subprofile's unsubscribe sets (SubProfile_unsubscribe).
    6: """
    ALTER TABLE profiles ADD COLUMN extra TEXT NOT NULL DEFAULT '';
    ALTER TABLE interests ADD COLUMN weight INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE collections ADD COLUMN unsubscribe_values TEXT NOT NULL DEFAULT '{}';
    """,
    # 7: account and user properties (the members of Account and User that are
    #    set, as JSON), contact types of a database and contacts of a profile.
    7: """
    ALTER TABLE accounts ADD COLUMN properties TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE users ADD COLUMN properties TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE contact_types (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        database_id INTEGER NOT NULL REFERENCES databases(id) ON DELETE CASCADE,
        name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
        icon TEXT NOT NULL DEFAULT '');
    CREATE INDEX contact_types_by_database ON contact_types (database_id, id);
    CREATE TABLE contacts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
        contact_type_id INTEGER REFERENCES contact_types(id) ON DELETE SET NULL,
        username TEXT COLLATE NOCASE REFERENCES users(username)
            ON UPDATE CASCADE ON DELETE SET NULL,
        plannedtime TEXT NOT NULL DEFAULT '', executedtime TEXT NOT NULL DEFAULT '',
        remarks_type TEXT NOT NULL DEFAULT '', remarks_source TEXT NOT NULL DEFAULT '',
        report_type TEXT NOT NULL DEFAULT '', report_source TEXT NOT NULL DEFAULT '',
        important INTEGER NOT NULL DEFAULT 0, extra TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL);
    CREATE INDEX contacts_by_profile ON contacts (profile_id, id);
    CREATE INDEX contacts_by_type ON contacts (contact_type_id);
    CREATE INDEX contacts_by_user ON contacts (username);
    """,
    # 8: collection weight (Collection_update).
    8: """
    ALTER TABLE collections ADD COLUMN weight INTEGER NOT NULL DEFAULT 0;
    """,
}

# Tables in dependency order, as exported and restored, each with its primary-key order.
COPERNICA_TABLES = {
    "accounts": "id", "users": "username", "user_accounts": "username, position",
    "access_tokens": "token", "sessions": "cookie", "databases": "id", "collections": "id",
    "database_fields": "id", "interests": "id", "profiles": "id", "subprofiles": "id",
    "callbacks": "id", "callback_deliveries": "id", "callback_attempts": "id",
    "contact_types": "id", "contacts": "id",
}

# Copernica tables whose rows ``store.update_row``/``store.delete_rows`` change by id.
ID_TABLES = ("databases", "collections", "database_fields", "interests", "profiles",
             "subprofiles", "contact_types", "contacts")


def part() -> SchemaPart:
    """Copernica's share of the schema."""
    return SchemaPart("copernica", COPERNICA_STEPS, COPERNICA_TABLES)
