"""The Store: one SQLite file shared by every worker process (WAL mode), one connection per
thread; writes happen inside ``Store.transaction()``, which commits before the caller builds
its response. The tables it holds come from its ``Schema``."""
from __future__ import annotations

import atexit
import contextlib
import os
import sqlite3
import tempfile
import threading
from typing import Iterator

from mockserver.store import migrations
from mockserver.store.fault_rules import FaultRuleTable
from mockserver.store.files import StoreFiles, remove_scratch, scratch_dir
from mockserver.store.journal_file import JournalStore
from mockserver.store.meta import MetaTable
from mockserver.store.migrations import Schema
from mockserver.store.outbox import OutboxTable
from mockserver.store.rows import chunks, insert_sql, sql_value
from mockserver.store.thread_connections import close_thread_connection, thread_connection
from mockserver.store.writer_gate import writing


class Store(StoreFiles, MetaTable, FaultRuleTable, OutboxTable):
    """The mock's state: one SQLite database, one connection per thread."""

    def __init__(self, path: str, schema: Schema):
        """Open (and create) the store at ``path`` with ``schema`` (its parts' tables);
        ``:memory:`` makes a throwaway file."""
        if path == ":memory:":
            folder = tempfile.mkdtemp(prefix="mockserver-", dir=scratch_dir())
            atexit.register(remove_scratch, folder, os.getpid())
            path = os.path.join(folder, "store.db")
        self.path = path
        self.schema = schema
        self._local = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's SQLite connection (autocommit; see ``transaction()``)."""
        return thread_connection(self._local, self.path, (
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
        close_thread_connection(self._local)

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
        with writing(self.path):  # writers queue there, not in SQLite's busy handler
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
        return migrations.schema_version(self)

    def migrate(self) -> int:
        """Apply the migrations the store lacks; return the resulting version
        (StoreUnavailable, in one line, when the file cannot be opened or made)."""
        return migrations.migrate(self)

    @staticmethod
    def file_schema_version(path: str) -> int:
        """The schema version of a store file other than this one (0 when it has none)."""
        return migrations.file_schema_version(path)

    def journal_store(self) -> "JournalStore":
        """The request journal's own SQLite file beside the store (``<db>.journal.db``)."""
        return JournalStore(self.path + ".journal.db")

    # -- rows of any table ------------------------------------------------------

    def insert_row(self, table: str, row: dict) -> int:
        """Insert one row into a table; return its primary key (the rowid)."""
        names = list(row)
        return self.conn.execute(insert_sql(table, names),
                                 [sql_value(row[n]) for n in names]).lastrowid

    def insert_rows(self, table: str, rows: list[dict]) -> None:
        """Insert many rows into a table (a key missing from a row inserts NULL)."""
        if not rows:
            return
        names = list(dict.fromkeys(name for row in rows for name in row))
        self.conn.executemany(insert_sql(table, names),
                              [[sql_value(row.get(n)) for n in names] for row in rows])

    def update_row(self, table: str, row_id: int, changes: dict) -> None:
        """Set columns of one row of a data table by id."""
        assert table in self.schema.tables, table
        names = list(changes)
        self.conn.execute(f"UPDATE {table} SET " + ", ".join(f'"{n}"=?' for n in names) +
                          " WHERE id=?", [*(sql_value(changes[n]) for n in names), row_id])

    def delete_rows(self, table: str, ids: list[int]) -> None:
        """Delete rows of a data table by id (dependent rows go by ON DELETE CASCADE)."""
        assert table in self.schema.tables, table
        for chunk in chunks(list(ids), 500):
            self.conn.execute(f"DELETE FROM {table} WHERE id IN ({','.join('?' * len(chunk))})",
                              chunk)

    def highest_ids(self, tables) -> dict[str, int]:
        """The highest id in use in each of ``tables`` (0 when empty)."""
        return {table: self.conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
                for table in tables}
