"""Every example in docs/*.md runs as written against `make serve`'s demo.

Each page is one test: its fenced blocks run in order, in a scratch folder of the page (with
the repository's fixtures/, wsdl/ or examples/ linked into it when a block names them, as a
clone's root has them). The first block that names ``127.0.0.1:8080`` (or ``localhost:8080``)
starts the page's server the way `make serve` starts one (``mockserver serve --demo``) on a
free port, and ``127.0.0.1:8080`` in every block means that server; every other port named as
``127.0.0.1:PORT``, ``localhost:PORT`` or ``--port PORT`` is a free port of the page's own,
the same one throughout the page. A block that starts a ``mockserver serve`` of its own stops
the page's server first. New pages are picked up by the glob.

The first word of a block's info string says what it is:

- ``python``/``py``, ``sh``/``bash``, ``php``, ``js``: run (``python``, ``bash -e -o pipefail``,
  ``php`` with the WSDL cache off, ``node``); it must exit 0, within TIMEOUT. Where php or
  node is missing the block is skipped as with ``requires=`` below. A ``sh`` block without an ``output`` block must not
  print an admin API error (``{"error": "..."}``) or a SOAP fault envelope: an example that
  shows one on purpose shows it in its ``output`` block.
- ``java``, ``csharp``: source files, so they need ``file=PATH``; a later block builds them.
- ``yaml`` (a fixture: ``mockserver check`` must accept it), ``json``, ``xml``, ``ini``: parsed.
- ``output``: what the block before it prints (stdout), the same text but for whitespace (a
  space matches any run of it, a line break any run or none, so a long line may be wrapped)
  and ``…``, which matches anything.
- ``text``, or no word at all: shown text, not run.

Words after it:

- ``no-run``: not runnable on purpose (a fragment, another tool's configuration, a program
  the suite does not install); only shown. Any other block that does not run fails the test.
- ``file=PATH``: written to PATH in the page's folder instead of being run (data is still
  checked); a later block that runs must name PATH.
- ``serves``: a ``sh`` block that starts servers (``mockserver serve``, in the foreground or
  with ``&``). It replaces the page's server: the page's demo server is stopped first, the
  block keeps running in the background until the page ends, and the next block runs once
  each ``mockserver serve`` of it has printed its ready line. Its ``output`` block is matched
  against what the servers printed up to then.
- ``requires=TOOL,...``: run only where every TOOL is on the PATH (``node-soap``: the npm
  package in node_modules/; ``php`` needs its soap extension). Where one is missing the block
  is skipped and the page's test reports it as skipped after running the rest; under
  ``CI=true`` that is a failure. ``jaxws`` stands for javac, java, wsimport and the JAX-WS
  runtime jar, ``mono`` for mono, mcs and wsdl.
"""
from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree

from compat.catalogue_clients import java_missing, mono_missing
from compat.conftest import node_missing, php_missing
from conftest import ROOT, start_server

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
LINKED = ("fixtures", "wsdl", "examples")  # what a block may read from a clone's root
RUNS = {"python": "python", "py": "python", "sh": "sh", "bash": "sh", "php": "php",
        "js": "js", "javascript": "js"}
SOURCES = {"java", "csharp", "cs"}
DATA = {"yaml", "yml", "json", "xml", "ini"}
SHOWN = {"", "text", "output"}
FLAGS = {"no-run", "serves"}
OPTIONS = {"file", "requires"}
TIMEOUT = 300  # seconds a block may take (a Java build on two busy cores takes a minute)
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
LOCAL_PORT = re.compile(r"(?P<host>127\.0\.0\.1|localhost):(?P<port>\d{2,5})\b")
PORT_OPTION = re.compile(r"(?P<option>--port[ =])(?P<port>\d{2,5})\b")
ADMIN_ERROR = re.compile(r'(?:^|[}\]>])\{\s*"error":\s*"', re.M)
SOAP_FAULT = re.compile(r'(?:^|[}\]>])(?:<\?xml[^>]*\?>)?\s*<(?:\w+:)?Envelope\b[^>]*>\s*'
                        r'(?:<(?:\w+:)?Header\b.*?</(?:\w+:)?Header>\s*)?<(?:\w+:)?Body\b[^>]*>\s*'
                        r'<(?:\w+:)?Fault\b', re.M | re.S)
READY = "mockserver ready on "
DEMO_URL = re.compile(r"\b(?:127\.0\.0\.1|localhost):8080\b")
LAUNCHES = re.compile(r"^[^#\n]*\bmockserver serve\b", re.M)  # a server started, not a comment


@dataclass
class Block:
    """One fenced block of a page: where it starts, its info string, its text."""

    page: Path
    line: int
    language: str
    flags: set[str]
    options: dict[str, str]
    text: str

    @property
    def where(self) -> str:
        """``docs/page.md:LINE``, for messages."""
        page = self.page.relative_to(ROOT) if ROOT in self.page.parents else self.page.name
        return f"{page}:{self.line}"

    @property
    def runs(self) -> bool:
        """Whether the test runs this block as a program."""
        return (self.language in RUNS and "no-run" not in self.flags
                and "file" not in self.options)


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, in order, their text without the fence's indentation."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, number = [], 0
    while number < len(lines):
        opening = FENCE.match(lines[number])
        number += 1
        if not opening:
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        start, body = number, []
        while number < len(lines) and not re.match(
                rf"^ *{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[number]):
            text = lines[number]
            body.append(text[min(indent, len(text) - len(text.lstrip(" "))):])
            number += 1
        number += 1
        words = opening["info"].split()
        language = words[0].lower() if words else ""
        flags = {w for w in words[1:] if "=" not in w}
        options = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        found.append(Block(page, start, language, flags, options, "\n".join(body) + "\n"))
    return found


def problems(block: Block) -> list[str]:
    """What is wrong with a block's info string, before anything runs."""
    out = []
    known = set(RUNS) | SOURCES | DATA | SHOWN
    if block.language not in known:
        out.append(f"unknown language {block.language!r} (known: {', '.join(sorted(known))}; "
                   "mark a block that is not meant to run `text` or `LANGUAGE no-run`)")
    out += [f"unknown flag {f!r}" for f in sorted(block.flags - FLAGS)]
    out += [f"unknown option {o!r}=" for o in sorted(set(block.options) - OPTIONS)]
    if block.language in SOURCES and "file" not in block.options \
            and "no-run" not in block.flags:
        out.append(f"a {block.language} block needs file=PATH (a later block builds it)")
    if "serves" in block.flags and (RUNS.get(block.language) != "sh" or not block.runs):
        out.append("only a sh block that runs can be `serves`")
    return [f"{block.where}: {p}" for p in out]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tool_missing(tool: str) -> str | None:
    """Why TOOL of a ``requires=`` cannot be used here, or None."""
    if tool == "node-soap":
        return node_missing()
    if tool == "php":
        return php_missing()
    if tool == "jaxws":  # javac, java, wsimport and the JAX-WS runtime jar
        return java_missing()
    if tool == "mono":  # mono, mcs, wsdl
        return mono_missing()
    if shutil.which(tool) is None:
        return f"{tool} not found on PATH"
    return None


def language_missing(block: Block) -> str | None:
    """Why the interpreter of a block's language is missing here, or None."""
    kind = RUNS.get(block.language)
    if kind == "php":
        return php_missing()
    if kind == "js" and shutil.which("node") is None:
        return "node not found on PATH"
    return None


def matches(expected: str, actual: str) -> bool:
    """Whether output is as an ``output`` block shows it: a space matches any run of
    whitespace, a line break any run or none (a long line may be wrapped), … anything."""
    def line(text: str) -> str:
        return r"\s+".join(".*?".join(re.escape(piece) for piece in word.split("…"))
                           for word in text.split())
    pattern = r"\s*".join(line(text) for text in expected.strip().splitlines())
    return re.fullmatch(pattern, actual.strip(), re.S) is not None


@dataclass
class Page:
    """A page's run: its folder, its server, its ports and the servers of its ``serves``."""

    name: str
    folder: Path
    ports: dict[int, int] = field(default_factory=dict)
    server: object = None           # the demo server (conftest.RunningServer) while it runs
    services: list = field(default_factory=list)  # (process, log path) of `serves` blocks
    skipped: list[str] = field(default_factory=list)

    def port(self, number: int) -> int:
        """The page's port for a port an example names (8080: the page's server)."""
        if number not in self.ports:
            self.ports[number] = free_port()
        return self.ports[number]

    def at(self, text: str) -> str:
        """Text with the ports examples name replaced by the page's."""
        text = LOCAL_PORT.sub(lambda m: f"{m['host']}:{self.port(int(m['port']))}", text)
        return PORT_OPTION.sub(lambda m: f"{m['option']}{self.port(int(m['port']))}", text)

    def start(self) -> None:
        """The page's demo server, as `make serve` starts it, unless one runs."""
        if self.server is None and not self.services:
            store = self.folder / ".demo"
            store.mkdir(exist_ok=True)
            self.server = start_server(store, "--demo", fixtures=())
            self.ports[8080] = int(self.server.base_url.rstrip("/").rpartition(":")[2])

    def environment(self) -> dict:
        """What a block runs with: mockserver on the PATH, node-soap on NODE_PATH, no
        MOCKSERVER_ settings and no PYTEST_ variables of the caller's."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MOCKSERVER_", "PYTEST_"))}
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env["NODE_PATH"] = str(ROOT / "node_modules")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def stop(self) -> None:
        """Stop the page's servers."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        for process, _ in self.services:
            end_group(process)
        self.services = []


def end_group(process: subprocess.Popen) -> None:
    """Stop a block's process group: the block and whatever it left running in the
    background (which ignores SIGINT, so SIGTERM; SIGKILL after 10 s)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            process.poll()  # reap the block itself: a zombie would keep the group alive
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
    process.poll()


def command(block: Block, script: Path) -> list[str]:
    """The command that runs a block's script."""
    kind = RUNS[block.language]
    if kind == "python":
        return [sys.executable, script.name]
    if kind == "sh":
        return ["bash", "-e", "-o", "pipefail", script.name]
    if kind == "php":
        return ["php", "-d", "soap.wsdl_cache_enabled=0", script.name]
    return ["node", script.name]


def script_of(block: Block, page: Page) -> Path:
    """The block written to a file of the page's folder, ports replaced."""
    suffix = {"python": ".py", "sh": ".sh", "php": ".php", "js": ".js"}[RUNS[block.language]]
    text = page.at(block.text)
    if suffix == ".php" and not text.lstrip().startswith("<?php"):
        text = "<?php\n" + text
    script = page.folder / f".block-{block.line}{suffix}"
    script.write_text(text, encoding="utf-8")
    return script


def run(block: Block, page: Page) -> str:
    """Run a block to its end; its stdout (the test fails when it exits non-zero). Output goes
    to files, not pipes, which a server the block left in the background would hold open."""
    script = script_of(block, page)
    out_file, err_file = script.with_suffix(".out"), script.with_suffix(".err")
    with out_file.open("w") as out, err_file.open("w") as err:
        process = subprocess.Popen(command(block, script), cwd=page.folder,
                                   env=page.environment(), stdout=out, stderr=err, text=True,
                                   start_new_session=True)
    timed_out = False
    try:
        process.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        end_group(process)  # and what it left running in the background
    out, err = out_file.read_text(), err_file.read_text()
    if timed_out or process.returncode != 0:
        what = f"did not end within {TIMEOUT} s" if timed_out else f"exited {process.returncode}"
        pytest.fail(f"{block.where} {what}\nstdout:\n{out}\nstderr:\n{err}", pytrace=False)
    return out


def serve(block: Block, page: Page) -> str:
    """Start a ``serves`` block in the background; what it printed once its servers are up."""
    page.stop()
    env = page.environment()
    env["MOCKSERVER_PORT"] = str(page.port(8080))  # a `mockserver serve` without --port
    script = script_of(block, page)
    log = page.folder / f".block-{block.line}.log"
    with log.open("w") as output:
        process = subprocess.Popen(command(block, script), cwd=page.folder, env=env,
                                   stdout=output, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
    page.services.append((process, log))
    servers = len(LAUNCHES.findall(block.text))
    assert servers, f"{block.where}: a `serves` block without `mockserver serve`"
    deadline = time.monotonic() + 60
    while log.read_text().count(READY) < servers:
        if time.monotonic() > deadline or (process.poll() not in (None, 0)):
            pytest.fail(f"{block.where}: {servers} server(s) did not become ready "
                        f"(exit {process.poll()}):\n{log.read_text()}", pytrace=False)
        time.sleep(0.1)
    return log.read_text()


def check_data(block: Block, page: Page) -> None:
    """A data block parses (a yaml block is a fixture `mockserver check` accepts)."""
    text = block.text
    try:
        if block.language == "json":
            json.loads(text)
        elif block.language == "xml":
            etree.fromstring(text.encode("utf-8"))
        elif block.language == "ini":
            configparser.ConfigParser().read_string(text)
    except (ValueError, etree.XMLSyntaxError, configparser.Error) as error:
        pytest.fail(f"{block.where}: not valid {block.language}: {error}", pytrace=False)
    if block.language in ("yaml", "yml"):
        fixture = page.folder / f".block-{block.line}.yaml"
        fixture.write_text(text, encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "mockserver", "check", str(fixture)],
                              capture_output=True, text=True, timeout=120, cwd=page.folder)
        assert done.returncode == 0, (f"{block.where}: `mockserver check` refuses the fixture:\n"
                                      f"{done.stdout}{done.stderr}")


def write_file(block: Block, page: Page, later: list[Block]) -> None:
    """A ``file=`` block written into the page's folder; a later block must use it."""
    path = page.folder / block.options["file"]
    assert page.folder in path.resolve().parents, f"{block.where}: file= outside the page"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page.at(block.text), encoding="utf-8")
    name = block.options["file"]
    names = {name, Path(name).name, Path(name).stem}  # the stem: a module a python block imports
    users = [b for b in later if b.runs and any(n in b.text for n in names)]
    assert users, f"{block.where}: file={name} is used by no later block that runs"


def skip_reason(block: Block) -> str | None:
    """Why a block cannot run here (its interpreter or a required tool is missing), or None."""
    for tool in filter(None, block.options.get("requires", "").split(",")):
        missing = tool_missing(tool)
        if missing:
            return missing
    return language_missing(block)


def check_output(block: Block, shown: Block, out: str | None, page: Page) -> None:
    """An ``output`` block against what the block before it (``shown``) printed (None: that
    block was skipped)."""
    if out is not None and not matches(page.at(block.text), out):
        pytest.fail(f"{block.where}: {shown.where} printed\n{out}\nnot\n{block.text}",
                    pytrace=False)


def execute(block: Block, page: Page, shows: bool) -> str:
    """Run a block that runs here, as its flags say; what it printed. ``shows``: an output
    block follows it."""
    if "serves" in block.flags:
        return serve(block, page)
    if LAUNCHES.search(block.text):
        page.stop()  # it starts a server of its own, maybe on the same port
    elif DEMO_URL.search(block.text):
        page.start()
    out = run(block, page)
    if RUNS[block.language] == "sh" and not shows:
        for pattern in (ADMIN_ERROR, SOAP_FAULT):
            if pattern.search(out):
                pytest.fail(f"{block.where} printed an error; an example that shows one on "
                            f"purpose shows it in an output block:\n{out}", pytrace=False)
    return out


def run_page(page_path: Path, folder: Path) -> Page:
    """Run every block of a page in order; the page's record of what was skipped."""
    found = blocks(page_path)
    wrong = [p for b in found for p in problems(b)]
    assert not wrong, "\n".join(wrong)
    page = Page(page_path.name, folder)
    for name in LINKED:  # only what a block names: pytest in the folder collects examples/
        if any(b.runs and f"{name}/" in b.text for b in found):
            (folder / name).symlink_to(ROOT / name)
    printed = {}  # index of a block that ran or was skipped -> its stdout (None: skipped)
    try:
        for index, block in enumerate(found):
            following = found[index + 1:]
            if block.language == "output":
                assert index - 1 in printed, (
                    f"{block.where}: an output block must follow the block that prints it")
                check_output(block, found[index - 1], printed[index - 1], page)
            elif "no-run" in block.flags:
                continue
            elif "file" in block.options:
                if block.language in DATA:
                    check_data(block, page)
                write_file(block, page, following)
            elif block.language in DATA:
                check_data(block, page)
            elif block.runs:
                reason = skip_reason(block)
                if reason:
                    page.skipped.append(f"{block.where} ({reason})")
                    printed[index] = None
                    continue
                shows = bool(following) and following[0].language == "output"
                printed[index] = execute(block, page, shows)
    finally:
        page.stop()
    return page


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_the_examples_of_a_page_run_against_the_demo(page, tmp_path):
    ran = run_page(page, tmp_path)
    if ran.skipped:
        message = f"{page.name}: the rest ran; not run here: " + "; ".join(ran.skipped)
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def test_a_block_that_does_not_run_fails_its_page(tmp_path):
    """The test itself: an unmarked fragment fails the page, marked it is only shown, and an
    output block that is not what the example prints fails it too."""
    fragment = "```python\nclient.service.getSubscribers(mandatorId=1)\n```\n"
    (tmp_path / "page.md").write_text(fragment)
    (tmp_path / "run").mkdir()
    with pytest.raises(pytest.fail.Exception, match=r"(?s)exited 1.*NameError"):
        run_page(tmp_path / "page.md", tmp_path / "run")
    (tmp_path / "page.md").write_text(fragment.replace("```python", "```python no-run"))
    (tmp_path / "again").mkdir()
    assert run_page(tmp_path / "page.md", tmp_path / "again").skipped == []
    (tmp_path / "page.md").write_text("```python\nprint('one')\n```\n```output\ntwo\n```\n")
    (tmp_path / "third").mkdir()
    with pytest.raises(pytest.fail.Exception, match="printed\none\n\nnot\ntwo"):
        run_page(tmp_path / "page.md", tmp_path / "third")


def test_no_doc_names_a_file_outside_the_repository():
    """Every ``../`` path of a page, link or not, stays inside the repository, and every
    relative link of a page names a file that is there."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for path in re.findall(r"(?:\.\./)+[\w.-][\w./-]*", text):
            where = (page.parent / path).resolve()
            assert ROOT in where.parents, f"{page.name} names {path}, outside the repository"
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a URL or an anchor of the page itself
            where = (page.parent / target.split("#")[0]).resolve()
            assert ROOT in where.parents and where.exists(), (
                f"{page.name} links {target}, which is not a file of the repository")
