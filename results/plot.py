#!/usr/bin/python3
"""Figures of one proxysim result file: every stage's standard figures, for every cell.

  results/plot.py RESULT.h5 [--out DIR]

A result file holds one group per sweep cell, /cells/<index>/<stage>/... (README,
"Output: the HDF5 layout"). Per cell, named <stem>_<what>.png for a one-cell run and
<stem>_c<index>_<what>.png otherwise:

- srcc: the device x device SRCC heatmap (monotonicity), pairs at or above 0.9
  (strong monotonicity) outlined.
- adapt_bars: SRCC per target before and after adaptation (adapt) at n = 10 target
  samples, or the smallest n in the file.
- adapt_curves: SRCC against n per scheme, mean over targets with a band of one
  standard deviation across targets, beside the paper's reference points: HELP's
  mean with 10 target samples (0.932) and FLOPs alone (0.787).
- select_regret: proxy selection's regret against the oracle proxy against n, per rule.
- cover: proxies a greedy cover needs against the SRCC threshold, per device group.
- latency: the distribution of latencies per device (eval).
- nas_regret: NAS on a proxy (nas): mean accuracy regret on each target against the
  latency constraint (quantile), one line per latency source, with the fraction of
  searches whose own pick violates the target's constraint beneath; with more than 8
  targets, one panel per strategy with the mean over targets instead.
- nas_efficiency: best accuracy found against accuracy evaluations per strategy and
  latency source (mean over targets, constraints and seeds), when the cell has more
  than one checkpoint and a strategy other than exhaustive.

A sweep of more than one cell also gets <stem>_sweep.png: per cell, the mean SRCC
over device pairs and, with adaptation, each scheme's mean SRCC at its smallest n.

Prints the paths it wrote.
"""
import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

STRONG = 0.9
HELP_10_SAMPLES = 0.932  # Lu et al. 2022 / HELP, NB201, mean over six devices
FLOPS_ONLY = 0.787


def strings(ds):
    return [s.decode() if isinstance(s, bytes) else str(s) for s in ds[()]]


def heatmap(g, path):
    srcc = g["monotonicity/srcc"][()]
    devices = strings(g["monotonicity/devices"])
    d = len(devices)
    size = max(5.0, 0.42 * d + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    im = ax.imshow(srcc, vmin=min(0.0, float(np.nanmin(srcc))), vmax=1.0, cmap="viridis")
    ax.set_xticks(range(d), devices, rotation=90, fontsize=8)
    ax.set_yticks(range(d), devices, fontsize=8)
    ax.set_xlabel("target")
    ax.set_ylabel("proxy")
    for a in range(d):
        for b in range(d):
            v = srcc[a, b]
            if a != b and np.isfinite(v) and v >= STRONG:
                ax.add_patch(plt.Rectangle((b - 0.5, a - 0.5), 1, 1, fill=False, edgecolor="red", lw=1.2))
            if d <= 20 and np.isfinite(v):
                ax.text(b, a, f"{v:.2f}", ha="center", va="center", fontsize=6,
                        color="black" if v > 0.6 else "white")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="SRCC")
    archs = g["monotonicity"].attrs.get("archs", "")
    ax.set_title(f"Latency monotonicity (SRCC) over {archs} architectures; red: >= {STRONG}")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def adapt_data(cell):
    g = cell["adapt"]
    return dict(
        schemes=strings(g["schemes"]),
        targets=strings(g["targets"]),
        n=[int(x) for x in g["n"][()]],
        mean=g["srcc_mean"][()],
        std=g["srcc_std"][()],
        unadapted=g["srcc_unadapted"][()],
        proxy=g.attrs["proxy"].decode() if isinstance(g.attrs["proxy"], bytes) else str(g.attrs["proxy"]),
        validation=int(g.attrs["validation"]),
        repeats=int(g.attrs["repeats"]),
    )


def bars(a, path):
    n = a["n"]
    k = n.index(10) if 10 in n else int(np.argmin(n))
    schemes = [s for s in a["schemes"] if s != "none"]  # none is the unadapted bar
    targets = a["targets"]
    width = 0.8 / (len(schemes) + 1)
    x = np.arange(len(targets))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(targets) * (len(schemes) + 1) * 0.5 + 3), 4.5))
    ax.bar(x - 0.4 + width / 2, a["unadapted"], width, label="unadapted", color="0.6")
    for i, s in enumerate(schemes):
        si = a["schemes"].index(s)
        ax.bar(x - 0.4 + width * (i + 1.5), a["mean"][si, :, k], width, yerr=a["std"][si, :, k], capsize=2, label=s)
    ax.axhline(STRONG, color="red", ls="--", lw=0.8)
    ax.set_xticks(x, targets, rotation=45 if len(targets) > 6 else 0, ha="right" if len(targets) > 6 else "center")
    lo = min(0.0, float(np.nanmin(a["unadapted"])))
    ax.set_ylim(lo, 1.02)
    ax.set_ylabel("SRCC with the target")
    ax.set_title(f"Proxy {a['proxy']}: before and after adaptation, n = {n[k]} (+{a['validation']} validation), "
                 f"mean of {a['repeats']}")
    ax.legend(fontsize=8, ncol=2, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def curves(a, path):
    n = np.array(a["n"])
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for si, s in enumerate(a["schemes"]):
        per_target = a["mean"][si]  # [target, n]
        m = np.nanmean(per_target, axis=0)
        sd = np.nanstd(per_target, axis=0)
        line, = ax.plot(n, m, marker="o", label=s)
        ax.fill_between(n, m - sd, m + sd, color=line.get_color(), alpha=0.15)
    ax.axhline(HELP_10_SAMPLES, color="black", ls="--", lw=0.9, label=f"HELP, 10 samples ({HELP_10_SAMPLES})")
    ax.axhline(FLOPS_ONLY, color="black", ls=":", lw=0.9, label=f"FLOPs ({FLOPS_ONLY})")
    ax.set_xscale("log")
    ax.set_xticks(n, [str(v) for v in n])
    ax.set_xlabel("target training samples n")
    ax.set_ylabel("SRCC, mean over targets (band: 1 std)")
    ax.set_title(f"Proxy {a['proxy']}: {len(a['targets'])} targets, {a['repeats']} repeats")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def select_regret(g, path):
    s = g["select"]
    rules = strings(s["rules"])
    n = [int(x) for x in s["n"][()]]
    regret = s["regret_mean"][()]  # [rule, target, n]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for ri, r in enumerate(rules):
        ax.plot(n, np.nanmean(regret[ri], axis=0), marker="o", label=r)
    ax.set_xscale("log")
    ax.set_xticks(n, [str(v) for v in n])
    ax.set_xlabel("target samples n")
    ax.set_ylabel("SRCC regret against the oracle proxy, mean over targets")
    ax.set_title(f"Proxy selection: {len(strings(s['targets']))} targets, {len(strings(s['candidates']))} candidates")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def cover(g, path):
    c = g["cover"]
    thresholds = c["thresholds"][()]
    groups = strings(c["groups"])
    needed = c["proxies_needed"][()]  # [group, threshold]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for gi, name in enumerate(groups):
        ax.plot(thresholds, needed[gi], marker="o", label=name, lw=2.0 if name == "all" else 1.0)
    ax.axvline(STRONG, color="red", ls="--", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("SRCC threshold")
    ax.set_ylabel("proxies needed (greedy cover)")
    ax.set_title("Proxy cover of the run's devices; red: strong monotonicity")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def latency(g, path):
    lat = g["eval/latency_ms"]
    devices = strings(g["eval/devices"])
    rows = min(lat.shape[0], 20000)  # a sample of rows is enough for a distribution
    data = lat[:rows]
    shown = devices[:40]
    cols = [data[:, d][np.isfinite(data[:, d])] for d in range(len(shown))]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.3 * len(shown) + 2), 4.5))
    ax.boxplot(cols, showfliers=False)
    ax.set_xticks(range(1, len(shown) + 1), shown, rotation=90, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("latency, ms")
    ax.set_title(f"Latency of {lat.shape[0]} architectures per device" + (f" (first {rows})" if rows < lat.shape[0] else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def sweep_summary(f, cells, path):
    labels, mono, adapt = [], [], {}
    for name in cells:
        g = f["cells"][name]
        labels.append(text(g.attrs.get("axes", name)) or name)
        if "monotonicity/srcc" in g:
            m = g["monotonicity/srcc"][()]
            off = m[~np.eye(m.shape[0], dtype=bool)]
            mono.append(float(np.nanmean(off)))
        else:
            mono.append(np.nan)
        if "adapt/srcc_mean" in g:
            a = adapt_data(g)
            for si, sname in enumerate(a["schemes"]):
                adapt.setdefault(sname, [np.nan] * len(cells))[len(labels) - 1] = float(np.nanmean(a["mean"][si, :, 0]))
    series = {"mean pairwise SRCC": mono} if np.isfinite(mono).any() else {}
    series.update({f"adapt {k} (smallest n)": v for k, v in adapt.items()})
    if not series:
        return False
    x = np.arange(len(labels))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(labels) * len(series) * 0.6 + 3), 4.8))
    for i, (k, v) in enumerate(series.items()):
        ax.bar(x - 0.4 + width * (i + 0.5), v, width, label=k)
    ax.axhline(STRONG, color="red", ls="--", lw=0.8)
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("SRCC")
    ax.set_title(f"Sweep of {len(labels)} cells")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return True


def text(x):
    return x.decode() if isinstance(x, bytes) else str(x)


NAS_COLORS = {"target": "black", "proxy": "tab:red", "adapted": "tab:blue", "flops": "tab:gray"}


def nas_regret(cell, path):
    g = cell["nas"]
    targets, sources, strategies = strings(g["targets"]), strings(g["sources"]), strings(g["strategies"])
    q = g["constraints"][()]
    regret = g["regret"][()]        # [strategy, source, target, constraint, seed]
    violation = g["violation"][()]
    T = len(targets)
    if T > 8:
        return nas_regret_summary(g, path)
    s = 0  # the first strategy
    fig, axes = plt.subplots(2, T, figsize=(3.0 * T, 5.2), squeeze=False, sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]})
    for t, name in enumerate(targets):
        ax, axv = axes[0][t], axes[1][t]
        for j, src in enumerate(sources):
            r = regret[s, j, t]                                   # [constraint, seed]
            mean = np.array([np.nanmean(row) if np.isfinite(row).any() else np.nan for row in r])
            ax.plot(q, mean, marker="o", ms=3, color=NAS_COLORS.get(src), label=src)
            axv.plot(q, violation[s, j, t].mean(axis=1), marker=".", color=NAS_COLORS.get(src))
        ax.set_title(name, fontsize=9)
        ax.set_xscale("log")
    finish_nas_regret(fig, axes, path, f"{strategies[s]} on proxy {g.attrs['proxy']} ({nas_accuracy(g)} accuracy): "
                      f"regret vs the target-optimal architecture")


def nas_accuracy(g):
    acc = g.attrs.get("accuracy", "")
    return acc.decode() if isinstance(acc, bytes) else acc


def finish_nas_regret(fig, axes, path, title):
    """The regret panels' common frame: regret above, violation share below."""
    for ax, axv in zip(axes[0], axes[1]):
        ax.grid(alpha=0.3)
        axv.set_ylim(-0.05, 1.05)
        axv.set_xlabel("constraint (latency quantile)")
        axv.grid(alpha=0.3)
    axes[0][0].set_ylabel("accuracy regret (points)")
    axes[1][0].set_ylabel("pick violates")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def nas_regret_summary(g, path):
    """Many targets: one column per strategy, the mean over targets per source with the
    interquartile range of the per-target means as a band."""
    sources, strategies = strings(g["sources"]), strings(g["strategies"])
    q = g["constraints"][()]
    regret, violation = g["regret"][()], g["violation"][()]
    S = len(strategies)
    fig, axes = plt.subplots(2, S, figsize=(3.6 * S, 5.2), squeeze=False, sharex=True, sharey="row",
                             gridspec_kw={"height_ratios": [3, 1]})
    for s, strat in enumerate(strategies):
        ax, axv = axes[0][s], axes[1][s]
        for j, src in enumerate(sources):
            per_target = np.nanmean(regret[s, j], axis=2)          # [target, constraint]
            ax.plot(q, np.nanmean(per_target, axis=0), marker="o", ms=3, color=NAS_COLORS.get(src), label=src)
            lo, hi = np.nanpercentile(per_target, [25, 75], axis=0)
            ax.fill_between(q, lo, hi, color=NAS_COLORS.get(src), alpha=0.12)
            axv.plot(q, violation[s, j].mean(axis=(0, 2)), marker=".", color=NAS_COLORS.get(src))
        ax.set_title(strat, fontsize=9)
    finish_nas_regret(fig, axes, path, f"proxy {g.attrs['proxy']}, {len(strings(g['targets']))} targets "
                      f"({nas_accuracy(g)} accuracy): mean regret over targets and seeds, band = interquartile "
                      f"range over targets")


def nas_efficiency(cell, path):
    g = cell["nas"]
    # Exhaustive search's order is the enumeration's: its curve says nothing.
    if len(g["checkpoints"]) < 2 or set(strings(g["strategies"])) == {"exhaustive"}:
        return False
    sources, strategies = strings(g["sources"]), strings(g["strategies"])
    cp = g["checkpoints"][()]
    best = g["best_accuracy"][()]  # [strategy, source, target, constraint, seed, checkpoint]
    styles = ["-", "--", ":", "-."]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for s, strat in enumerate(strategies):
        for j, src in enumerate(sources):
            mean = np.nanmean(best[s, j].reshape(-1, len(cp)), axis=0)
            ax.plot(cp, mean, styles[s % len(styles)], marker="o", ms=3, color=NAS_COLORS.get(src),
                    label=f"{strat}, {src}")
    ax.set_xscale("log")
    ax.set_xlabel("accuracy evaluations")
    ax.set_ylabel("best accuracy found, within the source's constraint (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


# Stage -> (figure name, the dataset it needs, the function drawing it from a cell group).
FIGURES = [
    ("srcc", "monotonicity/srcc", heatmap),
    ("adapt_bars", "adapt/srcc_mean", lambda g, p: bars(adapt_data(g), p)),
    ("adapt_curves", "adapt/srcc_mean", lambda g, p: curves(adapt_data(g), p)),
    ("select_regret", "select/regret_mean", select_regret),
    ("cover", "cover/proxies_needed", cover),
    ("latency", "eval/latency_ms", latency),
    ("nas_regret", "nas/regret", nas_regret),
    ("nas_efficiency", "nas/best_accuracy", nas_efficiency),
]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("result", help="proxysim result .h5")
    p.add_argument("--out", help="folder for the PNGs (default: the result's folder)")
    args = p.parse_args(argv)
    out = args.out or os.path.dirname(os.path.abspath(args.result))
    os.makedirs(out, exist_ok=True)
    stem = os.path.splitext(os.path.basename(args.result))[0]
    written = []
    with h5py.File(args.result, "r") as f:
        if "cells" not in f:
            print(f"{args.result}: no /cells group (not a proxysim result file?)", file=sys.stderr)
            return 1
        cells = sorted(f["cells"].keys(), key=int)
        for name in cells:
            g = f["cells"][name]
            prefix = stem if len(cells) == 1 else f"{stem}_c{name}"
            for what, needs, draw in FIGURES:
                if needs in g:
                    path = os.path.join(out, f"{prefix}_{what}.png")
                    if draw(g, path) is not False:  # a figure may decline (nothing to show)
                        written.append(path)
        if len(cells) > 1:
            path = os.path.join(out, f"{stem}_sweep.png")
            if sweep_summary(f, cells, path):
                written.append(path)
    if not written:
        print(f"{args.result}: nothing to plot", file=sys.stderr)
        return 1
    for w in written:
        print(w)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
