"""The SQLite store: connections, transactions, the migration runner, files, the journal's file
and the machinery's own tables (meta, fault rules, outbox).

One file on disk shared by all worker processes (WAL mode); each thread has its own connection;
writes happen inside ``Store.transaction()``. The schema comes in parts (``SchemaPart``: the
machinery's, ``mockserver.store.schema.MACHINERY``, and each vendor's), put together as a
``Schema`` and handed to ``Store(path, schema)``; ``mockserver.vendors.store`` does that.

    connection.py          Store: connections, transaction/reading, generic row operations
    migrations.py          SchemaPart, Schema, schema_version, migrate, file_schema_version
    files.py               backup/restore, dump/load, wipe, the ``:memory:`` scratch folder
    meta.py, fault_rules.py, outbox.py   the machinery's tables' queries (parts of Store)
    schema.py              the machinery's SchemaPart
    journal_file.py        JournalStore, the request journal's own file
    rows.py, thread_connections.py, unavailable.py   what the others share
"""
from mockserver.store.connection import Store
from mockserver.store.journal_file import JournalStore
from mockserver.store.meta import KEPT_META
from mockserver.store.migrations import Schema, SchemaPart, file_schema_version
from mockserver.store.outbox import NEWSLETTER_MAIL_COLUMNS
from mockserver.store.unavailable import STORE_WAY_OUT, StoreUnavailable, unavailable

__all__ = ["Store", "JournalStore", "KEPT_META", "Schema", "SchemaPart", "file_schema_version",
           "NEWSLETTER_MAIL_COLUMNS", "STORE_WAY_OUT", "StoreUnavailable", "unavailable"]
