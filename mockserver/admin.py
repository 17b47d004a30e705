"""The admin API under ``/_mock/``: JSON in, JSON out."""
from __future__ import annotations

import json

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from mockserver import __version__, outbox
from mockserver.store import SCHEMA_VERSION


def json_response(value, status: int = 200) -> Response:
    """A JSON response (errors are ``{"error": "..."}``)."""
    return Response(json.dumps(value, ensure_ascii=False, indent=2) + "\n", status=status,
                    content_type="application/json; charset=utf-8")


class ApiError(Exception):
    """A refused admin call: answered as ``{"error": message}`` with the status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _int_arg(request: Request, name: str) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiError(f"Query parameter {name!r} must be an integer, got {value!r}.")


def mail_json(row: dict) -> dict:
    """An outbox mail as the admin API shows it."""
    return {
        "id": row["id"], "kind": row["kind"], "tenant": f"mandator-{row['mandator_id']}",
        "mandatorId": row["mandator_id"], "to": row["to_addr"], "from": row["from_addr"],
        "fromName": row["from_name"], "subject": row["subject"], "html": row["html"],
        "text": row["text"], "created": row["created"], "newsletterId": row["newsletter_id"],
        "listId": row["list_id"], "links": row["links"],
    }


class AdminApi:
    """Routes and handlers of ``/_mock/``."""

    def __init__(self, server):
        """Serve the admin API of ``server`` (a MockServer)."""
        self.server = server

    def rules(self) -> list[Rule]:
        """The werkzeug routing rules of the admin API."""
        return [
            Rule("/_mock/health", endpoint="health", methods=["GET"]),
            Rule("/_mock/outbox", endpoint="outbox", methods=["GET"]),
            Rule("/_mock/outbox/<int:mail_id>", endpoint="mail", methods=["GET"]),
        ]

    def dispatch(self, name: str, request: Request, **args) -> Response:
        """Call the handler for a matched rule; ApiError becomes a JSON error."""
        try:
            return getattr(self, name)(request, **args)
        except ApiError as error:
            return json_response({"error": str(error)}, error.status)

    def health(self, request: Request) -> Response:
        """``GET /_mock/health``: ready, with the version and the store's schema version."""
        store = self.server.store
        return json_response({"status": "ok", "version": __version__,
                              "schemaVersion": store.schema_version()})

    def outbox(self, request: Request) -> Response:
        """``GET /_mock/outbox?to=&tenant=&kind=&since=&limit=``: captured mails, oldest first."""
        tenant = request.args.get("tenant")
        mandator_id = None
        if tenant:
            try:
                mandator_id = int(tenant.removeprefix("mandator-"))
            except ValueError:
                raise ApiError(f"Unknown tenant {tenant!r}; use mandator-<id>.")
        kind = request.args.get("kind")
        if kind and kind not in outbox.KINDS:
            raise ApiError(f"Unknown kind {kind!r}; one of {', '.join(outbox.KINDS)}.")
        rows = outbox.mails(self.server.store, to=request.args.get("to"),
                            mandator_id=mandator_id, kind=kind,
                            since=request.args.get("since"), limit=_int_arg(request, "limit"))
        return json_response({"mails": [mail_json(r) for r in rows], "count": len(rows)})

    def mail(self, request: Request, mail_id: int) -> Response:
        """``GET /_mock/outbox/ID``: one mail."""
        row = outbox.mail(self.server.store, mail_id)
        if row is None:
            raise ApiError(f"No mail with id {mail_id}.", 404)
        return json_response(mail_json(row))
