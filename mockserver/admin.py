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
            Rule("/_mock/reset", endpoint="reset", methods=["POST"]),
            Rule("/_mock/seed", endpoint="seed", methods=["POST"]),
            Rule("/_mock/export", endpoint="export", methods=["GET"]),
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

    def reset(self, request: Request) -> Response:
        """``POST /_mock/reset``: empty the store, then re-apply the fixtures the server started with."""
        from mockserver import fixtures  # YAML and validation: only when used
        paths = list(self.server.settings.fixtures)
        store = self.server.store
        try:
            document = fixtures.load_paths(paths) if paths else None
            with store.transaction():
                store.wipe()
                counts = fixtures.seed(store, document) if document else {}
        except fixtures.FixtureError as error:
            raise ApiError(f"Cannot re-apply the fixtures; the store is unchanged: {error}", 500)
        return json_response({"status": "reset", "fixtures": paths, "seeded": counts})

    def seed(self, request: Request) -> Response:
        """``POST /_mock/seed[?replace=true]``: add a fixture document (JSON or YAML body) to the store."""
        from mockserver import fixtures  # YAML and validation: only when used
        limit = getattr(self.server.settings, "max_body", None)
        if limit and (request.content_length or 0) > limit:
            raise ApiError(f"Request body too large: more than {limit} bytes.", 413)
        replace = _flag_arg(request, "replace")
        try:
            text = request.get_data().decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(f"{fixtures.REQUEST_BODY}: not UTF-8 text")
        if not text.strip():
            raise ApiError(f"{fixtures.REQUEST_BODY}: empty; send a fixture document "
                           f"(JSON or YAML) as the body")
        mimetype = request.mimetype or ""
        as_json = True if "json" in mimetype else (False if "yaml" in mimetype else None)
        store = self.server.store
        try:
            document = fixtures.parse_text(text, fixtures.REQUEST_BODY, as_json)
            with store.transaction():
                if replace:
                    store.wipe()
                counts = fixtures.seed(store, document, fixtures.REQUEST_BODY)
        except fixtures.FixtureConflict as error:
            raise ApiError(str(error), 409)
        except fixtures.FixtureError as error:
            raise ApiError(str(error), 400)
        return json_response({"status": "seeded", "replaced": replace, "seeded": counts})

    def export(self, request: Request) -> Response:
        """``GET /_mock/export[?format=yaml]``: the whole store as a fixture document."""
        from mockserver import fixtures  # YAML and validation: only when used
        document = fixtures.export(self.server.store)
        fmt = request.args.get("format", "json")
        if fmt == "yaml":
            return Response(fixtures.dumps(document), content_type="application/yaml; charset=utf-8")
        if fmt != "json":
            raise ApiError(f"Unknown format {fmt!r}; use json or yaml.")
        return json_response(document)


def _flag_arg(request: Request, name: str) -> bool:
    value = (request.args.get(name) or "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ApiError(f"Query parameter {name!r} must be true or false, got {value!r}.")
