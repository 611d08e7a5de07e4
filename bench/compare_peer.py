#!/usr/bin/python3
"""proxysim's CPU latency-matrix throughput against the numpy baseline, in one run.

Runs BM_FbnetCpuCompiled of proxysim_bench (FBNet, all built-in devices, 2^20
sampled architectures, compiled chain tables, OpenMP on all cores) and then
bench/peer_numpy.py for the same n and D, both back to back on the same machine,
and prints a table of architecture-device pairs per second and their ratio. Each
side reports its best of --repeats runs. The result is also written as JSON.

    /usr/bin/python3 bench/compare_peer.py build-bench/bench/proxysim_bench results/runs/peer.json
    /usr/bin/python3 bench/compare_peer.py --print A.json B.json ...   # a table of earlier runs
"""

import argparse
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHMARK = "BM_FbnetCpuCompiled"
TARGET_RATIO = 10.0


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def run_proxysim(binary, name, repeats):
    cmd = [binary, f"--benchmark_filter=^{name}/", "--benchmark_format=json",
           f"--benchmark_repetitions={repeats}", "--benchmark_report_aggregates_only=false"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"compare_peer: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    report = json.loads(proc.stdout)
    runs = [b for b in report["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    if not runs:
        sys.exit(f"compare_peer: {binary} ran no benchmark matching {name}")
    if any(b.get("error_occurred") for b in runs):
        sys.exit(f"compare_peer: {name} failed: {runs[0].get('error_message')}")
    best = max(runs, key=lambda b: b["items_per_second"])
    return {
        "benchmark": best["name"],
        "pairs_per_second": best["items_per_second"],
        "pairs_per_second_runs": [b["items_per_second"] for b in runs],
        "archs": int(best["archs"]),
        "devices": int(best["devices"]),
        "threads": int(best["threads"]),
        "real_time_ms": best["real_time"],
        "label": best.get("label", ""),
        "context": {k: report["context"].get(k) for k in ("num_cpus", "mhz_per_cpu", "load_avg", "library_build_type")},
    }


def run_numpy(archs, devices, repeats):
    cmd = [sys.executable, os.path.join(HERE, "peer_numpy.py"), "--archs", str(archs), "--devices", str(devices),
           "--repeats", str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"compare_peer: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_runs(paths):
    """One row per result file, in the order given (runs made back to back)."""
    print("| result file | proxysim pairs/s | numpy lookup pairs/s | ratio | numpy sample + lookup | ratio | target |")
    print("|---|---|---|---|---|---|---|")
    for path in paths:
        with open(path) as f:
            r = json.load(f)
        print(f"| {os.path.basename(path)} | {r['proxysim']['pairs_per_second']:.3g} | "
              f"{r['numpy']['pairs_per_second']:.3g} | {r['ratio']:.2f}x | "
              f"{r['numpy']['pairs_per_second_with_sampling']:.3g} | {r['ratio_vs_numpy_with_sampling']:.2f}x | "
              f"{r['target_ratio']:g}x {'met' if r['target_met'] else 'NOT met'} |")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--print":
        print_runs(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench", help="path to proxysim_bench (build-*/bench/proxysim_bench)")
    ap.add_argument("output", help="where to write the JSON result")
    ap.add_argument("--repeats", type=int, default=3, help="runs per side; each side reports its best")
    args = ap.parse_args()

    ours = run_proxysim(args.bench, BENCHMARK, args.repeats)
    peer = run_numpy(ours["archs"], ours["devices"], args.repeats)
    ratio = ours["pairs_per_second"] / peer["pairs_per_second"]
    ratio_sampling = ours["pairs_per_second"] / peer["pairs_per_second_with_sampling"]
    result = {
        "machine": cpu_model(),
        "cores": os.cpu_count(),
        "archs": ours["archs"],
        "devices": ours["devices"],
        "proxysim": ours,
        "numpy": peer,
        "ratio": ratio,
        "ratio_vs_numpy_with_sampling": ratio_sampling,
        "target_ratio": TARGET_RATIO,
        "target_met": ratio >= TARGET_RATIO,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    print(f"FBNet latency matrix, n = {ours['archs']}, D = {ours['devices']}, "
          f"{result['machine']}, {result['cores']} cores, best of {args.repeats}")
    print(f"{'':34} {'pairs/s':>14}")
    print(f"{'proxysim CPU (' + str(ours['threads']) + ' threads, compiled)':34} {ours['pairs_per_second']:14.4g}")
    print(f"{'numpy lookup (1 thread)':34} {peer['pairs_per_second']:14.4g}")
    print(f"{'numpy sample + lookup':34} {peer['pairs_per_second_with_sampling']:14.4g}")
    print(f"{'ratio proxysim / numpy lookup':34} {ratio:14.2f}x")
    print(f"{'ratio proxysim / numpy sample+lookup':34} {ratio_sampling:14.2f}x")
    print(f"target >= {TARGET_RATIO:g}x: {'met' if result['target_met'] else 'NOT met'}; JSON in {args.output}")


if __name__ == "__main__":
    main()
