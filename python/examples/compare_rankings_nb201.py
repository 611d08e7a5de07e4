"""Do two devices rank NAS-Bench-201's architectures alike? Evaluates all 15625
architectures on two simulated devices, prints their SRCC (latency monotonicity;
>= 0.9 counts as strong), and plots each architecture's rank on one against the other.

    python3 compare_rankings_nb201.py [--proxy pixel3_cpu] [--target edgetpu] [--out rankings.png]
"""
import argparse

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

import proxysim


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proxy", default="pixel3_cpu")
    ap.add_argument("--target", default="edgetpu")
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--out", default="rankings.png")
    args = ap.parse_args(argv)

    ev = proxysim.evaluate("nb201", [args.proxy, args.target], "all", dataset=args.dataset)
    # The 341 disconnected architectures compute nothing: left out, as the paper does.
    keep = ev.space.connected(ev.codes)
    m = proxysim.monotonicity(ev.latency_ms, ev.devices, keep=keep, kendall=True, top_k=100)
    srcc = m["srcc"][0, 1]
    print(f"{args.proxy} vs {args.target} on {int(keep.sum())} NB201 architectures ({args.dataset}): "
          f"SRCC {srcc:.3f}, Kendall tau-b {m['kendall_tau_b'][0, 1]:.3f}, top-100 agreement {m['top_k'][0, 1]:.2f}")

    lat = ev.latency_ms[keep]
    ranks = lat.argsort(axis=0).argsort(axis=0)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(ranks[:, 0], ranks[:, 1], s=1, alpha=0.3)
    ax.set_xlabel(f"rank on {args.proxy} (fastest = 0)")
    ax.set_ylabel(f"rank on {args.target}")
    ax.set_title(f"NB201 {args.dataset}: SRCC {srcc:.3f}")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"figure: {args.out} (matplotlib backend {matplotlib.get_backend()})")
    return srcc


if __name__ == "__main__":
    main()
