"""Writes tests/data/rank/eyeriss_srcc.csv: scipy's SRCC for every pair involving an
Eyeriss column in each shared srcc_*.csv table, computed on the shared data itself.

The published tables disagree with the data on Eyeriss pairs (see the data README and
tests/support/published_srcc.hpp), so those pairs are checked against this fixture.
Each value is scipy.stats.spearmanr over the architectures measured on both devices
and, for NB201 files (those with a `connected` column), over connected architectures
only, as the published tables are defined. The latencies are rounded to float32
first, as proxysim reads them (on help_fbnet float64 input moves some values by up to
8e-8, more than the 1e-7 the tests hold them to). Also printed: the published value
and the difference scipy - published, the list the tests carry. Run once with
Debian's python3:
    /usr/bin/python3 scripts/dev/make_eyeriss_srcc_fixtures.py
"""
import csv
import os

import numpy as np
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
DATA = os.path.join(ROOT, "..", "shared", "data")
OUT = os.path.join(ROOT, "tests", "data", "rank", "eyeriss_srcc.csv")

TABLES = [
    ("help_nb201_latency.csv", "srcc_help_nb201.csv"),
    ("help_fbnet_latency.csv", "srcc_help_fbnet.csv"),
    ("help_ofa_latency.csv", "srcc_help_ofa.csv"),
    ("hwnasbench_nb201_cifar10.csv", "srcc_hwnasbench_nb201_cifar10.csv"),
    ("oneproxy_nb201_1999_latency.csv", "srcc_oneproxy_nb201_1999.csv"),
]


def read(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def main():
    rows_out = []
    for data, table in TABLES:
        ref = read(os.path.join(DATA, table))
        names = ref[0][1:]
        published = np.array([[float(c) for c in r[1:]] for r in ref[1:]])
        rows = read(os.path.join(DATA, data))
        header, body = rows[0], rows[1:]
        if "connected" in header:
            c = header.index("connected")
            body = [r for r in body if r[c] == "1"]
        cols = [header.index(n) if n in header else header.index(n + "_latency") for n in names]
        x = np.array([[float(r[j]) if r[j] != "" else np.nan for j in cols] for r in body])
        x = x.astype(np.float32).astype(np.float64)
        for e, name in enumerate(names):
            if "eyeriss" not in name:
                continue
            for b, other in enumerate(names):
                if b == e:
                    continue
                keep = ~(np.isnan(x[:, e]) | np.isnan(x[:, b]))
                rho = stats.spearmanr(x[keep, e], x[keep, b])[0]
                diff = rho - published[e, b]
                flag = "  differs" if abs(diff) > 5e-5 else ""
                print(f"{table} {name} vs {other}: scipy {rho:.8f} published {published[e, b]:.4f} "
                      f"diff {diff:+.6f} n={keep.sum()}{flag}")
                rows_out.append((table, name, other, int(keep.sum()), rho))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("table,eyeriss,other,pairs,srcc\n")
        for table, a, b, n, rho in rows_out:
            f.write(f"{table},{a},{b},{n},{rho:.17g}\n")


if __name__ == "__main__":
    main()
