#!/usr/bin/python3
"""Markdown tables of a proxysim result's /nas group, as the README shows them.

  results/nas_tables.py RESULT.h5 [--constraints 0.1 0.3 0.5] [--only regret|efficiency] [--readme NAME]

With --readme NAME the tables also replace README.md's block between
<!-- NAME:begin --> and <!-- NAME:end --> (scripts/reproduce-paper does this).

- regret: per strategy and target, the mean accuracy regret (points) of each latency
  source at each constraint over the seeds that found an architecture, with the
  searches that found none (failed) and whose own pick violates the target's
  constraint, and the mean target measurements spent;
- efficiency (strategies other than exhaustive): mean best accuracy found within the
  source's constraint after c evaluations, over targets, constraints and seeds, and
  the mean final regret on the target.
"""
import argparse
import contextlib
import io
import os
import sys

import h5py
import numpy as np


def strings(ds):
    return [s.decode() if isinstance(s, bytes) else str(s) for s in ds[()]]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("result")
    p.add_argument("--constraints", type=float, nargs="*", default=[0.1, 0.3, 0.5])
    p.add_argument("--only", choices=["regret", "efficiency"])
    p.add_argument("--readme", metavar="NAME", help="also write the tables into README.md's NAME block")
    a = p.parse_args(argv)
    if not a.readme:
        return tables(a)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = tables(a)
    print(out.getvalue())
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from reproduction import replace_readme_block
    lines = [f"`results/nas_tables.py {os.path.basename(a.result)}`, from the result file:"] + out.getvalue().splitlines()
    if rc == 0 and replace_readme_block(f"<!-- {a.readme}:begin -->", f"<!-- {a.readme}:end -->", lines + [""]):
        print(f"README.md: {a.readme} block updated")
    return rc


def tables(a):
    with h5py.File(a.result, "r") as f:
        # The first sweep cell with a nas stage (README, "Output: the HDF5 layout").
        cells = sorted(f["cells"].keys(), key=int) if "cells" in f else []
        found = [f["cells"][c]["nas"] for c in cells if "nas" in f["cells"][c]]
        if not found:
            print(f"{a.result}: no /cells/<i>/nas group", file=sys.stderr)
            return 1
        g = found[0]
        strategies, sources, targets = strings(g["strategies"]), strings(g["sources"]), strings(g["targets"])
        q = [round(float(x), 6) for x in g["constraints"][()]]
        regret, failed, violation = g["regret"][()], g["failed"][()], g["violation"][()]
        measured, best, cp = g["target_measurements"][()], g["best_accuracy"][()], g["checkpoints"][()]
        srcc = {"proxy": g["srcc_proxy"][()], "flops": g["srcc_flops"][()], "adapted": g["srcc_adapted_mean"][()]}
        qi = [q.index(round(c, 6)) for c in a.constraints if round(c, 6) in q]
        for s, strat in enumerate(strategies if a.only != "efficiency" else []):
            print(f"\n{strat}: mean regret in accuracy points (failed / pick violates, of {regret.shape[-1]} seeds)\n")
            head = "| target | source | SRCC | " + " | ".join(f"q = {q[i]:g}" for i in qi) + " | target measurements |"
            print(head)
            print("|" + "---|" * (head.count("|") - 1))
            for t, tn in enumerate(targets):
                for j, src in enumerate(sources):
                    cells = []
                    for i in qi:
                        r = regret[s, j, t, i]
                        ok = np.isfinite(r)
                        m = f"{r[ok].mean():.2f}" if ok.any() else "-"
                        cells.append(f"{m} ({int(failed[s, j, t, i].sum())}/{int(violation[s, j, t, i].sum())})")
                    sr = "1" if src == "target" else f"{srcc[src][t]:.2f}"
                    print(f"| {tn if j == 0 else ''} | {src} | {sr} | " + " | ".join(cells) +
                          f" | {measured[s, j, t][qi].mean():.0f} |")
        if a.only != "regret" and any(st != "exhaustive" for st in strategies):
            print("\nbest accuracy found (%) after c evaluations, mean over targets, constraints and seeds; "
                  "final regret on the target (points)\n")
            head = "| strategy | source | " + " | ".join(f"{int(c)}" for c in cp) + " | regret | failed |"
            print(head)
            print("|" + "---|" * (head.count("|") - 1))
            for s, strat in enumerate(strategies):
                if strat == "exhaustive":
                    continue
                for j, src in enumerate(sources):
                    b = np.nanmean(best[s, j].reshape(-1, len(cp)), axis=0)
                    r = regret[s, j]
                    print(f"| {strat} | {src} | " + " | ".join(f"{x:.2f}" for x in b) +
                          f" | {np.nanmean(r):.2f} | {100 * failed[s, j].mean():.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
