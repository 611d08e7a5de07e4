# Checks that the Python API computes what the CLI computes on the same config: the
# same HDF5 datasets from proxysim.run and `proxysim run`, and the same matrix from
# the numpy evaluation calls as from `proxysim eval`. Exact equality: both run the
# same core on the same (counter-based) architectures and noise, so any difference is
# a bug, not rounding.
import h5py
import numpy as np
import pytest

import proxysim

CONFIG = """
name: py-vs-cli
space: {name: fbnet, dataset: cifar100}
archs: {sample: 3000, seed: 7}
devices: [pixel3_cpu, edgetpu, gtx1080ti_b32, {population: {class: mobile_gpu, count: 3, seed: 2}}]
noise_seed: 5
backend: cpu
stages:
  - eval: {chunk: 1000}
  - monotonicity: {kendall: true, top_k: 50}
"""

NB201_MEASURED = """
name: py-vs-cli-measured
space: nb201
measured: [{data}/hwnasbench_nb201_cifar10.csv]
archs: measured
devices: [pixel3_cpu, eyeriss]
backend: cpu
stages:
  - eval: {{}}
  - monotonicity: {{kendall: false, top_k: 100, target: fpga}}
  - adapt: {{proxy: pixel3, targets: [eyeriss, fpga], schemes: [none, adaproxy], n: [10, 20], repeats: 3}}
  - select: {{targets: [fpga, raspi4], n: [10], repeats: 4, seed: 2}}
"""


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def assert_same_h5(a, b):
    da, db = datasets(a), datasets(b)
    assert sorted(da) == sorted(db)
    for name in da:
        x, y = da[name], db[name]
        assert x.shape == y.shape and x.dtype == y.dtype, name
        if x.dtype.kind == "f":
            np.testing.assert_array_equal(x, y, err_msg=name)  # NaNs compare equal here
        else:
            assert (x == y).all(), name


@pytest.mark.parametrize("config", ["fbnet", "nb201_measured"])
def test_run_equals_cli(tmp_path, run_cli, data, config):
    text = CONFIG if config == "fbnet" else NB201_MEASURED.format(data=data)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    run_cli("run", cfg, "--out", tmp_path / "cli.h5", "--quiet")
    r = proxysim.run(str(cfg), output=str(tmp_path / "py.h5"))
    assert r["output"] == str(tmp_path / "py.h5")
    assert_same_h5(tmp_path / "cli.h5", tmp_path / "py.h5")
    # YAML text runs the same as the file.
    r2 = proxysim.run(text, output=str(tmp_path / "py_text.h5"))
    assert_same_h5(tmp_path / "cli.h5", r2["output"])
    with h5py.File(tmp_path / "cli.h5", "r") as f:
        np.testing.assert_array_equal(r["monotonicity"]["srcc"].astype(np.float32), f["/cells/0/monotonicity/srcc"][()])
        # proxysim.monotonicity on the CLI's matrix gives the CLI's statistics (the
        # NB201 run keeps its connected rows, as the stage does; float32 as stored).
        lat = f["/cells/0/eval/latency_ms"][()]
        keep = proxysim.Space(f["/cells/0/eval"].attrs["space"]).connected(f["/cells/0/eval/arch_codes"][()])
        k = int(f["/cells/0/monotonicity/top_k"].attrs["k"])
        m = proxysim.monotonicity(lat, keep=keep, kendall="kendall_tau_b" in f["/cells/0/monotonicity"], top_k=k)
        for name in ("srcc", "top_k", "kendall_tau_b"):
            if name in f["/cells/0/monotonicity"]:
                np.testing.assert_array_equal(m[name].astype(np.float32), f["/cells/0/monotonicity"][name][()], err_msg=name)
        if "ranking" in f["/cells/0/monotonicity"]:
            # proxysim.proxies ranks the target's candidates as the stage wrote them.
            g = f["/cells/0/monotonicity/ranking"]
            devices = [d.decode() for d in f["/cells/0/monotonicity/devices"][()]]
            ranked = proxysim.proxies(lat, devices, g.attrs["target"], keep=keep, kendall=False, top_k=k)
            assert [r["device"] for r in ranked] == [d.decode() for d in g["device"][()]]
            np.testing.assert_array_equal(np.float32([r["srcc"] for r in ranked]), g["srcc"][()])
            np.testing.assert_array_equal(np.float32([r["top_k"] for r in ranked]), g["top_k"][()])
            assert [r["pairs"] for r in ranked] == list(g["pairs"][()])
            srcc = [r["srcc"] for r in ranked if not np.isnan(r["srcc"])]
            assert srcc == sorted(srcc, reverse=True) and len(srcc) == len(devices) - 1


def test_evaluator_equals_cli_eval(tmp_path, run_cli):
    out = tmp_path / "e.h5"
    run_cli("eval", "--space", "fbnet", "--devices", "pixel3_cpu,edgetpu,raspi4", "--archs", 5000, "--seed", 3,
            "--noise-seed", 9, "--backend", "cpu", "--out", out, "--quiet")
    ev = proxysim.evaluate("fbnet", "pixel3_cpu,edgetpu,raspi4", 5000, seed=3, noise_seed=9, backend="cpu",
                           chunk=777)  # another chunking: results must not depend on it
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(ev.latency_ms, f["/cells/0/eval/latency_ms"][()])
        np.testing.assert_array_equal(ev.codes, f["/cells/0/eval/arch_codes"][()])
        np.testing.assert_array_equal(ev.macs, f["/cells/0/eval/macs"][()])
        np.testing.assert_array_equal(ev.params, f["/cells/0/eval/params"][()])
        assert ev.devices == [d.decode() for d in f["/cells/0/eval/devices"][()]]
    # The same architectures given as codes and as strings evaluate the same.
    again = proxysim.evaluate("fbnet", "pixel3_cpu,edgetpu,raspi4", ev.codes[:100], noise_seed=9, backend="cpu")
    np.testing.assert_array_equal(again.latency_ms, ev.latency_ms[:100])
    strs = proxysim.Space("fbnet").decode_many(ev.codes[:100])
    again = proxysim.evaluate("fbnet", "pixel3_cpu,edgetpu,raspi4", strs, noise_seed=9, backend="cpu")
    np.testing.assert_array_equal(again.latency_ms, ev.latency_ms[:100])


def test_nb201_enumerate_equals_cli(tmp_path, run_cli):
    out = tmp_path / "nb.h5"
    run_cli("eval", "--space", "nb201", "--dataset", "cifar100", "--devices", "edgetpu,twin_pixel3", "--archs", "all",
            "--backend", "cpu", "--out", out, "--quiet")
    ev = proxysim.evaluate("nb201", ["edgetpu", "twin_pixel3"], "all", dataset="cifar100", backend="cpu")
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(ev.latency_ms, f["/cells/0/eval/latency_ms"][()])
        np.testing.assert_array_equal(ev.space.indices(ev.codes), f["/cells/0/eval/arch_index"][()].astype(np.int64))


def test_monotonicity_equals_scipy():
    # scipy is the independent reference for the statistics on an arbitrary matrix,
    # NaNs included (pairwise omitted); 1e-12: both accumulate in double.
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    lat = rng.lognormal(size=(400, 4)).astype(np.float32)
    lat[:, 1] = lat[:, 0] * rng.lognormal(sigma=0.3, size=400)
    lat[rng.random(400) < 0.1, 2] = np.nan
    m = proxysim.monotonicity(lat, kendall=True, top_k=0)
    for a in range(4):
        for b in range(4):
            ok = ~np.isnan(lat[:, a]) & ~np.isnan(lat[:, b])
            rho = scipy_stats.spearmanr(lat[ok, a], lat[ok, b]).correlation
            tau = scipy_stats.kendalltau(lat[ok, a], lat[ok, b]).correlation
            assert abs(m["srcc"][a, b] - rho) < 1e-12
            assert abs(m["kendall_tau_b"][a, b] - tau) < 1e-12
            assert m["pairs"][a, b] == ok.sum()


def test_adaptation_and_selection_equal_cli(tmp_path, run_cli, data):
    # The adapt and select stages called on the CLI's own latency matrix give its cubes.
    cfg = tmp_path / "c.yaml"
    cfg.write_text(NB201_MEASURED.format(data=data))
    run_cli("run", cfg, "--out", tmp_path / "cli.h5", "--quiet")
    with h5py.File(tmp_path / "cli.h5", "r") as f:
        lat = f["/cells/0/eval/latency_ms"][()]
        codes = f["/cells/0/eval/arch_codes"][()]
        devices = [d.decode() for d in f["/cells/0/eval/devices"][()]]
        sp = proxysim.Space("nb201")
        a = proxysim.adaptation_study(sp, lat, codes, devices, "pixel3", targets=["eyeriss", "fpga"],
                                      schemes=["none", "adaproxy"], n=[10, 20], repeats=3)
        for name in ("srcc_mean", "srcc_std", "srcc_unsampled_mean", "srcc_unadapted"):
            np.testing.assert_array_equal(a[name].astype(np.float32), f["/cells/0/adapt"][name][()], err_msg=name)
        s = proxysim.select_proxy(sp, lat, codes, devices, targets=["fpga", "raspi4"], n=[10], repeats=4, seed=2)
        assert s["oracle"] == [o.decode() for o in f["/cells/0/select/oracle"][()]]
        for name in ("srcc_mean", "regret_mean", "oracle_fraction", "group_regret_mean", "srcc_full"):
            np.testing.assert_array_equal(s[name].astype(np.float32), f["/cells/0/select"][name][()], err_msg=name)
