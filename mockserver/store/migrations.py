"""The store's schema as parts (the machinery's, each vendor's) and the migration runner.

A part holds its SQL steps by GLOBAL step number: step N of the schema is every part's step N,
run in part order, so a store file at any version 1..8 made before the split keeps working.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mockserver.store.unavailable import StoreUnavailable, unavailable

if TYPE_CHECKING:
    from mockserver.store.connection import Store


@dataclass(frozen=True)
class SchemaPart:
    """One owner's share of the schema: its SQL steps {global step number: SQL script}, its
    data tables in dependency order {table: ORDER BY columns} (dumped, loaded, wiped), and
    ``transient`` tables (wiped, and emptied by a restore, never dumped)."""

    name: str
    steps: dict[int, str]
    tables: dict[str, str]
    transient: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schema:
    """The whole schema: parts in order (the order of ``tables``, dumps and each step)."""

    parts: tuple[SchemaPart, ...]

    @property
    def version(self) -> int:
        """The highest step number of any part."""
        return max(number for part in self.parts for number in part.steps)

    @property
    def tables(self) -> list[str]:
        """Every data table in dependency order, as exported and restored."""
        return [table for part in self.parts for table in part.tables]

    @property
    def transient(self) -> list[str]:
        """The tables that hold state of the running server only (wiped, never dumped)."""
        return [table for part in self.parts for table in part.transient]

    def order(self, table: str) -> str:
        """The ORDER BY columns a dump of ``table`` uses (its primary key)."""
        for part in self.parts:
            if table in part.tables:
                return part.tables[table]
        raise KeyError(table)

    def statements(self, number: int) -> list[str]:
        """The SQL statements of step ``number``: each part's, in part order."""
        return [s.strip() for part in self.parts for s in part.steps.get(number, "").split(";")
                if s.strip()]

    def sql(self, number: int) -> str:
        """Step ``number`` as one SQL script (the statements of every part)."""
        return ";\n".join(self.statements(number))


def schema_version(store: "Store") -> int:
    """The schema version the store is at (0 for an empty file)."""
    if store.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
                          ).fetchone() is None:
        return 0
    row = store.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(store: "Store") -> int:
    """Apply the steps the store lacks; return the resulting version (StoreUnavailable, in
    one line, when the file cannot be opened or made)."""
    try:
        return _migrate(store)
    except sqlite3.Error as error:
        store.close()
        raise StoreUnavailable(unavailable(store.path, error)) from None


def _migrate(store: "Store") -> int:
    """Run the missing steps in one write transaction."""
    latest = store.schema.version
    with store.transaction() as conn:
        version = schema_version(store)
        if version > latest:
            raise RuntimeError(
                f"{store.path} has schema version {version}; this mockserver knows "
                f"only up to {latest}. Upgrade mockserver or use another --db.")
        for number in range(version + 1, latest + 1):
            for statement in store.schema.statements(number):
                conn.execute(statement)
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                         [str(number)])
        if version == latest:  # a write all the same: a read-only file fails here
            conn.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")
    return latest


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
