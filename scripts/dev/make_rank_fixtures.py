"""Writes the scipy reference fixtures of tests/kernels/rank_test.cpp to tests/data/rank/.

A float32 latency matrix with many ties (values rounded to one decimal or to whole
numbers), NaN holes in two columns and one constant column, and the per-pair
Spearman rho and Kendall tau-b that scipy gives with nan_policy='omit', plus the
number of rows measured on both devices. Run once with Debian's python3:
    /usr/bin/python3 scripts/dev/make_rank_fixtures.py
"""
import os
import warnings

import numpy as np
from scipy import stats

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "rank")
ROWS = 400


def matrix(rng):
    base = rng.gamma(3.0, 2.0, ROWS)
    cols = [
        np.round(base, 1),                                        # ties from rounding
        np.round(base * rng.uniform(0.7, 1.3, ROWS), 1),          # correlated proxy
        np.round(rng.normal(10, 3, ROWS), 0),                     # whole milliseconds
        np.round(base + rng.normal(0, 2, ROWS), 1),
        np.floor(rng.uniform(0, 6, ROWS)),                        # six distinct values
        np.full(ROWS, 2.5),                                       # constant: NaN rho
    ]
    x = np.stack(cols, axis=1).astype(np.float32)
    x[rng.random(ROWS) < 0.15, 2] = np.nan
    x[rng.random(ROWS) < 0.30, 3] = np.nan
    x[:5, 3] = np.nan  # rows 0..4 missing on 3, some also on 2
    return x


def pairwise(x, fn):
    d = x.shape[1]
    out = np.full((d, d), np.nan)
    count = np.zeros((d, d), dtype=np.int64)
    for a in range(d):
        for b in range(d):
            xa = x[:, a].astype(np.float64)
            xb = x[:, b].astype(np.float64)
            keep = ~(np.isnan(xa) | np.isnan(xb))
            count[a, b] = keep.sum()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[a, b] = fn(xa, xb)
    return out, count


def write(name, header, rows, fmt):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join("" if (isinstance(v, float) and np.isnan(v)) else fmt(v) for v in r) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    x = matrix(np.random.default_rng(20220427))
    names = [f"dev{j}" for j in range(x.shape[1])]
    rho, count = pairwise(x, lambda a, b: stats.spearmanr(a, b, nan_policy="omit")[0])
    tau, _ = pairwise(x, lambda a, b: stats.kendalltau(a, b, variant="b", nan_policy="omit")[0])
    write("matrix.csv", names, [[float(v) for v in r] for r in x], lambda v: repr(float(np.float32(v))))
    write("spearman.csv", names, [[float(v) for v in r] for r in rho], lambda v: f"{v:.17g}")
    write("kendall.csv", names, [[float(v) for v in r] for r in tau], lambda v: f"{v:.17g}")
    write("pairs.csv", names, [[int(v) for v in r] for r in count], str)


if __name__ == "__main__":
    main()
