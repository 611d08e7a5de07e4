#!/usr/bin/python3
"""Markdown tables of a proxysim_adapt_bench run, from its JSON output.

    build/bench/proxysim_adapt_bench --benchmark_out=adapt.json --benchmark_out_format=json
    /usr/bin/python3 bench/adapt_bench_table.py adapt.json [--target-ms 50]

Prints the run's date and load, the floors (BM_PredictionFloor, BM_ProxyWeights), and
one row per scheme, space and proxy with the time of one fit at each n: CPU time
(this process's, the better estimate of an idle machine's wall time when the machine
is shared) and wall time. --target-ms checks issue 20's target, an FBNet adaproxy fit
at n = 100 under that many milliseconds, on both.
"""

import argparse
import json
from collections import OrderedDict

TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json")
    ap.add_argument("--target-ms", type=float)
    args = ap.parse_args()
    with open(args.json) as f:
        run = json.load(f)
    ctx = run["context"]
    load = ", ".join(f"{x:.2f}" for x in ctx.get("load_avg", []))
    print(f"proxysim_adapt_bench, {ctx['date']}, {ctx['num_cpus']} CPUs, load average {load} at the start")
    print()

    floors, fits = [], OrderedDict()
    for b in run["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        scale = TO_MS[b["time_unit"]]
        cpu, wall = b["cpu_time"] * scale, b["real_time"] * scale
        parts = b["name"].split("/")
        if parts[0] == "BM_Fit":
            _, scheme, space, proxy, n = parts
            key = (scheme, space, proxy, b.get("features"), b.get("proxy_linear_residual"))
            fits.setdefault(key, OrderedDict())[int(n.split(":")[1])] = (cpu, wall)
        else:
            floors.append((b["name"], cpu, wall))

    print("| floor | CPU ms | wall ms |")
    print("|---|---|---|")
    for name, cpu, wall in floors:
        print(f"| {name} | {cpu:.3g} | {wall:.3g} |")
    print()

    ns = sorted({n for v in fits.values() for n in v})
    print("One fit, ms, CPU / wall (n training + 10 validation samples; target gold_6226; mean over 10 fixed splits)")
    print()
    print("| scheme | space (features) | proxy (linear-fit residual) | " + " | ".join(f"n = {n}" for n in ns) + " |")
    print("|---|---|---|" + "---|" * len(ns))
    for (scheme, space, proxy, features, residual), by_n in fits.items():
        cells = " | ".join(f"{by_n[n][0]:.1f} / {by_n[n][1]:.1f}" if n in by_n else "-" for n in ns)
        print(f"| {scheme} | {space} ({features:.0f}) | {proxy} ({residual:.1g}) | {cells} |")

    if args.target_ms is not None:
        print()
        for (scheme, space, proxy, _, _), by_n in fits.items():
            if scheme == "adaproxy" and space == "fbnet" and 100 in by_n:
                cpu, wall = by_n[100]
                verdict = lambda t: "met" if t < args.target_ms else "NOT met"
                print(f"Target, FBNet adaproxy fit at n = 100 under {args.target_ms:g} ms, proxy {proxy}: "
                      f"CPU {cpu:.1f} ms ({verdict(cpu)}), wall {wall:.1f} ms ({verdict(wall)})")


if __name__ == "__main__":
    main()
