"""The mock in a background thread of the calling process (the pytest plugin uses it).

One process, werkzeug's threaded WSGI server on a free loopback port, the same
MockServer (dialects, admin API, scheduler, journal) as ``mockserver serve``.
"""
from __future__ import annotations

import logging
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from mockserver.surfaces.ready_line import urls
from mockserver.surfaces.settings import Settings, open_store


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's request handler without a log line per request."""

    def log_request(self, *args, **kwargs):
        """Log nothing for a request answered."""

    def handle(self):
        """Serve the connection, then close the SQLite connections of its thread (werkzeug
        runs each connection in a thread of its own, which then ends)."""
        try:
            super().handle()
        finally:
            self.server.app.end_of_thread()


class EmbeddedServer:
    """A mockserver answering on ``base_url`` from a thread until ``stop()``."""

    def __init__(self, settings: Settings):
        """Open the store of ``settings`` (seeding its fixtures) and bind a port; the
        port 0 of ``settings`` picks a free one."""
        from mockserver.copernica import callback_urls
        from mockserver.surfaces.web import MockServer
        self.settings = settings
        self.store = open_store(settings)
        self.app = MockServer(settings, self.store)
        self._http = make_server(settings.host, settings.port, self.app, threaded=True,
                                 request_handler=_QuietHandler)
        self._http.daemon_threads = True
        self.port = self._http.server_port
        callback_urls.listening_on(self.port)  # never a callback to the mock itself
        self.urls = urls(settings.host, self.port)
        self._thread = threading.Thread(target=self._http.serve_forever,
                                        name="mockserver-http", daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/``."""
        return self.urls["base"]

    def start(self) -> "EmbeddedServer":
        """Start answering requests; returns the server."""
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering, write the journal, stop the background work."""
        self._http.shutdown()
        self._http.server_close()
        self.app.scheduler.stopping.set()
        self.app.journal.flush()

    def __enter__(self) -> "EmbeddedServer":
        """Start; ``with EmbeddedServer(settings) as server: ...``."""
        return self.start()

    def __exit__(self, *exc) -> None:
        """Stop."""
        self.stop()
