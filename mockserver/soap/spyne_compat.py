"""Lets spyne 2.14 import on Python 3.12 and later; ``mockserver/__init__.py`` applies it.

Why: spyne vendors six 1.14 as ``spyne.util.six``. That six serves ``spyne.util.six.moves``
and its submodules (``moves.collections_abc``, ``moves.urllib.parse``, ...) through a
meta-path importer with only ``find_module``/``load_module``, which the import system no
longer calls from Python 3.12 on, so ``import spyne`` fails with ``ModuleNotFoundError: No
module named 'spyne.util.six.moves'``. spyne's own fix (its six bumped to 1.16, whose importer
has ``find_spec``) is in its repository but in no release: 2.14.0 is the newest.

How: ``install()`` appends a finder to ``sys.meta_path`` (once, before spyne loads) that
answers ``find_spec`` for exactly the names the vendored six's importer knows and loads them
through that importer, so spyne gets the same module objects as on Python 3.11 (six's lazy
``moves`` modules, or the standard module a move names). It stands aside where the vendored
importer has ``find_spec`` itself. Nothing inside spyne is changed.

When it can go: once a spyne release after 2.14.0 (with six 1.16 or later) is the minimum in
pyproject.toml, delete this module, its ``install()`` call in ``mockserver/__init__.py`` and
the shim's tests in ``tests/test_python_versions.py``.

The other removal on the project's spyne code path, the ``cgi`` module (gone in Python 3.13,
imported by ``spyne.protocol.soap.soap11``, which never calls it here), is not shimmed:
pyproject.toml installs its fork ``legacy-cgi`` on 3.13 and later.

Warnings: ``install()`` ignores two that spyne causes on import and nobody here can act on,
so that ``python -W error`` runs the mock on every supported version: the standard ``cgi``'s
deprecation (3.11 and 3.12; the pytest plugin ignores it too), and, on 3.10 and 3.11, the
import system's ImportWarning each time it falls back to the vendored importer's
``find_module`` (spyne's ``try: import thread`` reaches it).
"""
from __future__ import annotations

import sys
import warnings
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_loader
from types import ModuleType

SIX = "spyne.util.six"
MOVES = SIX + ".moves"


def _vendored_importer():
    """The meta-path importer of spyne's vendored six, once that module is loaded; else None."""
    six = sys.modules.get(SIX)
    return getattr(six, "_importer", None)


class SixMovesFinder:
    """Finds and loads the ``spyne.util.six.moves`` names through the vendored six's importer."""

    def __init__(self):
        """A finder with no load under way."""
        self._replaced_specs: dict[str, ModuleSpec | None] = {}

    def find_spec(self, fullname: str, path=None, target=None) -> ModuleSpec | None:
        """A spec for a moves name the vendored six knows; None for every other name."""
        if fullname != MOVES and not fullname.startswith(MOVES + "."):
            return None
        importer = _vendored_importer()
        if (importer is None or hasattr(type(importer), "find_spec")
                or fullname not in getattr(importer, "known_modules", ())):
            return None
        return spec_from_loader(fullname, self, is_package=importer.is_package(fullname))

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        """The module the vendored six resolves the name to (its own, or a standard one)."""
        module = _vendored_importer().load_module(spec.name)
        self._replaced_specs[spec.name] = getattr(module, "__spec__", None)
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Run nothing; give a standard module back its own ``__spec__``, which the import
        system set to the moves name's spec."""
        spec = getattr(module, "__spec__", None)
        original = self._replaced_specs.pop(spec.name, None) if spec is not None else None
        if original is not None:
            module.__spec__ = original


def installed() -> bool:
    """Whether the finder is on ``sys.meta_path``."""
    return any(isinstance(finder, SixMovesFinder) for finder in sys.meta_path)


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once); call it before spyne is imported."""
    if not installed():
        sys.meta_path.append(SixMovesFinder())
        warnings.filterwarnings("ignore", message="'cgi' is deprecated",
                                category=DeprecationWarning, module="spyne")
        warnings.filterwarnings("ignore", category=ImportWarning,
                                message=r"_SixMetaPathImporter\.find_spec\(\) not found")


def uninstall() -> None:
    """Take the finder off ``sys.meta_path`` again (the tests use it)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, SixMovesFinder)]
