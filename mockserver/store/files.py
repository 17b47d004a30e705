"""The store as files: backup, restore, dump and load of the data tables, wipe, and the
scratch folder a ``:memory:`` store lives in."""
from __future__ import annotations

import os
import shutil
import sqlite3

from mockserver.store.meta import KEPT_META
from mockserver.store.rows import query_rows


class StoreFiles:
    """The Store's whole-file operations (a part of ``Store``; the tables come from its schema)."""

    def wipe(self) -> None:
        """Delete every row of every data table (the schema stays)."""
        with self.transaction() as conn:
            for table in reversed(self.schema.tables + self.schema.transient):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM sqlite_sequence")
            conn.execute("DELETE FROM meta WHERE key NOT IN ('schema_version', 'smtp_relay', "
                         "'callback_signing_key')")

    def dump(self) -> dict[str, list[dict]]:
        """Every row of every data table, in primary-key order."""
        return {table: list(query_rows(self.conn, f"SELECT * FROM {table} ORDER BY "
                                       f"{self.schema.order(table)}"))
                for table in self.schema.tables}

    def load(self, tables: dict[str, list[dict]]) -> None:
        """Insert the rows of ``dump()``-shaped data (call inside a transaction)."""
        db = self.db
        for table in self.schema.tables:
            rows = tables.get(table) or []
            if rows:
                db[table].insert_all(rows, batch_size=2000)

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
        The meta keys ``keep_meta`` (relay, signing key) keep their live values; the
        transient tables (import locks) of the saved moment are emptied (no import of it is running now).
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
            for table in self.schema.transient:
                conn.execute(f"DELETE FROM {table}")


def remove_scratch(folder: str, owner: int) -> None:
    """Delete a ``:memory:`` store's folder, from the process that made it only (not a worker)."""
    if os.getpid() == owner:
        shutil.rmtree(folder, ignore_errors=True)


def scratch_dir() -> str | None:
    """The folder for ``:memory:`` stores: /dev/shm when it may be written, else the default."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
