# Checks the HW-NAS-Bench / NATS-Bench style query API against independent sources:
# measured devices against the shared CSV read with Python's csv module (exact: the
# value is the table's float32), simulated devices against `proxysim eval` on the same
# devices (exact: same core, noise keyed by architecture and device), indices and
# strings against the CSV's own (arch_index, arch_str) pairs, and MACs against
# NAS-Bench-201's published 7.78..220.11 M range on CIFAR-10 (truncated to 0.01 M).
import csv
import math

import h5py
import numpy as np
import pytest

import proxysim

SIM = "pixel3_cpu,edgetpu,twin_pixel3"


@pytest.fixture(scope="module")
def hw_rows(data):
    with open(data / "hwnasbench_nb201_cifar10.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def api(data):
    return proxysim.HWNASBenchAPI(str(data / "hwnasbench_nb201_cifar10.csv"), search_space="nasbench201", devices=SIM)


def test_measured_devices_equal_the_shared_data(api, hw_rows):
    keys = ["edgegpu_latency", "raspi4_latency", "edgetpu_latency", "pixel3_latency", "eyeriss_latency",
            "fpga_latency"]
    rng = np.random.default_rng(0)
    for row in [hw_rows[i] for i in [0, 1, 2, 15624, *rng.integers(0, 15625, 300)]]:
        got = api.query_by_index(int(row["arch_index"]), "cifar10")
        for k in keys:
            if row[k] == "":
                assert math.isnan(got[k]), (row["arch_index"], k)
            else:
                assert got[k] == float(np.float32(row[k])), (row["arch_index"], k)
        assert api.batch_size(k) == 1 and "ms" in api.describe(k)


def test_index_and_string_agree_with_the_shared_data(api, hw_rows):
    for row in hw_rows:
        assert api.query_index_by_arch(row["arch_str"]) == int(row["arch_index"])
    for row in hw_rows[::97]:
        assert api.arch(int(row["arch_index"])) == row["arch_str"]


@pytest.mark.parametrize("dataset", ["cifar10", "imagenet16-120"])
def test_simulated_devices_equal_cli_eval(api, run_cli, tmp_path, dataset):
    out = tmp_path / "e.h5"
    run_cli("eval", "--space", "nb201", "--dataset", dataset, "--devices", SIM, "--archs", "all", "--out", out,
            "--quiet")
    with h5py.File(out, "r") as f:
        lat = f["/cells/0/eval/latency_ms"][()]
        index = f["/cells/0/eval/arch_index"][()]
    row_of = {int(i): r for r, i in enumerate(index)}
    rng = np.random.default_rng(1)
    for i in [0, 15624, *rng.integers(0, 15625, 300)]:
        got = api.query_by_index(int(i), dataset)
        want = lat[row_of[int(i)]]
        # A simulated device named like a measured column (edgetpu) is keyed <name>_sim_latency.
        assert api.devices[:3] == ["pixel3_cpu_latency", "edgetpu_sim_latency", "twin_pixel3_latency"]
        assert [got[k] for k in api.devices[:3]] == [float(v) for v in want]
        # Measured tables are CIFAR-10's: other datasets get simulated devices only.
        assert ("pixel3_latency" in got) == (dataset == "cifar10")
    table = api.latency_table(dataset)
    np.testing.assert_array_equal(table.latency_ms[[row_of[i] for i in range(15625)]], lat)


def test_nats_style_factory(hw_rows):
    api = proxysim.create("tss", devices=["edgetpu"])
    assert len(api) == 15625
    assert api.query_index_by_arch(hw_rows[123]["arch_str"]) == 123
    cost = api.get_cost_info(123, "cifar10")
    assert set(cost) == {"flops", "params", "edgetpu_latency"}
    table = api.latency_table("cifar10")
    # NAS-Bench-201's published range, truncated to 0.01 M.
    assert math.floor(float(table.macs.min()) / 1e4) / 100 == 7.78
    assert math.floor(float(table.macs.max()) / 1e4) / 100 == 220.11


def test_help_table_columns_are_queryable(data):
    api = proxysim.HWNASBenchAPI(str(data / "help_nb201_latency.csv"), devices=None)
    got = api.query_by_index(0, "cifar10")
    with open(data / "help_nb201_latency.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["arch_index"] == "0")
    assert got["titan_rtx_256_latency"] == float(np.float32(row["titan_rtx_256"]))
    assert len(got) == 27


def test_fbnet_and_ofa_queries_match_evaluation():
    ev = proxysim.evaluate("fbnet", "edgetpu,raspi4", 20, seed=2, backend="cpu")
    api = proxysim.create("fbnet", devices="edgetpu,raspi4", seed=2)
    ops = proxysim.convert.fbnet_code_to_ops(ev.codes[5])
    assert len(ops) == 22
    assert api.query_by_arch(ops) == {"edgetpu_latency": float(ev.latency_ms[5, 0]),
                                      "raspi4_latency": float(ev.latency_ms[5, 1])}
    assert api.query_by_index(5) == api.query_by_arch(ops)  # sampled architecture 5 of seed 2
    ofa = proxysim.create("ofa", devices="v100_b1")
    code = proxysim.Space("ofa_mbv3").sample(1, seed=3)[0]
    d = proxysim.convert.ofa_code_to_dict(code)
    want = proxysim.evaluate("ofa_mbv3", "v100_b1", code[None, :], backend="cpu").latency_ms[0, 0]
    assert ofa.query_by_arch(d)["v100_b1_latency"] == float(want)
