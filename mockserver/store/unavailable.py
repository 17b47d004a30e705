"""Why a store file cannot be opened or made: one line that ends with the way out."""
from __future__ import annotations

import os
import sqlite3


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
