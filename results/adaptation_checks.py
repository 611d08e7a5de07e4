#!/usr/bin/python3
"""Adaptation checked on every proxy-target pair of every shared NB201 and FBNet table.

  results/adaptation_checks.py --run [--tables help_nb201 ...]   (runs the configs, then reports)
  results/adaptation_checks.py                                    (reports from the result file)

--run runs experiments/checks/adapt_<table>.yaml through `proxysim run` (every device
the proxy of every other, n = 10 and 20 training + 10 validation samples, 10 seeded
repeats; result files under results/runs/checks/, not committed), then writes each
pair's mean SRCC per scheme and n to the result file results/checks/adaptation_pairs.csv.
From that file alone it writes results/checks/ADAPTATION.md: for every table, n and
scheme, the distribution over pairs of the scheme minus `none` and minus the best other
scheme of the pair (mean, 2.5th percentile, median, worst, the fraction within the
bound), the means over the weak pairs (`none` below 0.8), and the issue's targets for
`anchored` with their verdicts; and it rewrites README.md between
<!-- adaptation-checks:begin --> and <!-- adaptation-checks:end -->. Every number
is computed from the result file; none is typed by hand.

The targets (issue 16, item 2), fixed before any run: at n = 10, `anchored` >= `none` -
0.02 on at least 97.5 % of the pairs of every table and never below `none` on average;
at n = 20, >= `none` - 0.01 on at least 97.5 %; on the pairs where `none` is below 0.8,
its mean within 0.01 of the mean of the better of `adaproxy` and `none` (per pair).
"""
import argparse
import csv
import datetime
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from reproduction import replace_readme_block  # noqa: E402

BEGIN, END = "<!-- adaptation-checks:begin -->", "<!-- adaptation-checks:end -->"
PAIRS = os.path.join(HERE, "checks", "adaptation_pairs.csv")
REPORT = os.path.join(HERE, "checks", "ADAPTATION.md")
TABLES = (
    ("oneproxy_nb201", "the paper's 1999 NB201 architectures, 18 devices (oneproxy_nb201_1999_latency.csv)"),
    ("help_nb201", "HELP's NB201 table, 27 devices (help_nb201_latency.csv)"),
    ("hwnasbench_nb201", "HW-NAS-Bench's NB201 CIFAR-10 table, 6 devices (hwnasbench_nb201_cifar10.csv)"),
    ("help_fbnet", "HELP's FBNet table, 27 devices (help_fbnet_latency.csv)"),
)
# The table the constants of `anchored` were chosen on (search/schemes/anchored.cpp).
TUNED_ON = "oneproxy_nb201"
# The targets, fixed before any run.
BOUND = {10: 0.02, 20: 0.01}  # anchored >= none - BOUND[n] ...
FRACTION = 0.975              # ... on at least this fraction of a table's pairs
WEAK = 0.8                    # a pair is weak where none is below this
WEAK_MARGIN = 0.01            # anchored's weak-pair mean >= the better of adaproxy and none - this
SCHEMES = ("none", "target_only", "adaproxy", "adaproxy_sq", "anchored", "multi_proxy")
# multi_proxy mixes other devices' full columns into the proxy: the others see the proxy alone.
SINGLE = ("none", "target_only", "adaproxy", "adaproxy_sq", "anchored")


def config_path(table):
    return os.path.join(ROOT, "experiments", "checks", f"adapt_{table}.yaml")


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def run_table(table, binary, runs):
    """Runs one table's config afresh; its wall time in seconds."""
    out = os.path.join(runs, f"adapt_{table}.h5")
    for stale in (out, out + ".cells"):
        if os.path.isdir(stale):
            subprocess.run(["rm", "-rf", stale], check=True)
        elif os.path.exists(stale):
            os.remove(stale)
    os.makedirs(runs, exist_ok=True)
    t0 = time.perf_counter()
    subprocess.run([binary, "run", config_path(table), "--out", out, "--quiet"], check=True, cwd=ROOT)
    return time.perf_counter() - t0, out


def pairs_of(table, path):
    """(n, proxy, target, {scheme: mean SRCC}) for every pair of the result file."""
    import h5py

    rows = []
    with h5py.File(path, "r") as f:
        for key in sorted(f["/cells"].keys(), key=int):
            a = f["/cells"][key]["adapt"]
            proxy = text(a.attrs["proxy"])
            schemes = [text(s) for s in a["schemes"][()]]
            targets = [text(t) for t in a["targets"][()]]
            ns = [int(v) for v in a["n"][()]]
            mean = a["srcc_mean"][()]
            for k, n in enumerate(ns):
                for t, target in enumerate(targets):
                    rows.append((table, n, proxy, target, {s: float(mean[i, t, k]) for i, s in enumerate(schemes)}))
    return rows


def write_pairs(rows, meta):
    os.makedirs(os.path.dirname(PAIRS), exist_ok=True)
    with open(PAIRS, "w", newline="") as fh:
        for line in meta:
            fh.write(f"# {line}\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["table", "n", "proxy", "target", *SCHEMES])
        for table, n, proxy, target, m in rows:
            w.writerow([table, n, proxy, target, *(f"{m[s]:.6f}" if s in m else "" for s in SCHEMES)])


def read_pairs():
    meta, body = [], []
    with open(PAIRS) as fh:
        for line in fh:
            (meta if line.startswith("#") else body).append(line)
    rd = csv.DictReader(body)
    data = {}
    for r in rd:
        d = data.setdefault(r["table"], {}).setdefault(int(r["n"]), {"pairs": [], "m": {s: [] for s in SCHEMES}})
        d["pairs"].append((r["proxy"], r["target"]))
        for s in SCHEMES:
            d["m"][s].append(float(r[s]) if r[s] != "" else np.nan)
    for t in data.values():
        for d in t.values():
            d["m"] = {s: np.array(v) for s, v in d["m"].items() if not np.all(np.isnan(v))}
    return [m[2:].rstrip("\n") for m in meta], data


def stats(d, n):
    """Per scheme: the distribution of scheme - none and scheme - best other; weak means."""
    m = d["m"]
    schemes = [s for s in SCHEMES if s in m]
    none = m["none"]
    weak = none < WEAK
    out = {"pairs": len(none), "weak": int(weak.sum()), "schemes": {}}
    better = np.maximum(m["adaproxy"], none) if "adaproxy" in m else none
    out["better_of_weak"] = float(better[weak].mean()) if weak.any() else float("nan")
    # The other reading of "the better of adaproxy and none": the better scheme on average.
    out["better_scheme_weak"] = (max(float(m["adaproxy"][weak].mean()), float(none[weak].mean()))
                                 if weak.any() and "adaproxy" in m else float("nan"))
    # anchored equal to none (to float32 storage): the proxy kept in every repeat.
    out["kept_weak"] = float(np.mean(np.abs(m["anchored"] - none)[weak] < 1e-6)) if weak.any() else float("nan")
    out["adaproxy_wins_weak"] = float(np.mean((m["adaproxy"] > none)[weak])) if weak.any() else float("nan")
    for s in schemes:
        others = np.max(np.stack([m[o] for o in schemes if o != s]), axis=0)
        single = np.max(np.stack([m[o] for o in schemes if o != s and o in SINGLE]), axis=0)
        vs_none, vs_best = m[s] - none, m[s] - others
        out["schemes"][s] = {
            "none": dist(vs_none), "best": dist(vs_best), "single": dist(m[s] - single),
            "within": float(np.mean(vs_none >= -BOUND[n] - 1e-12)),
            "weak_mean": float(m[s][weak].mean()) if weak.any() else float("nan"),
            "worst_pair": d["pairs"][int(np.argmin(vs_none))],
        }
    return out


def dist(v):
    return {"mean": float(np.mean(v)), "p2_5": float(np.percentile(v, 2.5)), "median": float(np.median(v)),
            "worst": float(np.min(v))}


def verdicts(st, n):
    """The targets for anchored at this n: [(what, measured, passed)]."""
    a = st["schemes"]["anchored"]
    out = [(f">= none - {BOUND[n]:.2f} on >= {FRACTION:.1%} of pairs", f"{a['within']:.1%}", a["within"] >= FRACTION)]
    if n == 10:
        out.append(("mean minus none >= 0", f"{a['none']['mean']:+.4f}", a["none"]["mean"] >= 0))
    if st["weak"]:
        gap = a["weak_mean"] - st["better_of_weak"]
        out.append((f"weak pairs: mean >= better of adaproxy and none - {WEAK_MARGIN:.2f}",
                    f"{a['weak_mean']:.4f} vs {st['better_of_weak']:.4f} ({gap:+.4f})", gap >= -WEAK_MARGIN))
    return out


def f4(v):
    return f"{v:+.4f}"


def report(meta, data):
    lines = ["# Adaptation on every proxy-target pair", "",
             "Written by `results/adaptation_checks.py` from `results/checks/adaptation_pairs.csv` "
             "(each pair's mean SRCC over 10 seeded repeats, n training + 10 validation target samples, "
             "SRCC over every eligible architecture, samples included). Configs: `experiments/checks/`.", ""]
    lines += [f"- {m}" for m in meta] + [""]
    lines += ["Best other: the pair's best other scheme; best single-proxy other: the same without "
              "`multi_proxy`, which mixes other devices' full columns into the proxy (every other scheme sees "
              "the proxy alone).", ""]
    lines += [f"`anchored`'s two constants were chosen on `{TUNED_ON}` only; every other table is reported "
              "as run. Targets (issue 16, item 2), fixed before any run: at n = 10, `anchored` >= `none` - 0.02 "
              "on at least 97.5 % of a table's pairs and never below `none` on average; at n = 20, >= `none` - "
              "0.01 on at least 97.5 %; on the weak pairs (`none` < 0.8) its mean within 0.01 of the mean of the "
              "per-pair better of `adaproxy` and `none`.", ""]
    for table, title in TABLES:
        if table not in data:
            continue
        lines += [f"## {table}: {title}{' (the table the constants were chosen on)' if table == TUNED_ON else ''}", ""]
        for n in sorted(data[table]):
            st = stats(data[table][n], n)
            lines += [f"**n = {n}**: {st['pairs']} pairs, {st['weak']} weak; within = share of pairs with scheme "
                      f">= none - {BOUND[n]:.2f}", "",
                      "| scheme | minus none: mean | 2.5 % | median | worst | within | minus best other: mean "
                      "| 2.5 % | median | worst | minus best single-proxy other: mean | worst | weak-pair mean |",
                      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
            for s, v in st["schemes"].items():
                lines.append(f"| {s} | {f4(v['none']['mean'])} | {f4(v['none']['p2_5'])} | {f4(v['none']['median'])} "
                             f"| {f4(v['none']['worst'])} | {v['within']:.1%} | {f4(v['best']['mean'])} "
                             f"| {f4(v['best']['p2_5'])} | {f4(v['best']['median'])} | {f4(v['best']['worst'])} "
                             f"| {f4(v['single']['mean'])} | {f4(v['single']['worst'])} | {v['weak_mean']:.4f} |")
            a = st["schemes"]["anchored"]
            lines += ["", f"Better of adaproxy and none on the weak pairs: {st['better_of_weak']:.4f} "
                      f"(adaproxy the better on {st['adaproxy_wins_weak']:.0%} of them; the better of the two "
                      f"schemes' weak-pair means: {st['better_scheme_weak']:.4f}); anchored kept the proxy "
                      f"in every repeat on {st['kept_weak']:.0%} of them. anchored's worst pair: "
                      f"{a['worst_pair'][0]} -> {a['worst_pair'][1]} ({f4(a['none']['worst'])}).", ""]
            for what, measured, ok in verdicts(st, n):
                lines.append(f"- anchored, {what}: {measured}: **{'met' if ok else 'not met'}**")
            lines.append("")
    return lines


def readme_lines(data):
    head = ["table", "n", "pairs", "within bound", "mean minus none", "worst", "weak pairs: anchored",
            "better of adaproxy, none", "targets"]
    out = ["`anchored` on every proxy-target pair of every shared table (`results/adaptation_checks.py`; "
           "per-pair mean of 10 seeded repeats; within bound: `anchored` >= `none` - 0.02 at n = 10, - 0.01 at "
           f"n = 20; weak: `none` < 0.8; constants chosen on `{TUNED_ON}` only; every scheme, percentile and "
           "pair in [results/checks/ADAPTATION.md](results/checks/ADAPTATION.md)):", "",
           "| " + " | ".join(head) + " |", "| " + " | ".join(["---"] * len(head)) + " |"]
    for table, _ in TABLES:
        for n in sorted(data.get(table, {})):
            st = stats(data[table][n], n)
            a = st["schemes"]["anchored"]
            v = verdicts(st, n)
            passed = sum(ok for _, _, ok in v)
            weak = (f"{a['weak_mean']:.3f}", f"{st['better_of_weak']:.3f}") if st["weak"] else ("–", "–")
            out.append(f"| {table} | {n} | {st['pairs']} | {a['within']:.1%} | {f4(a['none']['mean'])} "
                       f"| {f4(a['none']['worst'])} | {weak[0]} ({st['weak']}) | {weak[1]} | {passed}/{len(v)} met |")
    out.append("")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="store_true", help="run the configs first (else report from the result file)")
    ap.add_argument("--tables", nargs="+", default=[t for t, _ in TABLES], choices=[t for t, _ in TABLES])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "proxysim"))
    ap.add_argument("--runs", default=os.path.join(ROOT, "results", "runs", "checks"))
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite README.md's block")
    args = ap.parse_args()

    if args.run:
        rows, meta = [], []
        old_meta, old = read_pairs() if os.path.exists(PAIRS) else ([], {})
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        # The binary's sources only: a report or README edited beside the run does not count.
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "search", "sim",
                                "kernels", "io", "experiments", "CMakeLists.txt", "cmake"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        for table, _ in TABLES:
            if table in args.tables:
                seconds, path = run_table(table, args.binary, args.runs)
                rows += pairs_of(table, path)
                meta.append(f"{table}: run {datetime.date.today().isoformat()} at commit {commit}"
                            f"{'+dirty' if dirty else ''}, {seconds:.0f} s wall on {os.cpu_count()} cores")
                print(f"adaptation_checks: {table} in {seconds:.0f} s", flush=True)
            elif table in old:
                # Keep the tables not rerun, as they were.
                for n, d in old[table].items():
                    for i, (proxy, target) in enumerate(d["pairs"]):
                        rows.append((table, n, proxy, target, {s: float(v[i]) for s, v in d["m"].items()}))
                meta += [m for m in old_meta if m.startswith(f"{table}:")]
        write_pairs(rows, meta)
    if not os.path.exists(PAIRS):
        sys.exit(f"adaptation_checks: no result file {os.path.relpath(PAIRS, ROOT)}; run with --run")
    meta, data = read_pairs()
    lines = report(meta, data)
    with open(REPORT, "w") as fh:
        fh.write("\n".join(lines).rstrip("\n") + "\n")
    print("\n".join(lines))
    if not args.no_readme and not replace_readme_block(BEGIN, END, readme_lines(data)):
        print(f"adaptation_checks: README.md has no {BEGIN} ... {END} block; not rewritten", file=sys.stderr)
    failed = [(t, n) for t in data for n in data[t] if not all(ok for _, _, ok in verdicts(stats(data[t][n], n), n))]
    if failed:
        print("adaptation_checks: targets not met: " + ", ".join(f"{t} n = {n}" for t, n in failed), file=sys.stderr)


if __name__ == "__main__":
    main()
