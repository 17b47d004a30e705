"""mockserver beside the anchors: runs the shared comparison harness and prints the ratios.

The harness is a directory holding ``run_project.sh`` and ``run_anchors.sh`` (it is not part
of this repository); name it with ``--harness DIR`` or the environment variable
MOCKSERVER_BENCH_HARNESS. This script runs ``bash DIR/run_project.sh <project root>``, which
measures WireMock, node-soap, bare spyne and a raw WSGI app and then this project's
``.venv/bin/mockserver serve --workers 2`` on getSubscribers, in two passes (the second in
reverse order). It takes several minutes.

    .venv/bin/python bench/compare.py --harness DIR [-- extra harness flags, e.g. --passes 1]
    .venv/bin/python bench/compare.py --results FILE     # only print an existing results.json

The harness writes results.md, results.csv, results.json and logs/ to the directory this
script gives it with ``--out`` (bench/results/compare-<time>/, unless the extra flags name
another). Per pass, the script prints mockserver's req/s, p99, start-to-ready and RSS, and
the ratio of mockserver's req/s over each anchor's in the same pass. The machine is shared:
read the ratios within one run, not the absolute figures.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HARNESS_ENV = "MOCKSERVER_BENCH_HARNESS"
TARGET = "mockserver"  # the row name run_project.sh gives this project


def harness_dir(given: str | None) -> Path:
    """The harness directory from ``--harness`` or the environment; exits when unusable."""
    folder = given or os.environ.get(HARNESS_ENV)
    if not folder:
        raise SystemExit(f"name the comparison harness: --harness DIR or {HARNESS_ENV}=DIR "
                         "(a directory holding run_project.sh and run_anchors.sh)")
    path = Path(folder).expanduser().resolve()
    missing = [n for n in ("run_project.sh", "run_anchors.sh") if not (path / n).is_file()]
    if missing:
        raise SystemExit(f"{path} has no {' or '.join(missing)}: not the comparison harness")
    return path


def run_harness(harness: Path, extra: list[str]) -> Path:
    """Run the harness against this project; the results.json it wrote."""
    if not (ROOT / ".venv" / "bin" / "mockserver").exists():
        raise SystemExit("the harness runs .venv/bin/mockserver: make the venv first "
                         "(make .venv/.test-deps or make serve)")
    if "--out" in extra or any(a.startswith("--out=") for a in extra):
        out = None
    else:
        out = RESULTS / f"compare-{time.strftime('%Y%m%d-%H%M%S')}"
        extra = ["--out", str(out), *extra]
    command = ["bash", str(harness / "run_project.sh"), str(ROOT), *extra]
    print("running the comparison harness (several minutes) ...", flush=True)
    started = time.time()
    code = subprocess.run(command, cwd=ROOT).returncode
    if out is None:  # the extra flags chose the directory
        value = extra[extra.index("--out") + 1] if "--out" in extra else \
            next(a for a in extra if a.startswith("--out="))[len("--out="):]
        out = Path(value)
    found = out / "results.json"
    if not found.exists() or found.stat().st_mtime < started:
        raise SystemExit(f"the harness exited {code} and wrote no {found}")
    if code:
        print(f"note: the harness exited {code} (a server failed or did not stop); "
              "its rows say which", flush=True)
    return found


def ratios(results: dict, target: str = TARGET) -> str:
    """The per-pass table of ``target``'s figures and its req/s over each anchor's."""
    rows = results["rows"]
    servers = list(results.get("servers") or dict.fromkeys(r["server"] for r in rows))
    if target not in servers:
        raise SystemExit(f"no {target!r} row in the results (servers: {', '.join(servers)})")
    anchors = [s for s in servers if s != target]
    by = {(r["pass"], r["server"]): r for r in rows}
    passes = sorted({r["pass"] for r in rows})
    widths = {a: len(a) + 3 for a in anchors}
    head = (f"{'pass':<6}{'req/s':>8}{'p99 ms':>9}{'ready ms':>10}{'RSS MB':>8}  "
            + "".join(f"{'/' + a:>{widths[a]}}" for a in anchors))
    lines = [f"{target}: its req/s, p99, start-to-ready and RSS, and its req/s over each "
             "anchor's in the same pass (1.00 = as fast)", "",
             head, "-" * len(head)]
    for p in passes:
        mine = by.get((p, target))
        if mine is None or mine.get("status") != "ok" or not mine.get("rps"):
            detail = (mine or {}).get("detail") or "not measured"
            lines.append(f"{p:<6}{'error: ' + detail}")
            continue
        cells = []
        for a in anchors:
            other = by.get((p, a))
            ok = other is not None and other.get("status") == "ok" and other.get("rps")
            cells.append(f"{mine['rps'] / other['rps']:>{widths[a]}.2f}" if ok
                         else f"{'-':>{widths[a]}}")
        lines.append(f"{p:<6}{mine['rps']:>8,.0f}{_num(mine.get('p99_ms'), 2):>9}"
                     f"{_num(mine.get('ready_ms'), 0):>10}{_num(mine.get('rss_mb'), 1):>8}  "
                     + "".join(cells))
    lines += ["", "anchors' req/s (pass " + " / ".join(map(str, passes)) + "):"]
    for a in anchors:
        figures = []
        for p in passes:
            r = by.get((p, a))
            figures.append(f"{r['rps']:,.0f}" if r and r.get("status") == "ok" and r.get("rps")
                           else "ERR")
        lines.append(f"  {a:<16}{' / '.join(figures)}")
    meta = results.get("meta") or {}
    if meta:
        lines += ["", f"run of {meta.get('date_utc', '?')} on {meta.get('nproc', '?')} CPUs "
                      f"({meta.get('cpu', '?')})"]
    return "\n".join(lines)


def _num(value, digits: int) -> str:
    """A figure with ``digits`` decimals, or ``-`` when the harness has none."""
    return "-" if value in (None, "") else f"{value:,.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    """Run the harness (or read ``--results``) and print the ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--harness", metavar="DIR",
                        help=f"the harness directory (default: ${HARNESS_ENV})")
    parser.add_argument("--results", metavar="FILE",
                        help="print the ratios of this results.json; run nothing")
    parser.add_argument("--target", default=TARGET,
                        help=f"the project's row name in the results ({TARGET})")
    parser.add_argument("extra", nargs="*", metavar="FLAG",
                        help="after --: flags passed on to the harness (e.g. --passes 1)")
    args = parser.parse_args(argv)
    if args.results:
        if args.extra or args.harness:
            parser.error("--results runs nothing: drop --harness and the harness flags")
        found = Path(args.results)
    else:
        found = run_harness(harness_dir(args.harness), args.extra)
    results = json.loads(found.read_text())
    print(f"\n{found}\n")
    print(ratios(results, args.target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
