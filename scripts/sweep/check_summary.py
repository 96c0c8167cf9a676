#!/usr/bin/env python3
"""Check the summary of a finished sweep against the runs of its sweep file.

    python3 scripts/sweep/check_summary.py IPS SWEEP OUT

IPS is the ips binary, SWEEP the sweep file and OUT the sweep's output
directory. Every run listed by `ips sweep points` must have one row in
OUT/summary.csv with its axis values, and finite W2 and kernel errors,
and every axis must have its figure. Exits with status 1 and a list of
the failures otherwise.
"""

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

FINITE_COLUMNS = ["w2_max", "w2_final", "w2_learned_data_max", "kernel_rel_l2_error"]


def main(ips: str, sweep: str, out: str) -> int:
    points = json.loads(
        subprocess.run([ips, "--quiet", "sweep", "points", sweep], check=True, capture_output=True, text=True).stdout
    )
    out_dir = Path(out)
    with open(out_dir / "summary.csv", newline="") as file:
        rows = {(row["point"], int(row["seed"])): row for row in csv.DictReader(file)}

    failures = []
    if len(rows) != len(points["runs"]):
        failures.append(f"summary.csv has {len(rows)} rows for {len(points['runs'])} runs")
    for run in points["runs"]:
        row = rows.get((run["point"], run["seed"]))
        if row is None:
            failures.append(f"{run['dir']}: no row")
            continue
        for axis, value in zip(points["axes"], run["values"]):
            if float(row[axis["name"]]) != value:
                failures.append(f"{run['dir']}: {axis['name']} = {row[axis['name']]}, expected {value}")
        for column in FINITE_COLUMNS:
            text = row[column]
            if text == "" or not math.isfinite(float(text)) or float(text) < 0:
                failures.append(f"{run['dir']}: {column} = {text!r} is not a finite number >= 0")
    for axis in points["axes"]:
        figure = out_dir / "plots" / f"w2_{axis['name']}.png"
        if not figure.is_file() or figure.stat().st_size == 0:
            failures.append(f"{figure}: missing or empty")

    for failure in failures:
        print(f"check_summary: {failure}", file=sys.stderr)
    if failures:
        return 1
    print(f"check_summary: {len(rows)} runs of {points['name']} have finite W2 and their figures")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
