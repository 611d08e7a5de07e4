#!/usr/bin/env python3
"""A stand-in for your own measurements: a device `factor` times slower than one
column of a shared latency table, with `noise` relative Gaussian noise per
architecture (seeded), measured on `rows` architectures spread over the table.
Prints the CSV (arch_index,arch_str,my_phone) that `proxysim` reads.

    examples/make_phone.py TABLE.csv COLUMN ROWS [--factor 1.7] [--noise 0.02] [--seed 11]
"""
import argparse
import csv
import random
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table")
    ap.add_argument("column")
    ap.add_argument("rows", type=int)
    ap.add_argument("--factor", type=float, default=1.7)
    ap.add_argument("--noise", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    with open(a.table, newline="", encoding="utf-8-sig") as f:
        table = list(csv.DictReader(f))
    if a.column not in table[0]:
        sys.exit(f"make_phone.py: no column '{a.column}' in {a.table}")
    rng = random.Random(a.seed)
    step = max(1, len(table) // a.rows)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["arch_index", "arch_str", "my_phone"])
    for row in table[::step][: a.rows]:
        out.writerow([row["arch_index"], row["arch_str"],
                      f"{a.factor * float(row[a.column]) * (1 + rng.gauss(0, a.noise)):.6f}"])


if __name__ == "__main__":
    main()
