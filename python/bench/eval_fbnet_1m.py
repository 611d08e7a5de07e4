"""Python vs CLI on the same work: 1,000,000 sampled FBNet architectures on every
built-in device, CPU backend, measured back to back (alternating, after one untimed round; best and median of
--repeats).

- run:      proxysim.run(config) against `proxysim run config` (identical work: the
            eval stage with its HDF5 writes), wall time of the whole call or process;
- evaluate: an Evaluator's sample() into numpy against the CLI's eval-stage seconds
            (/eval attribute `seconds`, which includes the HDF5 writes but not the
            engine's construction nor its buffers' allocation): into an `out=`
            matrix allocated once, as the CLI's chunk buffers are (py_evaluate_out),
            and into a new matrix each call (py_evaluate_fresh: its 172 MB are
            first-touched inside the call).

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
    times = {"cli_run": [], "py_run": [], "cli_eval_stage": [], "py_evaluate_out": [], "py_evaluate_fresh": []}
    ev = proxysim.Evaluator(proxysim.Space("fbnet"), proxysim.devices("all"), "cpu")
    out = np.empty((args.archs, len(ev.devices)), np.float32)
    # One untimed round first: the first use of memory in a VM costs host page faults
    # that later runs do not pay, whichever side pays them first.
    subprocess.run([args.cli, "run", str(cfg), "--out", str(tmp / "cli.h5"), "--quiet"], check=True)
    ev.sample(args.archs, seed=1, out=out)
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
        ev.sample(args.archs, seed=1, out=out)
        times["py_evaluate_out"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fresh = ev.sample(args.archs, seed=1)[0]
        times["py_evaluate_fresh"].append(time.perf_counter() - t0)
        del fresh
    with h5py.File(tmp / "cli.h5", "r") as f:
        same = bool(np.array_equal(f["/eval/latency_ms"][()], out))
    best = {k: min(v) for k, v in times.items()}
    median = {k: float(np.median(v)) for k, v in times.items()}
    D = out.shape[1]
    report = {
        "machine": f"{cpu_name()}, {os.cpu_count()} cores",
        "archs": args.archs, "devices": D, "repeats": args.repeats, "same_matrix": same,
        "seconds_best": best, "seconds_median": median, "seconds_all": times,
        "py_run_over_cli_run": {"best": best["py_run"] / best["cli_run"], "median": median["py_run"] / median["cli_run"]},
        "py_evaluate_out_over_cli_eval_stage": {
            "best": best["py_evaluate_out"] / best["cli_eval_stage"],
            "median": median["py_evaluate_out"] / median["cli_eval_stage"]},
        "py_evaluate_fresh_over_cli_eval_stage": {
            "best": best["py_evaluate_fresh"] / best["cli_eval_stage"],
            "median": median["py_evaluate_fresh"] / median["cli_eval_stage"]},
        "py_evaluate_out_pairs_per_s": args.archs * D / best["py_evaluate_out"],
    }
    print(json.dumps(report, indent=2))
    for p in tmp.iterdir():
        p.unlink()
    tmp.rmdir()


if __name__ == "__main__":
    main()
