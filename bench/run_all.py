"""`make bench`: the five targets of the production topology in one bounded run, then their
figures side by side with the machine's load.

Each script runs in turn under its own time bound (and all of them under `--budget`, 12 minutes
by default); its output is shown as it finishes. At the end, one table: each benchmark's exit
status, time, and the lines that carry its targets and checks. Exits 1 if any benchmark failed a
correctness check (seat counts, charge counts, 5xx), ran out of time, or could not run. The
topology needs root (network namespaces); `transfer_size.py` runs on loopback.

    sudo .venv/bin/python bench/run_all.py [--budget 720]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (script, its own bound in seconds), in the order of bench/README.md.
BENCHES = [
    ("transfer_size", 90),  # embed.js budget (quick, loopback)
    ("read_throughput", 150),  # targets 1 and 2, live progress
    ("per_request", 150),  # target 3
    ("game_day", 480),  # targets 4 and 5
]
# The lines of each script's output worth seeing side by side.
KEY_LINE = re.compile(r"target|machine|MISMATCH|embed.js |visit ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=720, help="seconds for all of them")
    args = parser.parse_args()
    deadline = time.monotonic() + args.budget
    rows = []
    print(f"make bench: load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    for name, bound in BENCHES:
        left = deadline - time.monotonic()
        if left < 30:
            rows.append((name, "not run (budget spent)", 0.0, []))
            continue
        started = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, str(HERE / f"{name}.py")],
                cwd=HERE,
                capture_output=True,
                text=True,
                timeout=min(bound, left),
            )
            status, output = f"exit {done.returncode}", done.stdout + done.stderr[-3000:]
        except subprocess.TimeoutExpired as exc:
            status = f"TIMED OUT after {min(bound, left):.0f} s"
            output = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else ""
        elapsed = time.monotonic() - started
        print(f"\n== {name} ({status}, {elapsed:.0f} s)\n{output.rstrip()}", flush=True)
        rows.append(
            (
                name,
                status,
                elapsed,
                [ln.strip() for ln in output.splitlines() if KEY_LINE.search(ln)],
            )
        )
    print(f"\n== side by side (load average {os.getloadavg()[0]:.1f} at the end)")
    for name, status, elapsed, lines in rows:
        print(f"{name:<16} {status:<24} {elapsed:5.0f} s")
        for line in lines:
            print(f"{'':<18}{line}")
    failed = [name for name, status, *_ in rows if status != "exit 0"]
    if failed:
        print(f"FAILED or not run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
