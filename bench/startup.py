"""What starting costs, as figures: a fresh process building each dialect's endpoint and WSDL.

Prints, over five fresh interpreters each, the median and the slowest time to import the
WSGI app and to build the Copernica endpoint (spyne's part for the emulated methods, the rest
of the 1 762 catalogue methods added from the catalogue) and its WSDL, beside the BACKCLICK one,
and the time ``mockserver serve`` takes to refuse a port another program holds (exit 1).

    .venv/bin/python bench/startup.py
"""
from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
APP = "import mockserver.surfaces.web"
# name: (what runs before the clock starts, what is timed)
STEPS = {
    "import mockserver.surfaces.web": ("pass", APP),
    "Copernica endpoint + WSDL": (APP, "from mockserver import copernica; "
                                       "copernica.endpoint().wsdl('http://127.0.0.1:8080/')"),
    "BACKCLICK endpoint + WSDL": (APP, "from mockserver import backclick; "
                                       "backclick.endpoint().wsdl('http://127.0.0.1:8080/')"),
}


def seconds(setup: str, step: str) -> float:
    """How long ``step`` takes in a fresh interpreter, after ``setup``."""
    code = f"import time; {setup}; t = time.perf_counter(); {step}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    return float(out)


def refused_on_a_taken_port() -> float:
    """How long ``mockserver serve`` takes to say that its port is taken, and exit 1."""
    with socket.socket() as other, tempfile.TemporaryDirectory() as folder:
        other.bind(("127.0.0.1", 0))
        other.listen()
        command = [sys.executable, "-m", "mockserver", "serve", "--demo", "--db",
                   str(Path(folder) / "store.db"), "--port", str(other.getsockname()[1])]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        took = time.perf_counter() - started
    assert done.returncode == 1 and "is taken" in done.stderr, done.stderr
    return took


def main() -> None:
    """Print each step's median and slowest time over RUNS fresh interpreters."""
    steps = {name: (lambda s=setup, t=step: seconds(s, t)) for name, (setup, step) in STEPS.items()}
    steps["serve on a taken port, exit 1"] = refused_on_a_taken_port
    for name, step in steps.items():
        times = [step() for _ in range(RUNS)]
        print(f"{name:30} median {statistics.median(times) * 1000:7.0f} ms   "
              f"slowest {max(times) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
