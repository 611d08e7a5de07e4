"""Peer baseline of bench/rank_bench.cpp: times scipy.stats.spearmanr on an n x D matrix
or scipy.stats.kendalltau on one pair of the same construction (correlated devices,
rounded to 1e-3 ms) and prints the seconds of the call alone."""
import argparse
import time

import numpy as np
from scipy import stats


def matrix(rows, devices, rng):
    base = 1 + 20 * rng.random((rows, 1))
    noise = 0.6 + 0.8 * rng.random((rows, devices))
    return (np.floor(base * noise * 1000) / 1000).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stat", choices=["spearman", "kendall"], required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--devices", type=int, default=32)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    if args.stat == "spearman":
        x = matrix(args.rows, args.devices, rng)
        t = time.perf_counter()
        stats.spearmanr(x)
    else:
        x = matrix(args.rows, 2, rng).astype(np.float64)
        t = time.perf_counter()
        stats.kendalltau(x[:, 0], x[:, 1])
    print(time.perf_counter() - t)


if __name__ == "__main__":
    main()
