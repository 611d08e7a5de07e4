#!/usr/bin/python3
"""The n = 10 extension beside the paper protocol: README tables from the result files.

  results/extension_tables.py FOLDER [--no-readme]   (scripts/reproduce-paper: results/paper)

For each paper adaptation config, the cell with adapt protocol `extension` (the
config's own n list, seeded repeats): mean SRCC per target and scheme at n = 10 and at
the largest n, the mean over targets and how many targets reach 0.9, and for the
every-proxy sweep one row per proxy. Prints the tables and rewrites the block between
<!-- extension:begin --> and <!-- extension:end --> in README.md. Every number is read
from the result files.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reproduction import adapt_cells, adapt_data, label, open_result, replace_readme_block  # noqa: E402

BEGIN, END = "<!-- extension:begin -->", "<!-- extension:end -->"
STRONG = 0.9
CONFIGS = (
    ("nb201_pixel3_hwnasbench", "NB201 CIFAR-10, HW-NAS-Bench's devices, Pixel3 as the proxy"),
    ("oneproxy_vpu", "The paper's 1999 NB201 architectures, Myriad VPU as the proxy"),
    ("help_nb201_pixel3", "HELP's NB201 meta-test devices, Pixel3 as the proxy"),
    ("fbnet_pixel3_help", "FBNet on HELP's devices, Pixel3 as the proxy"),
    ("help_fbnet_pixel3", "HELP's FBNet meta-test devices, Pixel3 as the proxy"),
)
SHOWN = ("adaproxy", "anchored", "multi_proxy", "twin", "target_only")


def row(cells):
    return "| " + " | ".join(cells) + " |"


def at(a, n):
    return int(np.argmin([abs(v - n) for v in a["n"]]))


def config_table(f, title):
    found = adapt_cells(f)
    cell = found.get("extension") or found.get(None)
    if cell is None:
        return [f"{title}: no extension cell.", ""]
    a = adapt_data(cell)
    ks = sorted({at(a, 10), len(a["n"]) - 1})
    schemes = [s for s in SHOWN if s in a["schemes"]]
    head = ["target", "unadapted"] + [f"{s} n = {a['n'][k]}" for s in schemes for k in ks]
    out = [f"**{title}** (`{a['proxy']}`; n training + {a['validation']} validation samples, mean of "
           f"{a['repeats']} seeded repeats; SRCC over every eligible architecture)", "", row(head), row(["---"] * len(head))]
    many = len(a["targets"]) > 8  # a long table says less than its mean, worst and count
    for t, target in enumerate([] if many else a["targets"]):
        vals = [label(target), f"{a['unadapted'][t]:.3f}"]
        vals += [f"{a['mean'][a['schemes'].index(s), t, k]:.3f}" for s in schemes for k in ks]
        out.append(row(vals))
    mean = [f"mean of {len(a['targets'])}", f"{np.mean(a['unadapted']):.3f}"]
    worst = ["worst target", f"{np.min(a['unadapted']):.3f}"]
    strong = [f">= {STRONG}", f"{int(np.sum(a['unadapted'] >= STRONG))}/{len(a['targets'])}"]
    for s in schemes:
        for k in ks:
            v = a["mean"][a["schemes"].index(s), :, k]
            mean.append(f"{np.mean(v):.3f}")
            worst.append(f"{np.min(v):.3f}")
            strong.append(f"{int(np.sum(v >= STRONG))}/{len(v)}")
    return out + [row(mean), row(worst), row(strong), ""]


def every_proxy_table(f):
    rows = []
    for c in (f["cells"][k] for k in sorted(f["cells"].keys(), key=int)):
        if "adapt/srcc_mean" not in c:
            continue
        a = adapt_data(c)
        if a["protocol"] not in ("extension", None) or "adaproxy" not in a["schemes"]:
            continue
        s = a["schemes"].index("adaproxy")
        big = len(a["n"]) - 1
        rows.append(row([label(a["proxy"]), f"{np.mean(a['unadapted']):.3f}"]
                        + [f"{np.mean(a['mean'][s, :, k]):.3f}" for k in range(len(a["n"]))]
                        + [f"{np.min(a['mean'][s, :, big]):.3f}", f"{int(np.sum(a['mean'][s, :, big] >= STRONG))}/{len(a['targets'])}"]))
        ns = a["n"]
    if not rows:
        return []
    head = ["proxy", "unadapted"] + [f"adaproxy n = {n}" for n in ns] + [f"worst target, n = {ns[-1]}", f">= {STRONG} at n = {ns[-1]}"]
    return ["**Every HW-NAS-Bench device as the proxy** (`hwnasbench_every_proxy`; AdaProxy, mean over the other "
            "five devices)", "", row(head), row(["---"] * len(head))] + rows + [""]


def tables(folder):
    out = []
    for name, title in CONFIGS:
        f = open_result(folder, name)
        if f is None:
            out += [f"{title}: not run.", ""]
            continue
        with f:
            out += config_table(f, title)
    f = open_result(folder, "hwnasbench_every_proxy")
    if f is not None:
        with f:
            out += every_proxy_table(f)
    return out


def update_readme(lines):
    return replace_readme_block(BEGIN, END, lines)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder")
    p.add_argument("--no-readme", action="store_true")
    args = p.parse_args(argv)
    lines = tables(args.folder)
    print("\n".join(lines))
    if not args.no_readme and update_readme(lines):
        print("README.md: extension block updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
