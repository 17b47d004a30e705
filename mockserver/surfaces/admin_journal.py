"""The admin API of the journal (``/_mock/journal``) and fault injection (``/_mock/faults``)."""
from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from mockserver.machinery import faults, journal, tenants
from mockserver.surfaces.admin import (AdminApi, ApiError, _choice_arg, _stamp_arg, json_response,
                              json_value, limit_arg)


class JournalFaultsApi(AdminApi):
    """Routes and handlers of the journal and the fault rules."""

    def rules(self) -> list[Rule]:
        """The werkzeug routing rules of these endpoints."""
        return [
            Rule("/_mock/journal", endpoint="journal", methods=["GET", "DELETE"]),
            Rule("/_mock/journal/<id:entry_id>", endpoint="journal_entry", methods=["GET"]),
            Rule("/_mock/faults", endpoint="faults", methods=["GET", "PUT", "POST", "DELETE"]),
            Rule("/_mock/faults/<id:rule_id>", endpoint="fault", methods=["GET", "DELETE"]),
        ]

    @property
    def names(self) -> frozenset:
        """The endpoint names this API answers."""
        return frozenset({"journal", "journal_entry", "faults", "fault"})

    def journal(self, request: Request) -> Response:
        """``GET /_mock/journal?operation=&tenant=&dialect=&since=&limit=``: SOAP exchanges,
        newest last (default limit 100); ``DELETE /_mock/journal`` empties it."""
        server = self.server
        tenant = request.args.get("tenant") or None
        names = tenants.require_names(server.store, tenant) if tenant else None
        server.journal.settle()
        if request.method == "DELETE":
            return json_response({"deleted": server.journal.store.journal_clear(names)})
        limit = limit_arg(request, 100)
        rows = server.journal.store.journal(
            operation=request.args.get("operation") or None, tenants=names,
            dialect=_choice_arg(request, "dialect", faults.DIALECTS),
            since=_stamp_arg(request, "since"), limit=limit)
        return json_response({"exchanges": [journal.row_json(r) for r in rows],
                              "count": len(rows), "enabled": server.journal.enabled})

    def journal_entry(self, request: Request, entry_id: int) -> Response:
        """``GET /_mock/journal/ID``: one exchange, as the journal lists it."""
        server = self.server
        row = server.journal.store.journal_entry(entry_id)
        if row is None:  # perhaps still in a worker's buffer
            server.journal.settle()
            row = server.journal.store.journal_entry(entry_id)
        if row is None:
            raise ApiError(f"No journal entry {entry_id} (the journal keeps the newest "
                           f"{server.journal.size}).", 404)
        return json_response(journal.row_json(row))

    def _describe(self) -> dict:
        return faults.describe(self.server.store)

    def faults(self, request: Request) -> Response:
        """``GET|PUT|POST|DELETE /_mock/faults``: list, replace, add one, remove all rules."""
        store = self.server.store
        if request.method == "GET":
            return json_response(self._describe())
        if request.method == "DELETE":
            return json_response({"deleted": store.delete_fault_rules()})
        body = _body(request)
        try:
            if request.method == "POST":
                rule_id = faults.add(store, [body], operations=self.server.operation_names)[0]
                row = next(r for r in store.fault_rules() if r["id"] == rule_id)
                return json_response(faults.rule_json(row), 201)
            if isinstance(body, list):
                body = {"rules": body}
            if not isinstance(body, dict):
                raise ApiError("PUT /_mock/faults takes {\"rules\": [...], \"maintenance\": "
                               "true|false|\"fault string\"}.")
            unknown = set(body) - {"rules", "maintenance"}
            if unknown:
                raise ApiError(f"Unknown keys {', '.join(sorted(unknown))}; PUT /_mock/faults "
                               f"takes rules and maintenance.")
            rules = body.get("rules")
            if rules is not None and not isinstance(rules, list):
                raise ApiError("'rules' must be a list of fault rules.")
            maintenance = body.get("maintenance")
            if maintenance is not None and not isinstance(maintenance, (bool, str)):
                raise ApiError("'maintenance' must be true, false or a fault string.")
            if rules is not None:
                faults.add(store, rules, replace=True, operations=self.server.operation_names)
            if maintenance is not None:
                store.set_maintenance(
                    None if maintenance is False else
                    (maintenance if isinstance(maintenance, str) and maintenance
                     else faults.MAINTENANCE))
        except faults.RuleError as error:
            if error.operations is not None:  # every operation the rule may have meant
                return json_response({"error": str(error), "operations": error.operations}, 400)
            raise ApiError(str(error))
        return json_response(self._describe())

    def fault(self, request: Request, rule_id: int) -> Response:
        """``GET|DELETE /_mock/faults/ID``: one rule, or remove it."""
        store = self.server.store
        if request.method == "DELETE":
            if not store.delete_fault_rules(rule_id):
                raise ApiError(f"No fault rule with id {rule_id}.", 404)
            return json_response({"deleted": 1})
        row = next((r for r in store.fault_rules() if r["id"] == rule_id), None)
        if row is None:
            raise ApiError(f"No fault rule with id {rule_id}.", 404)
        return json_response(faults.rule_json(row))


def _body(request: Request):
    if not request.get_data():
        raise ApiError("Send a JSON body.")
    return json_value(request.get_data())
