"""Named snapshots of the whole store: files beside it, saved and restored with SQLite's backup API.

``<db>.snapshots/NAME.db`` holds a complete copy of the store as of one moment. A restore
copies it back into the live store in one write transaction on the destination, so every
worker's requests and background threads see the old or the new state, never a mix.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import time
import uuid

from mockserver.store import Store

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
SUFFIX = ".db"


class SnapshotError(Exception):
    """A refused snapshot call; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        """A refused snapshot call with the message and HTTP status to answer."""
        super().__init__(message)
        self.status = status


def folder(store: Store) -> str:
    """The folder that holds the store's snapshots (``<db>.snapshots``)."""
    return store.path + ".snapshots"


def _path(store: Store, name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name) or name in (".", ".."):
        raise SnapshotError(f"Invalid snapshot name {name!r}: 1 to 64 of A-Z a-z 0-9 . _ -")
    return os.path.join(folder(store), name + SUFFIX)


def _describe(path: str, name: str) -> dict:
    info = os.stat(path)
    created = dt.datetime.fromtimestamp(info.st_mtime, dt.timezone.utc)
    return {"name": name, "created": created.isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"), "size": info.st_size}


def save(store: Store, name: str) -> dict:
    """Save the whole store under ``name`` (replacing a snapshot of that name); its description."""
    path = _path(store, name)
    os.makedirs(folder(store), exist_ok=True)
    scratch = f"{path}.{uuid.uuid4().hex}.tmp"
    started = time.perf_counter()
    try:
        store.backup_to(scratch)
        os.replace(scratch, path)
    finally:
        if os.path.exists(scratch):
            os.remove(scratch)
    return dict(_describe(path, name), ms=round((time.perf_counter() - started) * 1000, 1))


def listing(store: Store) -> list[dict]:
    """Every snapshot (name, created, size in bytes), by name."""
    try:
        names = sorted(f[:-len(SUFFIX)] for f in os.listdir(folder(store))
                       if f.endswith(SUFFIX) and NAME.match(f[:-len(SUFFIX)]))
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        try:
            found.append(_describe(_path(store, name), name))
        except FileNotFoundError:  # deleted meanwhile
            pass
    return found


def restore(store: Store, name: str) -> dict:
    """Replace the store's contents by the snapshot ``name`` atomically; its description and time."""
    path = _path(store, name)
    if not os.path.exists(path):
        raise SnapshotError(f"No snapshot named {name!r}.", 404)
    version = Store.file_schema_version(path)
    latest = store.schema.version
    if not 0 < version <= latest:
        raise SnapshotError(f"Snapshot {name!r} has schema version {version}; this mockserver "
                            f"restores versions 1 to {latest}.", 409)
    started = time.perf_counter()
    store.restore_from(path)
    if version < latest:
        store.migrate()
    return dict(_describe(path, name), ms=round((time.perf_counter() - started) * 1000, 1))


def delete(store: Store, name: str) -> None:
    """Remove the snapshot ``name``."""
    try:
        os.remove(_path(store, name))
    except FileNotFoundError:
        raise SnapshotError(f"No snapshot named {name!r}.", 404)
