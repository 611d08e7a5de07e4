# Runs every script in python/examples as a user would (a subprocess, matplotlib's
# non-interactive Agg backend) and checks what it prints against an independent
# computation: scipy's Spearman on the same data, and the search's own constraint.
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import proxysim

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def run_example(name, *args, cwd):
    # The package the tests imported, wherever PYTHONPATH pointed (relative or not).
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(pathlib.Path(proxysim.__file__).resolve().parents[1]))
    r = subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)], capture_output=True, text=True,
                       env=env, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_compare_rankings(tmp_path):
    scipy_stats = pytest.importorskip("scipy.stats")
    out = run_example("compare_rankings_nb201.py", "--proxy", "pixel3_cpu", "--target", "edgetpu", "--out",
                      tmp_path / "r.png", cwd=tmp_path)
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    srcc = float(re.search(r"SRCC (-?[0-9.]+)", out).group(1))
    ev = proxysim.evaluate("nb201", "pixel3_cpu,edgetpu", "all")
    keep = ev.space.connected(ev.codes)
    want = scipy_stats.spearmanr(ev.latency_ms[keep, 0], ev.latency_ms[keep, 1]).correlation
    assert abs(srcc - want) < 5e-4  # printed to 3 decimals


def test_adapt_proxy(tmp_path, data):
    import csv
    scipy_stats = pytest.importorskip("scipy.stats")
    out = run_example("adapt_proxy.py", "--data", data, cwd=tmp_path)
    assert "20 target measurements" in out
    got = {m.group(1): float(m.group(2)) for m in re.finditer(r"^\s+(\w+)\s+SRCC (-?[0-9.]+)", out, re.M)}
    assert set(got) == {"unadapted", "adaproxy", "anchored", "target_only"}
    with open(data / "hwnasbench_nb201_cifar10.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["connected"] == "1" and r["pixel3_latency"] and r["eyeriss_latency"]]
    want = scipy_stats.spearmanr([float(r["pixel3_latency"]) for r in rows],
                                 [float(r["eyeriss_latency"]) for r in rows]).correlation
    assert abs(got["unadapted"] - want) < 5e-4
    assert all(-1 <= v <= 1 for v in got.values())


def test_latency_constrained_search(tmp_path):
    out = run_example("latency_constrained_search.py", "--device", "edgetpu", cwd=tmp_path)
    budget = float(re.search(r"budget ([0-9.]+) ms", out).group(1))
    assert re.search(r"regularized evolution, 300 evaluations", out)
    found = [(float(m.group(1)), float(m.group(2))) for m in re.finditer(r"predicted ([0-9.]+) at ([0-9.]+) ms", out)]
    assert len(found) == 2
    (acc_re, lat_re), (acc_ex, lat_ex) = found
    assert lat_re <= budget + 5e-4 and lat_ex <= budget + 5e-4
    assert acc_ex >= acc_re  # exhaustive search cannot lose to a search of the same space


def test_your_device_walkthrough(tmp_path, cli, data):
    # The README's "Your device, end to end" shows examples/your_device.sh verbatim; run
    # it as written (the CLI and data the tests use) and check what it chose against
    # the shared tables read here.
    import csv
    import json

    root = pathlib.Path(__file__).resolve().parents[2]
    script = root / "examples" / "your_device.sh"
    readme = (root / "README.md").read_text()
    block = readme.split("<!-- your-device:begin -->")[1].split("<!-- your-device:end -->")[0]
    assert script.read_text().strip() in block, "README's walkthrough differs from examples/your_device.sh"
    env = dict(os.environ, PROXYSIM=str(cli), PROXYSIM_DATA=str(data))
    out = tmp_path / "out"
    r = subprocess.run(["bash", str(script), str(out), "13"], cwd=root, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "1. pixel3 " in r.stderr  # the column the stand-in phone was made from ranks first
    choice = json.loads((out / "choice.json").read_text())
    assert choice["proxy"] == "pixel3" and choice["target"] == "my_phone"
    assert choice["predicted_ms"] * (1 + choice["guard"]) <= 13
    with open(data / "nb201_accuracy.csv", newline="") as f:
        acc = {row["arch_str"]: row for row in csv.DictReader(f)}
    assert abs(choice["accuracy"] - float(acc[choice["arch"]]["cifar10_test_acc"])) < 1e-3
    assert choice["arch_index"] == int(acc[choice["arch"]]["arch_index"])
    # Every measured row of the stand-in phone is 1.7x HELP's Pixel 3 within 10 %.
    with open(data / "help_nb201_latency.csv", newline="") as f:
        pixel3 = {row["arch_str"]: float(row["pixel3"]) for row in csv.DictReader(f)}
    with open(out / "my_phone.csv", newline="") as f:
        phone = list(csv.DictReader(f))
    assert len(phone) == 300
    assert all(abs(float(p["my_phone"]) / (1.7 * pixel3[p["arch_str"]]) - 1) < 0.1 for p in phone)
