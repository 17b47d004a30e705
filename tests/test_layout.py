"""The layout the architecture asks for: the import-linter contract holds, no module or class
is a god, every package says what lives in it (docs/architecture.md)."""
import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mockserver"
MAX_MODULE_LINES = 600
MAX_CLASS_LINES = 400
# Not split yet (issue 12 is open while these remain): each may shrink, none may grow.
STILL_OVER = {"mockserver/soap/envelope.py": 636,
              "mockserver/surfaces/server.py": 678, "mockserver/surfaces/ui.py": 734,
              "class WebUi": 539}


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_import_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    command = [str(lint)] if lint.exists() else [shutil.which("lint-imports") or "lint-imports"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 2 kept, 0 broken." in done.stdout


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_a_god(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    limit = STILL_OVER.get(str(path.relative_to(ROOT)), MAX_MODULE_LINES)
    assert lines <= limit, f"{lines} lines"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            size = node.end_lineno - node.lineno + 1
            limit = STILL_OVER.get(f"class {node.name}", MAX_CLASS_LINES)
            assert size <= limit, f"class {node.name}: {size} lines"


@pytest.mark.parametrize("package", sorted(p.parent for p in PACKAGE.rglob("__init__.py")
                                           if "__pycache__" not in p.parts),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_package_says_what_lives_there(package):
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text("utf-8")))
    assert docstring and len(docstring.split()) >= 8, "no docstring saying what lives here"
