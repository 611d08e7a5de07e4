#!/usr/bin/python3
"""Wall time of an adaptation sweep, and each cell's adaptation time against the median.

Runs `proxysim run CONFIG --out OUT --quiet` once (a fresh output: an existing OUT
and its cells folder are removed first, so nothing is resumed), then reads each
cell's adaptation time from the result file (the `seconds` attribute of
/cells/<i>/adapt, the adapt stage alone) and its proxy (the cell's sweep axes), and
prints a markdown report: the machine's load before and after, the total wall time
and the run's CPU time (user + system: on a shared machine, CPU time / cores bounds
what the wall time would be on an idle one), the median and slowest cell, their
ratio, and every cell's time. Issue 20's targets are checked when given:
--target-total S (the whole sweep, on the wall time) and --target-ratio R (no cell
over R x the median).

    /usr/bin/python3 bench/adapt_sweep.py bench/adapt_all_pairs_nb201.yaml \\
        --target-total 180 --target-ratio 3 --markdown /tmp/adapt_nb201.md
"""

import argparse
import datetime
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cells_of(path):
    """(index, axes, adapt seconds) of every cell, in index order."""
    out = []
    with h5py.File(path, "r") as f:
        for key in sorted(f["/cells"].keys(), key=int):
            cell = f["/cells"][key]
            axes = cell.attrs.get("axes", "")
            if isinstance(axes, bytes):
                axes = axes.decode()
            if "adapt" not in cell or "seconds" not in cell["adapt"].attrs:
                sys.exit(f"adapt_sweep: {path}: /cells/{key} has no adapt stage timing (/cells/{key}/adapt `seconds`)")
            out.append((int(key), axes, float(cell["adapt"].attrs["seconds"])))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="sweep config (run from the repository root)")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "proxysim"))
    ap.add_argument("--out", help="result file (default /tmp/<config name>.h5)")
    ap.add_argument("--set", action="append", default=[], help="passed to proxysim run as --set (repeatable)")
    ap.add_argument("--target-total", type=float, help="target for the whole sweep's wall time, seconds")
    ap.add_argument("--target-ratio", type=float, help="target for the slowest cell over the median")
    ap.add_argument("--markdown", help="also write the report to this file")
    args = ap.parse_args()

    name = os.path.splitext(os.path.basename(args.config))[0]
    out = args.out or f"/tmp/{name}.h5"
    for stale in (out, out + ".cells"):
        if os.path.isdir(stale):
            shutil.rmtree(stale)
        elif os.path.exists(stale):
            os.remove(stale)
    cmd = [args.binary, "run", args.config, "--out", out, "--quiet"]
    for s in args.set:
        cmd += ["--set", s]

    load_before = load_average()
    started = datetime.datetime.now().astimezone()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_after = load_average()
    # The run's own CPU time (user + system, every thread): on a shared machine, CPU
    # seconds / cores is what the wall time would be if the run had every core alone
    # and kept them all busy, a lower bound on the idle wall time.
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    cores = os.cpu_count() or 1
    if proc.returncode != 0:
        sys.exit(f"adapt_sweep: `{' '.join(cmd)}` exited with status {proc.returncode}")

    cells = cells_of(out if os.path.isabs(out) else os.path.join(ROOT, out))
    seconds = [s for _, _, s in cells]
    median = statistics.median(seconds)
    slowest = max(cells, key=lambda c: c[2])
    ratio = slowest[2] / median if median > 0 else float("inf")

    lines = [
        f"`{' '.join([os.path.relpath(cmd[0], ROOT)] + cmd[1:])}`, started {started:%Y-%m-%d %H:%M %Z}, "
        f"load average {load_before} before, {load_after} after ({cores} cores)",
        "",
        f"| cells | total wall (s) | CPU, user + sys (s) | CPU / {cores} cores (s) | sum of adapt stages (s) "
        "| median cell (s) | slowest cell (s) | slowest / median |",
        "|---|---|---|---|---|---|---|---|",
        f"| {len(cells)} | {wall:.1f} | {cpu:.1f} | {cpu / cores:.1f} | {sum(seconds):.1f} | {median:.2f} "
        f"| {slowest[2]:.2f} ({slowest[1]}) | {ratio:.2f} |",
        "",
    ]
    verdicts = []
    if args.target_total is not None:
        verdicts.append(f"total under {args.target_total:g} s: {'met' if wall < args.target_total else 'NOT met'} "
                        f"({wall:.1f} s wall; CPU / cores {cpu / cores:.1f} s)")
    if args.target_ratio is not None:
        verdicts.append(f"no cell over {args.target_ratio:g}x the median: "
                        f"{'met' if ratio <= args.target_ratio else 'NOT met'} ({ratio:.2f}x)")
    if verdicts:
        lines += ["Targets: " + "; ".join(verdicts) + ".", ""]
    lines += ["| cell | axes | adapt (s) | / median |", "|---|---|---|---|"]
    for index, axes, s in cells:
        lines.append(f"| {index} | {axes} | {s:.2f} | {s / median:.2f} |")
    report = "\n".join(lines) + "\n"
    print(report, end="")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
