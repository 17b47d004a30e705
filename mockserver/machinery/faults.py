"""Fault injection: rules in the store that make matching SOAP calls fail on purpose.

A rule matches a dialect, an operation (case-insensitive) and a tenant (``mandator-N``,
``account-N``, or a tenant's name for both; each optional),
applies to the next ``times`` matching calls (counted across workers by one atomic
UPDATE) or to each with a ``probability`` drawn from a generator seeded by the rule's
``seed`` and the call's number (without one: the store's meta ``seed``, the rule's id and
the call's number), so the same calls fail on every run. It answers with a vendor
``fault``, an HTTP ``status``, a ``delayMs``, a ``drop``ped connection or a ``truncate``d
body. ``maintenance`` answers every call with a SOAP fault until lifted.
"""
from __future__ import annotations

import difflib
import json
import random

from lxml import etree

from mockserver.machinery import tenants

DIALECTS = ("backclick", "copernica")
MAINTENANCE = "The service is down for maintenance."
MAX_TIMES = 2**63 - 1  # the largest count SQLite stores
_KEYS = {"dialect", "operation", "tenant", "times", "probability", "seed", "fault",
         "faultcode", "status", "body", "delayMs", "drop", "truncate"}


LISTED_AT_MOST = 60  # operations an unknown operation's message names (all are in .operations)


class RuleError(ValueError):
    """A fault rule that cannot be used (the message says why; ``operations``, for an
    operation no dialect has, every operation of the dialects it may mean)."""

    def __init__(self, message: str, operations: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.operations = operations


def validate(rule) -> dict:
    """A rule as given in the admin API, checked; the stored form."""
    if not isinstance(rule, dict):
        raise RuleError("A fault rule must be a JSON object.")
    unknown = set(rule) - _KEYS - {"id", "remaining", "calls"}
    if unknown:
        raise RuleError(f"Unknown fault rule keys: {', '.join(sorted(unknown))}; known: "
                        f"{', '.join(sorted(_KEYS))}.")
    rule = {k: v for k, v in rule.items() if k in _KEYS and v is not None}
    if rule.get("dialect") not in (None, *DIALECTS):
        raise RuleError(f"'dialect' must be one of {', '.join(DIALECTS)}.")
    for name in ("operation", "tenant", "fault", "faultcode", "body"):
        if name in rule and not isinstance(rule[name], str):
            raise RuleError(f"'{name}' must be a string.")
    for name in ("drop", "truncate"):
        if name in rule and not isinstance(rule[name], bool):
            raise RuleError(f"'{name}' must be true or false.")
    for name, low, high in (("times", 1, MAX_TIMES), ("status", 100, 599),
                            ("delayMs", 0, 600_000)):
        value = rule.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or
                                  value < low or (high is not None and value > high)):
            raise RuleError(f"'{name}' must be an integer from {low} to {high}.")
    probability = rule.get("probability")
    if probability is not None:
        if not isinstance(probability, (int, float)) or isinstance(probability, bool) or \
                not 0 <= probability <= 1:
            raise RuleError("'probability' must be a number from 0 to 1.")
        if "times" in rule:
            raise RuleError("Give 'times' or 'probability', not both.")
    if "seed" in rule and not isinstance(rule["seed"], (int, str)):
        raise RuleError("'seed' must be an integer or a string.")
    if not any(k in rule for k in ("fault", "status", "delayMs", "drop", "truncate")):
        raise RuleError("A fault rule needs an effect: fault, status, delayMs, drop or "
                        "truncate.")
    if sum(bool(rule.get(k)) for k in ("fault", "status", "drop", "truncate")) > 1:
        raise RuleError("Give one of fault, status, drop and truncate (delayMs goes with any).")
    return rule


def rule_json(row: dict) -> dict:
    """A stored rule as the admin API shows it."""
    rule = {"id": row["id"], **json.loads(row["rule"])}
    if row["remaining"] is not None:
        rule["remaining"] = row["remaining"]
    rule["calls"] = row["calls"]
    return rule


def check_operation(rule: dict, operations) -> None:
    """Refuse a rule whose ``operation`` its dialect (either, without one) does not have:
    it could never fire. ``operations(dialect)`` names the operations of the dialect's WSDL."""
    name = rule.get("operation")
    if not name:
        return
    dialects = [rule["dialect"]] if rule.get("dialect") else list(DIALECTS)
    known = {dialect: sorted(operations(dialect)) for dialect in dialects}
    if any(name.lower() == known_name.lower() for names in known.values()
           for known_name in names):
        return
    close = difflib.get_close_matches(name, [n for names in known.values() for n in names],
                                      n=3, cutoff=0.6)
    guess = f" Did you mean {_either(close)}?" if close else ""
    listed = "; ".join(
        f"{dialect} has {', '.join(names)}" if len(names) <= LISTED_AT_MOST else
        f"{dialect} has {len(names)}, {names[0]} to {names[-1]}"
        for dialect, names in known.items())
    raise RuleError(f"No operation {name!r} in {' or '.join(dialects)}: the rule could never "
                    f"fire.{guess} The operations of each WSDL (in any case): {listed}.", known)


def _either(names: list[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def add(store, rules: list, replace: bool = False, operations=None) -> list[int]:
    """Check and store rules; ``replace`` drops every other rule first. ``operations``
    (dialect -> operation names, see check_operation) refuses operations no dialect has."""
    checked = [validate(r) for r in rules]
    for rule in checked:
        if operations is not None:
            check_operation(rule, operations)
        if "tenant" in rule:
            try:
                tenants.require_names(store, rule["tenant"])
            except tenants.TenantError as error:
                raise RuleError(str(error)) from None
    return store.add_fault_rules([(json.dumps(r), r.get("times")) for r in checked], replace)


def maintenance(store) -> str | None:
    """The maintenance fault string while maintenance is on, else None."""
    return store.meta_get("maintenance")


def describe(store) -> dict:
    """Maintenance and every rule, as the admin API shows them."""
    message = maintenance(store)
    return {"maintenance": message is not None, "maintenanceFault": message,
            "rules": [rule_json(r) for r in store.fault_rules()]}


class Request:
    """What a rule matches on, worked out from a SOAP request only when rules exist."""

    def __init__(self, dialect: str, body: bytes, tenant_of):
        """``tenant_of(root)`` names the request's tenant (or None) from its parsed envelope."""
        self.dialect, self._body, self._tenant_of = dialect, body, tenant_of
        self._parsed = False
        self._operation = self._tenant = self._root = None

    def _parse(self) -> None:
        if self._parsed:
            return
        self._parsed = True
        try:
            self._root = etree.fromstring(self._body, etree.XMLParser(
                resolve_entities=False, no_network=True, huge_tree=True))
        except (etree.XMLSyntaxError, ValueError):
            return
        for child in self._root:
            if isinstance(child.tag, str) and etree.QName(child).localname == "Body":
                first = next((c for c in child if isinstance(c.tag, str)), None)
                if first is not None:
                    self._operation = etree.QName(first).localname

    @property
    def operation(self) -> str | None:
        """The operation the body names, as sent."""
        self._parse()
        return self._operation

    @property
    def tenant(self) -> str | None:
        """``mandator-<id>`` / ``account-<id>``, or None when it cannot be told."""
        self._parse()
        if self._tenant is None and self._root is not None:
            try:
                self._tenant = self._tenant_of(self._root)
            except Exception:  # noqa: BLE001 - an unknown tenant matches no tenant rule
                self._tenant = None
        return self._tenant


def decide(store, request: Request) -> dict | None:
    """The effect to apply to this call (a rule with its ``id``), or None for a normal answer.

    The first matching rule that fires wins; a counted rule only fires while it has calls
    left, and a probabilistic one when its seeded draw for this call says so.
    """
    for row in store.fault_rules():
        rule = json.loads(row["rule"])
        if rule.get("dialect") and rule["dialect"] != request.dialect:
            continue
        if rule.get("operation") and (request.operation or "").lower() != \
                rule["operation"].lower():
            continue
        if rule.get("tenant") and rule["tenant"] != request.tenant and \
                request.tenant not in tenants.filter_names(store, rule["tenant"]):
            continue
        if "probability" in rule:
            number = store.count_fault_call(row["id"])
            if number is None:
                continue
            # A rule's own seed alone decides which of its calls fail, whatever rules came
            # before it; without one, the store's seed and the rule's id do.
            draw = f"{rule['seed']}:{number}" if "seed" in rule else \
                f"{store.meta_get('seed') or 0}:{row['id']}:{number}"
            if random.Random(draw).random() >= rule["probability"]:
                continue
        elif row["remaining"] is not None:
            if not store.take_fault(row["id"]):
                continue
            store.count_fault_call(row["id"])
        else:
            store.count_fault_call(row["id"])
        return {"id": row["id"], **rule}
    return None
