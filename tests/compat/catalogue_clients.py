"""Build the Copernica clients generated from the catalogue WSDL, and cache the builds.

Each stack is built the way an integrator builds a client from the vendor's WSDL:

- Java: ``wsimport`` (Debian's ``jaxws`` package: JAX-WS RI 2.3 for Java 17, which has none)
  generates the ``copernica`` package, ``javac`` compiles it with ``copernica/java/Main.java``;
  it runs on the JAX-WS runtime jar, whose manifest names the rest of its jars;
- C#: Mono's ``wsdl`` generates the ``POM_SOAP_API`` proxy, ``mcs`` compiles it with
  ``copernica/csharp/Main.cs`` into ``Main.exe``;
- node-soap reads the WSDL file at run time (``copernica/flow.js``): nothing to build.

The WSDL is ``copernica_wsdl.generate()`` in the vendor's namespace, restricted to
``OPERATIONS`` (what the three programs call), with a placeholder address: every client sets
the mock's URL at run time. Builds go to ``tests/compat/.build/<stack>-<key>/`` (ignored by
git through the folder's own ``.gitignore``), where the key hashes the WSDL, the program's
source and the build commands; a build is made in a temporary folder and renamed into place,
so an interrupted one is never used, and older builds of the stack are removed.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .copernica_wsdl import REAL_NAMESPACE, generate

COMPAT = Path(__file__).resolve().parent
SOURCES = COMPAT / "copernica"
BUILD = COMPAT / ".build"
# What Main.java, Main.cs and flow.js call.
OPERATIONS = ("login", "Account_databases", "Account_database", "Database_fields",
              "Database_collection", "Database_createProfile", "Database_searchProfiles",
              "Profile_updateFields", "Profile_createSubProfile", "Profile_subProfiles",
              "Collection_searchSubProfiles", "Profile_remove")
PLACEHOLDER = "http://localhost:8080/"  # the clients set the mock's URL at run time
JAXWS_RT = Path(os.environ.get("JAXWS_RT", "/usr/share/java/jaxws-rt.jar"))
JAXWS_TOOLS = JAXWS_RT.with_name("jaxws-tools.jar")
# Silences JAX-WS 2.3's warning about SAAJ's deprecated factory lookup on every call.
JAVA_OPTIONS = ["-Djavax.xml.soap.SAAJMetaFactory="
                "com.sun.xml.messaging.saaj.soap.SAAJMetaFactoryImpl"]
TIMEOUT = 600
timings: dict[str, float] = {}  # stack -> seconds its last build took (0 when cached)


def wsdl() -> str:
    """The catalogue WSDL the three clients are built from."""
    return generate(REAL_NAMESPACE, PLACEHOLDER, OPERATIONS)


def java_missing() -> str | None:
    """Why the Java client cannot be built here, or None."""
    for tool in ("java", "javac"):
        if shutil.which(tool) is None:
            return f"{tool} not found on PATH (install default-jdk-headless; see .ci/run)"
    if shutil.which("wsimport") is None and not JAXWS_TOOLS.is_file():
        return "wsimport not found (install Debian's jaxws package; see .ci/run)"
    if not JAXWS_RT.is_file():
        return f"{JAXWS_RT} not found (install Debian's jaxws package; see .ci/run)"
    return None


def mono_missing() -> str | None:
    """Why the C# client cannot be built here, or None."""
    for tool in ("mono", "mcs", "wsdl"):
        if shutil.which(tool) is None:
            return f"{tool} not found on PATH (install mono-devel; see .ci/run)"
    return None


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}\n"
                           f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")


def _cached(stack: str, recipe: list, sources: list[Path], make) -> Path:
    """The build folder of ``stack`` for this WSDL, sources and recipe; ``make(folder)``
    fills a new one when there is none."""
    text = wsdl()
    digest = hashlib.sha256(json.dumps(recipe).encode())
    digest.update(text.encode())
    for source in sources:
        digest.update(source.read_bytes())
    folder = BUILD / f"{stack}-{digest.hexdigest()[:16]}"
    if folder.is_dir():
        timings[stack] = 0.0
        return folder
    BUILD.mkdir(exist_ok=True)
    (BUILD / ".gitignore").write_text("*\n")
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f".{stack}-", dir=BUILD))
    try:
        (work / "copernica.wsdl").write_text(text, encoding="utf-8")
        make(work)
        try:
            work.rename(folder)
        except OSError:  # built at the same time by another worker: use that one
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    timings[stack] = time.monotonic() - started
    for old in BUILD.glob(f"{stack}-*"):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def wsimport() -> list[str]:
    """The wsimport command: the one on PATH, else the tools jar."""
    if shutil.which("wsimport"):
        return ["wsimport"]
    return ["java", "-cp", str(JAXWS_TOOLS), "com.sun.tools.ws.WsImport"]


JAVA_RECIPE = ["-Xnocompile", "-quiet", "-encoding", "UTF-8", "-p", "copernica",
               "-wsdllocation", "copernica.wsdl"]


def build_java() -> list[str]:
    """Build (or reuse) the Java client; the command that runs it, before its arguments."""
    main = SOURCES / "java" / "Main.java"

    def make(work: Path) -> None:
        (work / "src").mkdir()
        (work / "classes").mkdir()
        _run([*wsimport(), *JAVA_RECIPE, "-s", "src", "-d", "src", "copernica.wsdl"], work)
        generated = sorted(str(p.relative_to(work)) for p in (work / "src").rglob("*.java"))
        _run(["javac", "-nowarn", "-encoding", "UTF-8", "-cp", str(JAXWS_RT), "-d", "classes",
              *generated, str(main)], work)
        shutil.copy(work / "copernica.wsdl", work / "classes" / "copernica.wsdl")
        shutil.rmtree(work / "src")

    folder = _cached("java", ["wsimport", *JAVA_RECIPE, "javac"], [main], make)
    classpath = os.pathsep.join([str(folder / "classes"), str(JAXWS_RT)])
    return ["java", *JAVA_OPTIONS, "-cp", classpath, "Main"]


CSHARP_RECIPE = ["wsdl", "-nologo", "-namespace:Copernica", "-out:Proxy.cs",
                 "mcs", "-nologo", "-codepage:utf8", "-r:System.Web.Services.dll",
                 "-r:System.Xml.dll"]


def build_csharp() -> list[str]:
    """Build (or reuse) the C# client; the command that runs it, before its arguments."""
    main = SOURCES / "csharp" / "Main.cs"

    def make(work: Path) -> None:
        _run(["wsdl", "-nologo", "-namespace:Copernica", "-out:Proxy.cs", "copernica.wsdl"],
             work)
        _run(["mcs", "-nologo", "-codepage:utf8", "-r:System.Web.Services.dll",
              "-r:System.Xml.dll", "-out:Main.exe", "Proxy.cs", str(main)], work)

    folder = _cached("csharp", CSHARP_RECIPE, [main], make)
    return ["mono", str(folder / "Main.exe")]


def node_wsdl() -> Path:
    """The WSDL file node-soap reads (written once per WSDL, like the builds)."""
    return _cached("node", ["wsdl"], [], lambda work: None) / "copernica.wsdl"
