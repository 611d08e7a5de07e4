"""Adapt a proxy device to a target with 20 target measurements (Lu et al. 2022,
AdaProxy): Pixel 3's measured NB201 latencies (HW-NAS-Bench) predict a target's
ranking, before and after adaptation with 15 training + 5 validation measurements of
the target.

    python3 adapt_proxy.py [--data ../../../shared/data] [--proxy pixel3] [--target eyeriss]
"""
import argparse
import pathlib

import numpy as np

import proxysim

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--proxy", default="pixel3")
    ap.add_argument("--target", default="eyeriss")
    ap.add_argument("--train", type=int, default=15)
    ap.add_argument("--validation", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    table = proxysim.read_measured_csv(f"{args.data}/hwnasbench_nb201_cifar10.csv")
    lat = table.latency_ms
    p, t = table.devices.index(args.proxy), table.devices.index(args.target)
    # Connected architectures measured on both devices.
    rows = np.flatnonzero(table.connected & ~np.isnan(lat[:, p]) & ~np.isnan(lat[:, t]))
    proxy_ms = lat[rows, p].astype(np.float64)
    target_ms = lat[rows, t]          # used only to score and to draw the 20 measurements
    feats = proxysim.features(proxysim.Space("nb201"), table.codes[rows])

    train, val = proxysim.draw_adaptation_samples("random", args.seed, proxy_ms.tolist(), args.train, args.validation)
    train, val = np.array(train), np.array(val)
    print(f"proxy {args.proxy} -> target {args.target}, {len(rows)} architectures, "
          f"{len(train) + len(val)} target measurements ({len(train)} train + {len(val)} validation)")
    before = proxysim.spearman(proxy_ms.astype(np.float32), target_ms)
    print(f"  unadapted                SRCC {before:.3f}")
    result = {"none": before}
    for scheme in ["adaproxy", "anchored", "target_only"]:
        pred, choice = proxysim.adapt(scheme, feats, proxy_ms, train, target_ms[train], val, target_ms[val])
        srcc = proxysim.spearman(pred.astype(np.float32), target_ms)
        result[scheme] = srcc
        print(f"  {scheme:<24} SRCC {srcc:.3f}  (lambda {choice['lambda']:.3g})")
    return result


if __name__ == "__main__":
    main()
