"""Writes the scipy reference fixtures of tests/search/nnls_test.cpp to tests/data/nnls/.

Each case_<k>.txt holds one problem min ||A x - b|| s.t. x >= 0 and scipy's answer:
a line "m n", m lines of A, one line of b, one line of x (scipy.optimize.nnls), one
line with scipy's residual norm; numbers in repr (round-trip) precision. The cases
cover tall, square and wide A, an exact non-negative solution, a solution with most
variables at zero, collinear columns and latency-like scales (columns of a few to a
few hundred milliseconds). Run once with Debian's python3:
    /usr/bin/python3 scripts/dev/make_nnls_fixtures.py
"""
import os

import numpy as np
from scipy.optimize import nnls

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "nnls")


def cases(rng):
    a = rng.normal(size=(20, 5))
    yield a, rng.normal(size=20)                                    # tall, mixed signs
    a = rng.uniform(1, 2, size=(12, 4))
    yield a, a @ np.array([0.7, 0.0, 0.3, 0.0])                     # exact, sparse
    a = rng.normal(size=(6, 10))
    yield a, rng.normal(size=6)                                     # wide
    a = rng.normal(size=(15, 6))
    yield a, -np.abs(a @ rng.uniform(0, 1, 6))                      # x = 0 region
    base = rng.uniform(5, 50, size=30)
    a = np.stack([base, 2 * base, base + rng.normal(0, 1, 30), rng.uniform(1, 300, 30)], axis=1)
    yield a, 0.4 * base + 0.01 * a[:, 3] + rng.normal(0, 0.5, 30)   # collinear, ms scales
    a = rng.uniform(0.5, 200, size=(10, 8))
    yield a, a @ rng.uniform(0, 1, 8) * rng.uniform(0.9, 1.1, 10)    # latency-like, n = 10
    a = rng.normal(size=(8, 8))
    yield a, rng.normal(size=8)                                     # square


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240605)
    for k, (a, b) in enumerate(cases(rng)):
        x, rnorm = nnls(a, b, maxiter=50 * a.shape[1])
        with open(os.path.join(OUT, f"case_{k}.txt"), "w") as f:
            f.write(f"{a.shape[0]} {a.shape[1]}\n")
            for row in a:
                f.write(" ".join(repr(float(v)) for v in row) + "\n")
            f.write(" ".join(repr(float(v)) for v in b) + "\n")
            f.write(" ".join(repr(float(v)) for v in x) + "\n")
            f.write(repr(float(rnorm)) + "\n")
        print(f"case_{k}: {a.shape}, active {np.count_nonzero(x)}, residual {rnorm:.6g}")


if __name__ == "__main__":
    main()
