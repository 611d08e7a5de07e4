#!/usr/bin/python3
"""Figures of one proxysim result file: every stage's standard figures for every cell,
and the paper's own figures where the file holds their data.

  results/plot.py RESULT.h5 [--out DIR]

A result file holds one group per sweep cell, /cells/<index>/<stage>/... (README,
"Output: the HDF5 layout"). Per cell, figures are named <stem>_<what>.png for a
one-cell run and <stem>_<tag>_<what>.png otherwise, where <tag> joins the cell's sweep
values (adapt.protocol "extension" left out, so the extension cell of a protocol sweep
keeps the plain <stem>_<what>.png names), or c<index> when that would be ambiguous. A
figure whose data is the same in every cell (the SRCC heatmap, latencies) is drawn
once, as <stem>_<what>.png.

Every figure draws a scheme in one fixed colour and marker (SCHEME_STYLE), device
names sort naturally (1080ti_32 before 1080ti_256), n axes are logarithmic with the
n values as plain tick labels, and the 0.9 line (strong monotonicity) is in the
legend, which sits below the axes.

- srcc: the device x device SRCC heatmap (monotonicity), pairs at or above 0.9
  outlined; the title states the range of architectures per pair (/monotonicity/pairs).
- adapt_bars: SRCC per target before and after adaptation (adapt) at n = 10 target
  samples, or the smallest n in the cell (the paper protocol's cells have n = 60);
  several rows of targets when there are many. On HELP's six NB201 test devices
  (titan_rtx_256, gold_6226, fpga, pixel2, raspi4, eyeriss) HELP's 10-sample numbers
  are marked per target.
- adapt_curves: SRCC against n per scheme (cells with more than one n), mean over
  targets, error bar one standard deviation across targets; HELP's mean with 10
  samples (0.932) and FLOPs alone (0.787) only when the targets are HELP's six.
- select_regret: proxy selection's regret against the oracle proxy against n, per rule.
- cover: proxies a greedy cover needs against the SRCC threshold, per device group.
- latency: the distribution of latencies per device (eval).
- nas_regret: NAS on a proxy (nas): mean accuracy regret on each target against the
  latency constraint (quantile), one line per latency source, with the fraction of
  searches whose own pick violates the target's constraint beneath; with more than 8
  targets, one panel per strategy with the mean over targets instead.
- nas_efficiency: best accuracy found against accuracy evaluations per strategy and
  latency source, when the cell has more than one checkpoint and a non-exhaustive
  strategy.
- nas_pareto (the paper's Sec. 6 figure): per target, every architecture's accuracy
  against its target latency (grey), the target's Pareto front, and the architectures
  the search picked at each constraint with the raw and the adapted proxy. Needs
  /nas/points_accuracy, /nas/points_target_ms and /nas/found_row; skipped with a note
  without them.

A sweep of more than one cell also gets <stem>_sweep.png: with adaptation, one panel
per (protocol, n), each cell's unadapted and per-scheme SRCC (mean over targets); the
mean pairwise SRCC, when it is the same in every cell, as one line, not a bar per cell.

Paper-layout figures (<stem>_paper_heatmap.png), drawn when the file matches:
- NB201 CIFAR-10 on HW-NAS-Bench's six devices (edgegpu, raspi4, edgetpu, pixel3,
  eyeriss, fpga, the paper's order), with rows for Pixel3 + AdaProxy under the paper
  protocol (one split; mean of 20 splits), the paper's values beside proxysim's;
- the paper's 1999 architectures: the Myriad VPU (true_vpu) row before and after
  adaptation (eagle_tpu marked as not one of the paper's 16 targets);
- FBNet CIFAR-100: the Pixel3 row before and after (the paper's Edge GPU column is not
  in the public data, said in the figure).
Cells are found by their adapt attribute `protocol` (paper, paper_mean, extension).

Prints the paths it wrote.
"""
import argparse
import hashlib
import os
import re
import sys
import textwrap
import zlib

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reproduction import (FLOPS_MEAN, HELP_NB201, HELP_NB201_MEAN, ONEPROXY_EXTRA, PAPER_FBNET,  # noqa: E402
                          PAPER_N, PAPER_NB201, PAPER_ONEPROXY_AFTER_MIN, PAPER_ONEPROXY_BEFORE, adapt_cells,
                          adapt_data, cell_axes, cell_space, label, strings, text)

STRONG = 0.9
DPI = 130
MAX_WIDTH = 14.0  # inches: 1820 px at DPI

# ---------------------------------------------------------------- style shared by every figure

# scheme -> (colour, marker, linestyle); an unknown scheme gets a stable fallback.
SCHEME_STYLE = {
    "none": ("0.55", "o", ":"),
    "adaproxy": ("tab:blue", "o", "-"),
    "adaproxy_sq": ("tab:cyan", "s", "--"),
    "anchored": ("tab:green", "^", "-."),
    "target_only": ("tab:red", "v", ":"),
    "multi_proxy": ("tab:purple", "D", "-"),
    "twin": ("tab:brown", "P", "--"),
}
FALLBACK_STYLE = [("tab:orange", "X", "-"), ("tab:pink", "*", "--"), ("tab:olive", "h", "-."),
                  ("goldenrod", "<", ":"), ("navy", ">", "-"), ("teal", "d", "--")]
SCHEME_LABEL = {"none": "none (unadapted proxy)"}
SERIES_STYLE = [("tab:blue", "o", "-"), ("tab:orange", "s", "--"), ("tab:green", "^", "-."),
                ("tab:red", "v", ":"), ("tab:purple", "D", "-"), ("tab:brown", "P", "--")]
NAS_COLORS = {"target": "black", "proxy": "tab:red", "adapted": "tab:blue", "flops": "tab:gray"}


def scheme_style(scheme):
    if scheme in SCHEME_STYLE:
        return SCHEME_STYLE[scheme]
    return FALLBACK_STYLE[zlib.crc32(scheme.encode()) % len(FALLBACK_STYLE)]


def scheme_label(scheme):
    return SCHEME_LABEL.get(scheme, scheme)


def natural_key(name):
    """Sort key reading digit runs as numbers: 1080ti_32 before 1080ti_256."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def log_ticks(ax, values, axis="x"):
    """A log axis labelled with the values themselves as plain numbers (no 2x10^1)."""
    values = sorted(set(float(v) for v in values))
    a = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    a.set_major_locator(FixedLocator(values))
    a.set_major_formatter(matplotlib.ticker.FixedFormatter([f"{v:g}" for v in values]))
    a.set_minor_locator(NullLocator())


def spread(x, i, count, step=0.035):
    """x nudged multiplicatively (log axes) so that the count series at x do not hide each other."""
    return np.asarray(x, dtype=float) * (1.0 + step * (i - (count - 1) / 2.0))


def strong_line(ax, horizontal=True):
    kw = dict(color="red", ls="--", lw=0.8, label=f"strong monotonicity (SRCC {STRONG})")
    return ax.axhline(STRONG, **kw) if horizontal else ax.axvline(STRONG, **kw)


def legend_below(fig, axes, ncol=4, fontsize=8):
    """One legend for the figure, below the axes (never over the data); returns its height share."""
    seen = {}
    for ax in np.ravel(axes):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    if not seen:
        return 0.0
    rows = -(-len(seen) // ncol)
    height = fig.get_size_inches()[1]
    share = min(0.4, (0.22 * rows + 0.1) / height)
    fig.legend(list(seen.values()), list(seen.keys()), loc="lower center", ncol=ncol, fontsize=fontsize,
               frameon=False, bbox_to_anchor=(0.5, 0.0))
    return share


def save(fig, path, bottom=0.0):
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def wrap(s, width=90):
    return "\n".join(textwrap.wrap(s, width))


# Appended to each figure's main title while a cell whose every device is simulated is
# drawn (draw_all), so that no figure of simulated latencies passes for measurements.
SIMULATED_NOTE = ""


def title(fig_or_ax, s, fontsize=10):
    """A title wrapped to the figure's width, so that it is never cut off."""
    fig = fig_or_ax if isinstance(fig_or_ax, plt.Figure) else fig_or_ax.figure
    if SIMULATED_NOTE and (isinstance(fig_or_ax, plt.Figure) or fig_or_ax is fig.axes[0]):
        s = s + SIMULATED_NOTE
    chars = int(fig.get_size_inches()[0] * 120 / fontsize)
    if isinstance(fig_or_ax, plt.Figure):
        fig.suptitle(wrap(s, chars), fontsize=fontsize)
    else:
        fig_or_ax.set_title(wrap(s, chars), fontsize=fontsize)


def is_help_nb201(cell, a, f=None):
    """HELP's reference numbers apply: NB201, and HELP's six NB201 test devices among the targets."""
    return cell_space(cell, f) == "nb201" and set(HELP_NB201) <= set(a["targets"])


# ---------------------------------------------------------------- monotonicity

def pair_counts(g):
    """/monotonicity/pairs, or the archs attribute everywhere when absent."""
    if "monotonicity/pairs" in g:
        return g["monotonicity/pairs"][()]
    d = len(g["monotonicity/devices"])
    return np.full((d, d), float(g["monotonicity"].attrs.get("archs", np.nan)))


def pairs_text(pairs, devices, names=None):
    """'15284 architectures per pair (1999 for pairs with edgegpu, ...)' from the pair counts:
    a device measured on fewer architectures than the others is named with its largest pair."""
    d = len(devices)
    if d < 2 or not np.isfinite(pairs).any():
        return "architectures per pair: unknown"
    cover = [float(np.nanmax(np.delete(pairs[i], i))) for i in range(d)]
    full = int(max(cover))
    names = names or {}
    fewer = [f"{int(c)} for pairs with {names.get(dev, dev)}" for dev, c in zip(devices, cover) if c < full]
    return f"{full} architectures per pair" + (f" ({'; '.join(fewer)})" if fewer else "")


def heatmap(g, path):
    srcc = g["monotonicity/srcc"][()]
    devices = strings(g["monotonicity/devices"])
    order = sorted(range(len(devices)), key=lambda i: natural_key(devices[i]))
    srcc, devices = srcc[np.ix_(order, order)], [devices[i] for i in order]
    pairs = pair_counts(g)[np.ix_(order, order)]
    d = len(devices)
    size = max(5.0, min(MAX_WIDTH - 1.2, 0.42 * d + 2.5))
    fig, ax = plt.subplots(figsize=(size + 1.2, size + 0.4))
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
                ax.text(b, a, f"{v:.2f}", ha="center", va="center", fontsize=6 if d > 8 else 8,
                        color="black" if v > 0.6 else "white")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="SRCC")
    title(ax, f"Latency monotonicity (SRCC), proxy row x target column; red outline: >= {STRONG}. "
          f"{pairs_text(pairs, devices)}", fontsize=9)
    save(fig, path)


# ---------------------------------------------------------------- adaptation

def bar_index(a):
    """The n the bars show: 10 when present, else the smallest."""
    return a["n"].index(10) if 10 in a["n"] else int(np.argmin(a["n"]))


def protocol_text(a):
    p = a.get("protocol")
    return {"paper": "paper protocol, the authors' split", "paper_mean": "paper protocol, 20 splits",
            "extension": "extension"}.get(p, p) if p else ""


def bars(a, path, help_ref=False):
    k = bar_index(a)
    order = sorted(range(len(a["targets"])), key=lambda i: natural_key(a["targets"][i]))
    schemes = [s for s in a["schemes"] if s != "none"]
    series = [("none", np.asarray(a["unadapted"]), None)] + [
        (s, a["mean"][a["schemes"].index(s), :, k], a["std"][a["schemes"].index(s), :, k]) for s in schemes]
    per_row = max(3, int(42 // len(series)))
    rows = -(-len(order) // per_row)
    per_row = -(-len(order) // rows)  # even rows
    width = min(MAX_WIDTH, 1.8 + per_row * (0.16 * len(series) + 0.4))
    fig, axes = plt.subplots(rows, 1, figsize=(max(6.5, width), 2.9 * rows + 1.6), squeeze=False)
    lo = min(0.0, float(np.nanmin(a["unadapted"])))
    for r, ax in enumerate(axes[:, 0]):
        idx = order[r * per_row:(r + 1) * per_row]
        bar_row(ax, a, idx, series, lo, help_ref)
    repeats = "one split" if a["repeats"] == 1 else f"mean ± std of {a['repeats']} repeats"
    proto = protocol_text(a)
    title(fig, f"Proxy {a['proxy']}: SRCC with each target before and after adaptation, "
          f"n = {a['n'][k]} training + {a['validation']} validation target samples, {repeats}"
          + (f" ({proto})" if proto else ""))
    bottom = legend_below(fig, axes, ncol=min(5, len(series) + 2))
    save(fig, path, bottom=bottom)


def bar_row(ax, a, idx, series, lo, help_ref):
    width = 0.8 / len(series)
    x = np.arange(len(idx))
    for i, (s, v, sd) in enumerate(series):
        color = scheme_style(s)[0]
        ax.bar(x - 0.4 + width * (i + 0.5), np.asarray(v)[idx], width, color=color, label=scheme_label(s),
               yerr=None if sd is None else np.asarray(sd)[idx], capsize=1.5, error_kw=dict(lw=0.8))
    if help_ref:
        names = [a["targets"][i] for i in idx]
        hx = [j for j, t in enumerate(names) if t in HELP_NB201]
        ax.plot(hx, [HELP_NB201[names[j]] for j in hx], "kD", ms=5, ls="none",
                label="HELP, 10 samples (Lee et al.)")
    strong_line(ax)
    ax.set_xticks(x, [a["targets"][i] for i in idx], fontsize=8)
    ax.set_xlim(-0.55, len(idx) - 0.45)
    ax.set_ylim(lo, 1.02)
    ax.set_ylabel("SRCC with the target", fontsize=8)


def curves(a, path, help_ref=False):
    n = np.array(a["n"], dtype=float)
    if len(n) < 2:
        return False
    fig, ax = plt.subplots(figsize=(7.5, 5.6))
    for i, s in enumerate(a["schemes"]):
        per_target = a["mean"][a["schemes"].index(s)]  # [target, n]
        color, marker, ls = scheme_style(s)
        ax.errorbar(spread(n, i, len(a["schemes"])), np.nanmean(per_target, axis=0),
                    yerr=np.nanstd(per_target, axis=0), color=color, marker=marker, ls=ls, ms=5, capsize=2,
                    lw=1.2, elinewidth=0.7, label=scheme_label(s))
    # The curves are means over the cell's targets: HELP's mean and FLOPs' apply only
    # when those are HELP's six (the bars mark HELP's devices among any targets).
    if help_ref and set(a["targets"]) == set(HELP_NB201):
        ax.plot([10], [HELP_NB201_MEAN], "k*", ms=12, ls="none",
                label=f"HELP, 10 samples, mean of its 6 NB201 test devices ({HELP_NB201_MEAN})")
        ax.axhline(FLOPS_MEAN, color="black", ls=":", lw=0.9, label=f"FLOPs alone, same 6 devices ({FLOPS_MEAN})")
    strong_line(ax)
    log_ticks(ax, n)
    ax.set_xlabel("target training samples n" + (f" (+{a['validation']} validation)" if a["validation"] else ""))
    ax.set_ylabel("SRCC, mean over targets (bar: 1 std across targets)")
    ax.grid(alpha=0.3)
    run = os.path.basename(path).split("_adapt_curves")[0]
    title(ax, f"{run}: proxy {a['proxy']}, {len(a['targets'])} targets, {a['repeats']} repeats per n"
          + (f" ({protocol_text(a)})" if a.get("protocol") else ""))
    bottom = legend_below(fig, ax, ncol=3)
    save(fig, path, bottom=bottom)


# ---------------------------------------------------------------- select, cover, latency

def select_regret(g, path):
    s = g["select"]
    rules = strings(s["rules"])
    n = np.array([int(x) for x in s["n"][()]], dtype=float)
    regret = s["regret_mean"][()]  # [rule, target, n]
    fig, ax = plt.subplots(figsize=(6.8, 5.0))
    for ri, r in enumerate(rules):
        color, marker, ls = SERIES_STYLE[ri % len(SERIES_STYLE)]
        ax.plot(spread(n, ri, len(rules)), np.nanmean(regret[ri], axis=0), color=color, marker=marker, ls=ls,
                ms=6 - ri % 3, mfc="none" if ri % 2 else color, label=r)
    log_ticks(ax, n)
    ax.set_xlabel("target samples n")
    ax.set_ylabel("SRCC regret against the oracle proxy, mean over targets")
    ax.grid(alpha=0.3)
    title(ax, f"Proxy selection: {len(strings(s['targets']))} targets, {len(strings(s['candidates']))} candidates")
    bottom = legend_below(fig, ax, ncol=4)
    save(fig, path, bottom=bottom)


def cover(g, path):
    c = g["cover"]
    thresholds = c["thresholds"][()]
    groups = strings(c["groups"])
    needed = c["proxies_needed"][()]  # [group, threshold]
    fig, ax = plt.subplots(figsize=(6.8, 5.0))
    for gi, name in enumerate(groups):
        color, marker, ls = SERIES_STYLE[gi % len(SERIES_STYLE)]
        ax.plot(thresholds, needed[gi], color=color, marker=marker, ls=ls, label=name, lw=2.0 if name == "all" else 1.0)
    strong_line(ax, horizontal=False)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("SRCC threshold")
    ax.set_ylabel("proxies needed (greedy cover)")
    ax.grid(alpha=0.3)
    ax.set_title("Proxy cover of the run's devices", fontsize=10)
    bottom = legend_below(fig, ax, ncol=4)
    save(fig, path, bottom=bottom)


def latency(g, path):
    lat = g["eval/latency_ms"]
    devices = strings(g["eval/devices"])
    rows = min(lat.shape[0], 20000)  # a sample of rows is enough for a distribution
    data = lat[:rows]
    shown = sorted(range(min(len(devices), 40)), key=lambda i: natural_key(devices[i]))
    cols = [data[:, d][np.isfinite(data[:, d])] for d in shown]
    fig, ax = plt.subplots(figsize=(min(MAX_WIDTH, max(6.0, 0.3 * len(shown) + 2)), 4.5))
    ax.boxplot(cols, showfliers=False)
    ax.set_xticks(range(1, len(shown) + 1), [devices[i] for i in shown], rotation=90, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("latency, ms")
    title(ax, f"Latency of {lat.shape[0]} architectures per device"
          + (f" (first {rows})" if rows < lat.shape[0] else ""))
    save(fig, path)


# ---------------------------------------------------------------- NAS

def nas_accuracy(g):
    return text(g.attrs.get("accuracy", ""))


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
    fig, axes = plt.subplots(2, T, figsize=(min(MAX_WIDTH, 3.0 * T), 5.6), squeeze=False, sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]})
    for t, name in enumerate(targets):
        ax, axv = axes[0][t], axes[1][t]
        for j, src in enumerate(sources):
            r = regret[s, j, t]                                   # [constraint, seed]
            mean = np.array([np.nanmean(row) if np.isfinite(row).any() else np.nan for row in r])
            ax.plot(q, mean, marker="o", ms=3, color=NAS_COLORS.get(src), label=src)
            axv.plot(q, violation[s, j, t].mean(axis=1), marker=".", color=NAS_COLORS.get(src))
        ax.set_title(name, fontsize=9)
    finish_nas_regret(fig, axes, q, path, f"{strategies[s]} on proxy {text(g.attrs['proxy'])} ({nas_accuracy(g)} "
                      f"accuracy): regret vs the {optimum_words(g)}", constraint_label(g))


def constraint_label(g):
    """The constraint axis: latency quantiles, or limits in ms (nas.constraint_ms)."""
    return "latency limit (ms)" if text(g.attrs.get("constraint_kind", "quantile")) == "ms" else "constraint (latency quantile)"


def optimum_words(g):
    """What regret is measured against: exact on a table, estimated on a space evaluated on the fly."""
    if text(g.attrs.get("optimum", "exact")) == "estimated":
        return (f"ESTIMATED target optimum (best known: {int(g.attrs['optimum_seeds'])} x "
                f"{int(g.attrs['optimum_budget'])} evolution on the target, every search, the run's sample)")
    return "target-optimal architecture"


def finish_nas_regret(fig, axes, q, path, heading, xlabel="constraint (latency quantile)"):
    """The regret panels' common frame: regret above, violation share below."""
    for ax, axv in zip(axes[0], axes[1]):
        ax.grid(alpha=0.3)
        log_ticks(axv, q)
        axv.tick_params(axis="x", labelsize=6, rotation=90)
        axv.set_ylim(-0.05, 1.05)
        axv.set_xlabel(xlabel, fontsize=8)
        axv.grid(alpha=0.3)
    axes[0][0].set_ylabel("accuracy regret (points)")
    axes[1][0].set_ylabel("pick violates")
    title(fig, heading)
    bottom = legend_below(fig, axes[0], ncol=4)
    save(fig, path, bottom=bottom)


def nas_regret_summary(g, path):
    """Many targets: one column per strategy, the mean over targets per source with the
    interquartile range of the per-target means as a band."""
    sources, strategies = strings(g["sources"]), strings(g["strategies"])
    q = g["constraints"][()]
    regret, violation = g["regret"][()], g["violation"][()]
    S = len(strategies)
    fig, axes = plt.subplots(2, S, figsize=(min(MAX_WIDTH, 3.6 * S + 0.6), 5.6), squeeze=False, sharex=True,
                             sharey="row", gridspec_kw={"height_ratios": [3, 1]})
    for s, strat in enumerate(strategies):
        ax, axv = axes[0][s], axes[1][s]
        for j, src in enumerate(sources):
            per_target = np.nanmean(regret[s, j], axis=2)          # [target, constraint]
            ax.plot(q, np.nanmean(per_target, axis=0), marker="o", ms=3, color=NAS_COLORS.get(src), label=src)
            lo, hi = np.nanpercentile(per_target, [25, 75], axis=0)
            ax.fill_between(q, lo, hi, color=NAS_COLORS.get(src), alpha=0.12)
            axv.plot(q, violation[s, j].mean(axis=(0, 2)), marker=".", color=NAS_COLORS.get(src))
        ax.set_title(strat, fontsize=9)
    finish_nas_regret(fig, axes, q, path, f"proxy {text(g.attrs['proxy'])}, {len(strings(g['targets']))} "
                      f"targets ({nas_accuracy(g)} accuracy): mean regret vs the {optimum_words(g)} over targets "
                      f"and seeds, band = interquartile range over targets", constraint_label(g))


def nas_efficiency(cell, path):
    g = cell["nas"]
    # Exhaustive search's order is the enumeration's: its curve says nothing.
    if len(g["checkpoints"]) < 2 or set(strings(g["strategies"])) == {"exhaustive"}:
        return False
    sources, strategies = strings(g["sources"]), strings(g["strategies"])
    cp = g["checkpoints"][()]
    best = g["best_accuracy"][()]  # [strategy, source, target, constraint, seed, checkpoint]
    styles = ["-", "--", ":", "-."]
    fig, ax = plt.subplots(figsize=(6.8, 5.2))
    for s, strat in enumerate(strategies):
        for j, src in enumerate(sources):
            mean = np.nanmean(best[s, j].reshape(-1, len(cp)), axis=0)
            ax.plot(cp, mean, styles[s % len(styles)], marker="o", ms=3, color=NAS_COLORS.get(src),
                    label=f"{strat}, {src}", lw=1.3)
    log_ticks(ax, cp)
    ax.set_xlabel("accuracy evaluations")
    ax.set_ylabel("best accuracy found (%)")
    title(ax, f"Best accuracy found ({nas_accuracy(g)} accuracy) within each source's latency constraint against accuracy "
          "evaluations, mean over targets, constraints and seeds (line style: strategy; colour: latency source)")
    ax.grid(alpha=0.3)
    bottom = legend_below(fig, ax, ncol=3, fontsize=7)
    save(fig, path, bottom=bottom)


NAS_POINTS = ("nas/points_accuracy", "nas/points_target_ms", "nas/found_row")


def pareto_front(lat, acc):
    """Indices of the accuracy-latency Pareto front (lower latency, higher accuracy), by latency."""
    ok = np.flatnonzero(np.isfinite(lat) & np.isfinite(acc))
    ok = ok[np.lexsort((-acc[ok], lat[ok]))]
    front, best = [], -np.inf
    for i in ok:
        if acc[i] > best:
            front.append(i)
            best = acc[i]
    return np.array(front, dtype=int)


def nas_pareto(cell, path):
    """The paper's Sec. 6 figure: per target, all architectures, the Pareto front, and the picks."""
    g = cell["nas"]
    if text(g.attrs.get("latency", "table")) == "on_the_fly":
        print(f"{path}: skipped, searches evaluated on the fly pick architectures outside the run's sample")
        return False
    missing = [p for p in NAS_POINTS if p not in cell]
    if missing:
        print(f"{path}: skipped, the file has no {', '.join('/' + m for m in missing)} (written by newer proxysim)")
        return False
    targets, sources, strategies = strings(g["targets"]), strings(g["sources"]), strings(g["strategies"])
    if len(targets) > 8:
        print(f"{path}: skipped, {len(targets)} targets (drawn for at most 8)")
        return False
    acc, lat_all, found = g["points_accuracy"][()], g["points_target_ms"][()], g["found_row"][()]
    s = strategies.index("exhaustive") if "exhaustive" in strategies else 0
    shown = [src for src in ("proxy", "adapted") if src in sources]
    cols = min(len(targets), 3)
    rows = -(-len(targets) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(min(MAX_WIDTH, 4.6 * cols), 3.9 * rows + 1.2), squeeze=False)
    for t, name in enumerate(targets):
        pareto_panel(axes.flat[t], acc, lat_all[t], found[s, :, t], sources, shown, label(name),
                     g["constraint_ms"][t] if "constraint_ms" in g else None)
    for ax in axes.flat[len(targets):]:
        ax.axis("off")
    seeds = found.shape[-1]
    title(fig, f"NAS ({strategies[s]}) with proxy {text(g.attrs['proxy'])}: accuracy ({nas_accuracy(g)}) "
          f"against latency on each target; the architecture picked at each latency constraint with the "
          f"raw proxy and with the proxy adapted by {text(g.attrs.get('scheme', 'adaptation'))} "
          f"({int(g.attrs.get('n', 0))} + {int(g.attrs.get('validation', 0))} target samples, {seeds} "
          f"seeds; marker size: how many seeds picked it)", fontsize=9)
    bottom = legend_below(fig, axes, ncol=5)
    save(fig, path, bottom=bottom)


def pareto_panel(ax, acc, lat, found, sources, shown, heading, constraint_ms):
    ok = np.isfinite(lat) & np.isfinite(acc)
    ax.scatter(lat[ok], acc[ok], s=2, color="0.75", alpha=0.5, rasterized=True, label="all architectures")
    front = pareto_front(lat, acc)
    ax.step(lat[front], acc[front], where="post", color="black", lw=1.0, label="Pareto front on the target")
    if constraint_ms is not None:
        for c in np.asarray(constraint_ms)[np.isfinite(constraint_ms)]:
            ax.axvline(c, color="0.6", ls=":", lw=0.6)
        ax.plot([], [], color="0.6", ls=":", lw=0.6, label="latency constraints")
    marks = {"proxy": dict(marker="x", color=NAS_COLORS["proxy"], label="picked with the raw proxy"),
             "adapted": dict(marker="o", facecolors="none", edgecolors=NAS_COLORS["adapted"],
                             label="picked with the adapted proxy")}
    for src in shown:
        picks = found[sources.index(src)].ravel()  # [constraint, seed]
        picks = picks[np.isfinite(picks) & (picks >= 0)].astype(int)
        rows, counts = np.unique(picks, return_counts=True)
        ax.scatter(lat[rows], acc[rows], s=18 + 4 * counts, lw=1.0, zorder=3, **marks[src])
    ax.set_title(f"{heading} ({int(ok.sum())} architectures)", fontsize=9)
    ax.set_xlabel("latency on the target, ms", fontsize=8)
    ax.set_ylabel("accuracy, %", fontsize=8)
    if np.any(ok) and np.nanmax(lat[ok]) > 20 * np.nanmin(lat[ok][lat[ok] > 0]):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
    if np.any(ok):
        ax.set_ylim(max(np.nanmin(acc[ok]), np.nanmax(acc[ok]) - 25), np.nanmax(acc[ok]) + 1)
    ax.grid(alpha=0.3)


# ---------------------------------------------------------------- a sweep's cells side by side

def cell_tags(f, names):
    """Per cell, the file-name tag: its sweep values ('extension' left out), or c<index>."""
    tags = []
    for name in names:
        axes = cell_axes(f["cells"][name])
        vals = [re.sub(r"[^A-Za-z0-9_.-]+", "-", v).strip("-") for k, v in axes.items()
                if not (k == "adapt.protocol" and v == "extension")]
        tags.append("_".join(vals))
    if len(set(tags)) < len(tags) or any(len(t) > 40 for t in tags):
        return [f"c{n}" for n in names]
    return tags


def cell_label(cell, name):
    """A cell's axes without the protocol, for a sweep summary's x axis."""
    axes = {k: v for k, v in cell_axes(cell).items() if k != "adapt.protocol"}
    return ", ".join(f"{k.split('.')[-1]}={v}" for k, v in axes.items()) or (f"cell {name}" if name else "")


PROTOCOL_ORDER = {"paper": 0, "paper_mean": 1, "extension": 2}


def sweep_summary(f, names, path):
    """Cells side by side; not drawn when the cells differ only in their adaptation protocol
    (each cell's own bars already show it)."""
    groups = sweep_panels(f, names)
    if not groups or not any(cell_label(f["cells"][n], None) for n in names):
        return False
    mono = [mean_pairwise(f["cells"][n]) for n in names]
    mono_same = bool(np.all(np.isclose(mono, mono[0], equal_nan=True))) and np.isfinite(mono[0])
    cols = min(2, len(groups))
    rows = -(-len(groups) // cols)
    width = min(MAX_WIDTH, max(7.0, cols * (1.2 + 0.9 * max(len(v) for v in groups.values()))))
    fig, axes = plt.subplots(rows, cols, figsize=(width, 3.3 * rows + 1.4), squeeze=False, sharey=True)
    for ax, ((proto, n), entries) in zip(axes.flat, groups.items()):
        sweep_panel(ax, f, entries, n)
        ax.set_title(f"n = {n}" + (f", {protocol_text({'protocol': proto})}" if proto else ""), fontsize=9)
        if mono_same:
            ax.axhline(mono[0], color="black", ls="-.", lw=0.9,
                       label=f"mean pairwise SRCC of the devices ({mono[0]:.2f}, the same in every cell)")
    for ax in axes.flat[len(groups):]:
        ax.axis("off")
    title(fig, f"Sweep of {len(names)} cells: SRCC with the targets, mean over targets")
    bottom = legend_below(fig, axes, ncol=3)
    save(fig, path, bottom=bottom)
    return True


def mean_pairwise(cell):
    if "monotonicity/srcc" not in cell:
        return np.nan
    m = cell["monotonicity/srcc"][()]
    return float(np.nanmean(m[~np.eye(m.shape[0], dtype=bool)]))


def sweep_panels(f, names):
    """{(protocol, n): [(cell name, adapt data, n index)]} over the cells with adaptation."""
    groups = {}
    for name in names:
        cell = f["cells"][name]
        if "adapt/srcc_mean" not in cell:
            continue
        a = adapt_data(cell)
        for k, n in enumerate(a["n"]):
            groups.setdefault((a.get("protocol"), n), []).append((name, a, k))
    return dict(sorted(groups.items(), key=lambda kv: (PROTOCOL_ORDER.get(kv[0][0], 3), kv[0][1])))


def sweep_panel(ax, f, entries, n):
    schemes = []
    for _, a, _ in entries:
        schemes += [s for s in a["schemes"] if s != "none" and s not in schemes]
    series = ["none"] + schemes
    width = 0.8 / len(series)
    x = np.arange(len(entries))
    for i, s in enumerate(series):
        vals = [float(np.nanmean(a["unadapted"])) if s == "none" else
                (float(np.nanmean(a["mean"][a["schemes"].index(s), :, k])) if s in a["schemes"] else np.nan)
                for _, a, k in entries]
        ax.bar(x - 0.4 + width * (i + 0.5), vals, width, color=scheme_style(s)[0], label=scheme_label(s))
    strong_line(ax)
    ax.set_xticks(x, [cell_label(f["cells"][name], name) for name, _, _ in entries], rotation=30, ha="right",
                  fontsize=7)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("SRCC, mean over targets", fontsize=8)


# ---------------------------------------------------------------- the paper's heatmaps

PAPER_HEATMAPS = [
    dict(key="nb201", proxy="pixel3", order=["edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga"],
         full=True, title="NB201 CIFAR-10, HW-NAS-Bench's devices (the paper's NB201 heatmap)",
         before={t: v[0] for t, v in PAPER_NB201.items()}, after={t: v[1] for t, v in PAPER_NB201.items()}),
    dict(key="oneproxy", proxy="true_vpu", order=None, full=False,
         title="The paper's 1999 NB201 architectures on 18 devices, Myriad VPU as the proxy",
         before=PAPER_ONEPROXY_BEFORE, after={},
         after_note=f"The paper reports SRCC >= {PAPER_ONEPROXY_AFTER_MIN:.2f} after adaptation on every one of its 16 "
                    f"targets"),
    dict(key="fbnet", proxy="pixel3", space="fbnet", order=None, first=["raspi4", "eyeriss", "fpga"], full=False,
         title="FBNet CIFAR-100, Pixel3 as the proxy", before={}, after={},
         after_note=f"The paper's Edge GPU column (Pixel3 -> Edge GPU {PAPER_FBNET['edgegpu'][0]:.2f} -> "
                    f"{PAPER_FBNET['edgegpu'][1]:.2f}) is not in the public data: HELP's FBNet table has no Edge GPU"),
]


def paper_spec(f):
    """The paper heatmap this file holds the data for, with the cell holding its monotonicity."""
    all_cells = [f["cells"][k] for k in sorted(f["cells"].keys(), key=int)]
    for c in all_cells:
        if "monotonicity/srcc" not in c:
            continue
        devices = set(strings(c["monotonicity/devices"]))
        for spec in PAPER_HEATMAPS:
            proxies = {text(a["adapt"].attrs.get("proxy", "")) for a in all_cells if "adapt/srcc_mean" in a}
            if spec["proxy"] not in devices or proxies != {spec["proxy"]}:
                continue
            if spec.get("space") and cell_space(c, f) != spec["space"]:
                continue
            if spec["order"] and set(spec["order"]) != devices:
                continue
            if spec["key"] == "oneproxy" and not devices >= {"true_vpu", "eagle_gtx", "rice_pixel3"}:
                continue
            if spec["key"] != "fbnet" and cell_space(c, f) == "fbnet":
                continue
            return spec, c
    return None, None


def adapted_rows(f, spec):
    """[(row label, adapt data, n index)]: the paper protocol's split and mean, else the n nearest 60."""
    found = adapt_cells(f, spec["proxy"])
    rows = []
    for proto, what in (("paper", "the authors' split"), ("paper_mean", "mean of 20 splits")):
        if proto in found:
            a = adapt_data(found[proto])
            k = int(np.argmin([abs(n - PAPER_N) for n in a["n"]]))
            rows.append((f"+ AdaProxy, {what}\n(n = {a['n'][k]} + {a['validation']})", a, k))
    if not rows:
        a = adapt_data(next(iter(found.values())))
        k = int(np.argmin([abs(n - PAPER_N) for n in a["n"]]))
        rows.append((f"+ AdaProxy, n = {a['n'][k]} + {a['validation']}\n(mean of {a['repeats']}; no paper-"
                     f"protocol cell)", a, k))
    return rows


def paper_heatmap(f, path):
    spec, mono = paper_spec(f)
    if spec is None:
        return False
    devices = strings(mono["monotonicity/devices"])
    srcc, pairs = mono["monotonicity/srcc"][()], pair_counts(mono)
    proxy = spec["proxy"]
    adapted = adapted_rows(f, spec)
    cols = heatmap_columns(spec, devices, adapted[0][1])
    di = [devices.index(c) for c in cols]
    proxies = spec["order"] if spec["full"] else [proxy]
    table, notes, ylabels = [], [], []
    for p in proxies:
        table.append(srcc[devices.index(p), di])
        notes.append([spec["before"].get(c) if p == proxy else None for c in cols])
        ylabels.append(label(p) + (" (proxy)" if p == proxy else ""))
    for row_label, a, k in adapted:
        si = a["schemes"].index("adaproxy") if "adaproxy" in a["schemes"] else None
        table.append(np.array([a["mean"][si, a["targets"].index(c), k] if si is not None and c in a["targets"]
                               else np.nan for c in cols]))
        notes.append([spec["after"].get(c) for c in cols])
        ylabels.append(label(proxy) + " " + row_label)
    draw_paper_heatmap(spec, np.array(table, dtype=float), notes, ylabels, cols, len(proxies),
                       paper_footnote(spec, cols, devices, pairs, adapted), path)
    return True


def heatmap_columns(spec, devices, a):
    if spec["full"]:
        return list(spec["order"])
    targets = [t for t in a["targets"] if t in devices and t != spec["proxy"]]
    first = [t for t in spec.get("first", []) if t in targets]
    return first + sorted([t for t in targets if t not in first], key=natural_key)


def paper_footnote(spec, cols, devices, pairs, adapted):
    shown = [spec["proxy"]] + [c for c in cols if c != spec["proxy"]] if not spec["full"] else cols
    idx = [devices.index(d) for d in shown]
    lines = ["Before adaptation: " + pairs_text(pairs[np.ix_(idx, idx)], shown, {d: label(d) for d in shown})
             + " (/monotonicity/pairs)."]
    a = adapted[0][1]
    if a.get("eligible"):
        el = {t: e for t, e in zip(a["targets"], a["eligible"]) if t in cols}
        common = max(el.values(), key=list(el.values()).count) if el else None
        odd = [f"{label(t)} {e}" for t, e in el.items() if e != common]
        lines.append(f"AdaProxy rows: SRCC over each target's eligible architectures, training samples included "
                     f"({common}" + (f"; {', '.join(odd)}" if odd else "") + ").")
    if any(spec["before"].values()) or any(spec["after"].values()):
        lines.append("'paper x.xx': the paper's value (Lu et al. 2022).")
    extras = [c for c in cols if c in ONEPROXY_EXTRA]
    if extras:
        lines.append(f"* {', '.join(extras)}: in the shared table but not one of the paper's 16 targets (hatched).")
    if spec.get("after_note"):
        lines.append(spec["after_note"] + ".")
    return "\n".join(wrap(s, 150) for s in lines)


def draw_paper_heatmap(spec, table, notes, ylabels, cols, split, footnote, path):
    R, C = table.shape
    width = min(MAX_WIDTH, max(7.5, 0.78 * C + 4.0))
    height = 0.62 * R + 2.6 + 0.14 * footnote.count("\n")
    fig, ax = plt.subplots(figsize=(width, height))
    im = ax.imshow(table, vmin=min(0.0, float(np.nanmin(table))), vmax=1.0, cmap="viridis", aspect="auto")
    small = 6 if C > 14 else 7.5
    for r in range(R):
        for c in range(C):
            cell_text(ax, r, c, table[r, c], notes[r][c], small)
    ax.axhline(split - 0.5, color="white", lw=3)
    xt = [f"{label(c)}*" if c in ONEPROXY_EXTRA else label(c) for c in cols]
    ax.set_xticks(range(C), xt, rotation=35 if C > 6 else 0, ha="right" if C > 6 else "center", fontsize=8)
    ax.set_yticks(range(R), ylabels, fontsize=8)
    for c, name in enumerate(cols):
        if name in ONEPROXY_EXTRA:
            ax.add_patch(plt.Rectangle((c - 0.5, -0.5), 1, R, fill=False, hatch="//", edgecolor="white", lw=0))
    ax.set_xlabel("target")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="SRCC")
    title(ax, spec["title"] + ": latency monotonicity (SRCC) before and after proxy adaptation")
    fig.text(0.01, 0.01, footnote, fontsize=7, va="bottom", ha="left")
    save(fig, path, bottom=(0.14 * (footnote.count("\n") + 1) + 0.1) / height)


def cell_text(ax, r, c, v, paper, fontsize):
    if not np.isfinite(v):
        ax.text(c, r, "–", ha="center", va="center", fontsize=fontsize, color="black")
        return
    s = f"{v:.2f}" + (f"\npaper {paper:.2f}" if paper is not None else "")
    ax.text(c, r, s, ha="center", va="center", fontsize=fontsize, color="black" if v > 0.6 else "white")


# ---------------------------------------------------------------- the driver

def cell_figures(f, cell):
    """(name, the dataset it needs, draw(path) -> False when it declines) for one cell."""
    def adapt(fn):
        return lambda p: fn(adapt_data(cell), p, is_help_nb201(cell, adapt_data(cell), f))
    return [
        ("srcc", "monotonicity/srcc", lambda p: heatmap(cell, p)),
        ("adapt_bars", "adapt/srcc_mean", adapt(bars)),
        ("adapt_curves", "adapt/srcc_mean", adapt(curves)),
        ("select_regret", "select/regret_mean", lambda p: select_regret(cell, p)),
        ("cover", "cover/proxies_needed", lambda p: cover(cell, p)),
        ("latency", "eval/latency_ms", lambda p: latency(cell, p)),
        ("nas_regret", "nas/regret", lambda p: nas_regret(cell, p)),
        ("nas_efficiency", "nas/best_accuracy", lambda p: nas_efficiency(cell, p)),
        ("nas_pareto", "nas/regret", lambda p: nas_pareto(cell, p)),
    ]


# Figures whose data need not differ between cells: drawn once when every cell has the same.
SHARED = {"srcc": ("monotonicity/srcc", "monotonicity/devices"), "latency": ("eval/latency_ms", "eval/devices")}


def fingerprint(cell, paths):
    h = hashlib.sha1()
    for p in paths:
        if p not in cell:
            return None
        v = cell[p][()]
        h.update(repr(strings(cell[p])).encode() if v.dtype.kind in "OSU" else np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


def draw_all(f, stem, out):
    names = sorted(f["cells"].keys(), key=int)
    tags = cell_tags(f, names) if len(names) > 1 else [""]
    written = []
    shared = {what: len({fingerprint(f["cells"][n], paths) for n in names}) == 1 for what, paths in SHARED.items()}
    global SIMULATED_NOTE
    for name, tag in zip(names, tags):
        cell = f["cells"][name]
        classes = strings(cell["eval/device_classes"]) if "eval/device_classes" in cell else []
        SIMULATED_NOTE = " [all devices simulated]" if classes and "measured" not in classes else ""
        for what, needs, draw in cell_figures(f, cell):
            if needs not in cell:
                continue
            once = shared.get(what, False)
            if once and name != names[0]:
                continue
            prefix = stem if (once or not tag) else f"{stem}_{tag}"
            path = os.path.join(out, f"{prefix}_{what}.png")
            if draw(path) is not False:  # a figure may decline (nothing to show)
                written.append(path)
    if len(names) > 1:
        path = os.path.join(out, f"{stem}_sweep.png")
        if sweep_summary(f, names, path):
            written.append(path)
    path = os.path.join(out, f"{stem}_paper_heatmap.png")
    if paper_heatmap(f, path):
        written.append(path)
    return written


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("result", help="proxysim result .h5")
    p.add_argument("--out", help="folder for the PNGs (default: the result's folder)")
    args = p.parse_args(argv)
    out = args.out or os.path.dirname(os.path.abspath(args.result))
    os.makedirs(out, exist_ok=True)
    stem = os.path.splitext(os.path.basename(args.result))[0]
    with h5py.File(args.result, "r") as f:
        if "cells" not in f:
            print(f"{args.result}: no /cells group (not a proxysim result file?)", file=sys.stderr)
            return 1
        written = draw_all(f, stem, out)
    if not written:
        print(f"{args.result}: nothing to plot", file=sys.stderr)
        return 1
    for w in written:
        print(w)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
