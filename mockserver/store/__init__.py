"""The SQLite store: schema, migrations and every query the domain needs.

One file on disk shared by all worker processes (WAL mode). Each thread gets its
own connection; writes happen inside ``Store.transaction()``, which commits before
the caller builds its response.
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import threading
from typing import Iterable, Iterator


SCHEMA_VERSION = 8

# Each migration brings the store from version N-1 to N. Append, never edit.
MIGRATIONS: list[str] = [
    # 1: BACKCLICK configuration, subscribers, confirmations, newsletters, outbox.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT, mandator_id INTEGER NOT NULL,
        kind TEXT NOT NULL, to_addr TEXT NOT NULL, from_addr TEXT NOT NULL DEFAULT '',
        from_name TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT '',
        html TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL, newsletter_id INTEGER, list_id INTEGER,
        links TEXT NOT NULL DEFAULT '{}');
    CREATE INDEX outbox_by_recipient ON outbox (to_addr);
    CREATE TABLE import_locks (mandator_id INTEGER PRIMARY KEY, started TEXT NOT NULL);
    """,
    # 2: sending newsletters and transaction mails, tracking events, SMTP relay state.
    """
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
    CREATE TABLE channels (
        id INTEGER PRIMARY KEY AUTOINCREMENT, mandator_id INTEGER NOT NULL,
        name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', created TEXT NOT NULL);
    """,
    # 3: Copernica: users, accounts, tokens, sessions, databases, fields, interests,
    #    collections, profiles, subprofiles, callbacks and their deliveries.
    """
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
    # 4: fault-injection rules (the request journal has a file of its own: JournalStore).
    """
    CREATE TABLE fault_rules (
        id INTEGER PRIMARY KEY AUTOINCREMENT, rule TEXT NOT NULL, remaining INTEGER,
        calls INTEGER NOT NULL DEFAULT 0);
    """,
    # 5: Copernica field properties Field_update / CollectionField_update set.
    """
    ALTER TABLE database_fields ADD COLUMN pixelwidth INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE database_fields ADD COLUMN weight INTEGER NOT NULL DEFAULT 0;
    """,
    # 6: Copernica profile `extra` (Profile_update), interest `weight` (Interest_update) and
    #    the field values a subprofile's unsubscribe sets (SubProfile_unsubscribe).
    """
    ALTER TABLE profiles ADD COLUMN extra TEXT NOT NULL DEFAULT '';
    ALTER TABLE interests ADD COLUMN weight INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE collections ADD COLUMN unsubscribe_values TEXT NOT NULL DEFAULT '{}';
    """,
    # 7: Copernica account and user properties (the members of Account and User that are
    #    set, as JSON), contact types of a database and contacts of a profile.
    """
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
    # 8: Copernica collection weight (Collection_update).
    """
    ALTER TABLE collections ADD COLUMN weight INTEGER NOT NULL DEFAULT 0;
    """,
]

# The columns of a compact newsletter mail (see ``Store.insert_newsletter_mails``).
NEWSLETTER_MAIL_COLUMNS = (
    "mandator_id", "kind", "to_addr", "from_addr", "from_name", "subject", "created",
    "newsletter_id", "list_id", "token", "subscriber_id", "personalisation", "base_url",
    "relay_state")

# Tables in dependency order, as exported and restored.
TABLES = [
    "mandators", "api_keys", "allowed_ips", "sender_domains", "fields", "lists",
    "templates", "profile_filters", "voucher_lists", "vouchers", "block_list",
    "subscribers", "memberships", "confirmations", "newsletters", "newsletter_recipients",
    "channels", "outbox", "attachments", "mail_events",
    "accounts", "users", "user_accounts", "access_tokens", "sessions", "databases",
    "collections", "database_fields", "interests", "profiles", "subprofiles", "callbacks",
    "callback_deliveries", "callback_attempts", "contact_types", "contacts",
]


# Meta keys that describe the running server, not the data: a snapshot restore keeps them.
KEPT_META = ("smtp_relay", "callback_signing_key")

# Copernica tables whose rows ``update_row``/``delete_rows`` change by id.
COPERNICA_TABLES = ("databases", "collections", "database_fields", "interests", "profiles",
                    "subprofiles", "contact_types", "contacts")


class StoreUnavailable(RuntimeError):
    """The store's file cannot be opened or made; the message is one line saying why."""


STORE_WAY_OUT = "pass another --db FILE (or MOCKSERVER_DB=FILE), or --db :memory:"


def unavailable(path: str, error: sqlite3.Error) -> str:
    """Why the store at ``path`` could not be opened (SQLite says only "unable to open
    database file"), as one line ending with the way out."""
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    if os.path.isdir(path):
        return f"the store {path} is a folder, not a file; {STORE_WAY_OUT}"
    try:
        os.stat(folder)
    except FileNotFoundError:
        return f"cannot make the store {path}: the folder {folder} does not exist; create " \
               f"it, or {STORE_WAY_OUT}"
    except NotADirectoryError:
        return f"cannot make the store {path}: {folder} is not a folder; {STORE_WAY_OUT}"
    except PermissionError:
        return f"cannot reach the store {path}: the folder {folder} may not be entered; " \
               f"{STORE_WAY_OUT}"
    if not os.path.isdir(folder):
        return f"cannot make the store {path}: {folder} is not a folder; {STORE_WAY_OUT}"
    exists = os.path.exists(path)
    if not exists and not os.access(folder, os.W_OK):
        return f"cannot make the store {path}: the folder {folder} is read-only; " \
               f"{STORE_WAY_OUT}"
    if exists and not os.access(path, os.R_OK):
        return f"the store {path} may not be read; {STORE_WAY_OUT}"
    if exists and not os.access(path, os.W_OK):
        return f"the store {path} is read-only; {STORE_WAY_OUT}"
    if exists and not os.access(folder, os.W_OK):
        return f"cannot open the store {path}: its folder {folder} is read-only (SQLite " \
               f"writes {name}-wal and {name}-shm beside it); {STORE_WAY_OUT}"
    if "readonly" in str(error):  # SQLite's "attempt to write a readonly database"
        return f"the store {path} is read-only; {STORE_WAY_OUT}"
    if isinstance(error, sqlite3.DatabaseError) and "not a database" in str(error):
        return f"{path} is not a SQLite file (a mockserver store); {STORE_WAY_OUT}"
    return f"cannot open the store {path}: {error}; {STORE_WAY_OUT}"


class Store:
    """The mock's state: one SQLite database, one connection per thread."""

    def __init__(self, path: str):
        """Open (and create) the store at ``path``; ``:memory:`` makes a throwaway file."""
        if path == ":memory:":
            folder = tempfile.mkdtemp(prefix="mockserver-", dir=_scratch_dir())
            atexit.register(_remove_scratch, folder, os.getpid())
            path = os.path.join(folder, "store.db")
        self.path = path
        self._local = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's SQLite connection (autocommit; see ``transaction()``)."""
        return _thread_connection(self._local, self.path, (
            "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON",
            # 1 MiB of page cache per connection (SQLite's default is 2): every thread has a
            # connection, lookups go by index, and the OS keeps the file's pages cached anyway.
            "PRAGMA cache_size=-1024"))

    @property
    def db(self):
        """This thread's sqlite-utils Database on the same connection, for table operations.

        Imported on first use: queries on the request path go through ``conn`` and
        keep sqlite-utils (and its plugin machinery) out of start-up and memory.
        """
        conn = self.conn
        db = self._local.db
        if db is None:
            import sqlite_utils
            db = self._local.db = sqlite_utils.Database(conn)
        return db

    def close(self) -> None:
        """Close this thread's connection."""
        _close_thread_connection(self._local)

    def checkpoint(self) -> tuple[int, int, int]:
        """Copy the WAL into the database file and truncate it; SQLite's (busy, log, done)."""
        return tuple(self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one write transaction; commit on success, roll back on error."""
        conn = self.conn
        if conn.in_transaction:  # nested: join the outer transaction
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Run a block of reads on one consistent state of the store (a read transaction: a
        write, or a snapshot restore, that commits meanwhile is not seen halfway)."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # -- schema ---------------------------------------------------------------

    def schema_version(self) -> int:
        """The schema version the store is at (0 for an empty file)."""
        if self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
                             ).fetchone() is None:
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def migrate(self) -> int:
        """Apply the migrations the store lacks; return the resulting version
        (StoreUnavailable, in one line, when the file cannot be opened or made)."""
        try:
            return self._migrate()
        except sqlite3.Error as error:
            self.close()
            raise StoreUnavailable(unavailable(self.path, error)) from None

    def _migrate(self) -> int:
        with self.transaction() as conn:
            version = self.schema_version()
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has schema version {version}; this mockserver knows "
                    f"only up to {SCHEMA_VERSION}. Upgrade mockserver or use another --db.")
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _statements(MIGRATIONS[number - 1]):
                    conn.execute(statement)
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                           [str(number)])
            if version == SCHEMA_VERSION:  # a write all the same: a read-only file fails here
                conn.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")
        return SCHEMA_VERSION

    def sizes(self) -> dict[str, int]:
        """How many BACKCLICK subscribers and Copernica profiles the store holds."""
        row = self.conn.execute("SELECT (SELECT count(*) FROM subscribers), "
                                "(SELECT count(*) FROM profiles)").fetchone()
        return {"subscribers": row[0], "profiles": row[1]}

    def is_empty(self) -> bool:
        """True when no mandator has been configured yet."""
        return self.conn.execute("SELECT 1 FROM mandators LIMIT 1").fetchone() is None

    def wipe(self) -> None:
        """Delete every row of every data table (the schema stays)."""
        with self.transaction() as conn:
            for table in reversed(TABLES + ["import_locks"]):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM sqlite_sequence")
            conn.execute("DELETE FROM meta WHERE key NOT IN ('schema_version', 'smtp_relay', "
                         "'callback_signing_key')")

    def dump(self) -> dict[str, list[dict]]:
        """Every row of every data table, in primary-key order."""
        return {table: list(_query(self.conn, f"SELECT * FROM {table} ORDER BY {_order(table)}"))
                for table in TABLES}

    def load(self, tables: dict[str, list[dict]]) -> None:
        """Insert the rows of ``dump()``-shaped data (call inside a transaction)."""
        db = self.db
        for table in TABLES:
            rows = tables.get(table) or []
            if rows:
                db[table].insert_all(rows, batch_size=2000)

    def meta_get(self, key: str, default: str | None = None) -> str | None:
        """A value from the meta table."""
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", [key]).fetchone()
        return row[0] if row else default

    def set_relay(self, address: str | None) -> None:
        """Record whether new outbox mails wait for the SMTP relay (meta ``smtp_relay``).

        Called at start, before any worker runs: a mail a stopped server was relaying
        goes back to pending, so it is delivered (not stuck as ``relaying``).
        """
        with self.transaction() as conn:
            if address:
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('smtp_relay', ?)",
                             [address])
                conn.execute("UPDATE outbox SET relay_state='pending' WHERE relay_state='relaying'")
            else:
                conn.execute("DELETE FROM meta WHERE key='smtp_relay'")

    def meta_delete(self, key: str) -> None:
        """Remove a key from the meta table."""
        self.conn.execute("DELETE FROM meta WHERE key=?", [key])

    def meta_set(self, key: str, value: str) -> None:
        """Store a value in the meta table."""
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    def reserve_tokens(self, counter: str, count: int) -> tuple[str, int] | None:
        """Without a meta ``seed``: None (one read). With one: bump the meta counter
        ``counter`` by ``count`` in one statement and return (seed, the first number taken)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='seed'").fetchone()
        if row is None:
            return None
        taken = self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
            "value = CAST(value AS INTEGER) + excluded.value RETURNING value",
            [counter, count]).fetchone()[0]
        return row[0], int(taken) - count

    # -- journal and fault rules ---------------------------------------------

    def journal_store(self) -> "JournalStore":
        """The request journal's own SQLite file beside the store (``<db>.journal.db``)."""
        return JournalStore(self.path + ".journal.db")

    def fault_rules(self) -> list[dict]:
        """Every fault rule (id, rule JSON text, remaining count, calls seen), oldest first."""
        return list(_query(self.conn, "SELECT * FROM fault_rules ORDER BY id"))

    def add_fault_rules(self, rules: list[tuple[str, int | None]], replace: bool = False
                        ) -> list[int]:
        """Store rules given as (rule JSON text, remaining count); ``replace`` drops the
        others first. Returns the new ids."""
        with self.transaction() as conn:
            if replace:
                conn.execute("DELETE FROM fault_rules")
            return [conn.execute("INSERT INTO fault_rules (rule, remaining) VALUES (?, ?)",
                                 [rule, remaining]).lastrowid for rule, remaining in rules]

    def delete_fault_rules(self, rule_id: int | None = None) -> int:
        """Delete one fault rule (or all when ``rule_id`` is None); return how many."""
        with self.transaction() as conn:
            if rule_id is None:
                return conn.execute("DELETE FROM fault_rules").rowcount
            return conn.execute("DELETE FROM fault_rules WHERE id=?", [rule_id]).rowcount

    def delete_tenant_fault_rules(self, tenants: list[str]) -> int:
        """Delete the fault rules whose ``tenant`` is one of ``tenants``; return how many."""
        marks = ", ".join("?" * len(tenants))
        with self.transaction() as conn:
            return conn.execute(f"DELETE FROM fault_rules WHERE json_extract(rule, '$.tenant') "
                                f"IN ({marks})", tenants).rowcount

    def fault_state(self) -> tuple[str | None, bool]:
        """(maintenance fault string or None, whether any fault rule is stored): one query."""
        row = self.conn.execute(
            "SELECT (SELECT value FROM meta WHERE key='maintenance'), "
            "EXISTS (SELECT 1 FROM fault_rules)").fetchone()
        return row[0], bool(row[1])

    def take_fault(self, rule_id: int) -> bool:
        """Use up one of a counted rule's calls; False when none is left (atomic)."""
        with self.transaction() as conn:
            return conn.execute("UPDATE fault_rules SET remaining = remaining - 1 "
                                "WHERE id=? AND remaining > 0", [rule_id]).rowcount == 1

    def count_fault_call(self, rule_id: int) -> int | None:
        """Count one more matching call of a rule; its number (1, 2, ...), or None if gone."""
        with self.transaction() as conn:
            row = conn.execute("UPDATE fault_rules SET calls = calls + 1 WHERE id=? "
                               "RETURNING calls", [rule_id]).fetchone()
        return row[0] if row else None

    def set_maintenance(self, message: str | None) -> None:
        """Switch maintenance on with a fault string, or off with None (meta ``maintenance``)."""
        with self.transaction():
            if message is None:
                self.meta_delete("maintenance")
            else:
                self.meta_set("maintenance", message)

    # -- mandators ------------------------------------------------------------

    def mandator(self, mandator_id: int) -> dict | None:
        """The mandator row, or None."""
        return _one(self.conn, "SELECT * FROM mandators WHERE id=?", [mandator_id])

    def mandator_has_key(self, mandator_id: int, key: str) -> bool:
        """True when ``key`` is one of the mandator's API keys."""
        return self.conn.execute("SELECT 1 FROM api_keys WHERE mandator_id=? AND key=?",
                               [mandator_id, key]).fetchone() is not None

    def allowed_ips(self, mandator_id: int) -> list[str]:
        """The mandator's allowed client networks (CIDR strings)."""
        return [r[0] for r in self.conn.execute(
            "SELECT cidr FROM allowed_ips WHERE mandator_id=? ORDER BY cidr", [mandator_id])]

    def field_names(self, mandator_id: int) -> dict[str, str]:
        """The mandator's database fields: lower-case name -> name as defined, in order."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT name_key, name FROM fields WHERE mandator_id=? ORDER BY position",
            [mandator_id])}

    def lists(self, mandator_id: int) -> dict[int, dict]:
        """The mandator's newsletter lists by id."""
        return {r["id"]: r for r in _query(self.conn, 
            "SELECT * FROM lists WHERE mandator_id=? ORDER BY id", [mandator_id])}

    def template(self, mandator_id: int, template_id: int) -> dict | None:
        """A mail template, or None."""
        return _one(self.conn, "SELECT * FROM templates WHERE mandator_id=? AND id=?",
                    [mandator_id, template_id])

    def sender_domains(self, mandator_id: int) -> list[str]:
        """The domains the mandator may send from."""
        return [r[0] for r in self.conn.execute(
            "SELECT domain FROM sender_domains WHERE mandator_id=? ORDER BY domain", [mandator_id])]

    def block_list(self) -> set[str]:
        """The global block list: lower-case addresses and ``*@domain`` patterns."""
        return {r[0] for r in self.conn.execute("SELECT pattern FROM block_list")}

    def is_blocked(self, email_key: str) -> bool:
        """True when the lower-case address or its domain is on the block list."""
        domain = email_key.rpartition("@")[2]
        return self.conn.execute("SELECT 1 FROM block_list WHERE pattern IN (?, ?)",
                               [email_key, "*@" + domain]).fetchone() is not None

    # -- subscribers ----------------------------------------------------------

    def subscriber(self, mandator_id: int, email_key: str) -> dict | None:
        """A subscriber by lower-case address, fields decoded, or None."""
        row = _one(self.conn, "SELECT * FROM subscribers WHERE mandator_id=? AND email_key=?",
                   [mandator_id, email_key])
        if row:
            row["fields"] = json.loads(row["fields"])
        return row

    def subscriber_by_id(self, subscriber_id: int) -> dict | None:
        """A subscriber by id, fields decoded, or None."""
        row = _one(self.conn, "SELECT * FROM subscribers WHERE id=?", [subscriber_id])
        if row:
            row["fields"] = json.loads(row["fields"])
        return row

    def subscribers_with_memberships(self, mandator_id: int, email_keys: list[str]) -> dict[str, dict]:
        """Subscribers by lower-case address with ``memberships`` {list_id: status}, in two queries."""
        if not email_keys:
            return {}
        found: dict[str, dict] = {}
        by_id: dict[int, dict] = {}
        for chunk in _chunks(list(dict.fromkeys(email_keys)), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                    f"SELECT id, email, email_key, fields FROM subscribers "
                    f"WHERE mandator_id=? AND email_key IN ({marks})", [mandator_id, *chunk]):
                sub = {"id": row[0], "email": row[1], "fields": row[3], "memberships": {}}
                found[row[2]] = by_id[row[0]] = sub
        for chunk in _chunks(list(by_id), 500):
            marks = ",".join("?" * len(chunk))
            for sid, list_id, status in self.conn.execute(
                    f"SELECT subscriber_id, list_id, status FROM memberships "
                    f"WHERE subscriber_id IN ({marks}) ORDER BY list_id", chunk):
                by_id[sid]["memberships"][list_id] = status
        return found

    def insert_subscriber(self, mandator_id: int, email: str, fields: dict, now: str) -> int:
        """Create a subscriber; return its id."""
        cur = self.conn.execute(
            "INSERT INTO subscribers (mandator_id, email, email_key, fields, created, modified) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [mandator_id, email, email.lower(), json.dumps(fields, ensure_ascii=False), now, now])
        return cur.lastrowid

    def insert_subscribers(self, mandator_id: int, subscribers: list[tuple[str, dict]],
                           now: str) -> list[int]:
        """Create many subscribers, (address, fields) in order; their ids (call in a transaction).

        The ids are the ones inserting them one by one would give (AUTOINCREMENT: past both
        the highest id in use and the highest id ever handed out).
        """
        conn = self.conn
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

    def update_subscribers_fields(self, changes: Iterable[tuple[int, dict]], now: str) -> None:
        """Replace the field values of many subscribers: (subscriber id, fields) pairs."""
        self.conn.executemany("UPDATE subscribers SET fields=?, modified=? WHERE id=?",
                              [(json.dumps(fields, ensure_ascii=False), now, sid)
                               for sid, fields in changes])

    def set_memberships(self, memberships: Iterable[tuple[int, int, int]], now: str) -> None:
        """Create or change many list memberships: (subscriber id, list id, status) triples."""
        self.conn.executemany(
            "INSERT INTO memberships (subscriber_id, list_id, status, changed) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (subscriber_id, list_id) DO UPDATE SET status=excluded.status, "
            "changed=excluded.changed", [(sid, lid, status, now) for sid, lid, status in memberships])

    def update_subscriber_fields(self, subscriber_id: int, fields: dict, now: str) -> None:
        """Replace a subscriber's field values."""
        self.conn.execute("UPDATE subscribers SET fields=?, modified=? WHERE id=?",
                        [json.dumps(fields, ensure_ascii=False), now, subscriber_id])

    def memberships(self, subscriber_id: int) -> dict[int, int]:
        """A subscriber's list memberships: {list_id: status}."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT list_id, status FROM memberships WHERE subscriber_id=? ORDER BY list_id",
            [subscriber_id])}

    def subscribers_page(self, mandator_id: int, offset: int, limit: int,
                         search: str | None = None) -> tuple[int, list[dict]]:
        """(how many match, one page of them by id): the mandator's subscribers whose address
        contains ``search`` (all without one), fields decoded, with ``memberships``
        {list_id: status}."""
        where, args = "mandator_id=?", [mandator_id]
        if search:
            where += " AND instr(email_key, ?) > 0"
            args.append(search.lower())
        total = self.conn.execute(f"SELECT COUNT(*) FROM subscribers WHERE {where}",
                                  args).fetchone()[0]
        rows = list(_query(self.conn, f"SELECT * FROM subscribers WHERE {where} ORDER BY id "
                           f"LIMIT ? OFFSET ?", [*args, limit, offset]))
        by_id = {row["id"]: row for row in rows}
        for row in rows:
            row["fields"], row["memberships"] = json.loads(row["fields"]), {}
        if by_id:
            marks = ",".join("?" * len(by_id))
            for sid, list_id, status in self.conn.execute(
                    f"SELECT subscriber_id, list_id, status FROM memberships "
                    f"WHERE subscriber_id IN ({marks}) ORDER BY list_id", list(by_id)):
                by_id[sid]["memberships"][list_id] = status
        return total, rows

    def list_member_counts(self, mandator_id: int) -> dict[int, dict[int, int]]:
        """Per list of the mandator: {status: how many subscribers have it}."""
        counts: dict[int, dict[int, int]] = {}
        for list_id, status, count in self.conn.execute(
                "SELECT m.list_id, m.status, COUNT(*) FROM memberships m JOIN subscribers s "
                "ON s.id=m.subscriber_id WHERE s.mandator_id=? GROUP BY m.list_id, m.status",
                [mandator_id]):
            counts.setdefault(list_id, {})[status] = count
        return counts

    def set_membership(self, subscriber_id: int, list_id: int, status: int, now: str) -> None:
        """Create or change one list membership."""
        self.conn.execute(
            "INSERT INTO memberships (subscriber_id, list_id, status, changed) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (subscriber_id, list_id) DO UPDATE SET status=excluded.status, "
            "changed=excluded.changed", [subscriber_id, list_id, status, now])

    def bulk_insert_subscribers(self, mandator_id: int, emails: Iterable[str],
                                list_ids: list[int], now: str, batch: int = 50_000,
                                fields=None) -> int:
        """Insert many new subscribers, each subscribed to ``list_ids``; return the count.

        ``fields``, when given, maps an address to that subscriber's field values.
        """
        count = 0
        values = (lambda e: json.dumps(fields(e), ensure_ascii=False)) if fields else \
            (lambda e: "{}")
        with self.transaction() as conn:
            (last,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM subscribers").fetchone()
            for chunk in _chunks_of(emails, batch):
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

    # -- confirmations --------------------------------------------------------

    def insert_confirmation(self, row: dict) -> None:
        """Store a pending confirmation (double opt-in or profile change)."""
        row = dict(row, list_ids=json.dumps(row.get("list_ids", [])),
                   changes=json.dumps(row.get("changes", {}), ensure_ascii=False))
        self.db["confirmations"].insert(row)

    def confirmation(self, token: str) -> dict | None:
        """A confirmation by token, lists and changes decoded, or None."""
        row = _one(self.conn, "SELECT * FROM confirmations WHERE token=?", [token])
        if row:
            row["list_ids"] = json.loads(row["list_ids"])
            row["changes"] = json.loads(row["changes"])
        return row

    def mark_confirmed(self, token: str, now: str) -> None:
        """Record that a confirmation link was opened."""
        self.conn.execute("UPDATE confirmations SET confirmed=? WHERE token=?", [now, token])

    # -- newsletters ----------------------------------------------------------

    def last_newsletter(self, mandator_id: int, list_id: int, now: str) -> dict | None:
        """The list's most recent newsletter already sent, or None."""
        return _one(self.conn, "SELECT * FROM newsletters WHERE mandator_id=? AND list_id=? "
                    "AND send_time<=? AND state='sent' ORDER BY send_time DESC, id DESC LIMIT 1",
                    [mandator_id, list_id, now])

    # -- outbox ---------------------------------------------------------------

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
        rows = [dict(r) for r in _query(self.conn, sql, args)]
        for row in rows:
            row["links"] = json.loads(row["links"])
        return rows

    def mail(self, mail_id: int) -> dict | None:
        """One outbox mail, or None."""
        rows = _one(self.conn, "SELECT * FROM outbox WHERE id=?", [mail_id])
        if rows:
            rows["links"] = json.loads(rows["links"])
        return rows

    # -- sending: newsletters, channels, vouchers, events, relay ---------------

    def insert_row(self, table: str, row: dict) -> int:
        """Insert one row into a table; return its primary key (the rowid)."""
        names = list(row)
        return self.conn.execute(_insert_sql(table, names),
                                 [_sql_value(row[n]) for n in names]).lastrowid

    def insert_rows(self, table: str, rows: list[dict]) -> None:
        """Insert many rows into a table (a key missing from a row inserts NULL)."""
        if not rows:
            return
        names = list(dict.fromkeys(name for row in rows for name in row))
        self.conn.executemany(_insert_sql(table, names),
                              [[_sql_value(row.get(n)) for n in names] for row in rows])

    def insert_newsletter_mails(self, rows: list[tuple]) -> None:
        """Put compact newsletter mails in the outbox: tuples in ``NEWSLETTER_MAIL_COLUMNS`` order."""
        self.conn.executemany(_insert_sql("outbox", NEWSLETTER_MAIL_COLUMNS), rows)

    def newsletter(self, mandator_id: int, newsletter_id: int) -> dict | None:
        """A newsletter of the mandator, or None."""
        return _one(self.conn, "SELECT * FROM newsletters WHERE mandator_id=? AND id=?",
                    [mandator_id, newsletter_id])

    def newsletter_by_id(self, newsletter_id: int) -> dict | None:
        """A newsletter by id, or None."""
        return _one(self.conn, "SELECT * FROM newsletters WHERE id=?", [newsletter_id])

    def newsletters_of_list(self, mandator_id: int, list_id: int, start: str,
                            end: str) -> list[dict]:
        """The list's newsletters sent (or due) between two moments, oldest first."""
        return list(_query(self.conn, "SELECT * FROM newsletters WHERE mandator_id=? AND "
                           "list_id=? AND send_time>=? AND send_time<=? ORDER BY send_time, id",
                           [mandator_id, list_id, start, end]))

    def claim_due_newsletters(self, now: str) -> list[int]:
        """Mark scheduled newsletters whose time has come as sending; return their ids.

        One UPDATE, so of several workers exactly one claims each newsletter.
        """
        with self.transaction() as conn:
            return [r[0] for r in conn.execute(
                "UPDATE newsletters SET state='sending', started=? WHERE state='scheduled' "
                "AND send_time<=? RETURNING id", [now, now]).fetchall()]

    def unfinished_due_newsletters(self, now: str) -> list[int]:
        """Ids of newsletters due by ``now`` that are not sent yet (scheduled or sending)."""
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM newsletters WHERE state IN ('scheduled', 'sending') AND send_time<=? "
            "ORDER BY id", [now])]

    def next_due_time(self) -> str | None:
        """The earliest send time of a scheduled newsletter, or None."""
        row = self.conn.execute("SELECT MIN(send_time) FROM newsletters WHERE "
                                "state='scheduled'").fetchone()
        return row[0]

    def newsletter_recipients(self, newsletter_id: int) -> list[tuple[str, str]]:
        """The explicit recipients of a newsletter: (address, fields JSON), in request order."""
        return self.conn.execute("SELECT email, fields FROM newsletter_recipients WHERE "
                                 "newsletter_id=? ORDER BY position", [newsletter_id]).fetchall()

    def list_audience(self, mandator_id: int, list_id: int | None,
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
            rows = self.conn.execute(sql, [*args, after, page]).fetchall()
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1][0]

    def subscriber_fields_by_key(self, mandator_id: int, email_keys: list[str]) -> dict[str, tuple]:
        """{lower-case address: (subscriber id, fields JSON)} of existing subscribers."""
        found = {}
        for chunk in _chunks(list(dict.fromkeys(email_keys)), 500):
            marks = ",".join("?" * len(chunk))
            for sid, key, fields in self.conn.execute(
                    f"SELECT id, email_key, fields FROM subscribers WHERE mandator_id=? AND "
                    f"email_key IN ({marks})", [mandator_id, *chunk]):
                found[key] = (sid, fields)
        return found

    def profile_filter(self, mandator_id: int, filter_id: int) -> dict | None:
        """A profile filter with its conditions decoded, or None."""
        row = _one(self.conn, "SELECT * FROM profile_filters WHERE mandator_id=? AND id=?",
                   [mandator_id, filter_id])
        if row:
            row["conditions"] = json.loads(row["conditions"])
        return row

    def finish_newsletter(self, newsletter_id: int, counts: dict, now: str) -> None:
        """Record a newsletter as sent, with its recipient counts."""
        sets = ", ".join(f"{k}=?" for k in counts)
        self.conn.execute(f"UPDATE newsletters SET state='sent', finished=?, {sets} WHERE id=?",
                          [now, *counts.values(), newsletter_id])

    def newsletter_counts(self, newsletter_ids: list[int]) -> dict[int, dict]:
        """Per newsletter: mails in the outbox and tracked events (all and unique per mail)."""
        counts = {i: {"mails": 0} for i in newsletter_ids}
        for chunk in _chunks(newsletter_ids, 500):
            marks = ",".join("?" * len(chunk))
            for nid, mails in self.conn.execute(
                    f"SELECT newsletter_id, COUNT(*) FROM outbox WHERE newsletter_id IN ({marks}) "
                    f"GROUP BY newsletter_id", chunk):
                counts[nid]["mails"] = mails
            for nid, kind, detail, total, unique in self.conn.execute(
                    f"SELECT o.newsletter_id, e.type, e.detail, COUNT(*), COUNT(DISTINCT e.mail_id) "
                    f"FROM mail_events e JOIN outbox o ON o.id=e.mail_id "
                    f"WHERE o.newsletter_id IN ({marks}) GROUP BY o.newsletter_id, e.type, "
                    f"CASE WHEN e.type='bounce' THEN e.detail ELSE '' END", chunk):
                key = f"{kind}:{detail}" if kind == "bounce" else kind
                counts[nid][key] = (total, unique)
            for nid, bounced in self.conn.execute(
                    f"SELECT o.newsletter_id, COUNT(DISTINCT e.mail_id) FROM mail_events e "
                    f"JOIN outbox o ON o.id=e.mail_id WHERE o.newsletter_id IN ({marks}) "
                    f"AND e.type='bounce' GROUP BY o.newsletter_id", chunk):
                counts[nid]["bounced"] = bounced
        return counts

    def channel(self, mandator_id: int, channel_id: int) -> dict | None:
        """A transaction channel of the mandator, or None."""
        return _one(self.conn, "SELECT * FROM channels WHERE mandator_id=? AND id=?",
                    [mandator_id, channel_id])

    def rename_channel(self, channel_id: int, name: str) -> None:
        """Give a transaction channel a name."""
        self.conn.execute("UPDATE channels SET name=? WHERE id=?", [name, channel_id])

    def voucher_list(self, mandator_id: int, voucher_list_id: int) -> dict | None:
        """A voucher list, or None."""
        return _one(self.conn, "SELECT * FROM voucher_lists WHERE mandator_id=? AND id=?",
                    [mandator_id, voucher_list_id])

    def take_voucher(self, mandator_id: int, voucher_list_id: int, used_by: str,
                     now: str) -> str | None:
        """Hand out the list's next unused code (None when none is left)."""
        row = self.conn.execute(
            "UPDATE vouchers SET used_at=?, used_by=? WHERE rowid = (SELECT rowid FROM vouchers "
            "WHERE mandator_id=? AND voucher_list_id=? AND used_at IS NULL ORDER BY position "
            "LIMIT 1) RETURNING code", [now, used_by, mandator_id, voucher_list_id]).fetchone()
        return row[0] if row else None

    def mail_by_token(self, token: str) -> dict | None:
        """An outbox mail by its tracking token, or None."""
        row = _one(self.conn, "SELECT * FROM outbox WHERE token=?", [token])
        if row:
            row["links"] = json.loads(row["links"])
        return row

    def attachments(self, mail_id: int) -> list[dict]:
        """A mail's attachments: name, content type and bytes, in order."""
        return list(_query(self.conn, "SELECT name, content_type, data FROM attachments "
                           "WHERE mail_id=? ORDER BY position", [mail_id]))

    def events(self, mail_id: int) -> list[dict]:
        """A mail's tracked events, oldest first."""
        return list(_query(self.conn, "SELECT type, detail, at FROM mail_events WHERE mail_id=? "
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

    # -- import lock ----------------------------------------------------------

    def acquire_import_lock(self, mandator_id: int, now: str, stale_before: str) -> bool:
        """Take the mandator's import lock (committed at once); False when another holds it.

        A running import holds the write lock for its whole transaction, so the write
        lock is only tried briefly, and the lock row re-read, never waited on.
        """
        conn = self.conn
        while True:
            if self.import_running(mandator_id, stale_before):
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

    def release_import_lock(self, mandator_id: int) -> None:
        """Give the mandator's import lock back."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM import_locks WHERE mandator_id=?", [mandator_id])

    def import_running(self, mandator_id: int, stale_before: str = "") -> bool:
        """True while an import of the mandator holds the lock (a read: never waits on writers)."""
        return self.conn.execute("SELECT 1 FROM import_locks WHERE mandator_id=? AND started>=?",
                               [mandator_id, stale_before]).fetchone() is not None

    # -- Callbacks (Copernica; used by mockserver/copernica/callbacks.py) ----------------

    def insert_callback(self, row: dict) -> int:
        """Create a callback; return its id."""
        return self.insert_row("callbacks", row)

    def callback(self, callback_id: int) -> dict | None:
        """A callback row, or None."""
        return _one(self.conn, "SELECT * FROM callbacks WHERE id=?", [callback_id])

    def callback_by_url(self, account_id: int, database_id: int | None, url: str) -> dict | None:
        """The account's first callback of a database (any database when None) with this URL."""
        sql, args = "SELECT * FROM callbacks WHERE account_id=? AND url=?", [account_id, url]
        if database_id is not None:
            sql += " AND database_id=?"
            args.append(database_id)
        return _one(self.conn, sql + " ORDER BY id LIMIT 1", args)

    def callbacks_of(self, database_id: int | None = None,
                     collection_id: int | None = None) -> list[dict]:
        """Callbacks of a collection, or of a database's profiles (no collection), by id."""
        if collection_id is not None:
            return list(_query(self.conn, "SELECT * FROM callbacks WHERE collection_id=? "
                               "ORDER BY id", [collection_id]))
        if database_id is not None:
            return list(_query(self.conn, "SELECT * FROM callbacks WHERE database_id=? AND "
                               "collection_id IS NULL ORDER BY id", [database_id]))
        return list(_query(self.conn, "SELECT * FROM callbacks ORDER BY id"))

    def update_callback(self, callback_id: int, changes: dict) -> None:
        """Set columns of one callback."""
        names = [n for n in changes if n in ("url", "method", "expression", "actionfilter",
                                             "sources", "base_url", "database_id",
                                             "collection_id")]
        if names:
            self.conn.execute("UPDATE callbacks SET " + ", ".join(f"{n}=?" for n in names) +
                              " WHERE id=?", [*(changes[n] for n in names), callback_id])

    def delete_callback(self, account_id: int, callback_id: int) -> bool:
        """Remove one of the account's callbacks (and its deliveries); False when unknown."""
        with self.transaction() as conn:
            return conn.execute("DELETE FROM callbacks WHERE id=? AND account_id=?",
                                [callback_id, account_id]).rowcount == 1

    def insert_callback_delivery(self, row: dict) -> int:
        """Queue one delivery of a callback; return its id."""
        return self.insert_row("callback_deliveries", row)

    def callback_work_due(self, now: str, real_now: str) -> bool:
        """True when a delivery is due by ``now`` or a claim expired before ``real_now`` (a read)."""
        return self.conn.execute(
            "SELECT 1 FROM callback_deliveries WHERE (state='pending' AND next_attempt<=?) OR "
            "(state='sending' AND claimed_until<?) LIMIT 1", [now, real_now]).fetchone() is not None

    def claim_callback_deliveries(self, now: str, real_now: str, claim_until: str,
                                  limit: int) -> list[int]:
        """Mark up to ``limit`` due deliveries as sending; their ids, oldest first.

        One UPDATE, so of several workers exactly one claims each delivery. Only the first
        unfinished delivery of each (callback, record) is taken: a record's later change never
        overtakes an earlier one. A claim older than its ``claimed_until`` (real time; the
        sender died) is taken again.
        """
        with self.transaction() as conn:
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

    def callback_delivery(self, delivery_id: int) -> dict | None:
        """One delivery row, or None."""
        return _one(self.conn, "SELECT * FROM callback_deliveries WHERE id=?", [delivery_id])

    def finish_callback_attempt(self, delivery_id: int, attempt: dict, state: str,
                                next_attempt: str, finished: str | None) -> None:
        """Record an attempt and the delivery's new state (pending again, delivered, failed)."""
        with self.transaction() as conn:
            conn.execute("INSERT INTO callback_attempts (delivery_id, at, status, error, "
                         "duration_ms, request_headers) VALUES (?, ?, ?, ?, ?, ?)",
                         [delivery_id, attempt["at"], attempt["status"], attempt["error"],
                          attempt["duration_ms"], json.dumps(attempt["request_headers"])])
            conn.execute("UPDATE callback_deliveries SET state=?, attempts=attempts+1, "
                         "next_attempt=?, claimed_until='', finished=? WHERE id=?",
                         [state, next_attempt, finished, delivery_id])

    def callback_deliveries_open(self, now: str) -> int:
        """How many deliveries are due by ``now`` and not finished (pending or being sent)."""
        return self.conn.execute(
            "SELECT COUNT(*) FROM callback_deliveries WHERE state='sending' OR "
            "(state='pending' AND next_attempt<=?)", [now]).fetchone()[0]

    def callback_deliveries(self, callback_id: int | None = None, state: str | None = None,
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
        rows = list(_query(self.conn, sql + " ORDER BY id LIMIT ?", [*args, int(limit)]))
        attempts: dict[int, list] = {row["id"]: [] for row in rows}
        for chunk in _chunks(list(attempts), 500):
            for attempt in _query(self.conn, "SELECT * FROM callback_attempts WHERE delivery_id "
                                  f"IN ({', '.join('?' * len(chunk))}) ORDER BY id", chunk):
                attempts[attempt["delivery_id"]].append(attempt)
        for row in rows:
            row["attempts"] = attempts[row["id"]]
        return rows

    # -- Copernica: accounts, users, tokens, sessions, databases, profiles -----

    def account(self, account_id: int) -> dict | None:
        """A Copernica account, or None."""
        return _one(self.conn, "SELECT * FROM accounts WHERE id=?", [account_id])

    def account_ids(self) -> set[int]:
        """The ids of every Copernica account."""
        return {r[0] for r in self.conn.execute("SELECT id FROM accounts")}

    def user(self, username: str) -> dict | None:
        """A Copernica user by name (case-insensitive), or None."""
        return _one(self.conn, "SELECT * FROM users WHERE username=?", [username])

    def user_account_ids(self, username: str) -> list[int]:
        """The ids of a user's accounts, first account first."""
        return [r[0] for r in self.conn.execute(
            "SELECT account_id FROM user_accounts WHERE username=? ORDER BY position", [username])]

    def access_token(self, token: str) -> dict | None:
        """An access token row (allowed IPs decoded), or None."""
        row = _one(self.conn, "SELECT * FROM access_tokens WHERE token=?", [token])
        if row:
            row["allowed_ips"] = json.loads(row["allowed_ips"])
        return row

    def login_session(self, cookie: str) -> dict | None:
        """A login session by its cookie value, or None."""
        return _one(self.conn, "SELECT * FROM sessions WHERE cookie=?", [cookie])

    def databases_of(self, account_id: int) -> list[dict]:
        """An account's databases, by id."""
        return list(_query(self.conn, "SELECT * FROM databases WHERE account_id=? ORDER BY id",
                           [account_id]))

    def database(self, account_id: int, database_id: int) -> dict | None:
        """A database of the account, or None."""
        return _one(self.conn, "SELECT * FROM databases WHERE account_id=? AND id=?",
                    [account_id, database_id])

    def database_by_name(self, account_id: int, name: str) -> dict | None:
        """A database of the account by name (case-insensitive), or None."""
        return _one(self.conn, "SELECT * FROM databases WHERE account_id=? AND "
                    "name=? COLLATE NOCASE", [account_id, name])

    def count_profiles(self, database_id: int) -> int:
        """How many profiles a database holds."""
        return self.conn.execute("SELECT COUNT(*) FROM profiles WHERE database_id=?",
                                 [database_id]).fetchone()[0]

    def count_subprofiles(self, collection_id: int) -> int:
        """How many subprofiles a collection holds."""
        return self.conn.execute("SELECT COUNT(*) FROM subprofiles WHERE collection_id=?",
                                 [collection_id]).fetchone()[0]

    def collections_of(self, database_id: int) -> list[dict]:
        """A database's collections, by id."""
        return list(_query(self.conn, "SELECT * FROM collections WHERE database_id=? ORDER BY id",
                           [database_id]))

    def collection(self, account_id: int, collection_id: int) -> dict | None:
        """A collection of one of the account's databases, or None."""
        return _one(self.conn, "SELECT c.* FROM collections c JOIN databases d ON "
                    "d.id=c.database_id WHERE d.account_id=? AND c.id=?",
                    [account_id, collection_id])

    def fields_of(self, database_id: int, collection_id: int | None) -> list[dict]:
        """The fields of a database (collection None) or of one of its collections, by id."""
        if collection_id is None:
            return list(_query(self.conn, "SELECT * FROM database_fields WHERE database_id=? "
                               "AND collection_id IS NULL ORDER BY id", [database_id]))
        return list(_query(self.conn, "SELECT * FROM database_fields WHERE database_id=? AND "
                           "collection_id=? ORDER BY id", [database_id, collection_id]))

    def database_field(self, account_id: int, field_id: int) -> dict | None:
        """A field (of a database or one of its collections) of the account, or None."""
        return _one(self.conn, "SELECT f.* FROM database_fields f JOIN databases d ON "
                    "d.id=f.database_id WHERE d.account_id=? AND f.id=?", [account_id, field_id])

    def account_user(self, account_id: int, user_id: int) -> dict | None:
        """A user of the account by its number (the row's position in ``users``), or None."""
        return _one(self.conn, "SELECT u.rowid AS id, u.* FROM users u JOIN "
                    "user_accounts a ON a.username=u.username WHERE a.account_id=? AND "
                    "u.rowid=?", [account_id, user_id])

    def interest(self, account_id: int, interest_id: int) -> dict | None:
        """An interest of one of the account's databases, or None."""
        return _one(self.conn, "SELECT i.* FROM interests i JOIN databases d ON "
                    "d.id=i.database_id WHERE d.account_id=? AND i.id=?",
                    [account_id, interest_id])

    def account_user_by_name(self, account_id: int, username: str) -> dict | None:
        """A user of the account by name (case-insensitive), or None."""
        return _one(self.conn, "SELECT u.rowid AS id, u.* FROM users u JOIN "
                    "user_accounts a ON a.username=u.username WHERE a.account_id=? AND "
                    "u.username=?", [account_id, username])

    def account_users(self, account_id: int) -> list[dict]:
        """The users of an account (with their number as ``id``), in the account's order."""
        return list(_query(self.conn, "SELECT u.rowid AS id, u.* FROM users u JOIN "
                           "user_accounts a ON a.username=u.username WHERE a.account_id=? "
                           "ORDER BY a.position", [account_id]))

    def account_by_name(self, name: str) -> dict | None:
        """An account by name (case-insensitive), or None."""
        return _one(self.conn, "SELECT * FROM accounts WHERE name=? COLLATE NOCASE", [name])

    def set_account(self, account_id: int, name: str, properties: dict) -> None:
        """Set an account's name and properties (the members of ``Account`` that are set)."""
        self.conn.execute("UPDATE accounts SET name=?, properties=? WHERE id=?",
                          [name, json.dumps(properties, ensure_ascii=False), account_id])

    def add_user(self, account_id: int, username: str, password: str, properties: dict) -> int:
        """Create a user of the account (its last); the user's number."""
        user_id = self.insert_row("users", {"username": username, "password": password,
                                            "properties": properties})
        position = self.conn.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM "
                                     "user_accounts WHERE account_id=?", [account_id]).fetchone()
        self.insert_row("user_accounts", {"username": username, "account_id": account_id,
                                          "position": position[0]})
        return user_id

    def set_user(self, username: str, changes: dict) -> None:
        """Set a user's ``password`` and/or ``properties`` (the members of ``User`` set)."""
        names = list(changes)
        self.conn.execute("UPDATE users SET " + ", ".join(f"{n}=?" for n in names) +
                          " WHERE username=?", [*(_sql_value(changes[n]) for n in names),
                                                username])

    def rename_user(self, old: str, new: str) -> None:
        """Give a user another name; its accounts, sessions and contacts follow (call inside
        a transaction: the foreign keys are checked when it commits)."""
        conn = self.conn
        conn.execute("PRAGMA defer_foreign_keys=ON")
        conn.execute("UPDATE users SET username=? WHERE username=?", [new, old])
        for table in ("user_accounts", "sessions"):
            conn.execute(f"UPDATE {table} SET username=? WHERE username=?", [new, old])

    def leave_account(self, account_id: int, username: str) -> None:
        """Take a user out of an account (its sessions there end); a user left without an
        account is deleted (its contacts keep no user)."""
        conn = self.conn
        conn.execute("DELETE FROM user_accounts WHERE account_id=? AND username=?",
                     [account_id, username])
        conn.execute("DELETE FROM sessions WHERE account_id=? AND username=?",
                     [account_id, username])
        if not self.user_account_ids(username):
            conn.execute("DELETE FROM users WHERE username=?", [username])

    def contact_types_of(self, database_id: int) -> list[dict]:
        """A database's contact types, by id."""
        return list(_query(self.conn, "SELECT * FROM contact_types WHERE database_id=? "
                           "ORDER BY id", [database_id]))

    def contact_type(self, account_id: int, type_id: int) -> dict | None:
        """A contact type of one of the account's databases, or None."""
        return _one(self.conn, "SELECT t.* FROM contact_types t JOIN databases d ON "
                    "d.id=t.database_id WHERE d.account_id=? AND t.id=?", [account_id, type_id])

    def contact_type_by_name(self, database_id: int, name: str) -> dict | None:
        """A contact type of the database by name (case-insensitive), or None."""
        return _one(self.conn, "SELECT * FROM contact_types WHERE database_id=? AND "
                    "name=? COLLATE NOCASE", [database_id, name])

    def contact(self, account_id: int, contact_id: int) -> dict | None:
        """A contact of a profile of the account (with ``database_id``), or None."""
        return _one(self.conn, "SELECT c.*, p.database_id FROM contacts c JOIN profiles p ON "
                    "p.id=c.profile_id JOIN databases d ON d.id=p.database_id "
                    "WHERE d.account_id=? AND c.id=?", [account_id, contact_id])

    def contacts_of(self, account_id: int, database_id: int | None = None,
                    profile_id: int | None = None, username: str | None = None) -> list[dict]:
        """The contacts of the account's profiles (with ``database_id``), of one database,
        profile and/or user, by id."""
        where, args = ["d.account_id=?"], [account_id]
        for column, value in (("p.database_id", database_id), ("c.profile_id", profile_id),
                              ("c.username", username)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        return list(_query(self.conn, "SELECT c.*, p.database_id FROM contacts c JOIN "
                           "profiles p ON p.id=c.profile_id JOIN databases d ON "
                           "d.id=p.database_id WHERE " + " AND ".join(where) +
                           " ORDER BY c.id", args))

    def move_contacts(self, profile_id: int, target_id: int) -> None:
        """Give a profile's contacts to another profile."""
        self.conn.execute("UPDATE contacts SET profile_id=? WHERE profile_id=?",
                          [target_id, profile_id])

    def interests_of(self, database_id: int) -> list[dict]:
        """A database's interests, by id."""
        return list(_query(self.conn, "SELECT * FROM interests WHERE database_id=? ORDER BY id",
                           [database_id]))

    def profiles_of(self, database_id: int) -> list[dict]:
        """Every profile of a database (fields and interests as JSON text), by id."""
        return list(_query(self.conn, "SELECT * FROM profiles WHERE database_id=? ORDER BY id",
                           [database_id]))

    def profiles_page(self, database_id: int, offset: int, limit: int) -> list[dict]:
        """One page of a database's profiles (fields and interests as JSON text), by id."""
        return list(_query(self.conn, "SELECT * FROM profiles WHERE database_id=? ORDER BY id "
                           "LIMIT ? OFFSET ?", [database_id, limit, offset]))

    def subprofiles_page(self, collection_id: int, offset: int, limit: int) -> list[dict]:
        """One page of a collection's subprofiles (fields as JSON text), by id."""
        return list(_query(self.conn, "SELECT * FROM subprofiles WHERE collection_id=? "
                           "ORDER BY id LIMIT ? OFFSET ?", [collection_id, limit, offset]))

    def profile(self, account_id: int, profile_id: int) -> dict | None:
        """A profile of one of the account's databases (JSON text columns), or None."""
        return _one(self.conn, "SELECT p.* FROM profiles p JOIN databases d ON "
                    "d.id=p.database_id WHERE d.account_id=? AND p.id=?", [account_id, profile_id])

    def subprofiles_of(self, collection_id: int | None = None,
                       profile_id: int | None = None) -> list[dict]:
        """The subprofiles of a collection and/or a profile (JSON text fields), by id."""
        where, args = [], []
        if collection_id is not None:
            where.append("collection_id=?")
            args.append(collection_id)
        if profile_id is not None:
            where.append("profile_id=?")
            args.append(profile_id)
        return list(_query(self.conn, "SELECT * FROM subprofiles WHERE " + " AND ".join(where) +
                           " ORDER BY id", args))

    def record_with_code(self, table: str, owner_id: int, code: str) -> int | None:
        """The id of the profile of a database (``profiles``) or subprofile of a collection
        (``subprofiles``) with this code, or None."""
        owner = {"profiles": "database_id", "subprofiles": "collection_id"}[table]
        row = self.conn.execute(f"SELECT id FROM {table} WHERE {owner}=? AND code=? LIMIT 1",
                                [owner_id, code]).fetchone()
        return None if row is None else row[0]

    def subprofile(self, account_id: int, subprofile_id: int) -> dict | None:
        """A subprofile in one of the account's databases (with ``database_id``), or None."""
        return _one(self.conn, "SELECT s.*, c.database_id FROM subprofiles s JOIN collections c "
                    "ON c.id=s.collection_id JOIN databases d ON d.id=c.database_id "
                    "WHERE d.account_id=? AND s.id=?", [account_id, subprofile_id])

    def update_row(self, table: str, row_id: int, changes: dict) -> None:
        """Set columns of one row of a Copernica table by id."""
        assert table in COPERNICA_TABLES, table
        names = list(changes)
        self.conn.execute(f"UPDATE {table} SET " + ", ".join(f'"{n}"=?' for n in names) +
                          " WHERE id=?", [*(_sql_value(changes[n]) for n in names), row_id])

    def delete_rows(self, table: str, ids: list[int]) -> None:
        """Delete rows of a Copernica table by id (dependent rows go by ON DELETE CASCADE)."""
        assert table in COPERNICA_TABLES, table
        for chunk in _chunks(list(ids), 500):
            self.conn.execute(f"DELETE FROM {table} WHERE id IN ({','.join('?' * len(chunk))})",
                              chunk)

    # -- fixtures support (used by mockserver/machinery/fixtures.py) ---------------------

    def mandator_ids(self) -> set[int]:
        """The ids of every configured mandator."""
        return {r[0] for r in self.conn.execute("SELECT id FROM mandators")}

    def max_ids(self) -> dict[str, int]:
        """The highest id in use in each table with generated ids (0 when empty)."""
        return {table: self.conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
                for table in ("subscribers", "newsletters", "outbox", "channels", "mail_events",
                              *COPERNICA_TABLES, "callbacks")}

    # -- snapshots (used by mockserver/machinery/snapshots.py) ---------------------------

    def backup_to(self, path: str) -> None:
        """Copy the whole store, as of one moment, into a new single-file database at ``path``."""
        target = sqlite3.connect(path, isolation_level=None)
        try:
            self.conn.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()

    def restore_from(self, path: str, keep_meta: tuple = KEPT_META) -> None:
        """Replace the whole store by the database at ``path`` in one write transaction.

        Other connections (threads, workers) see the old or the new contents, never a mix.
        The meta keys ``keep_meta`` (relay, signing key) keep their live values; import
        locks of the saved moment are dropped (no import of it is running now).
        """
        conn = self.conn
        kept = {key: self.meta_get(key) for key in keep_meta}
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        try:
            source.backup(conn, sleep=0.01)
        finally:
            source.close()
        with self.transaction() as conn:
            for key, value in kept.items():
                if value is None:
                    conn.execute("DELETE FROM meta WHERE key=?", [key])
                else:
                    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                 [key, value])
            conn.execute("DELETE FROM import_locks")

    @staticmethod
    def file_schema_version(path: str) -> int:
        """The schema version of a store file other than this one (0 when it has none)."""
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError:
            return 0
        finally:
            conn.close()
        return int(row[0]) if row else 0

    # -- tenants (used by mockserver/machinery/tenants.py) --------------------------------

    def meta_items(self, prefix: str) -> dict[str, str]:
        """The meta entries whose key starts with ``prefix``, by key."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?)=? ORDER BY key",
            [len(prefix), prefix])}

    def max_tenant_id(self) -> int:
        """The highest mandator or account id in use (0 when there is none)."""
        return self.conn.execute("SELECT MAX(COALESCE((SELECT MAX(id) FROM mandators), 0), "
                                 "COALESCE((SELECT MAX(id) FROM accounts), 0))").fetchone()[0]

    def delete_mandator(self, mandator_id: int) -> None:
        """Delete a mandator and every row that belongs to it (call inside a transaction)."""
        conn = self.conn
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

    def delete_account(self, account_id: int, username: str | None = None) -> None:
        """Delete a Copernica account with all its data, its users who belong to no other
        account, and the user ``username`` (call inside a transaction)."""
        conn = self.conn
        members = [r["username"] for r in self.account_users(account_id)]
        conn.execute("DELETE FROM callback_deliveries WHERE account_id=?", [account_id])
        conn.execute("DELETE FROM accounts WHERE id=?", [account_id])
        for name in members:
            if not self.user_account_ids(name):
                conn.execute("DELETE FROM users WHERE username=?", [name])
        if username:
            conn.execute("DELETE FROM users WHERE username=?", [username])

    def mandator_rows(self, table: str, mandator_id: int) -> list[dict]:
        """A mandator's configuration rows of one table (fields, lists, templates, ...)."""
        assert table in ("fields", "lists", "templates", "sender_domains", "profile_filters"), table
        return list(_query(self.conn, f"SELECT * FROM {table} WHERE mandator_id=? ORDER BY "
                           f"{_order(table)}", [mandator_id]))


def _close_thread_connection(local: threading.local) -> None:
    """Close this thread's connection of ``local``, if it has one."""
    conn = getattr(local, "conn", None)
    if conn is not None:
        conn.close()
        local.conn = None
        if hasattr(local, "db"):
            local.db = None


def _thread_connection(local: threading.local, path: str, setup,
                       first=()) -> sqlite3.Connection:
    """This thread's autocommit connection to ``path`` in WAL mode (made anew in a forked
    child), running the ``setup`` statements once when it is made (``first``: before WAL is
    switched on, which writes a new file's header)."""
    conn = getattr(local, "conn", None)
    if conn is None or getattr(local, "pid", None) != os.getpid():
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        for statement in first:
            conn.execute(statement)
        # WAL is a property of the file; switching needs the write lock, so only ask when it
        # is not on yet (a new connection must not wait for a running import).
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode=WAL")
        for statement in setup:  # SQL text, or a function of the connection
            conn.execute(statement) if isinstance(statement, str) else statement(conn)
        local.conn, local.db, local.pid = conn, None, os.getpid()
    return conn


# Columns added to the journal after its first version, each with its definition.
_JOURNAL_ADDED = (("real", "REAL NOT NULL DEFAULT 0"),  # the call's Unix time
                  ("request_size", "INTEGER"),  # the envelopes' sizes before they were cut
                  ("response_size", "INTEGER"))


def _journal_added_columns(conn: sqlite3.Connection) -> None:
    """Give a journal file written before them the columns added since (``_JOURNAL_ADDED``)."""
    names = [row[1] for row in conn.execute("PRAGMA table_info(journal)")]
    for name, definition in _JOURNAL_ADDED:
        if name in names:
            continue
        try:
            conn.execute(f"ALTER TABLE journal ADD COLUMN {name} {definition}")
        except sqlite3.OperationalError as error:  # another worker added it just now
            if "duplicate column" not in str(error):
                raise


def _insert_sql(table: str, names) -> str:
    columns = ", ".join(f'"{n}"' for n in names)
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(names))})"


def _sql_value(value):
    """A value as the store keeps it: dicts, lists and tuples as JSON, the rest as given."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return value


class JournalStore:
    """The request journal: a SQLite file of its own, so recording exchanges never takes
    the store's write lock (nor grows its WAL); written without fsync, it is a log."""

    def __init__(self, path: str):
        """Open (and create) the journal file at ``path``."""
        self.path = path
        self._local = threading.local()

    def close(self) -> None:
        """Close this thread's connection."""
        _close_thread_connection(self._local)

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit), the table made on first use.

        A new file is made with incremental auto-vacuum, so deleting entries can give their
        pages back; deleted rows are not overwritten (``secure_delete=FAST``: trimming the
        oldest entry does not write its pages again), and the WAL is cut back to 4 MiB after
        each checkpoint instead of staying at its largest size.
        """
        return _thread_connection(self._local, self.path, (
            "PRAGMA synchronous=OFF", "PRAGMA cache_size=-512", "PRAGMA secure_delete=FAST",
            f"PRAGMA journal_size_limit={4 * 1024 * 1024}", """
            CREATE TABLE IF NOT EXISTS journal (
                id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL,
                dialect TEXT NOT NULL, operation TEXT, tenant TEXT,
                caller TEXT NOT NULL DEFAULT '', authorization TEXT, cookie TEXT,
                status INTEGER NOT NULL, injected TEXT, duration_ms REAL NOT NULL,
                request BLOB NOT NULL, response BLOB NOT NULL)""", _journal_added_columns,
            "CREATE INDEX IF NOT EXISTS journal_in_call_order ON journal (real, id)"),
            first=("PRAGMA auto_vacuum=INCREMENTAL",))

    JOURNAL_COLUMNS = ("time", "dialect", "operation", "tenant", "caller", "authorization",
                       "cookie", "status", "injected", "duration_ms", "request", "response",
                       "real", "request_size", "response_size")

    def journal_append(self, rows: list[tuple], cap: int) -> None:
        """Add journal rows (``JOURNAL_COLUMNS`` order); keep only the newest ``cap``."""
        marks = ", ".join("?" * len(self.JOURNAL_COLUMNS))
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(f"INSERT INTO journal ({', '.join(self.JOURNAL_COLUMNS)}) "
                             f"VALUES ({marks})", rows)
            conn.execute("DELETE FROM journal WHERE id <= (SELECT MAX(id) FROM journal) - ?",
                         [cap])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def journal(self, operation: str | None = None, tenants: list[str] | None = None,
                dialect: str | None = None, since: str | None = None,
                limit: int = 100) -> list[dict]:
        """The newest ``limit`` matching journal rows, oldest first (``tenants``: rows of
        any of these tenants; an empty list matches none)."""
        where, args = [], []
        for column, value in (("operation", operation), ("dialect", dialect)):
            if value:
                where.append(f"{column} = ? COLLATE NOCASE")
                args.append(value)
        if tenants is not None:
            where.append(f"tenant IN ({', '.join('?' * len(tenants))})")
            args.extend(tenants)
        if since:
            where.append("time >= ?")
            args.append(since)
        sql = "SELECT * FROM journal" + (" WHERE " + " AND ".join(where) if where else "")
        # in call order (real time): each worker writes its own batches, so ids follow the
        # writes, and the mock's clock may have been set back
        rows = list(_query(self.conn, sql + " ORDER BY real DESC, id DESC LIMIT ?",
                           [*args, limit]))
        rows.reverse()
        return rows

    def journal_entry(self, entry_id: int) -> dict | None:
        """One journal row by id, or None."""
        return _one(self.conn, "SELECT * FROM journal WHERE id=?", [entry_id])

    def journal_clear(self, tenants: list[str] | None = None) -> int:
        """Delete every journal row (only those of ``tenants`` when given) and give the file's
        freed pages back to the disk; return how many rows."""
        conn = self.conn
        if tenants is None:
            deleted = conn.execute("DELETE FROM journal").rowcount
        else:
            deleted = conn.execute(f"DELETE FROM journal WHERE tenant IN "
                                   f"({', '.join('?' * len(tenants))})", tenants).rowcount
        if deleted:
            self._give_back(conn)
        return deleted

    @staticmethod
    def _give_back(conn: sqlite3.Connection) -> None:
        """Shrink the file to the pages in use: an incremental vacuum (a whole VACUUM, once,
        for a file made before auto-vacuum was on), then a checkpoint that empties the WAL."""
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2:
            conn.executescript("PRAGMA incremental_vacuum")  # steps until every page is freed
        else:
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _query(conn: sqlite3.Connection, sql: str, args=()) -> Iterator[dict]:
    cursor = conn.execute(sql, args)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row))


def _one(conn: sqlite3.Connection, sql: str, args: list) -> dict | None:
    return next(_query(conn, sql, args), None)


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _chunks_of(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _order(table: str) -> str:
    return {
        "mandators": "id", "api_keys": "mandator_id, key", "allowed_ips": "mandator_id, cidr",
        "sender_domains": "mandator_id, domain", "fields": "mandator_id, position",
        "lists": "mandator_id, id", "templates": "mandator_id, id",
        "profile_filters": "mandator_id, id", "voucher_lists": "mandator_id, id",
        "vouchers": "mandator_id, voucher_list_id, position", "block_list": "pattern",
        "subscribers": "id", "memberships": "subscriber_id, list_id", "confirmations": "token",
        "newsletters": "id", "outbox": "id", "newsletter_recipients": "newsletter_id, position",
        "channels": "id", "attachments": "mail_id, position", "mail_events": "id",
        "accounts": "id", "users": "username", "user_accounts": "username, position",
        "access_tokens": "token", "sessions": "cookie", "databases": "id", "collections": "id",
        "database_fields": "id", "interests": "id", "profiles": "id", "subprofiles": "id",
        "callbacks": "id", "callback_deliveries": "id", "callback_attempts": "id",
        "contact_types": "id", "contacts": "id",
    }[table]


def _remove_scratch(folder: str, owner: int) -> None:
    """Delete a ``:memory:`` store's folder, from the process that made it only (not a worker)."""
    if os.getpid() == owner:
        shutil.rmtree(folder, ignore_errors=True)


def _scratch_dir() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
