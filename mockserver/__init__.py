"""mockserver: a local, stateful mock of email-marketing SOAP APIs."""

from mockserver.soap import spyne_compat

__version__ = "0.1.0"

# Every entry point (the command, python -m, the WSGI app, the pytest plugin, embedded)
# imports this package first, so spyne always loads with the shim in place.
spyne_compat.install()
