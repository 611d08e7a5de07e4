#!/usr/bin/env python3
"""Prints the five best proxies of a `monotonicity --target` result (to stderr) and
the best one's name (to stdout, for a script to use).

    examples/best_proxy.py RESULT.h5
"""
import sys

import h5py

with h5py.File(sys.argv[1], "r") as f:
    r = f["/cells/0/monotonicity/ranking"]
    names = [d.decode() for d in r["device"][()]]
    srcc, pairs = r["srcc"][()], r["pairs"][()]
    for i in range(min(5, len(names))):
        print(f"{i + 1}. {names[i]:<28} SRCC {srcc[i]:.3f} over {pairs[i]} architectures", file=sys.stderr)
    print(names[0])
