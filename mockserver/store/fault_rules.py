"""The fault_rules table: the fault-injection rules and their counts."""
from __future__ import annotations

from mockserver.store.rows import query_rows


class FaultRuleTable:
    """The Store's queries of ``fault_rules`` (a part of ``Store``)."""

    def fault_rules(self) -> list[dict]:
        """Every fault rule (id, rule JSON text, remaining count, calls seen), oldest first."""
        return list(query_rows(self.conn, "SELECT * FROM fault_rules ORDER BY id"))

    def add_fault_rules(self, rules: list[tuple[str, int | None]], replace: bool = False
                        ) -> list[int]:
        """Store rules given as (rule JSON text, remaining count); ``replace`` drops the
        others first. Returns the new ids."""
        with self.transaction() as conn:
            if replace:
                conn.execute("DELETE FROM fault_rules")
            return [conn.execute("INSERT INTO fault_rules (rule, remaining) VALUES (?, ?)",
                                 [rule, remaining]).lastrowid for rule, remaining in rules]

    def delete_fault_rules(self, rule_id: int | None = None) -> int:
        """Delete one fault rule (or all when ``rule_id`` is None); return how many."""
        with self.transaction() as conn:
            if rule_id is None:
                return conn.execute("DELETE FROM fault_rules").rowcount
            return conn.execute("DELETE FROM fault_rules WHERE id=?", [rule_id]).rowcount

    def delete_tenant_fault_rules(self, tenants: list[str]) -> int:
        """Delete the fault rules whose ``tenant`` is one of ``tenants``; return how many."""
        marks = ", ".join("?" * len(tenants))
        with self.transaction() as conn:
            return conn.execute(f"DELETE FROM fault_rules WHERE json_extract(rule, '$.tenant') "
                                f"IN ({marks})", tenants).rowcount

    def fault_state(self) -> tuple[str | None, bool]:
        """(maintenance fault string or None, whether any fault rule is stored): one query."""
        row = self.conn.execute(
            "SELECT (SELECT value FROM meta WHERE key='maintenance'), "
            "EXISTS (SELECT 1 FROM fault_rules)").fetchone()
        return row[0], bool(row[1])

    def take_fault(self, rule_id: int) -> bool:
        """Use up one of a counted rule's calls; False when none is left (atomic)."""
        with self.transaction() as conn:
            return conn.execute("UPDATE fault_rules SET remaining = remaining - 1 "
                                "WHERE id=? AND remaining > 0", [rule_id]).rowcount == 1

    def count_fault_call(self, rule_id: int) -> int | None:
        """Count one more matching call of a rule; its number (1, 2, ...), or None if gone."""
        with self.transaction() as conn:
            row = conn.execute("UPDATE fault_rules SET calls = calls + 1 WHERE id=? "
                               "RETURNING calls", [rule_id]).fetchone()
        return row[0] if row else None
