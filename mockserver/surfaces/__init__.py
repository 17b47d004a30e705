"""The surfaces: how users reach the mock.

The WSGI app that routes to both dialects, the JSON admin API and its OpenAPI document,
the web UI with its templates, the HTTP server with its workers, and the embedded server
the pytest plugin and users' own tests start.
"""
