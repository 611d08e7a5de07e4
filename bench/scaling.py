#!/usr/bin/python3
"""Scaling curves of issue 20, item 5, each measured in one run of this script.

- eval: `proxysim eval --space fbnet --devices all --archs N` (43 devices, chunked
  HDF5 output) as a whole process under /usr/bin/time -v, N = 10^4 .. 10^8: wall
  time, CPU time, peak resident memory, output size. Before each size from 10^7 on, its
  time is estimated from the largest one measured (linear in N); a size whose estimate
  passes --eval-limit seconds is recorded as skipped, with the estimate, not run.
- srcc: the CPU SRCC matrix of N x 32 (`proxysim_rank_bench --scaling_rows=N`, one
  process per N under /usr/bin/time -v), N = 10^4 .. 2 x 10^7: time per matrix and the
  process's peak memory beside the matrix's own bytes.
- fit: adaproxy fits (`proxysim_adapt_bench --benchmark_filter=BM_FitScaling`) against
  n training samples and the number of features.

Every row records the load average before and after it. The CSV is the result (a run
measuring some curves keeps the file's rows of the others); the tables (and the PNG,
with --png) are printed from the CSV, so

    /usr/bin/python3 bench/scaling.py --build build --csv bench/scaling.csv --png bench/scaling.png
    /usr/bin/python3 bench/scaling.py --csv bench/scaling.csv --print-only

measure and print, or print again what was measured.
"""

import argparse
import csv
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

FIELDS = ["curve", "n", "features", "wall_s", "cpu_s", "per_item_ns", "peak_rss_mib", "data_mib", "output_mib",
          "load_before", "load_after", "utc", "note"]
EVAL_N = [10**4, 10**5, 10**6, 10**7, 10**8]
SRCC_N = [10**4, 10**5, 10**6, 2 * 10**6, 5 * 10**6, 10**7, 2 * 10**7]
SRCC_DEVICES = 32
FBNET_DEVICES = 43
# The SRCC floor of bench/NOTES.md: about 80 bytes moved per element at 32 GB/s.
SRCC_BYTES_PER_ELEMENT = 80
MEMORY_BANDWIDTH = 32e9


def load():
    return "{:.2f}".format(os.getloadavg()[0])


def utc():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns (stdout, wall s, user+sys s, peak RSS MiB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        proc = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name] + cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"scaling: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        report = tf.read()
    def field(name):
        m = re.search(r"^\s*" + re.escape(name) + r": (.+)$", report, re.M)
        if not m:
            sys.exit(f"scaling: no '{name}' in /usr/bin/time's report")
        return m.group(1).strip()
    parts = [float(p) for p in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
    wall = 0.0
    for p in parts:
        wall = wall * 60 + p
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    rss = float(field("Maximum resident set size (kbytes)")) / 1024
    return proc.stdout, wall, cpu, rss


def measure_eval(build, rows, limit, scratch):
    binary = os.path.join(build, "proxysim")
    done = []  # (n, wall) measured
    for n in EVAL_N:
        if n >= 10**7 and done:
            m, w = done[-1]
            estimate = w * n / m
            if estimate > limit:
                rows.append({"curve": "eval", "n": n, "features": "", "wall_s": "", "cpu_s": "", "per_item_ns": "",
                             "peak_rss_mib": "", "data_mib": "", "output_mib": "", "load_before": load(),
                             "load_after": "", "utc": utc(),
                             "note": f"skipped: estimated {estimate:.0f} s from n = {m} (limit {limit:.0f} s)"})
                print(f"eval n={n}: skipped, estimated {estimate:.0f} s", flush=True)
                continue
        out = os.path.join(scratch, f"scaling_eval_{n}.h5")
        before = load()
        _, wall, cpu, rss = timed([binary, "eval", "--space", "fbnet", "--devices", "all", "--archs", str(n),
                                   "--out", out, "--quiet"])
        size = os.path.getsize(out) / 2**20
        os.remove(out)
        rows.append({"curve": "eval", "n": n, "features": "", "wall_s": f"{wall:.3f}", "cpu_s": f"{cpu:.3f}",
                     "per_item_ns": f"{wall / (n * FBNET_DEVICES) * 1e9:.3f}", "peak_rss_mib": f"{rss:.1f}",
                     "data_mib": f"{n * FBNET_DEVICES * 4 / 2**20:.1f}", "output_mib": f"{size:.1f}",
                     "load_before": before, "load_after": load(), "utc": utc(), "note": ""})
        done.append((n, wall))
        print(f"eval n={n}: {wall:.2f} s wall, {rss:.0f} MiB peak", flush=True)


def measure_srcc(build, rows):
    binary = os.path.join(build, "bench", "proxysim_rank_bench")
    for n in SRCC_N:
        before = load()
        out, wall, cpu, rss = timed([binary, f"--scaling_rows={n}", "--benchmark_format=json"])
        bench = [b for b in json.loads(out)["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
        if not bench or bench[0].get("error_occurred"):
            sys.exit(f"scaling: rank bench at n = {n} ran nothing")
        ms = bench[0]["real_time"]
        rows.append({"curve": "srcc", "n": n, "features": SRCC_DEVICES, "wall_s": f"{ms / 1e3:.4f}", "cpu_s": "",
                     "per_item_ns": f"{ms * 1e6 / (n * SRCC_DEVICES):.3f}", "peak_rss_mib": f"{rss:.1f}",
                     "data_mib": f"{n * SRCC_DEVICES * 4 / 2**20:.1f}", "output_mib": "", "load_before": before,
                     "load_after": load(), "utc": utc(),
                     "note": f"{bench[0]['iterations']} iterations; process {wall:.1f} s wall"})
        print(f"srcc n={n}: {ms:.1f} ms, {rss:.0f} MiB peak", flush=True)


def measure_fit(build, rows):
    binary = os.path.join(build, "bench", "proxysim_adapt_bench")
    before = load()
    proc = subprocess.run([binary, "--benchmark_filter=BM_FitScaling", "--benchmark_format=json"], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        sys.exit(f"scaling: {binary} failed:\n{proc.stderr[-2000:]}")
    after = load()
    for b in json.loads(proc.stdout)["benchmarks"]:
        m = re.match(r"BM_FitScaling/(\w+)/features:(\d+)/n:(\d+)(/cached_weights)?$", b["name"])
        if not m:
            continue
        ms = b["cpu_time"]
        rows.append({"curve": "fit_cached" if m.group(4) else "fit_uncached", "n": int(m.group(3)),
                     "features": int(m.group(2)), "wall_s": f"{b['real_time'] / 1e3:.6f}",
                     "cpu_s": f"{ms / 1e3:.6f}", "per_item_ns": "", "peak_rss_mib": "", "data_mib": "",
                     "output_mib": "", "load_before": before, "load_after": after, "utc": utc(),
                     "note": f"{m.group(1)}, adaproxy, one thread"})
    print("fit: done", flush=True)


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def table(header, lines):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for line in lines:
        print("| " + " | ".join(str(x) for x in line) + " |")
    print()


def fmt_n(n):
    n = int(n)
    e = len(str(n)) - 1
    return f"10^{e}" if n == 10**e else f"{n // 10**e} x 10^{e}"


def ratio(a, b):
    return f"{float(a) / float(b):.2f}" if a and b else ""


def report(rows):
    ev = [r for r in rows if r["curve"] == "eval"]
    if ev:
        print("Evaluation, `proxysim eval --space fbnet --devices all --archs N --quiet` (43 devices, HDF5 written), whole process:\n")
        lines, prev = [], None
        for r in ev:
            if not r["wall_s"]:
                lines.append([fmt_n(r["n"]), "", "", "", "", "", "", "", r["load_before"], r["note"]])
                continue
            step = ratio(r["wall_s"], prev["wall_s"]) if prev else ""
            lines.append([fmt_n(r["n"]), r["wall_s"], step, r["cpu_s"], f"{float(r['per_item_ns']):.2f}",
                          f"{float(r['n']) * FBNET_DEVICES / float(r['wall_s']):.3g}", r["peak_rss_mib"],
                          r["output_mib"], f"{r['load_before']} / {r['load_after']}", r["note"]])
            prev = r
        table(["archs", "wall (s)", "x previous", "CPU (s)", "ns per pair", "pairs/s", "peak RSS (MiB)",
               "output (MiB)", "load before / after", "note"], lines)
    sr = [r for r in rows if r["curve"] == "srcc"]
    if sr:
        print(f"SRCC matrix, N x {SRCC_DEVICES} (CPU, `proxysim_rank_bench --scaling_rows=N`), one process per N; "
              f"floor {SRCC_BYTES_PER_ELEMENT} B per element at {MEMORY_BANDWIDTH / 1e9:.0f} GB/s:\n")
        lines, prev = [], None
        for r in sr:
            n = float(r["n"])
            floor = n * SRCC_DEVICES * SRCC_BYTES_PER_ELEMENT / MEMORY_BANDWIDTH
            step = ratio(r["wall_s"], prev["wall_s"]) if prev else ""
            lines.append([fmt_n(r["n"]), f"{float(r['wall_s']) * 1e3:.1f}", step, f"{float(r['per_item_ns']):.2f}",
                          f"{floor * 1e3:.1f}", f"{float(r['wall_s']) / floor:.2f}", r["peak_rss_mib"], r["data_mib"],
                          f"{float(r['peak_rss_mib']) / float(r['data_mib']):.2f}",
                          f"{r['load_before']} / {r['load_after']}"])
            prev = r
        table(["rows", "time (ms)", "x previous", "ns per element", "floor (ms)", "/ floor", "peak RSS (MiB)",
               "matrix (MiB)", "RSS / matrix", "load before / after"], lines)
    fc = [r for r in rows if r["curve"] == "fit_cached"]
    if fc:
        feats = sorted({int(r["features"]) for r in fc})
        ns = sorted({int(r["n"]) for r in fc})
        cell = {(int(r["features"]), int(r["n"])): float(r["cpu_s"]) * 1e3 for r in fc}
        space = {int(r["features"]): r["note"].split(",")[0] for r in fc}
        print("adaproxy fit, w_P cached (as in a sweep), CPU ms per fit on one thread, against n (+ 10 validation) "
              f"and features; load {fc[0]['load_before']} before, {fc[0]['load_after']} after:\n")
        table(["features"] + [f"n = {n}" for n in ns],
              [[f"{f} ({space[f]})"] + [f"{cell[(f, n)]:.2f}" if (f, n) in cell else "" for n in ns] for f in feats])
        fu = [r for r in rows if r["curve"] == "fit_uncached"]
        if fu:
            print("The same fit without the cache (the proxy weights' QR every fit), n = 100:\n")
            table(["features", "CPU ms", "cached CPU ms"],
                  [[r["features"], f"{float(r['cpu_s']) * 1e3:.2f}",
                    f"{cell.get((int(r['features']), 100), float('nan')):.2f}"] for r in fu])


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    ev = [r for r in rows if r["curve"] == "eval" and r["wall_s"]]
    sr = [r for r in rows if r["curve"] == "srcc"]
    if ev:
        a = ax[0]
        a.loglog([float(r["n"]) for r in ev], [float(r["wall_s"]) for r in ev], "o-", label="wall (s)")
        b = a.twinx()
        b.semilogx([float(r["n"]) for r in ev], [float(r["peak_rss_mib"]) for r in ev], "s--", color="C1",
                   label="peak RSS (MiB)")
        b.set_ylabel("peak RSS (MiB)")
        a.set_xlabel("architectures (x 43 devices)")
        a.set_ylabel("wall (s)")
        a.set_title("eval, FBNet, HDF5 written")
        a.legend(loc="upper left")
        b.legend(loc="lower right")
    if sr:
        a = ax[1]
        a.loglog([float(r["n"]) for r in sr], [float(r["wall_s"]) for r in sr], "o-", label="time (s)")
        a.loglog([float(r["n"]) for r in sr],
                 [float(r["n"]) * SRCC_DEVICES * SRCC_BYTES_PER_ELEMENT / MEMORY_BANDWIDTH for r in sr], ":",
                 color="C0", label="memory floor (s)")
        b = a.twinx()
        b.loglog([float(r["n"]) for r in sr], [float(r["peak_rss_mib"]) for r in sr], "s--", color="C1",
                 label="peak RSS (MiB)")
        b.set_ylabel("peak RSS (MiB)")
        a.set_xlabel("rows (x 32 columns)")
        a.set_ylabel("time (s)")
        a.set_title("SRCC matrix, CPU")
        a.legend(loc="upper left")
        b.legend(loc="lower right")
    fc = [r for r in rows if r["curve"] == "fit_cached"]
    if fc:
        a = ax[2]
        for f in sorted({int(r["features"]) for r in fc}):
            pts = sorted((int(r["n"]), float(r["cpu_s"]) * 1e3) for r in fc if int(r["features"]) == f)
            a.loglog([p[0] for p in pts], [p[1] for p in pts], "o-", label=f"{f} features")
        a.set_xlabel("training samples n")
        a.set_ylabel("CPU ms per fit")
        a.set_title("adaproxy fit, w_P cached")
        a.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="build folder with proxysim and bench/")
    ap.add_argument("--csv", required=True, help="result file (written, or read with --print-only)")
    ap.add_argument("--png", help="also draw the curves here")
    ap.add_argument("--curves", default="eval,srcc,fit", help="which curves to measure")
    ap.add_argument("--eval-limit", type=float, default=600, help="skip an eval size estimated to take longer (s)")
    ap.add_argument("--scratch", default=tempfile.gettempdir(), help="folder for the eval runs' HDF5 files")
    ap.add_argument("--print-only", action="store_true", help="print the tables of an existing result file")
    args = ap.parse_args()
    if not args.print_only:
        rows = []
        curves = args.curves.split(",")
        if "eval" in curves:
            measure_eval(args.build, rows, args.eval_limit, args.scratch)
        if "srcc" in curves:
            measure_srcc(args.build, rows)
        if "fit" in curves:
            measure_fit(args.build, rows)
        # Curves not measured this run keep their rows from the file.
        kept = [r for r in read(args.csv) if r["curve"].split("_")[0] not in curves] if os.path.exists(args.csv) else []
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(kept + rows)
    rows = read(args.csv)
    report(rows)
    if args.png:
        plot(rows, args.png)


if __name__ == "__main__":
    main()
