"""Reading and writing rows: queries as dicts, INSERT text, JSON values, chunks of ids."""
from __future__ import annotations

import json
import sqlite3
from typing import Iterable, Iterator


def insert_sql(table: str, names) -> str:
    """An INSERT of these columns into ``table``, with one ``?`` per column."""
    columns = ", ".join(f'"{n}"' for n in names)
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(names))})"


def sql_value(value):
    """A value as the store keeps it: dicts, lists and tuples as JSON, the rest as given."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return value


def query_rows(conn: sqlite3.Connection, sql: str, args=()) -> Iterator[dict]:
    """The rows a query gives, each as a dict by column name."""
    cursor = conn.execute(sql, args)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row))


def query_row(conn: sqlite3.Connection, sql: str, args: list) -> dict | None:
    """The first row a query gives, as a dict, or None."""
    return next(query_rows(conn, sql, args), None)


def chunks(items: list, size: int) -> Iterable[list]:
    """A list in slices of ``size`` (the last shorter)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def chunks_of(items: Iterable, size: int) -> Iterator[list]:
    """Any iterable in lists of ``size`` (the last shorter)."""
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
