"""The admin API under ``/_mock/``: JSON in, JSON out."""
from __future__ import annotations

import inspect
import json
import math
import re
import threading

from werkzeug.routing import IntegerConverter, Rule
from werkzeug.wrappers import Request, Response

import time

from mockserver import __version__
from mockserver.copernica import callback_delivery, callback_signing
from mockserver.machinery import clock, outbox
from mockserver.vendors import background, tenants
from mockserver.vendors.mail import CONTENT_SOURCES, EVENT_REACTIONS
from mockserver.surfaces import gate
from mockserver.machinery.errors import NotFound, VendorError


STOPPING = threading.Event()  # set when the server stops: long polls end at once
OPENAPI_PATH = "/_mock/openapi.json"


def json_response(value, status: int = 200) -> Response:
    """A JSON response (errors are ``{"error": "..."}``)."""
    return Response(json.dumps(value, ensure_ascii=False, indent=2) + "\n", status=status,
                    content_type="application/json; charset=utf-8")


class ApiError(Exception):
    """A refused admin call: answered as ``{"error": message}`` with the status, and the
    ``problems`` of a refused fixture document one by one."""

    def __init__(self, message: str, status: int = 400, problems: list[str] | None = None):
        super().__init__(message)
        self.status, self.problems = status, problems


MAX_ID = 2**63 - 1  # the largest integer SQLite stores


def _int_arg(request: Request, name: str) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise ApiError(f"Query parameter {name!r} must be an integer, got {value!r}.")
    if abs(number) > MAX_ID:
        raise ApiError(f"Query parameter {name!r} is beyond what the store holds "
                       f"({MAX_ID}), got {value!r}.")
    return number


def limit_arg(request: Request, default: int) -> int:
    """The ``limit`` query parameter: ``default`` when absent or 0; 400 when negative."""
    limit = _int_arg(request, "limit")
    if limit is not None and limit < 0:
        raise ApiError("Query parameter 'limit' must be 0 (the default) or more.")
    return limit or default


def mail_json(store, row: dict) -> dict:
    """An outbox mail as the admin API shows it: rendered as its recipient gets it."""
    content = outbox.render(store, row, sources=CONTENT_SOURCES)
    links = dict(row["links"])
    if row["token"]:
        links.update(unsubscribe=outbox.unsubscribe_url(row))
        if row["kind"] in outbox.TRACKED_KINDS:
            links.update(openPixel=outbox.open_pixel_url(row),
                         tracked=[outbox.click_url(row, i)
                                  for i in range(len(outbox.links(store, row, CONTENT_SOURCES)))],
                         original=outbox.links(store, row, CONTENT_SOURCES))
    return {
        "id": row["id"], "kind": row["kind"], "tenant": f"mandator-{row['mandator_id']}",
        "mandatorId": row["mandator_id"], "to": row["to_addr"], "from": row["from_addr"],
        "fromName": row["from_name"], "replyTo": row["reply_to"], "subject": content["subject"],
        "html": content["html"], "text": content["text"], "created": row["created"],
        "newsletterId": row["newsletter_id"], "listId": row["list_id"],
        "channelId": row["channel_id"], "campaignId": row["campaign_id"], "links": links,
        "attachments": [{"name": a["name"], "contentType": a["content_type"],
                         "size": len(a["data"])} for a in store.attachments(row["id"])],
        "events": store.events(row["id"]),
        "relay": {"state": row["relay_state"], "error": row["relay_error"]},
    }


def _tenant_arg(store, request: Request, kind: str) -> int | None:
    """The ``tenant`` query parameter (``mandator-1``, ``account-1``, ``1`` or the name of a
    tenant made by ``POST /_mock/tenants``) as a mandator or account id, or None."""
    tenant = request.args.get("tenant")
    if not tenant:
        return None
    if tenant.isascii() and tenant.isdigit():
        return _int_arg(request, "tenant")
    found = tenants.resolve(store, tenant, kind)
    if found is None:
        raise ApiError(f"Unknown tenant {tenant!r}; use {kind}-<id> or a tenant's name.")
    return found


def outbox_filters(request: Request) -> dict:
    """The outbox filters of a query string but the tenant (``to``, ``kind``, ``since``,
    ``subject``, ``newsletter``), checked, as ``outbox.mails`` takes them."""
    return {"to": request.args.get("to") or None,
            "kind": _choice_arg(request, "kind", outbox.KINDS),
            "since": _stamp_arg(request, "since"),
            "subject": request.args.get("subject") or None,
            "newsletter_id": _int_arg(request, "newsletter")}


def _choice_arg(request: Request, name: str, choices) -> str | None:
    """A query parameter that must be one of ``choices`` (None when absent)."""
    value = request.args.get(name) or None
    if value and value not in choices:
        raise ApiError(f"Unknown {name} {value!r}; one of {', '.join(choices)}.")
    return value


def _stamp_arg(request: Request, name: str) -> str | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return clock.stamp(clock.parse_stamp(value))
    except (ValueError, OverflowError):  # OverflowError: beyond year 9999 in UTC
        raise ApiError(f"Query parameter {name!r} must be an ISO 8601 time, got {value!r}.")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def json_value(data: bytes):
    """A request body parsed as JSON (RFC 8259: no NaN or Infinity); ApiError if it is not."""
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except ValueError as error:
        raise ApiError(f"The request body is not JSON: {error}.")


def _json_body(request: Request) -> dict:
    if not request.get_data():
        return {}
    body = json_value(request.get_data())
    if not isinstance(body, dict):
        raise ApiError("The request body must be a JSON object.")
    return body


def route_path(rule: str) -> str:
    """A werkzeug rule's path as the index shows it: ``/_mock/outbox/{mail_id}``."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def summary(handler) -> str:
    """The first paragraph of a handler's docstring on one line, without reST quoting."""
    text = inspect.getdoc(handler) or ""
    return " ".join(text.split("\n\n", 1)[0].split()).replace("``", "")


class IdConverter(IntegerConverter):
    """``<id:name>`` in a route: a row id, at most what SQLite stores (2**63 - 1); a larger
    number matches no route and is answered 404."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, max=MAX_ID)


CONVERTERS = {"id": IdConverter}  # for every Map of the admin API, the UI and vendor links


class AdminApi:
    """Routes and handlers of ``/_mock/``."""

    def __init__(self, server):
        """Serve the admin API of ``server`` (a MockServer)."""
        self.server = server

    def rules(self) -> list[Rule]:
        """The werkzeug routing rules of the admin API."""
        return [
            Rule("/_mock/", endpoint="index", methods=["GET"]),
            Rule("/_mock/health", endpoint="health", methods=["GET"]),
            Rule("/_mock/openapi.json", endpoint="openapi", methods=["GET"]),
            Rule("/_mock/outbox", endpoint="outbox", methods=["GET"]),
            Rule("/_mock/outbox/<id:mail_id>", endpoint="mail", methods=["GET"]),
            Rule("/_mock/outbox/<id:mail_id>.eml", endpoint="eml", methods=["GET"]),
            Rule("/_mock/outbox/<id:mail_id>/events", endpoint="event", methods=["POST"]),
            Rule("/_mock/outbox/wait", endpoint="wait", methods=["GET"]),
            Rule("/_mock/clock", endpoint="clock", methods=["GET", "PUT", "DELETE"]),
            Rule("/_mock/clock/advance", endpoint="advance", methods=["POST"]),
            Rule("/_mock/reset", endpoint="reset", methods=["POST"]),
            Rule("/_mock/seed", endpoint="seed", methods=["POST"]),
            Rule("/_mock/export", endpoint="export", methods=["GET"]),
            Rule("/_mock/callbacks/deliveries", endpoint="callback_deliveries", methods=["GET"]),
            Rule("/_mock/callbacks/flush", endpoint="callback_flush", methods=["POST"]),
            Rule("/_mock/callbacks/key.pem", endpoint="callback_key", methods=["GET"]),
            Rule("/_mock/snapshots", endpoint="snapshots", methods=["GET"]),
            Rule("/_mock/snapshots/<snapshot>", endpoint="snapshot", methods=["POST", "DELETE"]),
            Rule("/_mock/snapshots/<snapshot>/restore", endpoint="snapshot_restore",
                 methods=["POST"]),
            Rule("/_mock/tenants", endpoint="tenants", methods=["GET", "POST"]),
            Rule("/_mock/tenants/<tenant>", endpoint="tenant", methods=["GET", "DELETE"]),
        ]

    def dispatch(self, name: str, request: Request, **args) -> Response:
        """Call the handler for a matched rule; ApiError becomes a JSON error."""
        try:
            return getattr(self, name)(request, **args)
        except ApiError as error:
            body = {"error": str(error)}
            if error.problems is not None:
                body["problems"] = error.problems
            return json_response(body, error.status)
        except NotFound as error:
            return json_response({"error": str(error)}, 404)
        except VendorError as error:
            return json_response({"error": str(error)}, 400)
        except tenants.TenantError as error:
            return json_response({"error": str(error)}, error.status)

    def index(self, request: Request) -> Response:
        """``GET /_mock/``: every route of the admin API (methods, path, what it does)."""
        routes = [route for rule in self.server.routes.iter_rules()
                  if (route := self.server.route_json(rule)) is not None]
        found = {route["path"] for route in routes}
        links = {"ui": gate.UI_PATH + "/", "health": "/_mock/health"}
        if OPENAPI_PATH in found:  # served once the OpenAPI document is part of the mock
            links["openapi"] = OPENAPI_PATH
        return json_response({"name": "mockserver admin API", "version": __version__,
                              "links": links, "routes": routes})

    def health(self, request: Request) -> Response:
        """``GET /_mock/health``: ready, with the version and the store's schema version."""
        store = self.server.store
        return json_response({"status": "ok", "version": __version__,
                              "schemaVersion": store.schema_version()})

    def openapi(self, request: Request) -> Response:
        """``GET /_mock/openapi.json``: the OpenAPI 3.1 document of this API."""
        from mockserver.surfaces import openapi  # YAML: only when asked for
        return json_response(openapi.document(request.host_url))

    def _filters(self, request: Request) -> dict:
        """The outbox filters of a query string, checked."""
        return {**outbox_filters(request),
                "mandator_id": _tenant_arg(self.server.store, request, "mandator")}

    def outbox(self, request: Request) -> Response:
        """``GET /_mock/outbox?to=&tenant=&kind=&since=&subject=&newsletter=&limit=``: mails,
        oldest first (at most ``limit``, default 1000)."""
        store = self.server.store
        rows = outbox.mails(store, limit=limit_arg(request, 1000),
                            **self._filters(request))
        return json_response({"mails": [mail_json(store, r) for r in rows], "count": len(rows)})

    def _row(self, mail_id: int) -> dict:
        row = outbox.mail(self.server.store, mail_id)
        if row is None:
            raise ApiError(f"No mail with id {mail_id}.", 404)
        return row

    def mail(self, request: Request, mail_id: int) -> Response:
        """``GET /_mock/outbox/ID``: one mail, rendered, with its attachments and events."""
        return json_response(mail_json(self.server.store, self._row(mail_id)))

    def eml(self, request: Request, mail_id: int) -> Response:
        """``GET /_mock/outbox/ID.eml``: the mail as RFC 5322 message bytes."""
        return Response(outbox.as_eml(self.server.store, self._row(mail_id), CONTENT_SOURCES),
                        content_type="message/rfc822")

    def wait(self, request: Request) -> Response:
        """``GET /_mock/outbox/wait?to=&subject=&kind=&since=&timeout=``: the first matching
        mail, waiting up to ``timeout`` seconds (default 10, at most 120) for one to arrive."""
        try:
            timeout = float(request.args.get("timeout") or 10)
        except ValueError:
            timeout = math.nan
        if math.isnan(timeout):
            raise ApiError("Query parameter 'timeout' must be a number of seconds.")
        timeout = min(max(timeout, 0.0), 120.0)
        filters = self._filters(request)
        store = self.server.store
        deadline = time.monotonic() + timeout
        while True:
            rows = outbox.mails(store, limit=1, **filters)
            if rows:
                return json_response(mail_json(store, rows[0]))
            if time.monotonic() >= deadline:
                raise ApiError(f"No matching mail arrived within {timeout:g} s.", 408)
            if STOPPING.wait(0.05):
                raise ApiError("mockserver is stopping; no matching mail arrived before.", 503)

    def event(self, request: Request, mail_id: int) -> Response:
        """``POST /_mock/outbox/ID/events``: ``{"type": "open"}``, ``{"type": "click", "url": …}``,
        ``{"type": "bounce", "bounce": "hard"|"soft"}``, ``unsubscribe``, ``complaint``."""
        body = _json_body(request)
        row = self._row(mail_id)
        event_type, detail = body.get("type") or "", ""
        for name in ("url", "bounce", "kind"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise ApiError(f"'{name}' must be a string.")
        if event_type == "click":  # without a url: the mail's first link
            detail = body.get("url") or next(iter(outbox.links(self.server.store, row, CONTENT_SOURCES)), "")
        elif event_type == "bounce":
            detail = body.get("bounce") or body.get("kind") or ""
        return json_response(outbox.record_event(self.server.store, mail_id, event_type, detail, reactions=EVENT_REACTIONS),
                             201)

    def clock(self, request: Request) -> Response:
        """``GET /_mock/clock``: the mock's clock; ``PUT /_mock/clock {"now": ISO time,
        "frozen": bool}``: set or freeze it; ``DELETE /_mock/clock``: back to real time."""
        store = self.server.store
        if request.method == "DELETE":
            clock.reset(store)
            return json_response(clock.describe(store))
        if request.method == "PUT":
            body = _json_body(request)
            moment = None
            if body.get("now"):
                try:
                    moment = clock.parse_stamp(str(body["now"]))
                except ValueError:
                    raise ApiError(f"'now' must be an ISO 8601 time, got {body['now']!r}.")
            frozen = body.get("frozen")
            if frozen is not None and not isinstance(frozen, bool):
                raise ApiError("'frozen' must be true or false.")
            try:
                described = clock.set_clock(store, moment, frozen)
            except clock.ClockRangeError as error:
                raise ApiError(str(error))
            described.update(background.send_fallen_due(store))
            return json_response(described)
        return json_response(clock.describe(store))

    def advance(self, request: Request) -> Response:
        """``POST /_mock/clock/advance {"seconds": N}``: move the clock on and send what fell due."""
        seconds = _json_body(request).get("seconds")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise ApiError("'seconds' must be a number of seconds, 0 or more.")
        store = self.server.store
        try:
            described = clock.advance(store, seconds)
        except clock.ClockRangeError as error:
            raise ApiError(str(error))
        described.update(background.send_fallen_due(store))
        return json_response(described)

    def callback_deliveries(self, request: Request) -> Response:
        """``GET /_mock/callbacks/deliveries?callback=&state=&tenant=&limit=``: callback
        deliveries, oldest first, each with its attempts (time, status, error)."""
        state = _choice_arg(request, "state", callback_delivery.STATES)
        account_id = _tenant_arg(self.server.store, request, "account")
        rows = callback_delivery.deliveries(self.server.store, _int_arg(request, "callback"),
                                            state, account_id, limit_arg(request, 1000))
        return json_response({"deliveries": rows, "count": len(rows)})

    def callback_flush(self, request: Request) -> Response:
        """``POST /_mock/callbacks/flush``: deliver every callback due now and wait for it."""
        return json_response({"attempts": callback_delivery.flush(self.server.store)})

    def callback_key(self, request: Request) -> Response:
        """``GET /_mock/callbacks/key.pem``: the public key callback signatures verify with
        (the signatures' ``keyId``; needs no admin token)."""
        return Response(callback_signing.public_key_pem(self.server.store),
                        content_type="application/x-pem-file")

    def reset(self, request: Request) -> Response:
        """``POST /_mock/reset``: empty the store, then re-apply the fixtures the server started with."""
        from mockserver.vendors import fixtures  # YAML and validation: only when used
        paths = list(self.server.settings.fixtures)
        store = self.server.store
        try:
            document = fixtures.load_paths(paths) if paths else None
            with store.transaction():
                store.wipe()
                counts = fixtures.seed(store, document) if document else {}
        except fixtures.FixtureError as error:
            raise ApiError(f"Cannot re-apply the fixtures; the store is unchanged: {error}", 500,
                           error.problems)
        return json_response({"status": "reset", "fixtures": paths, "seeded": counts})

    def seed(self, request: Request) -> Response:
        """``POST /_mock/seed[?replace=true]``: add a fixture document (JSON or YAML body) to the store."""
        from mockserver.vendors import fixtures  # YAML and validation: only when used
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
            raise ApiError(str(error), 400, error.problems)
        return json_response({"status": "seeded", "replaced": replace, "seeded": counts})

    def export(self, request: Request) -> Response:
        """``GET /_mock/export[?format=yaml]``: the whole store as a fixture document."""
        from mockserver.vendors import fixtures  # YAML and validation: only when used
        document = fixtures.export(self.server.store)
        fmt = request.args.get("format", "json")
        if fmt == "yaml":
            return Response(fixtures.dumps(document), content_type="application/yaml; charset=utf-8")
        if fmt != "json":
            raise ApiError(f"Unknown format {fmt!r}; use json or yaml.")
        return json_response(document)

    def snapshots(self, request: Request) -> Response:
        """``GET /_mock/snapshots``: every saved snapshot (name, created, size in bytes)."""
        from mockserver.machinery import snapshots
        found = snapshots.listing(self.server.store)
        return json_response({"snapshots": found, "count": len(found)})

    def snapshot(self, request: Request, snapshot: str) -> Response:
        """``POST /_mock/snapshots/NAME``: save the whole store; ``DELETE``: remove the snapshot."""
        from mockserver.machinery import snapshots
        try:
            if request.method == "DELETE":
                snapshots.delete(self.server.store, snapshot)
                return json_response({"deleted": snapshot})
            return json_response(snapshots.save(self.server.store, snapshot), 201)
        except snapshots.SnapshotError as error:
            raise ApiError(str(error), error.status)

    def snapshot_restore(self, request: Request, snapshot: str) -> Response:
        """``POST /_mock/snapshots/NAME/restore``: replace the store by the snapshot, atomically."""
        from mockserver.machinery import snapshots
        try:
            return json_response(dict(snapshots.restore(self.server.store, snapshot),
                                      status="restored"))
        except snapshots.SnapshotError as error:
            raise ApiError(str(error), error.status)

    def tenants(self, request: Request) -> Response:
        """``GET /_mock/tenants``: every tenant; ``POST /_mock/tenants[?name=&template=]``
        with an optional fixture document as body: a fresh isolated tenant."""
        from mockserver.vendors import fixtures  # YAML and validation: only when used
        store = self.server.store
        if request.method == "GET":
            found = tenants.listing(store, request.host_url)
            return json_response({"tenants": found, "count": len(found)})
        document = None
        text = request.get_data().decode("utf-8", "replace")
        if text.strip():
            mimetype = request.mimetype or ""
            as_json = True if "json" in mimetype else (False if "yaml" in mimetype else None)
            try:
                document = fixtures.parse_text(text, fixtures.REQUEST_BODY, as_json)
            except fixtures.FixtureError as error:
                raise ApiError(str(error))
        try:
            return json_response(tenants.create(
                store, request.host_url, document, _int_arg(request, "template"),
                request.args.get("name") or None, unguessable=self.server.exposed), 201)
        except tenants.TenantError as error:
            raise ApiError(str(error), error.status)

    def tenant(self, request: Request, tenant: str) -> Response:
        """``GET /_mock/tenants/NAME``: one tenant; ``DELETE``: remove it and all its data."""
        store = self.server.store
        try:
            if request.method == "DELETE":
                removed = tenants.delete(store, tenant)
                # a tombstone: no exchange of the tenant is left behind, none written later
                removed["journalEntries"] = self.server.journal.forget(removed["tenants"])
                return json_response(removed)
            found = [t for t in tenants.listing(store, request.host_url) if t["tenant"] == tenant]
            if not found:
                raise ApiError(f"No tenant named {tenant!r}.", 404)
            return json_response(found[0])
        except tenants.TenantError as error:
            raise ApiError(str(error), error.status)


def _flag_arg(request: Request, name: str) -> bool:
    value = (request.args.get(name) or "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ApiError(f"Query parameter {name!r} must be true or false, got {value!r}.")
