#!/usr/bin/python3
"""The numpy baseline for FBNet latency-matrix evaluation, as FBNet and OFA write it.

A per-layer lookup table lut[layer, choice, device] (22 x 9 x D float32) and the
latency of an architecture as the sum over layers of lut[l, code[l], :], with
architectures an (n, 22) uint8 array sampled by numpy. The table's values are
random positive floats: only the work matters. The lookup is the vectorised form
a researcher writes (one fancy-indexing gather per layer, accumulated in place
into a preallocated float32 matrix); no Python loop runs over architectures.

Prints one JSON object: pairs/s (architecture-device pairs per second) of the
lookup alone (the peer figure; the codes are sampled outside the timed region,
which favours numpy) and of sampling plus lookup, best of --repeats.

    /usr/bin/python3 bench/peer_numpy.py --devices 3 [--archs 1048576]
"""

import argparse
import json
import platform
import subprocess
import sys
import time

import numpy as np

LAYERS = 22
CHOICES = 9


def count_devices(binary):
    out = subprocess.run([binary, "devices"], check=True, capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if line.strip())


def lookup(lut, codes, out):
    """out[i, :] = sum_l lut[l, codes[i, l], :], one gather per layer."""
    np.take(lut[0], codes[:, 0], axis=0, out=out)
    row = np.empty_like(out)
    for layer in range(1, LAYERS):
        np.take(lut[layer], codes[:, layer], axis=0, out=row)
        out += row
    return out


def lookup_plain(lut, codes, out):
    """The form as usually written: acc += lut[l][codes[:, l]] (a new array per layer)."""
    out[...] = 0.0
    for layer in range(LAYERS):
        out += lut[layer][codes[:, layer]]
    return out


def best_of(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, help="D, the number of devices (default: count `proxysim devices`)")
    ap.add_argument("--proxysim", default="build/proxysim", help="binary whose `devices` gives D")
    ap.add_argument("--archs", type=int, default=1 << 20, help="n, architectures per evaluation")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats; the best is reported")
    ap.add_argument("--seed", type=int, default=20220712)
    args = ap.parse_args()
    devices = args.devices if args.devices else count_devices(args.proxysim)
    n = args.archs

    rng = np.random.default_rng(args.seed)
    lut = rng.uniform(0.01, 1.0, size=(LAYERS, CHOICES, devices)).astype(np.float32)
    codes = np.empty((n, LAYERS), dtype=np.uint8)
    out = np.empty((n, devices), dtype=np.float32)

    def sample():
        codes[...] = rng.integers(0, CHOICES, size=(n, LAYERS), dtype=np.uint8)

    sample()
    lookup(lut, codes, out)  # first touch of every buffer
    reference = lookup_plain(lut, codes, np.empty_like(out))
    if not np.allclose(out, reference, rtol=1e-5):
        sys.exit("peer_numpy: np.take and fancy-indexing forms disagree")
    expect = lut[np.arange(LAYERS), codes[0].astype(np.intp)].sum(axis=0)
    if not np.allclose(out[0], expect, rtol=1e-5):
        sys.exit("peer_numpy: lookup disagrees with the per-architecture sum")

    t_take = best_of(lambda: lookup(lut, codes, out), args.repeats)
    t_plain = best_of(lambda: lookup_plain(lut, codes, out), args.repeats)
    t_sample = best_of(sample, args.repeats)
    t_lookup = min(t_take, t_plain)
    pairs = n * devices
    result = {
        "peer": "numpy",
        "numpy": np.__version__,
        "python": platform.python_version(),
        "archs": n,
        "devices": devices,
        "repeats": args.repeats,
        "lookup_s": t_lookup,
        "lookup_form": "np.take(out=)" if t_take <= t_plain else "acc += lut[l][codes[:, l]]",
        "lookup_take_s": t_take,
        "lookup_fancy_s": t_plain,
        "sample_s": t_sample,
        "pairs_per_second": pairs / t_lookup,
        "pairs_per_second_with_sampling": pairs / (t_lookup + t_sample),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
