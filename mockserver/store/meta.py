"""The meta table: schema version, seed and token counters, relay, maintenance, tenant ids."""
from __future__ import annotations

# Meta keys that describe the running server, not the data: a snapshot restore keeps them.
KEPT_META = ("smtp_relay", "callback_signing_key")


class MetaTable:
    """The Store's queries of ``meta`` (a part of ``Store``)."""

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

    def meta_items(self, prefix: str) -> dict[str, str]:
        """The meta entries whose key starts with ``prefix``, by key."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?)=? ORDER BY key",
            [len(prefix), prefix])}

    def set_maintenance(self, message: str | None) -> None:
        """Switch maintenance on with a fault string, or off with None (meta ``maintenance``)."""
        with self.transaction():
            if message is None:
                self.meta_delete("maintenance")
            else:
                self.meta_set("maintenance", message)
