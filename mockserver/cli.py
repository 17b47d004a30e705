"""The ``mockserver`` command: serve, seed, export, wsdl, check."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mockserver import __version__
from mockserver.surfaces.settings import DEFAULT_READ_TIMEOUT
from mockserver.vendors import store as vendor_store

DEMO_FIXTURES = Path(__file__).resolve().parent / "demo" / "demo.yaml"

DESCRIPTION = """\
A local, stateful mock of two email-marketing SOAP APIs on one port:
the BACKCLICK SOAP API v2 (/bc/rpc/soap/backclickService) and
the Copernica SOAP API (/ and /?SOAPAPI=WSDL),
with an admin API (/_mock/) and a web UI (/_mock/ui/).

  mockserver serve --demo              serve the demo data on http://127.0.0.1:8080/
  mockserver serve --port 0 --db :memory: --fixtures fixtures/
  mockserver seed fixtures/demo.yaml   load fixtures into the store (mockserver.db)
  mockserver export state.yaml         write the store out as fixtures
  mockserver wsdl wsdl/                write the served WSDLs to a folder
  mockserver check fixtures/           validate fixture files

Every option of serve also reads from the environment as MOCKSERVER_<OPTION>,
e.g. MOCKSERVER_PORT=9000, MOCKSERVER_DB=/tmp/mock.db, MOCKSERVER_DEMO=1.
The store (mockserver.db) is kept between runs; start over with POST /_mock/reset,
or serve a throwaway store with --db :memory:.
"""
DEFAULT_BASE_URL = "http://127.0.0.1:8080/"

SCHEMA_HELP = """\
Print the JSON Schema (draft 2020-12) of fixture files: the format that check, seed and
serve --fixtures read and export writes (docs/fixtures.md describes it).

Editors complete and check fixture files with it. For the YAML language server (the YAML
extension of VS Code, and other editors' YAML support), write it next to your fixtures and
name it, relative to the fixture file, in a comment at the top of the file:

  mockserver schema > fixtures/mockserver-fixtures.schema.json

  # yaml-language-server: $schema=mockserver-fixtures.schema.json

The schema checks keys, types and formats. mockserver check checks those too, and what
refers to what: ids, list and field names, a value against its field's type.
"""


def _env(name: str, default=None):
    return os.environ.get(f"MOCKSERVER_{name.upper().replace('-', '_')}", default)


def _env_flag(name: str) -> bool:
    return (_env(name) or "").strip().lower() in ("1", "true", "yes", "on")


def _env_list(name: str) -> list[str]:
    value = _env(name)
    return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()] if value else []


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"mockserver: MOCKSERVER_{name.upper()} must be an integer, got {value!r}")


def _env_float(name: str, default: float) -> float:
    value = _env(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except ValueError:
        raise SystemExit(f"mockserver: MOCKSERVER_{name.upper()} must be a number, got {value!r}")


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mockserver`` command."""
    top = argparse.ArgumentParser(
        prog="mockserver", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"mockserver {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser(
        "serve", help="serve both dialects, the admin API and the UI on one port",
        description="Serve the SOAP dialects, the admin API (/_mock/) and the UI on one port. "
                    "Prints one line with the WSDL URLs once it answers requests.")
    serve.add_argument("--host", default=_env("host", "127.0.0.1"),
                       help="address to bind (default 127.0.0.1; a non-loopback address needs "
                            "--admin-token)")
    serve.add_argument("--port", type=int, default=_env_int("port", 8080),
                       help="port to bind; 0 picks a free one and prints it (default 8080)")
    serve.add_argument("--db", default=_env("db", "mockserver.db"),
                       help="SQLite store file, created on first start; ':memory:' for a "
                            "throwaway store (default mockserver.db)")
    serve.add_argument("--fixtures", action="append", default=_env_list("fixtures"),
                       metavar="FILE_OR_DIR",
                       help="seed an empty store from fixture files (YAML or JSON); repeatable")
    serve.add_argument("--demo", action="store_true", default=_env_flag("demo"),
                       help="seed an empty store with the shipped demo fixtures")
    serve.add_argument("--trusted-proxy", action="append", default=_env_list("trusted_proxy"),
                       metavar="CIDR", dest="trusted_proxies",
                       help="a proxy whose X-Forwarded-For names the real caller; repeatable "
                            "(none by default)")
    serve.add_argument("--max-body", type=int, default=_env_int("max_body", 10 * 1024 * 1024),
                       metavar="BYTES", help="largest request body accepted (default 10 MB)")
    serve.add_argument("--max-items", type=int, default=_env_int("max_items", 10_000),
                       metavar="N", help="most items of one array in a request (default "
                                         "10000); more are refused before they are read")
    serve.add_argument("--read-timeout", type=float,
                       default=_env_float("read_timeout", DEFAULT_READ_TIMEOUT), metavar="SECONDS",
                       help="drop a client whose request has not arrived whole this long after "
                            "it began, or that takes no answer for as long (default 10)")
    serve.add_argument("--workers", type=int, default=_env_int("workers", 1),
                       help="worker processes; use one per core for throughput (default 1)")
    serve.add_argument("--threads", type=int, default=_env_int("threads", 4),
                       help="threads per worker process (default 4)")
    serve.add_argument("--admin-token", default=_env("admin_token"),
                       help="require 'Authorization: Bearer TOKEN' on the admin API and UI")
    serve.add_argument("--smtp-relay", default=_env("smtp_relay"), metavar="HOST:PORT",
                       help="also deliver every outbox mail to this SMTP server (e.g. Mailpit "
                            "on 127.0.0.1:1025); failures are recorded on the mail")
    serve.add_argument("--journal-size", type=int, default=_env_int("journal_size", 10_000),
                       metavar="N", help="keep the newest N SOAP exchanges in the journal "
                                         "(default 10000)")
    serve.add_argument("--journal-body-limit", type=int,
                       default=_env_int("journal_body_limit", 64 * 1024), metavar="BYTES",
                       help="keep at most this much of each request and response envelope in "
                            "the journal (default 64 KiB)")
    serve.add_argument("--backclick-wsdl", default=_env("backclick_wsdl"), metavar="FILE",
                       help="serve this BACKCLICK WSDL (your installation's) instead of the "
                            "mock's, and answer in its namespace, names and element form")
    serve.add_argument("--log-requests", action="store_true",
                       default=_env_flag("log_requests"),
                       help="write one line per request to standard error: time, method, path, "
                            "dialect, operation, status, milliseconds")
    serve.add_argument("--no-journal", action="store_true", default=_env_flag("no_journal"),
                       help="record no SOAP exchanges (for load tests)")

    seed = sub.add_parser("seed", help="load fixture files into the store",
                          description="Validate fixture files and load them into the store.")
    seed.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    seed.add_argument("--db", default=_env("db", "mockserver.db"), help="store file")
    seed.add_argument("--replace", action="store_true",
                      help="empty the store first (default: refuse a store that has data)")

    export = sub.add_parser("export", help="write the store out as a fixture file",
                            description="Write the whole store as fixtures (YAML, or JSON for "
                                        "a .json file; '-' for standard output). Seeding the "
                                        "result into an empty store reproduces it exactly.")
    export.add_argument("path", metavar="FILE")
    export.add_argument("--db", default=_env("db", "mockserver.db"), help="store file")

    wsdl = sub.add_parser("wsdl", help="write the served WSDLs to a folder",
                          description="Write both WSDLs to DIR as a server at --base-url "
                                      "serves them (its soap:address, and Copernica's "
                                      "namespace, name that URL).")
    wsdl.add_argument("dir", metavar="DIR")
    wsdl.add_argument("--base-url", default=_env("base_url", DEFAULT_BASE_URL), metavar="URL",
                      help=f"the server's URL as clients reach it, e.g. "
                           f"http://mockserver:8080/ (default {DEFAULT_BASE_URL})")

    check = sub.add_parser("check", help="validate fixture files",
                           description="Validate fixture files: print every problem of every "
                                       "file, one a line as FILE: PATH: PROBLEM, and exit 1; "
                                       "print ok and exit 0 when there is none.")
    check.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")

    sub.add_parser("schema", help="print the JSON Schema of fixture files",
                   description=SCHEMA_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = parser().parse_args(argv)
    if args.command is None:
        parser().print_help()
        return 2
    return {"serve": cmd_serve, "seed": cmd_seed, "export": cmd_export, "wsdl": cmd_wsdl,
            "check": cmd_check, "schema": cmd_schema}[args.command](args)


def _fail(message: str) -> int:
    for line in message.splitlines() or [""]:  # e.g. every problem of the fixtures
        print(f"mockserver: {line}", file=sys.stderr)
    return 1


def cmd_serve(args) -> int:
    """``mockserver serve``."""
    from mockserver.surfaces import server
    from mockserver.surfaces.settings import Settings, open_store_telling

    if not 0 < args.read_timeout < 1e6:
        return _fail(f"--read-timeout takes a positive number of seconds, "
                     f"got {args.read_timeout:g}")
    if not 0 <= args.port <= 65535:
        return _fail(f"--port takes 0 to 65535 (0: a free one), got {args.port}")
    if not server.is_loopback(args.host) and not args.admin_token:
        return _fail(f"binding to {args.host} exposes the admin API; pass --admin-token TOKEN "
                     f"(or set MOCKSERVER_ADMIN_TOKEN)")
    paths = list(args.fixtures) + ([str(DEMO_FIXTURES)] if args.demo else [])
    settings = Settings(host=args.host, port=args.port, db=args.db, fixtures=paths,
                        demo=args.demo, trusted_proxies=args.trusted_proxies,
                        max_body=args.max_body, max_items=max(args.max_items, 1),
                        read_timeout=args.read_timeout,
                        workers=args.workers, threads=args.threads,
                        admin_token=args.admin_token, smtp_relay=args.smtp_relay,
                        journal=not args.no_journal, journal_size=max(args.journal_size, 1),
                        journal_body_limit=max(args.journal_body_limit, 0),
                        backclick_wsdl=args.backclick_wsdl or None,
                        log_requests=args.log_requests)
    try:
        settings.relay_address()
    except ValueError:
        return _fail(f"--smtp-relay takes HOST:PORT, got {args.smtp_relay!r}")
    if settings.backclick_wsdl:
        # read here, before the workers fork: a file that cannot be served stops the start
        from mockserver import backclick
        from mockserver.soap.wsdl_import import WsdlFileError
        try:
            print(backclick.wsdl_summary(settings.backclick_wsdl), flush=True)
        except WsdlFileError as error:
            return _fail(str(error))
    try:  # the port first: a taken one is said at once, before the store is made
        listener = server.listen(settings)
    except server.ListenError as error:
        return _fail(str(error))
    try:
        store, opening = open_store_telling(settings)
    except (OSError, RuntimeError) as error:
        listener.close()
        return _fail(str(error))
    if opening.fixtures_skipped:  # a second `make serve`: say so, and how to start over
        print(f"mockserver: {args.db} has data, so the fixtures were not applied; to start "
              f"over: POST /_mock/reset, or another --db (:memory: for a throwaway store)",
              flush=True)

    def app():
        from mockserver.surfaces.web import MockServer  # in the worker: spyne, lxml, werkzeug
        return MockServer(settings, store, freeze=True)

    server.serve(settings, store, app, listener, opening)
    return 0


def cmd_seed(args) -> int:
    """``mockserver seed``."""
    from mockserver.vendors import fixtures
    from mockserver.vendors.store import open_store

    try:
        document = fixtures.load_paths(args.paths)
        store = open_store(args.db)
        store.migrate()
        with store.transaction():  # --replace: wipe and seed in one transaction
            if args.replace:
                store.wipe()
            elif not vendor_store.is_empty(store):
                return _fail(f"{args.db} already has data; pass --replace to empty it first")
            counts = fixtures.seed(store, document)
    except (fixtures.FixtureError, RuntimeError) as error:  # RuntimeError: the store's file
        return _fail(str(error))
    print(f"seeded {args.db} from {', '.join(args.paths)}: {counts['mandators']} mandators, "
          f"{counts['subscribers']} subscribers")
    return 0


def cmd_export(args) -> int:
    """``mockserver export``."""
    from mockserver.vendors import fixtures
    from mockserver.vendors.store import open_store

    if args.db != ":memory:" and not Path(args.db).exists():
        return _fail(f"no store at {args.db}")
    store = open_store(args.db)
    try:
        store.migrate()
    except RuntimeError as error:  # a file that is no store, a newer schema
        return _fail(str(error))
    text = fixtures.dumps(fixtures.export(store), as_json=args.path.endswith(".json"))
    if args.path == "-":
        sys.stdout.write(text)
    else:
        Path(args.path).write_text(text, encoding="utf-8")
        print(f"exported {args.db} to {args.path}")
    return 0


def cmd_wsdl(args) -> int:
    """``mockserver wsdl``."""
    from mockserver import backclick, copernica

    base_url = _base_url(args.base_url)
    if base_url is None:
        return _fail(f"--base-url takes an http:// or https:// URL with a host and no query, "
                     f"e.g. http://mockserver:8080/, got {args.base_url!r}")
    folder = Path(args.dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return _fail(f"cannot make the folder {folder}: {error.strerror}")
    for dialect in (backclick, copernica):
        target = folder / dialect.WSDL_FILE
        target.write_bytes(dialect.endpoint().wsdl(base_url))
        print(f"wrote {target} for {base_url}")
    return 0


def _base_url(text: str) -> str | None:
    """``text`` as a server's base URL ending in ``/``, or None if it is none."""
    from urllib.parse import urlsplit

    from mockserver.surfaces import gate
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or \
            parts.fragment or not gate.valid_host(parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/"


def cmd_check(args) -> int:
    """``mockserver check``."""
    from mockserver.vendors import fixtures

    try:
        fixtures.load_paths(args.paths)
    except fixtures.FixtureError as error:
        print(error, file=sys.stderr)  # every problem, one a line: "file: path: problem"
        return 1
    print(f"ok: {', '.join(args.paths)}")
    return 0


def cmd_schema(args) -> int:
    """``mockserver schema``."""
    from mockserver.vendors import fixture_schema

    sys.stdout.write(fixture_schema.json_schema_text())
    return 0
