"""The request journal's own SQLite file beside the store (``<db>.journal.db``)."""
from __future__ import annotations

import sqlite3
import threading

from mockserver.store.rows import query_row, query_rows
from mockserver.store.thread_connections import close_thread_connection, thread_connection


TOMBSTONE_SECONDS = 3600  # how long a deleted tenant's tombstone is kept (journal_forget)

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


class JournalStore:
    """The request journal: a SQLite file of its own, so recording exchanges never takes
    the store's write lock (nor grows its WAL); written without fsync, it is a log."""

    def __init__(self, path: str):
        """Open (and create) the journal file at ``path``."""
        self.path = path
        self._local = threading.local()

    def close(self) -> None:
        """Close this thread's connection."""
        close_thread_connection(self._local)

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit), the table made on first use.

        A new file is made with incremental auto-vacuum, so deleting entries can give their
        pages back; deleted rows are not overwritten (``secure_delete=FAST``: trimming the
        oldest entry does not write its pages again), and the WAL is cut back to 4 MiB after
        each checkpoint instead of staying at its largest size.
        """
        return thread_connection(self._local, self.path, (
            "PRAGMA synchronous=OFF", "PRAGMA cache_size=-512", "PRAGMA secure_delete=FAST",
            f"PRAGMA journal_size_limit={4 * 1024 * 1024}", """
            CREATE TABLE IF NOT EXISTS journal (
                id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL,
                dialect TEXT NOT NULL, operation TEXT, tenant TEXT,
                caller TEXT NOT NULL DEFAULT '', authorization TEXT, cookie TEXT,
                status INTEGER NOT NULL, injected TEXT, duration_ms REAL NOT NULL,
                request BLOB NOT NULL, response BLOB NOT NULL)""", _journal_added_columns,
            "CREATE INDEX IF NOT EXISTS journal_in_call_order ON journal (real, id)",
            # tombstones: a deleted tenant's name and when it was deleted (Unix time)
            "CREATE TABLE IF NOT EXISTS gone (tenant TEXT PRIMARY KEY, real REAL NOT NULL)"),
            first=("PRAGMA auto_vacuum=INCREMENTAL",))

    JOURNAL_COLUMNS = ("time", "dialect", "operation", "tenant", "caller", "authorization",
                       "cookie", "status", "injected", "duration_ms", "request", "response",
                       "real", "request_size", "response_size")

    def journal_append(self, rows: list[tuple], cap: int) -> int:
        """Add journal rows (``JOURNAL_COLUMNS`` order) but those of a tenant deleted after
        they were answered (``journal_forget``); keep only the newest ``cap``; how many were
        added."""
        marks = ", ".join("?" * len(self.JOURNAL_COLUMNS))
        tenant, real = self.JOURNAL_COLUMNS.index("tenant"), self.JOURNAL_COLUMNS.index("real")
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            named = list({row[tenant] for row in rows if row[tenant] is not None})
            gone = dict(conn.execute(
                f"SELECT tenant, real FROM gone WHERE tenant IN ({', '.join('?' * len(named))})",
                named).fetchall()) if named else {}
            if gone:  # a late row of a deleted tenant, from another worker's buffer
                rows = [row for row in rows if row[real] > gone.get(row[tenant], -1.0)]
            conn.executemany(f"INSERT INTO journal ({', '.join(self.JOURNAL_COLUMNS)}) "
                             f"VALUES ({marks})", rows)
            conn.execute("DELETE FROM journal WHERE id <= (SELECT MAX(id) FROM journal) - ?",
                         [cap])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return len(rows)

    def journal_forget(self, tenants: list[str], real: float) -> int:
        """Delete the journal rows of deleted ``tenants`` and leave a tombstone for each, so
        that their rows answered up to ``real`` (Unix time) that another worker writes later
        are never added; return how many rows were deleted.

        The tombstone is the tenant's journal name and the time, not the name alone: a tenant
        made later with that name (or, after a reset, that id) keeps its own exchanges."""
        conn = self.conn
        marks = ", ".join("?" * len(tenants))
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT INTO gone (tenant, real) VALUES (?, ?) ON CONFLICT (tenant) "
                             "DO UPDATE SET real = max(real, excluded.real)",
                             [(name, real) for name in tenants])
            # every worker writes its buffer within a fraction of a second: old ones can go
            conn.execute("DELETE FROM gone WHERE real < ?", [real - TOMBSTONE_SECONDS])
            deleted = conn.execute(f"DELETE FROM journal WHERE tenant IN ({marks})",
                                   tenants).rowcount if tenants else 0
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if deleted:
            self._give_back(conn)
        return deleted

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
        rows = list(query_rows(self.conn, sql + " ORDER BY real DESC, id DESC LIMIT ?",
                           [*args, limit]))
        rows.reverse()
        return rows

    def journal_entry(self, entry_id: int) -> dict | None:
        """One journal row by id, or None."""
        return query_row(self.conn, "SELECT * FROM journal WHERE id=?", [entry_id])

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
