"""One SQLite connection per thread (made anew in a forked child), in WAL mode."""
from __future__ import annotations

import os
import sqlite3
import threading


def close_thread_connection(local: threading.local) -> None:
    """Close this thread's connection of ``local``, if it has one."""
    conn = getattr(local, "conn", None)
    if conn is not None:
        conn.close()
        local.conn = None
        if hasattr(local, "db"):
            local.db = None


def thread_connection(local: threading.local, path: str, setup,
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
