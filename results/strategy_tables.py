#!/usr/bin/python3
"""The search-strategy benchmark (experiments/benchmarks/strategies.yaml): a markdown
table and one figure from its result file, one sweep cell per search space.

  results/strategy_tables.py RESULT.h5 [--out results/benchmarks/strategies]

Per space, strategy and latency source, over targets, constraints and seeds:
- final regret: mean accuracy regret (points) of the architecture found on the target,
  against the target's optimum under the same constraint (ESTIMATED on spaces evaluated
  on the fly: the file's /nas attribute `optimum`), with the searches that found none;
- evaluations to within 0.5 points: the median over searches of the first checkpoint
  at which the best accuracy found within the source's constraint is within 0.5 points
  of that optimum ("-" when fewer than half the searches got there within the budget),
  with the share of searches that got there.

The figure draws the mean gap between that optimum and the best accuracy found so far
against evaluations, one column per space and one row per latency source, one colour
per strategy (the same in every panel), on shared axes.
"""
import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter  # noqa: E402

STRATEGY_COLORS = {"random": "tab:gray", "regularized_evolution": "tab:blue", "ofa_evolution": "tab:green",
                   "local_search": "tab:orange", "latency_aware_random": "tab:purple", "exhaustive": "black"}


def strings(ds):
    return [s.decode() if isinstance(s, bytes) else str(s) for s in ds[()]]


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def cells(f):
    """(space, nas group) per cell, in cell order."""
    out = []
    for name in sorted(f["cells"], key=int):
        cell = f["cells"][name]
        space = text(cell.attrs.get("axis:space", cell["eval"].attrs.get("space", "?") if "eval" in cell else "?"))
        out.append((space.strip("'\""), cell["nas"]))
    return out


def summarise(g):
    """Per (strategy, source): final regret mean, failed share, median evaluations to 0.5 points, searches."""
    regret = g["regret"][()]                 # [strategy, source, target, constraint, seed]
    failed = g["failed"][()]
    best = g["best_accuracy"][()]            # [..., checkpoint]
    checkpoints = g["checkpoints"][()]
    optimum = g["optimum_accuracy"][()]      # [target, constraint]
    gap = optimum[None, None, :, :, None, None] - best
    rows = {}
    for s, strat in enumerate(strings(g["strategies"])):
        for j, src in enumerate(strings(g["sources"])):
            reached = gap[s, j] <= 0.5                                   # [target, constraint, seed, checkpoint]
            first = np.where(reached.any(-1), checkpoints[np.argmax(reached, axis=-1)], np.inf).ravel()
            rows[(strat, src)] = (np.nanmean(regret[s, j]), failed[s, j].mean(), np.median(first),
                                  np.isfinite(first).mean())
    return rows


def table(result):
    lines = []
    with h5py.File(result, "r") as f:
        for space, g in cells(f):
            estimated = text(g.attrs.get("optimum", "exact")) == "estimated"
            sources = strings(g["sources"])
            lines.append(f"**{space}** ({text(g.attrs.get('accuracy', '?'))} accuracy; "
                         f"{len(strings(g['targets']))} targets x {len(g['constraints'][()])} constraints x "
                         f"{int(g['regret'].shape[-1])} seeds; budget {int(g.attrs['budget'])}; optimum "
                         + (f"ESTIMATED from {int(g.attrs['optimum_seeds'])} x {int(g.attrs['optimum_budget'])} "
                            "evolution on each target, every search and the sample)" if estimated else "exact)"))
            lines.append("")
            head = "| strategy | " + " | ".join(f"{s}: final regret (failed) | {s}: evals to 0.5 (reached)" for s in sources) + " |"
            lines.append(head)
            lines.append("|" + "---|" * (1 + 2 * len(sources)))
            rows = summarise(g)
            for strat in strings(g["strategies"]):
                cellstr = []
                for src in sources:
                    r, fail, med, share = rows[(strat, src)]
                    cellstr.append(f"{r:.3f} ({100 * fail:.0f} %)")
                    cellstr.append(("-" if not np.isfinite(med) else f"{med:.0f}") + f" ({100 * share:.0f} %)")
                lines.append(f"| {strat} | " + " | ".join(cellstr) + " |")
            lines.append("")
    return "\n".join(lines)


def figure(result, path):
    with h5py.File(result, "r") as f:
        groups = cells(f)
        sources = strings(groups[0][1]["sources"])
        fig, axes = plt.subplots(len(sources), len(groups), figsize=(4.4 * len(groups), 2.7 * len(sources) + 1.0),
                                 squeeze=False, sharex=True, sharey=True)
        for col, (space, g) in enumerate(groups):
            best, checkpoints = g["best_accuracy"][()], g["checkpoints"][()]
            optimum = g["optimum_accuracy"][()]
            gap = optimum[None, None, :, :, None, None] - best
            cell_sources = strings(g["sources"])
            estimated = text(g.attrs.get("optimum", "exact")) == "estimated"
            for row, src in enumerate(sources):
                ax = axes[row, col]
                if src in cell_sources:
                    for s, strat in enumerate(strings(g["strategies"])):
                        mean = np.nanmean(gap[s, cell_sources.index(src)].reshape(-1, len(checkpoints)), axis=0)
                        name = strat
                        if strat == "latency_aware_random" and "random" in strings(g["strategies"]):
                            # Uniform draws never repeat in spaces this size: the same searches as random.
                            name = "latency_aware_random (= random: no repeats)"
                        ax.plot(checkpoints, mean, marker=".", color=STRATEGY_COLORS.get(strat, "k"), label=name,
                                ls="--" if strat == "latency_aware_random" else "-",
                                zorder=2 if strat == "random" else 3)
                ax.axhline(0.5, color="0.6", ls=":", lw=0.8)
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.yaxis.set_major_locator(FixedLocator([0.2, 0.5, 1, 2, 5, 10]))
                ax.yaxis.set_major_formatter(ScalarFormatter())
                ax.yaxis.set_minor_locator(NullLocator())
                ax.grid(alpha=0.3)
                if row == 0:
                    ax.set_title(f"{space} ({text(g.attrs.get('accuracy', '?'))} accuracy, "
                                 f"{'estimated' if estimated else 'exact'} optimum)", fontsize=9)
                if row == len(sources) - 1:
                    ax.set_xlabel("accuracy evaluations")
                if col == 0:
                    ax.set_ylabel(f"source: {src}\noptimum - best found", fontsize=9)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
        fig.suptitle("Search strategies: gap (points) to the target's constrained optimum against evaluations, one row "
                     "per latency source,\nmean over targets, constraints and seeds (dotted: 0.5 points)", fontsize=10)
        fig.tight_layout(rect=(0, 0.05, 1, 0.96))
        fig.savefig(path, dpi=130)
        plt.close(fig)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("result")
    p.add_argument("--out", default="results/benchmarks/strategies", help="stem of the .md and .png written")
    a = p.parse_args(argv)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    md = table(a.result)
    with open(a.out + ".md", "w") as f:
        f.write("# Search strategies (experiments/benchmarks/strategies.yaml)\n\n"
                "Printed by results/strategy_tables.py from the run's result file; accuracy is the synthetic "
                "surrogate, latency simulated.\n\n" + md + "\n")
    figure(a.result, a.out + ".png")
    print(md)
    print(f"wrote {a.out}.md and {a.out}.png")


if __name__ == "__main__":
    main(sys.argv[1:])
