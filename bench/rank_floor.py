#!/usr/bin/python3
"""SRCC 10^6 x 32 and Kendall tau-b at 10^6 against their memory floors (bench/NOTES.md,
stages 2 and 3), for one or more builds of proxysim_rank_bench measured back to back.

Each round runs every binary once, in turn (so a change in the machine's load falls on
all of them alike): `bm_spearman_matrix/cpu`, `bm_top_k_matrix/cpu` where the binary has
it (top-k agreement, k = 100, for every pair of the same matrix, right after the SRCC
matrix in the same process) and `bm_kendall_pair/cpu` (Google Benchmark's mean over its
iterations), then `--scaling_rows=1000000` under
/usr/bin/time -v for the SRCC process's peak resident memory (the 128 MB matrix
included). A binary's figure is its best round; every round is kept in the JSON.

The floors are bytes over this host's copy bandwidth, measured first (numpy copies
1 GiB, best of 5, read + write counted): SRCC 10^6 x 32 moves 2.6 GB, a Kendall pair
at 10^6 250 MB (NOTES.md, stages 2 and 3). A JSON written before the measurement was
added is read with the 32 GB/s of the host NOTES.md derived them on.

    /usr/bin/python3 bench/rank_floor.py --rounds 3 before=/tmp/rank_bench_old after=build/bench/proxysim_rank_bench --json out.json
    /usr/bin/python3 bench/rank_floor.py --print-only out.json
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

SRCC_FLOOR_BYTES = 2.6e9     # NOTES.md, stage 2
KENDALL_FLOOR_BYTES = 2.5e8  # NOTES.md, stage 3
OLD_HOST_GBPS = 32.0         # the bandwidth NOTES.md's first floors used (81 and 7.8 ms)
TARGET = 2.5             # issue 20, item 4
TOPK_TARGET = 2.0        # issue 20, item 4: top-k on costs at most 2x the SRCC matrix alone
TOP_K = 100              # bm_top_k_matrix's k, the monotonicity stage's default
ROWS, DEVICES = 1000000, 32


def copy_gbps():
    """numpy's copy of 1 GiB, best of 5, in GB/s of bytes read plus written."""
    import time
    import numpy as np
    src = np.ones(1 << 27, dtype=np.float64)  # 1 GiB, faulted in
    dst = np.empty_like(src)
    dst[:] = 0.0
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t)
    return 2 * src.nbytes / best / 1e9


def floors(result):
    gbps = result.get("copy_gbps", OLD_HOST_GBPS)
    return gbps, SRCC_FLOOR_BYTES / gbps / 1e6, KENDALL_FLOOR_BYTES / gbps / 1e6


def load():
    return round(os.getloadavg()[0], 2)


def bench(binary):
    cmd = [binary, "--benchmark_filter=^bm_(spearman_matrix|top_k_matrix|kendall_pair)/cpu", "--benchmark_format=json"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"rank_floor: {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    out = {}
    for b in json.loads(proc.stdout)["benchmarks"]:
        name = b["name"]
        key = "srcc_ms" if name.startswith("bm_spearman_matrix") else "topk_ms" if name.startswith("bm_top_k") else "kendall_ms"
        out[key] = b["real_time"]
    return out


def peak_rss(binary):
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        proc = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name, binary, f"--scaling_rows={ROWS}",
                               "--benchmark_format=json"], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"rank_floor: {binary} --scaling_rows failed:\n{proc.stderr[-2000:]}")
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tf.read())
    return int(m.group(1)) / 1024


def report(result):
    gbps, srcc_floor, kendall_floor = floors(result)
    measured = "measured on this host" if "copy_gbps" in result else "NOT measured in this file: the old host's"
    print(f"SRCC {ROWS:,} x {DEVICES} and Kendall tau-b at {ROWS:,}, CPU, {result['rounds']} rounds back to back, "
          f"started {result['started']} UTC; best round per build; load average per round "
          f"{', '.join(str(r) for r in result['loads'])}; copy bandwidth {gbps:.1f} GB/s ({measured}), so floors "
          f"SRCC {srcc_floor:.1f} ms, Kendall {kendall_floor:.2f} ms\n")
    print(f"| build | SRCC (ms) | / floor {srcc_floor:.0f} ms | Kendall (ms) | / floor {kendall_floor:.1f} ms | "
          "SRCC process peak RSS (MiB) | SRCC rounds (ms) | Kendall rounds (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in result["builds"].items():
        s, k = min(r["srcc_ms"]), min(r["kendall_ms"])
        print(f"| {name} | {s:.1f} | {s / srcc_floor:.2f} | {k:.1f} | {k / kendall_floor:.2f} | "
              f"{min(r['peak_rss_mib']):.0f} | {', '.join(f'{x:.0f}' for x in r['srcc_ms'])} | "
              f"{', '.join(f'{x:.1f}' for x in r['kendall_ms'])} |")
    names = list(result["builds"])
    if len(names) >= 2:
        a, b = result["builds"][names[0]], result["builds"][names[-1]]
        print(f"\n{names[-1]} / {names[0]}: SRCC {min(b['srcc_ms']) / min(a['srcc_ms']):.2f}, "
              f"Kendall {min(b['kendall_ms']) / min(a['kendall_ms']):.2f} (time; below 1 is faster)")
    last = result["builds"][names[-1]]
    for stat, floor, key in (("SRCC", srcc_floor, "srcc_ms"), ("Kendall", kendall_floor, "kendall_ms")):
        ratio = min(last[key]) / floor
        print(f"Target, {stat} within {TARGET}x of its floor: {ratio:.2f}x ({'met' if ratio <= TARGET else 'NOT met'})")
    for name, r in result["builds"].items():
        if not r.get("topk_ms"):
            continue
        per_round = [(s + t) / s for s, t in zip(r["srcc_ms"], r["topk_ms"])]
        print(f"\n{name}: top-k agreement (k = {TOP_K}) for every pair of the same matrix, timed right after the SRCC "
              f"matrix in each round: rounds {', '.join(f'{x:.1f}' for x in r['topk_ms'])} ms, best {min(r['topk_ms']):.1f}")
        worst = max(per_round)
        print(f"Target, SRCC + top-k within {TOPK_TARGET}x of the SRCC matrix alone: per round "
              f"{', '.join(f'{x:.2f}' for x in per_round)}x ({'met' if worst <= TOPK_TARGET else 'NOT met'})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("builds", nargs="*", help="NAME=path/to/proxysim_rank_bench, measured in this order each round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="result file to write")
    ap.add_argument("--print-only", metavar="JSON", help="print the table of an earlier result file")
    args = ap.parse_args()
    if args.print_only:
        with open(args.print_only) as f:
            report(json.load(f))
        return
    builds = dict(b.split("=", 1) for b in args.builds)
    result = {"started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
              "rounds": args.rounds, "loads": [], "builds": {}, "copy_gbps": copy_gbps()}
    for name in builds:
        result["builds"][name] = {"srcc_ms": [], "topk_ms": [], "kendall_ms": [], "peak_rss_mib": []}
    for _ in range(args.rounds):
        result["loads"].append(load())
        for name, binary in builds.items():
            r = bench(binary)
            result["builds"][name]["srcc_ms"].append(r["srcc_ms"])
            result["builds"][name]["kendall_ms"].append(r["kendall_ms"])
            if "topk_ms" in r:
                result["builds"][name]["topk_ms"].append(r["topk_ms"])
            result["builds"][name]["peak_rss_mib"].append(peak_rss(binary))
    result["loads"].append(load())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    report(result)


if __name__ == "__main__":
    main()
