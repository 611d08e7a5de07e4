#!/usr/bin/python3
"""Prints the proxy-cover table of a cover result (the `cover` stage's
/cover/proxies_needed, per group and SRCC threshold) and, with --readme, writes it
into README.md between the population-cover markers.

  results/cover_table.py results/paper/population_cover.h5 [--readme]
"""
import argparse
import os
import sys

import h5py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOWN = (0.7, 0.8, 0.9, 0.95, 0.99)


def strings(ds):
    return [x.decode() if isinstance(x, bytes) else str(x) for x in ds[()]]


def table(path):
    with h5py.File(path, "r") as f:
        cells = [k for k in f["cells"]] if "cells" in f else []
        g = f[f"cells/{cells[0]}/cover"] if cells else f["cover"]
        groups, sizes = strings(g["groups"]), g["group_size"][()]
        thresholds = [round(float(t), 4) for t in g["thresholds"][()]]
        needed = g["proxies_needed"][()]
        archs = int(g.attrs["archs"])
    cols = [t for t in SHOWN if t in thresholds]
    lines = [f"Greedy proxy cover, {archs} connected NB201 architectures (`results/cover_table.py`):", "",
             "| group | devices | " + " | ".join(f"{t:g}" for t in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for i, name in enumerate(groups):
        cells_ = [f"{needed[i, thresholds.index(t)]:.0f}" for t in cols]
        lines.append(f"| {name} | {int(sizes[i])} | " + " | ".join(cells_) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("result")
    ap.add_argument("--readme", action="store_true", help="rewrite README.md's population-cover block")
    a = ap.parse_args()
    md = table(a.result)
    print(md)
    if a.readme:
        readme = os.path.join(ROOT, "README.md")
        text = open(readme).read()
        begin, end = "<!-- population-cover:begin -->", "<!-- population-cover:end -->"
        if begin not in text or end not in text:
            sys.exit("README.md has no population-cover markers")
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        with open(readme, "w") as fh:
            fh.write(head + begin + "\n" + md + "\n" + end + tail)
        print("README.md: population-cover block updated", file=sys.stderr)


if __name__ == "__main__":
    main()
