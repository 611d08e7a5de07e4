#!/usr/bin/env python3
"""What top-k agreement adds to a monotonicity run: the same `proxysim monotonicity`
command (FBNet, every built-in device, Kendall off) with top-k off and on, back to back,
at each size; wall time of each whole process.

    /usr/bin/python3 bench/topk_cost.py [--binary build/proxysim] [--archs 1000000 10000000] [--k 100]
"""
import argparse
import os
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(binary, archs, k, out):
    t = time.perf_counter()
    subprocess.run([binary, "monotonicity", "--space", "fbnet", "--devices", "all", "--archs", str(archs),
                    "--no-kendall", "--top-k", str(k), "--quiet", "--out", out], check=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "proxysim"))
    ap.add_argument("--archs", type=int, nargs="+", default=[1000000, 10000000])
    ap.add_argument("--k", type=int, default=100)
    a = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"| architectures | top-k off (s) | top-k = {a.k} (s) | ratio |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.archs:
            off = run(a.binary, n, 0, os.path.join(tmp, f"off{n}.h5"))
            on = run(a.binary, n, a.k, os.path.join(tmp, f"on{n}.h5"))
            print(f"| {n:,} | {off:.1f} | {on:.1f} | {on / off:.2f} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
