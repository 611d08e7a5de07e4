#!/usr/bin/python3
"""The peer for BM_OnTheFlyFbnet in bench/nas_bench.cpp: regularized (aging) evolution
(Real et al. 2019) on FBNet with latency computed for each architecture it proposes,
written plainly in Python with a numpy per-block latency table, the way a
hardware-aware NAS script on HW-NAS-Bench's FBNet tables runs it.

Same loop as proxysim's on-the-fly searches: population 20, tournament sample 5 (with
replacement), one of the 22 layers mutated to a different one of its 9 blocks, a
proposal whose latency on the proxy (device 0) is over the limit redrawn before any
accuracy evaluation, 1,000 accuracy evaluations per search; each proposal's latency is
looked up on all 4 devices (as proxysim evaluates it on every device of the run) and
its accuracy read from a per-block table. The limit is the median proxy latency of
10,000 random architectures.

The table's values are seeded random numbers of a plausible size (0.05-1 ms a block,
a per-device scale): they decide which proposals are refused, not how long a lookup
takes. proxysim does more per architecture than this peer: it evaluates its latency
model on each device from compiled chain tables, and computes its synthetic accuracy
from the network's MACs and parameters (exact per-block tables), interaction terms and
noise.

It times --runs searches and projects 1,000 linearly (they are independent). With
--proxysim BENCH_BINARY it then runs that binary's BM_OnTheFlyFbnet on the same
machine, back to back, and prints both and the ratio.

    /usr/bin/python3 bench/peer_evolution_fbnet.py --runs 20 --proxysim build/bench/proxysim_nas_bench
"""

import argparse
import collections
import json
import os
import platform
import random
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_evolution import cpu_model  # noqa: E402

LAYERS, BLOCKS, DEVICES = 22, 9, 4
LAYER_INDEX = np.arange(LAYERS)


def tables(seed=0):
    rng = np.random.default_rng(seed)
    scale = np.array([1.0, 3.0, 0.1, 1.5])[:, None, None]
    latency = scale * rng.uniform(0.05, 1.0, size=(DEVICES, LAYERS, BLOCKS))
    accuracy = rng.uniform(2.7, 3.5, size=(LAYERS, BLOCKS))
    return latency, accuracy


def latency_of(latency, arch):
    return latency[:, LAYER_INDEX, arch].sum(axis=1)  # one value per device


def regularized_evolution(rng, latency, accuracy, limit, evaluations=1000, population_size=20, sample_size=5):
    def feasible(a):
        return latency_of(latency, np.asarray(a))[0] <= limit

    def evaluate(a):
        return float(accuracy[LAYER_INDEX, np.asarray(a)].sum())

    population = collections.deque()
    history = []
    refused = 0
    while len(population) < population_size:
        a = tuple(rng.randrange(BLOCKS) for _ in range(LAYERS))
        if not feasible(a):
            refused += 1
            continue
        population.append((a, evaluate(a)))
        history.append(population[-1][1])
    while len(history) < evaluations:
        sample = [rng.choice(population) for _ in range(sample_size)]
        parent = max(sample, key=lambda x: x[1])[0]
        while True:
            child = list(parent)
            k = rng.randrange(LAYERS)
            alt = rng.randrange(BLOCKS - 1)
            child[k] = alt + 1 if alt >= parent[k] else alt
            child = tuple(child)
            if feasible(child):
                break
            refused += 1
        population.append((child, evaluate(child)))
        history.append(population[-1][1])
        population.popleft()
    return max(history), refused


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--proxysim", help="proxysim_nas_bench binary to run afterwards")
    ap.add_argument("--json", help="write the result here")
    args = ap.parse_args()
    latency, accuracy = tables()
    rng = np.random.default_rng(1)
    sample = rng.integers(0, BLOCKS, size=(10000, LAYERS))
    limit = float(np.median(latency[0][LAYER_INDEX, sample].sum(axis=1)))
    t0 = time.perf_counter()
    refused = 0
    for seed in range(args.runs):
        _, r = regularized_evolution(random.Random(seed), latency, accuracy, limit)
        refused += r
    seconds = time.perf_counter() - t0
    per_run = seconds / args.runs
    result = {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
              "numpy": np.__version__, "runs": args.runs, "seconds": seconds, "seconds_per_run": per_run,
              "projected_1000_runs_s": 1000 * per_run, "refused_per_run": refused / args.runs}
    print(f"python peer: {args.runs} runs x 1000 evaluations in {seconds:.2f} s, {1e3 * per_run:.1f} ms per run, "
          f"{refused / args.runs:.0f} refusals per run (1000 runs: {1000 * per_run:.0f} s, one core)")
    if args.proxysim:
        proc = subprocess.run([args.proxysim, "--benchmark_filter=OnTheFlyFbnet", "--benchmark_format=json"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"peer_evolution_fbnet: {args.proxysim} failed:\n{proc.stderr}")
        report = json.loads(proc.stdout)
        for b in report["benchmarks"]:
            unit = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[b["time_unit"]]
            entry = {"real_time_s": b["real_time"] * unit}
            entry.update({k: b[k] for k in ("items_per_second", "rounds", "oracle_archs") if k in b})
            result[b["name"]] = entry
            print(f"proxysim {b['name']}: {entry['real_time_s']:.3g} s per iteration "
                  f"({entry.get('items_per_second', 0):.3g} evaluations/s)")
            if "Batch" in b["name"]:
                ratio = 1000 * per_run / entry["real_time_s"]
                result["ratio_1000_runs"] = ratio
                print(f"1000 runs x 1000 evaluations: proxysim {entry['real_time_s']:.2f} s on {os.cpu_count()} "
                      f"threads, python {1000 * per_run:.0f} s on one core: {ratio:.1f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
