#!/usr/bin/python3
"""Fixtures for tests/search/adaproxy_authors_test.cpp and python_random_test.cpp.

An implementation of AdaProxy as the paper's authors released it (their Solver class
and notebook, Lu et al. 2022), written for the test with numpy and scipy and sharing
no code with proxysim:

  minimise  sum((X (w_P * (a + b)) + c - y)^2) / m + lambda * ||b||_2

over the scalars a, c and the vector b, w_P = least-squares weights of the proxy's
latencies on every architecture's one-hot encoding; lambda is scanned in ascending
order and a later lambda replaces the best only when its validation SRCC
(scipy.stats.spearmanr) is strictly higher, as the notebook's `if srcc_val >
max_srcc_val` does, so ties go to the least penalised. The "most penalised" variant
scans the same grid in descending order. The grid is lambda_max * 10^(-k/4), k = 24..0
(docs/ARCHITECTURE.md explains why the authors' 1..1e5 in seconds is this range).

Each fit is solved by eliminating (a, c) (least squares on [X w_P, 1]) and solving the
stationarity condition (G + mu I) b = g, mu ||b|| = lambda, with numpy.linalg.lstsq
and scipy.optimize.brentq; every fit is checked against its KKT conditions and
against scipy.optimize.minimize (SLSQP on the second-order-cone form t >= ||b||),
which must not find a lower objective.

The data: the first 300 connected HW-NAS-Bench NB201 architectures with Edge GPU
measurements (Pixel3 proxy, Edge GPU target), samples drawn with Python's
random.seed(s); random.sample(range(300), n + v), the first n for training.

Also writes python_sample.csv: random.seed(s); random.sample(range(m), k) for a few
(s, m, k), to check proxysim's reimplementation of CPython's sampler.

  /usr/bin/python3 scripts/dev/make_adaproxy_fixtures.py [--data ../shared/data]
"""
import argparse
import csv
import os
import random

import numpy as np
from scipy import optimize, stats

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "adapt")


def code_of(arch_str):
    return [OPS.index(t.split("~")[0]) for part in arch_str.strip("|").split("|+|") for t in part.split("|")]


def one_hot(code):
    x = np.zeros(31)
    for e, op in enumerate(code):
        x[e * 5 + op] = 1.0
    x[30] = 1.0
    return x


def fit(x_all, w_p, xt, y, lam):
    """(a, c, b) minimising the authors' objective at lam, exactly."""
    m = len(y)
    u = np.c_[xt @ w_p, np.ones(m)]
    z = xt * w_p
    q, _ = np.linalg.qr(u)
    a_mat = z - q @ (q.T @ z)
    r = y - q @ (q.T @ y)
    g_mat = 2.0 / m * a_mat.T @ a_mat
    g = 2.0 / m * a_mat.T @ r
    lam_max = np.linalg.norm(g)
    if lam >= lam_max:
        b = np.zeros(z.shape[1])
    else:
        # b(mu) by a least-squares solve on the stacked system [A; sqrt(mu m / 2) I] b = [r; 0].
        def b_of(mu):
            stacked = np.r_[a_mat, np.sqrt(mu * m / 2.0) * np.eye(z.shape[1])]
            return np.linalg.lstsq(stacked, np.r_[r, np.zeros(z.shape[1])], rcond=None)[0]

        phi = lambda mu: mu * np.linalg.norm(b_of(mu)) - lam
        lo, hi = 1e-300, 1.0
        while phi(hi) < 0:
            hi *= 4
        lo = hi
        while phi(lo) > 0:
            lo /= 4
        mu = optimize.brentq(lambda lm: phi(np.exp(lm)), np.log(lo), np.log(hi), xtol=1e-14, rtol=1e-15, maxiter=500)
        b = b_of(np.exp(mu))
    ac = np.linalg.lstsq(u, y - z @ b, rcond=None)[0]
    return ac[0], ac[1], b, lam_max


def objective(xt, w_p, y, lam, a, c, b):
    return np.sum((xt @ (w_p * (a + b)) + c - y) ** 2) / len(y) + lam * np.linalg.norm(b)


def check_fit(xt, w_p, y, lam, a, c, b):
    m = len(y)
    res = xt @ (w_p * (a + b)) + c - y
    z = xt * w_p
    grad_b = 2.0 / m * z.T @ res
    scale = np.linalg.norm(2.0 / m * z.T @ y)
    assert abs(np.sum(res * (xt @ w_p))) * 2 / m < 1e-8 * scale and abs(np.sum(res)) * 2 / m < 1e-8 * scale
    nb = np.linalg.norm(b)
    if nb > 0:
        assert np.linalg.norm(grad_b + lam * b / nb) < 1e-6 * scale, np.linalg.norm(grad_b + lam * b / nb) / scale
    else:
        assert np.linalg.norm(grad_b) <= lam * (1 + 1e-9)
    # A general-purpose solver on the cone form must not beat the exact fit.
    f = z.shape[1]
    start = np.r_[a, c, b, nb]

    def obj(v):
        return np.sum((xt @ (w_p * (v[0] + v[2:2 + f])) + v[1] - y) ** 2) / m + lam * v[-1]

    cons = [{"type": "ineq", "fun": lambda v: v[-1] ** 2 - v[2:2 + f] @ v[2:2 + f]}, {"type": "ineq", "fun": lambda v: v[-1]}]
    for x0 in (start, np.r_[a, c, np.zeros(f), 0.0]):
        other = optimize.minimize(obj, x0, method="SLSQP", constraints=cons, options={"ftol": 1e-15, "maxiter": 2000})
        if other.success and np.all(np.array([cc["fun"](other.x) for cc in cons]) >= -1e-12):
            assert obj(other.x) >= objective(xt, w_p, y, lam, a, c, b) * (1 - 1e-9), (obj(other.x), lam)


def scan(x_all, w_p, train, val, y_all, ascending):
    xt, yt = x_all[train], y_all[train]
    _, _, _, lam_max = fit(x_all, w_p, xt, yt, np.inf)
    grid = [lam_max * 10.0 ** (-k / 4.0) for k in range(24, -1, -1)]
    if not ascending:
        grid = grid[::-1]
    best, best_val, best_pred = None, -np.inf, None
    for lam in grid:
        a, c, b, _ = fit(x_all, w_p, xt, yt, lam)
        check_fit(xt, w_p, yt, lam, a, c, b)
        pred = x_all @ (w_p * (a + b)) + c
        s = stats.spearmanr(pred[val], y_all[val])[0]
        s = -np.inf if np.isnan(s) else s
        if s > best_val:
            best, best_val, best_pred = lam, s, pred
    return best, best_val, best_pred, lam_max


def adaproxy_cases(data):
    rows = []
    with open(os.path.join(data, "hwnasbench_nb201_cifar10.csv")) as f:
        for r in csv.DictReader(f):
            if r["connected"] == "1" and r["edgegpu_latency"] and r["pixel3_latency"]:
                rows.append(r)
            if len(rows) == 300:
                break
    codes = [code_of(r["arch_str"]) for r in rows]
    proxy = np.array([float(f"{float(r['pixel3_latency']):.9g}") for r in rows])
    target = np.array([float(f"{float(r['edgegpu_latency']):.9g}") for r in rows])
    x_all = np.array([one_hot(c) for c in codes])
    w_p = np.linalg.lstsq(x_all, proxy, rcond=None)[0]  # minimum norm (the one-hot groups are dependent)
    for name, seed, n, v in (("n20", 7, 20, 10), ("n60", 1, 60, 10)):
        random.seed(seed)
        idx = random.sample(range(len(rows)), n + v)
        train, val = idx[:n], idx[n:]
        least = scan(x_all, w_p, train, val, target, True)
        most = scan(x_all, w_p, train, val, target, False)
        path = os.path.join(OUT, f"adaproxy_{name}.csv")
        with open(path, "w") as f:
            f.write(f"# lambda_max={least[3]!r} least_lambda={least[0]!r} least_srcc={least[1]!r} "
                    f"most_lambda={most[0]!r} most_srcc={most[1]!r}\n")
            f.write("code,proxy_ms,target_ms,role,order,pred_least_penalised,pred_most_penalised\n")
            role = {i: ("train", k) for k, i in enumerate(train)}
            role.update({i: ("validation", k) for k, i in enumerate(val)})
            for i in range(len(rows)):
                rl, k = role.get(i, ("", -1))
                f.write(f"{''.join(map(str, codes[i]))},{proxy[i]!r},{target[i]!r},{rl},{k},"
                        f"{least[2][i]!r},{most[2][i]!r}\n")
        print(f"{path}: lambda_max {least[3]:.6g}, least-penalised lambda {least[0]:.6g} (val SRCC {least[1]:.4f}), "
              f"most-penalised lambda {most[0]:.6g} (val SRCC {most[1]:.4f})")


def sample_cases():
    path = os.path.join(OUT, "python_sample.csv")
    with open(path, "w") as f:
        f.write("seed,m,k,sample\n")
        for seed, m, k in ((1, 1999, 70), (1, 15284, 70), (2, 1740, 70), (20, 15625, 70), (1, 50, 20), (3, 277, 70),
                           (5, 278, 70), (0, 10, 10), (123456789012, 5000, 30), (1, 100, 5)):
            random.seed(seed)
            f.write(f"{seed},{m},{k},{' '.join(map(str, random.sample(range(m), k)))}\n")
    print(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    adaproxy_cases(args.data)
    sample_cases()


if __name__ == "__main__":
    main()
