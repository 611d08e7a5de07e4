#!/usr/bin/python3
"""Diversity report of the built-in simulated device library.

Evaluates every NAS-Bench-201 architecture on the library with the proxysim
binary, and compares the pairwise latency monotonicity (SRCC over connected
architectures) with the real measurements in ../shared/data: the library should
rank architectures about as diversely as real devices do, not all near 1.0.
For library devices that imitate a measured device it also prints the SRCC
between the simulated and the real latencies over the same architectures, and
both medians, so magnitudes can be checked. FBNet (sampled) is checked the
same way against HELP's FBNet measurements.

    /usr/bin/python3 scripts/dev/library_report.py build-devices/proxysim
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from scipy.stats import spearmanr

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data"))

NB201_OPS = {"none": 0, "skip_connect": 1, "nor_conv_1x1": 2, "nor_conv_3x3": 3, "avg_pool_3x3": 4}
# Edge e joins node FROM[e] to node TO[e], in the official string order.
EDGE_FROM = (0, 0, 1, 0, 1, 2)
EDGE_TO = (1, 2, 2, 3, 3, 3)

# Library device -> (file, column) of the real device it imitates. The oneproxy
# columns cover 1999 architectures; HW-NAS-Bench's edgegpu/edgetpu cover 1999 too.
COUNTERPARTS = {
    "pixel3_cpu": ("help_nb201_latency.csv", "pixel3"),
    "pixel2_cpu": ("help_nb201_latency.csv", "pixel2"),
    "samsung_s7_cpu": ("help_nb201_latency.csv", "samsung_s7"),
    "samsung_a50_cpu": ("help_nb201_latency.csv", "samsung_a50"),
    "essential_ph1_cpu": ("help_nb201_latency.csv", "essential_ph_1"),
    "raspi4": ("help_nb201_latency.csv", "raspi4"),
    "eyeriss": ("help_nb201_latency.csv", "eyeriss"),
    "zc706_fpga": ("help_nb201_latency.csv", "fpga"),
    "xeon_gold6226": ("help_nb201_latency.csv", "gold_6226"),
    "xeon_gold6240": ("help_nb201_latency.csv", "gold_6240"),
    "xeon_silver4114": ("help_nb201_latency.csv", "silver_4114"),
    "gtx1080ti_b1": ("help_nb201_latency.csv", "1080ti_1"),
    "gtx1080ti_b32": ("help_nb201_latency.csv", "1080ti_32"),
    "gtx1080ti_b256": ("help_nb201_latency.csv", "1080ti_256"),
    "rtx2080ti_b1": ("help_nb201_latency.csv", "2080ti_1"),
    "rtx2080ti_b256": ("help_nb201_latency.csv", "2080ti_256"),
    "titan_rtx_b1": ("help_nb201_latency.csv", "titan_rtx_1"),
    "titan_rtx_b32": ("help_nb201_latency.csv", "titan_rtx_32"),
    "titan_rtx_b256": ("help_nb201_latency.csv", "titan_rtx_256"),
    "titanxp_b1": ("help_nb201_latency.csv", "titanxp_1"),
    "titanxp_b32": ("help_nb201_latency.csv", "titanxp_32"),
    "titanxp_b256": ("help_nb201_latency.csv", "titanxp_256"),
    "rtx2080ti_b32": ("help_nb201_latency.csv", "2080ti_32"),
    "titanx_b1": ("help_nb201_latency.csv", "titanx_1"),
    "titanx_b32": ("help_nb201_latency.csv", "titanx_32"),
    "titanx_b256": ("help_nb201_latency.csv", "titanx_256"),
    "xeon_silver4210r": ("help_nb201_latency.csv", "silver_4210r"),
    "jetson_tx2_gpu": ("hwnasbench_nb201_cifar10.csv", "edgegpu_latency"),
    "edgetpu": ("hwnasbench_nb201_cifar10.csv", "edgetpu_latency"),
    "cortex_a76": ("oneproxy_nb201_1999_latency.csv", "true_a76"),
    "adreno630": ("oneproxy_nb201_1999_latency.csv", "true_630"),
    "adreno640": ("oneproxy_nb201_1999_latency.csv", "true_640"),
    "myriad_vpu": ("oneproxy_nb201_1999_latency.csv", "true_vpu"),
    "jetson_nano_fp32": ("oneproxy_nb201_1999_latency.csv", "eagle_jetson"),
    "jetson_nano_fp16": ("oneproxy_nb201_1999_latency.csv", "eagle_jetson_16"),
    "snapdragon855_cpu": ("oneproxy_nb201_1999_latency.csv", "eagle_cpu_855"),
    "hexagon690_dsp": ("oneproxy_nb201_1999_latency.csv", "eagle_dsp_855"),
    "adreno640_855": ("oneproxy_nb201_1999_latency.csv", "eagle_gpu_855"),
}


def nb201_code(arch_str):
    return [NB201_OPS[t.split("~")[0]] for t in arch_str.replace("+", "").split("|") if t]


def nb201_connected(codes):
    """Whether node 3 is reachable from node 0 through non-'none' edges, per row."""
    codes = np.asarray(codes)
    reach = np.zeros((codes.shape[0], 4), dtype=bool)
    reach[:, 0] = True
    for e in range(6):
        reach[:, EDGE_TO[e]] |= (codes[:, e] != 0) & reach[:, EDGE_FROM[e]]
    return reach[:, 3]


def read_csv(name):
    with open(os.path.join(DATA, name), newline="") as f:
        return list(csv.DictReader(f))


def srcc_matrix(lat):
    """Spearman matrix of the columns of `lat` (rows = architectures, no gaps)."""
    rho = spearmanr(lat).correlation
    return np.atleast_2d(rho)


def pair_stats(rho):
    iu = np.triu_indices(rho.shape[0], 1)
    v = rho[iu]
    return np.median(v), v.min(), np.mean(v >= 0.9), len(v)


def evaluate(binary, space, archs, devices, out):
    cmd = [binary, "eval", "--space", space, "--devices", devices, "--archs", str(archs), "--out", out, "--quiet"]
    subprocess.run(cmd, check=True)
    with h5py.File(out, "r") as f:
        lat = f["/eval/latency_ms"][...].astype(np.float64)
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["/eval/devices"][...]]
        codes = f["/eval/arch_codes"][...]
        index = f["/eval/arch_index"][...]
    return lat, names, codes, index


def print_stats(label, rho):
    med, mn, frac, npairs = pair_stats(rho)
    print(f"  {label:<34} median {med:6.3f}   min {mn:6.3f}   >=0.9 {100 * frac:5.1f}%   ({npairs} pairs)")
    return med, mn, frac


def real_help(name, codes_of_row):
    rows = read_csv(name)
    meta = {"arch_index", "arch_str", "connected", "arch_id", "row"}
    cols = [c for c in rows[0] if c not in meta and not (c[0] == "L" and c[1:].isdigit())]
    lat = np.array([[float(r[c]) for c in cols] for r in rows])
    keep = np.ones(len(rows), dtype=bool)
    if codes_of_row:
        keep = np.array([r["connected"] == "1" for r in rows])
    return cols, lat[keep]


def nb201_report(args, tmp):
    lat, names, codes, index = evaluate(args.binary, "nb201", "all", args.devices, os.path.join(tmp, "nb201.h5"))
    conn = nb201_connected(codes)
    print(f"NB201: {len(names)} simulated devices, {conn.sum()} connected of {len(conn)} architectures")
    rho = srcc_matrix(lat[conn])
    cols, real = real_help("help_nb201_latency.csv", True)
    real_rho = srcc_matrix(real)
    print("pairwise SRCC, connected architectures:")
    print_stats(f"real help_nb201 ({len(cols)} devices)", real_rho)
    sim = print_stats(f"simulated library ({len(names)} devices)", rho)

    if args.verbose:
        print("\nper device: median SRCC to the others, lowest partner")
        for i, n in enumerate(names):
            others = np.delete(rho[i], i)
            j = int(np.argmin(np.where(np.arange(len(names)) == i, 2.0, rho[i])))
            print(f"  {n:<20} median {np.median(others):6.3f}  min {rho[i, j]:6.3f} ({names[j]})")

    # Simulated vs real over the same architectures: row r of the enumeration is
    # official index arch_index[r].
    row_of_index = np.empty(len(index), dtype=np.int64)
    row_of_index[index] = np.arange(len(index))
    print("\nsimulated vs real (connected architectures measured on the real device):")
    print(f"  {'simulated':<20} {'real':<28} {'archs':>6} {'SRCC':>7} {'real med ms':>12} {'sim med ms':>11}")
    cache = {}
    for n in names:
        if n not in COUNTERPARTS:
            continue
        fname, col = COUNTERPARTS[n]
        if fname not in cache:
            cache[fname] = read_csv(fname)
        rows = cache[fname]
        idx, y = [], []
        for r in rows:
            if not r[col]:
                continue
            code = nb201_code(r["arch_str"])
            if not nb201_connected([code])[0]:
                continue
            idx.append(int(r["arch_index"]))
            y.append(float(r[col]))
        idx = np.array(idx)
        y = np.array(y)
        x = lat[row_of_index[idx], names.index(n)]
        s = spearmanr(x, y).correlation
        print(f"  {n:<20} {fname.split('_')[0] + ':' + col:<28} {len(y):>6} {s:7.3f} {np.median(y):12.3f} {np.median(x):11.3f}")
    return sim


def fbnet_report(args, tmp):
    lat, names, _, _ = evaluate(args.binary, "fbnet", args.fbnet_archs, args.devices, os.path.join(tmp, "fbnet.h5"))
    rho = srcc_matrix(lat)
    cols, real = real_help("help_fbnet_latency.csv", False)
    print(f"\nFBNet: {len(names)} simulated devices, {lat.shape[0]} sampled architectures")
    print("pairwise SRCC:")
    print_stats(f"real help_fbnet ({len(cols)} devices, {real.shape[0]} archs)", srcc_matrix(real))
    sim = print_stats(f"simulated library ({len(names)} devices)", rho)
    if args.verbose:
        meds = np.median(lat, axis=0)
        print("  median latency ms: " + ", ".join(f"{n} {m:.2f}" for n, m in zip(names, meds)))
    return sim


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", help="path to a built proxysim, e.g. build-devices/proxysim")
    ap.add_argument("--devices", default="all", help="device list passed to proxysim eval (default: all)")
    ap.add_argument("--fbnet-archs", type=int, default=20000, help="sampled FBNet architectures (0: skip FBNet)")
    ap.add_argument("-v", "--verbose", action="store_true", help="per-device detail")
    args = ap.parse_args()
    if not os.path.isdir(DATA):
        sys.exit(f"real data not found at {DATA}")
    with tempfile.TemporaryDirectory(prefix="proxysim_library_") as tmp:
        nb = nb201_report(args, tmp)
        if args.fbnet_archs > 0:
            fb = fbnet_report(args, tmp)
    print("\ntarget (NB201): median 0.75-0.90, min < 0.5, 15-40% of pairs >= 0.9")
    ok = 0.75 <= nb[0] <= 0.90 and nb[1] < 0.5 and 0.15 <= nb[2] <= 0.40
    print(f"NB201 library {'meets' if ok else 'misses'} the target")
    if args.fbnet_archs > 0 and fb[0] > 0.97:
        print("warning: FBNet pairwise SRCC is near 1.0 everywhere")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
