#!/usr/bin/python3
"""The peer for bench/nas_bench.cpp: regularized (aging) evolution (Real et al. 2019)
written plainly in Python, the way NAS-Bench-201's own examples run it.

Same strategy and settings as proxysim's: population 20, tournament sample 5 (with
replacement), one edge mutated to a different operation, disconnected cells never
proposed, 1,000 accuracy evaluations per run on NB201's real CIFAR-10 accuracies.
It times --runs runs and prints the time per run and the time 1,000 runs would take.
With --proxysim BENCH_BINARY it then runs proxysim_nas_bench on the same machine,
back to back, and prints both.

    /usr/bin/python3 bench/peer_evolution.py --runs 100 --proxysim build/bench/proxysim_nas_bench
"""

import argparse
import collections
import csv
import json
import os
import platform
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data", "nb201_accuracy.csv")
OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def arch_key(s):
    """'|op~0|+|op~0|op~1|+|...|' -> tuple of the 6 edge operations' indices."""
    edges = [e for node in s.split("+") for e in node.strip("|").split("|")]
    return tuple(OPS.index(e.split("~")[0]) for e in edges)


def load(path):
    acc, connected = {}, {}
    with open(path) as f:
        for row in csv.DictReader(f):
            k = arch_key(row["arch_str"])
            acc[k] = float(row["cifar10_test_acc"])
            connected[k] = row["connected"] == "1"
    return acc, connected


def random_arch(rng, connected):
    while True:
        a = tuple(rng.randrange(5) for _ in range(6))
        if connected[a]:
            return a


def mutate(rng, parent, connected):
    while True:
        child = list(parent)
        k = rng.randrange(6)
        child[k] = rng.choice([o for o in range(5) if o != parent[k]])
        child = tuple(child)
        if connected[child]:
            return child


def regularized_evolution(rng, acc, connected, evaluations=1000, population_size=20, sample_size=5):
    population = collections.deque()
    history = []
    while len(population) < population_size:
        a = random_arch(rng, connected)
        population.append((a, acc[a]))
        history.append(acc[a])
    while len(history) < evaluations:
        sample = [rng.choice(population) for _ in range(sample_size)]
        parent = max(sample, key=lambda x: x[1])[0]
        child = mutate(rng, parent, connected)
        population.append((child, acc[child]))
        history.append(acc[child])
        population.popleft()
    return max(history)


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--proxysim", help="proxysim_nas_bench binary to run afterwards")
    args = ap.parse_args()
    acc, connected = load(args.data)
    best = max(v for k, v in acc.items() if connected[k])
    t0 = time.perf_counter()
    hits = 0
    for seed in range(args.runs):
        hits += regularized_evolution(random.Random(seed), acc, connected) == best
    seconds = time.perf_counter() - t0
    per_run = seconds / args.runs
    result = {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
              "runs": args.runs, "seconds": seconds, "seconds_per_run": per_run,
              "projected_1000_runs_s": 1000 * per_run, "runs_at_optimum": hits}
    print(f"python peer: {args.runs} runs x 1000 evaluations in {seconds:.2f} s, {1e3 * per_run:.2f} ms per run "
          f"(1000 runs: {1000 * per_run:.1f} s, one core); optimum {best} found in {hits} of {args.runs}")
    if args.proxysim:
        proc = subprocess.run([args.proxysim, "--benchmark_format=json"], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"peer_evolution: {args.proxysim} failed:\n{proc.stderr}")
        report = json.loads(proc.stdout)
        for b in report["benchmarks"]:
            unit = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[b["time_unit"]]
            result[b["name"]] = {"real_time_s": b["real_time"] * unit, "items_per_second": b["items_per_second"]}
            print(f"proxysim {b['name']}: {b['real_time'] * unit:.4g} s per iteration, "
                  f"{b['items_per_second']:.3g} evaluations/s")
        batch = result.get("BM_RegularizedEvolutionBatch/iterations:3/real_time")
        one = result.get("BM_RegularizedEvolutionOneRun")
        if batch:
            print(f"1000 runs: proxysim {batch['real_time_s']:.2f} s on {os.cpu_count()} threads, "
                  f"python {1000 * per_run:.1f} s on one core")
        if one:
            print(f"one run: proxysim {1e3 * one['real_time_s']:.3f} ms, python {1e3 * per_run:.2f} ms "
                  f"({per_run / one['real_time_s']:.0f}x)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
