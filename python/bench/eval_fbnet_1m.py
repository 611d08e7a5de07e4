"""Python vs CLI on the same work: 1,000,000 sampled FBNet architectures on every
built-in device, CPU backend, measured back to back (alternating, best of --repeats).

- run:      proxysim.run(config) against `proxysim run config` (identical work: the
            eval stage with its HDF5 writes), wall time of the whole call or process;
- evaluate: proxysim.evaluate(...) into numpy against the CLI's eval-stage seconds
            (/eval attribute `seconds`, which also includes the HDF5 writes).

    python3 python/bench/eval_fbnet_1m.py [--cli build/proxysim] [--archs 1000000] [--repeats 3]
"""
import argparse
import json
import os
import pathlib
import platform
import subprocess
import tempfile
import time

import h5py
import numpy as np

import proxysim

ROOT = pathlib.Path(__file__).resolve().parents[2]


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(ROOT / "build" / "proxysim"))
    ap.add_argument("--archs", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    tmp = pathlib.Path(tempfile.mkdtemp())
    cfg = tmp / "bench.yaml"
    cfg.write_text(f"name: bench\nspace: fbnet\narchs: {{sample: {args.archs}, seed: 1}}\ndevices: all\n"
                   f"backend: cpu\nstages:\n  - eval: {{}}\n")
    times = {"cli_run": [], "py_run": [], "cli_eval_stage": [], "py_evaluate": []}
    for rep in range(args.repeats):
        t0 = time.perf_counter()
        subprocess.run([args.cli, "run", str(cfg), "--out", str(tmp / "cli.h5"), "--quiet"], check=True)
        times["cli_run"].append(time.perf_counter() - t0)
        with h5py.File(tmp / "cli.h5", "r") as f:
            times["cli_eval_stage"].append(float(f["/eval"].attrs["seconds"]))
        t0 = time.perf_counter()
        proxysim.run(str(cfg), output=str(tmp / "py.h5"))
        times["py_run"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ev = proxysim.evaluate("fbnet", "all", args.archs, seed=1, backend="cpu")
        times["py_evaluate"].append(time.perf_counter() - t0)
    with h5py.File(tmp / "cli.h5", "r") as f:
        same = bool(np.array_equal(f["/eval/latency_ms"][()], ev.latency_ms))
    best = {k: min(v) for k, v in times.items()}
    D = ev.latency_ms.shape[1]
    report = {
        "machine": f"{cpu_name()}, {os.cpu_count()} cores",
        "archs": args.archs, "devices": D, "repeats": args.repeats, "same_matrix": same,
        "seconds_best": best, "seconds_all": times,
        "py_run_over_cli_run": best["py_run"] / best["cli_run"],
        "py_evaluate_over_cli_eval_stage": best["py_evaluate"] / best["cli_eval_stage"],
        "py_evaluate_pairs_per_s": args.archs * D / best["py_evaluate"],
    }
    print(json.dumps(report, indent=2))
    for p in tmp.iterdir():
        p.unlink()
    tmp.rmdir()


if __name__ == "__main__":
    main()
