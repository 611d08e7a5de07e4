#!/usr/bin/python3
"""target_twin (issue 19): few-shot twins of the target itself, tables from the result files.

  results/target_twin_tables.py FOLDER [--no-readme]   (scripts/reproduce-paper: results/paper)

1. HELP on its own protocol: from help_nb201_pixel3.h5 and help_fbnet_pixel3.h5 (cell
   `extension`), each target's mean SRCC over the architectures not sampled, at n = 10
   (+ 10 validation samples), 20 seeded repeats, for adaproxy, multi_proxy, twin,
   target_start and target_twin beside HELP's published numbers, with what each spends.
2. Where it fails: from target_twin_{oneproxy,help_nb201,hwnasbench,help_fbnet}.h5, every
   device of each table at n = 5, 10, 20: the distribution of target_twin's mean
   held-out SRCC, its gap to its unfitted start (target_start), and the worst devices with
   the starts chosen, how often the fit moved the start (mu < infinity), and the model's
   ceiling on the device: the held-out SRCC of the device's own calibrated twin (fitted on
   200 of its architectures; from the twin's YAML header).

Writes results/target_twin.md and the block between <!-- target_twin:begin --> and
<!-- target_twin:end --> in README.md. Every number is read from the result files or
the twins' YAML headers; HELP's are its paper's (Lee et al. 2021, Table 3).
"""
import argparse
import collections
import csv
import os
import re
import sys

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reproduction import adapt_cells, cells, label, open_result, replace_readme_block, strings  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- target_twin:begin -->", "<!-- target_twin:end -->"
# HELP (meta-learned, 10 target samples), NB201, its paper's Table 3.
HELP_NB201 = {"titan_rtx_256": 0.987, "gold_6226": 0.989, "fpga": 0.985, "pixel2": 0.802, "raspi4": 0.890,
              "eyeriss": 0.940}
HELP_MEAN = 0.932
SHOWN = ("adaproxy", "multi_proxy", "twin", "target_start", "target_twin")
TABLES = (("target_twin_oneproxy", "OneProxy NB201 (1999 archs, 18 devices; the table rules may be chosen on)"),
          ("target_twin_help_nb201", "HELP NB201 (15625 archs, 27 devices)"),
          ("target_twin_hwnasbench", "HW-NAS-Bench NB201 (6 devices)"),
          ("target_twin_help_fbnet", "HELP FBNet (5000 archs, 27 devices)"))
SPACE = {"target_twin_help_fbnet": "fbnet"}


def row(cells_):
    return "| " + " | ".join(cells_) + " |"


def group(cell):
    g = cell["adapt"]
    d = dict(schemes=strings(g["schemes"]), targets=strings(g["targets"]), n=[int(x) for x in g["n"][()]],
             held=g["srcc_unsampled_mean"][()], mean=g["srcc_mean"][()], validation=int(g.attrs["validation"]),
             repeats=int(g.attrs["repeats"]), proxy=g.attrs["proxy"], eligible=[int(x) for x in g["eligible"][()]])
    d["proxy"] = d["proxy"].decode() if isinstance(d["proxy"], bytes) else str(d["proxy"])
    if "target_twin_start" in g:
        d["starts"] = strings(g["target_twin_start"])
        d["mu"] = g["target_twin_mu"][()]
    if "target_starts" in g:
        d["start_list"] = strings(g["target_starts"])
        d["classes"] = strings(g["target_class"])
    return d


def twin_ceiling(target, space):
    """Held-out SRCC of the device's own calibrated twin in `space`, from its YAML header."""
    key = re.sub(r"_latency$", "", re.sub(r"^rice_", "", target)).replace("_", "")
    folder = os.path.join(ROOT, "sim", "devices", "twins")
    for f in sorted(os.listdir(folder)):
        with open(os.path.join(folder, f)) as fh:
            body = fh.read()
        cols = re.findall(r" column (\S+) \(", body.split("\nsource:")[1].split("\n")[0]) if "\nsource:" in body else []
        if not any(re.sub(r"_latency$", "", re.sub(r"^rice_", "", c)).replace("_", "") == key for c in cols):
            continue
        m = re.search(rf"^# {space} \((\w+)\): held-out SRCC ([0-9.]+)", body, re.M)
        if m:
            return float(m.group(2)), m.group(1), f[:-5]
    return None


def help_section(folder):
    out = []
    for name, space, title in (("help_nb201_pixel3", "nb201", "NB201"), ("help_fbnet_pixel3", "fbnet", "FBNet")):
        f = open_result(folder, name)
        if f is None:
            out += [f"{title}: results/paper/{name}.h5 missing.", ""]
            continue
        a = group(adapt_cells(f)["extension"])
        k = a["n"].index(10)
        schemes = [s for s in SHOWN if s in a["schemes"]]
        m = a["eligible"][0]
        out += [f"**HELP's {title} meta-test devices**, n = 10 training + {a['validation']} validation target "
                f"measurements, mean of {a['repeats']} seeded repeats, SRCC over the architectures not sampled "
                f"({m - 10 - a['validation']} of {m}).", ""]
        head = ["target"] + (["HELP (paper)"] if space == "nb201" else []) + schemes
        out += [row(head), row(["---"] * len(head))]
        for t, target in enumerate(a["targets"]):
            vals = [label(target)] + ([f"{HELP_NB201[target]:.3f}"] if space == "nb201" else [])
            vals += [f"{a['held'][a['schemes'].index(s), t, k]:.3f}" for s in schemes]
            out.append(row(vals))
        mean = [f"mean of {len(a['targets'])}"] + ([f"{HELP_MEAN:.3f}"] if space == "nb201" else [])
        mean += [f"**{np.mean(a['held'][a['schemes'].index(s), :, k]):.3f}**" if s == "target_twin" else
                 f"{np.mean(a['held'][a['schemes'].index(s), :, k]):.3f}" for s in schemes]
        out.append(row(mean))
        spent = ["measurements spent"] + (["10 target (+ meta-training on 9 devices)"] if space == "nb201" else [])
        for s in schemes:
            if s in ("target_twin", "target_start"):
                spent.append(f"{10 + a['validation']} target, 0 proxy" if s == "target_twin" else "10 target, 0 proxy")
            elif s == "multi_proxy":
                spent.append(f"{10 + a['validation']} target, {m} x (1 + candidates) proxy")
            else:
                spent.append(f"{10 + a['validation']} target, {m} proxy")
        out += [row(spent), ""]
        if "starts" in a:
            R, N = a["repeats"], len(a["n"])
            lines = []
            for t, target in enumerate(a["targets"]):
                ch = a["starts"][(t * N + k) * R:(t * N + k + 1) * R]
                mu = a["mu"][(t * N + k) * R:(t * N + k + 1) * R]
                common = collections.Counter(ch).most_common(2)
                lines.append(f"{label(target)} ({a['classes'][t]}): " + ", ".join(f"{c} {v}/{R}" for c, v in common) +
                             f"; fitted (mu < inf) {int(np.sum(np.isfinite(mu)))}/{R}")
            out += ["Starts target_twin chose at n = 10 (most frequent two) and how often validation kept a fit: " +
                    "; ".join(lines) + ".", ""]
    return out


def table_summaries(folder):
    """Per table and n: the distribution over devices; per device at n = 10: the rows."""
    out, worst_rows, gaps = [], [], []
    for name, title in TABLES:
        f = open_result(folder, name)
        if f is None:
            out += [f"{title}: results/paper/{name}.h5 missing.", ""]
            continue
        per_target = {}
        for c in cells(f):
            if "adapt/srcc_mean" not in c:
                continue
            a = group(c)
            for t, target in enumerate(a["targets"]):
                per_target.setdefault(target, (a, t))
        targets = sorted(per_target)
        a0 = per_target[targets[0]][0]
        ns = a0["n"]
        out += [f"**{title}**: {len(targets)} devices, n training + {a0['validation']} validation measurements, "
                f"{a0['repeats']} seeded repeats, mean SRCC over the architectures not sampled.", ""]
        head = ["n", "min", "10 %", "median", "mean", ">= 0.9", "start: mean", "fit - start: mean",
                "worst fit - start", "devices fit < start - 0.02"]
        out += [row(head), row(["---"] * len(head))]
        for k, n in enumerate(ns):
            tw = np.array([per_target[t][0]["held"][per_target[t][0]["schemes"].index("target_twin"), per_target[t][1], k]
                           for t in targets])
            st = np.array([per_target[t][0]["held"][per_target[t][0]["schemes"].index("target_start"), per_target[t][1], k]
                           for t in targets])
            d = tw - st
            out.append(row([str(n), f"{tw.min():.3f}", f"{np.percentile(tw, 10):.3f}", f"{np.median(tw):.3f}",
                            f"{tw.mean():.3f}", f"{int(np.sum(tw >= 0.9))}/{len(tw)}", f"{st.mean():.3f}",
                            f"{d.mean():+.3f}", f"{d.min():+.3f} ({label(targets[int(np.argmin(d))])})",
                            f"{int(np.sum(d < -0.02))}"]))
            if n == 10:
                for i, t in enumerate(targets):
                    a, ti = per_target[t]
                    R, N = a["repeats"], len(a["n"])
                    ch = a["starts"][(ti * N + k) * R:(ti * N + k + 1) * R] if "starts" in a else []
                    mu = a["mu"][(ti * N + k) * R:(ti * N + k + 1) * R] if "mu" in a else []
                    gaps.append((name, t, d[i]))
                    worst_rows.append((tw[i], st[i], name, t, a["classes"][ti] if "classes" in a else "?",
                                       collections.Counter(ch).most_common(1), int(np.sum(np.isfinite(mu))), R))
        out.append("")
    return out, worst_rows, gaps


NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NB201_EDGES = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")


def nb201_one_hot(arch):
    ops = [t.split("~")[0] for t in arch.split("|") if "~" in t]
    x = np.zeros(len(NB201_EDGES) * len(NB201_OPS) + 1)
    for e, op in enumerate(ops):
        x[e * len(NB201_OPS) + NB201_OPS.index(op)] = 1
    x[-1] = 1
    return x


def srcc(a, b):
    return float(spearmanr(a, b)[0])


def residuals(table):
    """Per device of the exported first-repeat n = 10 fits (target_twin_residuals_*):
    target_twin's held-out SRCC; the SRCC of a least-squares fit of the measured
    latency on the one-hot edge-operator features over every architecture (in sample:
    what the best per-operator additive model reaches); the share of target_twin's log
    residual variance that those features explain; and the (edge, operator) whose
    residual coefficient is largest, as the factor by which target_twin misprices it."""
    out = {}
    for part in (0, 1):
        path = os.path.join(ROOT, "results", "runs", f"target_twin_residuals_{table}_{part}.csv")
        if not os.path.exists(path):
            continue
        rows = collections.defaultdict(list)
        with open(path) as fh:
            for r in csv.DictReader(fh):
                if r["target_twin"] and r["measured_ms"]:
                    rows[r["target"]].append((r["arch"], r["sampled"], float(r["measured_ms"]), float(r["target_twin"])))
        for target, rs in rows.items():
            if target in out:
                continue
            x = np.array([nb201_one_hot(a) for a, _, _, _ in rs])
            y = np.array([m for _, _, m, _ in rs])
            p = np.array([q for _, _, _, q in rs])
            held = np.array([s == "" for _, s, _, _ in rs])
            w = np.linalg.lstsq(x, y, rcond=None)[0]
            additive = srcc(x @ w, y)
            res = np.log(y[held]) - np.log(p[held])
            b = np.linalg.lstsq(x[held], res, rcond=None)[0]
            explained = 1 - np.var(res - x[held] @ b) / np.var(res) if np.var(res) > 0 else 0.0
            # Largest price error of an operator against no operator on the same edge.
            best = (0.0, "")
            none = NB201_OPS.index("none")
            for e in range(len(NB201_EDGES)):
                seg = b[e * len(NB201_OPS):(e + 1) * len(NB201_OPS)]
                present = x[held][:, e * len(NB201_OPS):(e + 1) * len(NB201_OPS)].sum(axis=0) > 0
                if not present[none]:
                    continue
                for j, op in enumerate(NB201_OPS):
                    if j != none and present[j] and abs(seg[j] - seg[none]) > abs(best[0]):
                        best = (float(seg[j] - seg[none]), f"{op} on edge {NB201_EDGES[e]}")
            out[target] = dict(held=srcc(p[held], y[held]), additive=additive, explained=float(explained),
                               worst_op=best[1], factor=float(np.exp(best[0])))
    return out


def reading(r):
    own = r.get("own")
    if r["additive"] - r["held"] < 0.03:
        return "nothing per-operator: at the additive ceiling; the rest is timer resolution, noise or interactions"
    if own is not None and own >= r["additive"] - 0.05:
        return (f"the samples, not the model: from 200 it reaches {own:.3f}; 10 do not move its operator prices "
                "far enough")
    if r["explained"] >= 0.5:
        return ("relative operator prices: its op-class efficiencies and dispatch costs cannot take this device's "
                "ratios" + (f", even from 200 samples (own twin {r['additive'] - own:.2f} below the additive ceiling)"
                            if own is not None else ""))
    return "how operators combine (not additive in operators): interactions the walk does not model"


def residual_section(worst_rows, count=8):
    tables = {name: residuals(name.replace("target_twin_", "")) for name in ("target_twin_oneproxy",
                                                                            "target_twin_help_nb201")}
    if not any(tables.values()):
        return []
    out = ["**What limits the worst NB201 devices** (first repeat's n = 10 fit, exported by "
           "`experiments/paper/target_twin_residuals_*.yaml`): target_twin's held-out SRCC; the SRCC of the best "
           "per-operator additive model (least squares on the one-hot edge-operator features over every "
           "architecture, in sample: a ceiling for any model that prices each operator on its own); the share of "
           "target_twin's log residual that those features explain (high: the model misprices whole operators, a "
           "parameter problem; low: the error is in how operators combine, or noise); the operator it misprices "
           "most (measured / predicted latency factor of the operator against `none` on the same edge); and "
           "the reading of those numbers (rule: within 0.03 of the additive ceiling = at the ceiling; else half "
           "or more of the residual explained = per-operator prices; else interactions).", ""]
    head = ["table", "device", "target_twin (rep 1)", "own twin (200 archs)", "additive ceiling",
            "residual explained by operators",
            "most mispriced operator", "what the model cannot express"]
    out += [row(head), row(["---"] * len(head))]
    shown = 0
    for tw, st, name, t, cls, common, fitted, R in sorted(worst_rows):
        r = tables.get(name, {}).get(t)
        if r is None:
            continue
        ceil = twin_ceiling(t, "nb201")
        r["own"] = ceil[0] if ceil else None
        out.append(row([name.replace("target_twin_", ""), t, f"{r['held']:.3f}", f"{ceil[0]:.3f}" if ceil else "-",
                        f"{r['additive']:.3f}",
                        f"{100 * r['explained']:.0f} %", f"{r['worst_op']} (x{r['factor']:.2f})", reading(r)]))
        shown += 1
        if shown == count:
            break
    return out + [""]


def worst_section(worst_rows, count=8):
    out = [f"**The {count} worst devices at n = 10** (target_twin's mean held-out SRCC), with the start it chose "
           "most often, how often validation kept a fit, and what the same model reaches with many samples: the "
           "held-out SRCC of the device's own calibrated twin (fitted on 200 of its architectures by `proxysim "
           "calibrate`, never a start of target_twin).", ""]
    head = ["table", "device", "class", "target_twin", "start", "most chosen start", "fitted", "own twin (200 archs)"]
    out += [row(head), row(["---"] * len(head))]
    for tw, st, name, t, cls, common, fitted, R in sorted(worst_rows)[:count]:
        ceil = twin_ceiling(t, SPACE.get(name, "nb201"))
        out.append(row([name.replace("target_twin_", ""), t, cls, f"{tw:.3f}", f"{st:.3f}",
                        f"{common[0][0]} ({common[0][1]}/{R})" if common else "-", f"{fitted}/{R}",
                        f"{ceil[0]:.3f} ({ceil[2]}, {ceil[1]})" if ceil else "-"]))
    return out + [""]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", help="folder holding the result files (results/paper)")
    p.add_argument("--no-readme", action="store_true", help="do not rewrite README.md's target_twin block")
    args = p.parse_args(argv)
    helps = help_section(args.folder)
    dist, worst_rows, gaps = table_summaries(args.folder)
    worst = (worst_section(worst_rows) + residual_section(worst_rows)) if worst_rows else []
    nb201_gaps = [g for name, _, g in gaps if name != "target_twin_help_fbnet"]
    accept = []
    if nb201_gaps:
        bad = [(name, t, g) for name, t, g in gaps if name != "target_twin_help_fbnet" and g < -0.02]
        accept.append(f"Every NB201 device at n = 10 ({len(nb201_gaps)} device columns over three tables): target_twin "
                      f"minus its unfitted start, mean over seeds, from {min(nb201_gaps):+.3f} to "
                      f"{max(nb201_gaps):+.3f}; more than 0.02 below on {len(bad)}" +
                      (": " + ", ".join(f"{t} ({name.replace('target_twin_', '')}, {g:+.3f})" for name, t, g in bad)
                       if bad else "") + ".")
    md = ["# target_twin: few-shot twins of the target itself", "",
          "Written by `results/target_twin_tables.py` from the result files; see README.md, "
          "\"Few-shot twins of the target\".", "", "## HELP on its own protocol", "", *helps,
          "## Where it fails: every device of every NB201 and FBNet table", "", *dist, *accept, "", *worst]
    with open(os.path.join(ROOT, "results", "target_twin.md"), "w") as fh:
        fh.write("\n".join(md).rstrip() + "\n")
    print("\n".join(md))
    if not args.no_readme:
        readme = [*helps, *dist[:0]]
        # The README carries the HELP tables and the n = 10 distribution rows; the rest is in the md.
        short = []
        for line in dist:
            if line.startswith("**") or line.startswith("| n ") or line.startswith("| ---") or line.startswith("| 10 ") \
                    or line == "":
                short.append(line)
        readme += short + accept + ["", "Every n, the worst devices and what limits them: "
                                    "[results/target_twin.md](results/target_twin.md).", ""]
        if not replace_readme_block(BEGIN, END, readme):
            print("README.md: no target_twin block to rewrite", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
