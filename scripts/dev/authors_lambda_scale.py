#!/usr/bin/python3
"""Where the authors' lambda grid sits relative to lambda_max (docs/ARCHITECTURE.md).

The authors' notebook fits the proxy's operator weights with np.linalg.pinv on the
one-hot encoding, whose groups are linearly dependent (6 edge groups each summing to
the constant column); pinv keeps singular values of about 1e-13 that are rounding
noise, so w_P gets null-space components of 1e8..1e9 that leave X w_P unchanged but
inflate the penalty's scale. This prints, for the pairs of the paper's example, the
largest |w_P| and lambda_max (latencies in seconds, the authors' 60-sample split)
with pinv's w_P and with the minimum-norm least-squares w_P proxysim uses.

  /usr/bin/python3 scripts/dev/authors_lambda_scale.py [--data ../shared/data]
"""
import argparse
import csv
import os
import random

import numpy as np

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def one_hot(arch_str):
    x = np.zeros(31)
    for e, t in enumerate(t for part in arch_str.strip("|").split("|+|") for t in part.split("|")):
        x[e * 5 + OPS.index(t.split("~")[0])] = 1.0
    x[30] = 1.0
    return x


def lambda_max(x, w, y, train):
    u = np.c_[x[train] @ w, np.ones(len(train))]
    r = y[train] - u @ np.linalg.lstsq(u, y[train], rcond=None)[0]
    return np.linalg.norm(2.0 / len(train) * (x[train] * w).T @ r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
    rows = list(csv.DictReader(open(os.path.join(ap.parse_args().data, "oneproxy_nb201_1999_latency.csv"))))
    x = np.array([one_hot(r["arch_str"]) for r in rows])
    s = np.linalg.svd(x, compute_uv=False)
    print(f"one-hot matrix {x.shape}: singular values {s[0]:.3g} .. {s[-1]:.3g}; pinv's cutoff {1e-15 * s[0]:.3g}")
    random.seed(1)
    idx = random.sample(range(len(rows)), 70)
    print(f"{'proxy':<12} {'target':<14} {'pinv max|w|':>12} {'pinv lambda_max':>16} {'min-norm max|w|':>16} {'min-norm lambda_max':>20}")
    for proxy, target in (("true_vpu", "eagle_gtx"), ("rice_pixel3", "rice_edgegpu"), ("rice_pixel3", "rice_eyeriss")):
        p = np.array([float(r[proxy]) for r in rows]) / 1000
        y = np.array([float(r[target]) if r[target] else np.nan for r in rows]) / 1000
        train = [i for i in idx[:60] if np.isfinite(y[i])]
        w_pinv = np.linalg.pinv(x) @ p
        w_min = np.linalg.lstsq(x, p, rcond=1e-10)[0]
        print(f"{proxy:<12} {target:<14} {np.abs(w_pinv).max():>12.3g} {lambda_max(x, w_pinv, y, train):>16.3g} "
              f"{np.abs(w_min).max():>16.3g} {lambda_max(x, w_min, y, train):>20.3g}")


if __name__ == "__main__":
    main()
