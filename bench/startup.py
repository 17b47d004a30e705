"""What starting costs, as figures: a fresh process building each dialect's endpoint and WSDL.

Prints, over five fresh interpreters each, the median and the slowest time to import the
WSGI app and to build the Copernica endpoint (spyne's part for the emulated methods, the rest
of the 1 762 catalogue methods added from the catalogue) and its WSDL, beside the BACKCLICK one.

    .venv/bin/python bench/startup.py
"""
from __future__ import annotations

import statistics
import subprocess
import sys
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


def main() -> None:
    """Print each step's median and slowest time over RUNS fresh interpreters."""
    for name, (setup, step) in STEPS.items():
        times = [seconds(setup, step) for _ in range(RUNS)]
        print(f"{name:28} median {statistics.median(times) * 1000:7.0f} ms   "
              f"slowest {max(times) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
