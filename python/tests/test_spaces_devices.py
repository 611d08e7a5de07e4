# Checks spaces and devices from Python against hand values and the CLI's listings:
# NB201's published MACs/params of one architecture, lowering totals equal to the op
# list's sums, sampling equal to the CLI's architectures, device YAML round trips,
# populations equal to the config's {population: ...} devices, and the device lists
# equal to `proxysim devices`.
import math

import numpy as np
import pytest

import proxysim


def test_space_basics():
    sp = proxysim.Space("nb201")
    assert (sp.name, sp.dataset, sp.decisions, sp.size) == ("nb201", "cifar10", 6, 15625)
    assert proxysim.Space("fbnet").size is None
    # All-3x3-conv cell: NAS-Bench-201 lists 1.53 M params and 220.11 M FLOPs on CIFAR-10.
    s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    t = sp.totals(s)
    assert math.floor(t["macs"] / 1e4) / 100 == 220.11  # published truncated to 0.01 M
    assert round(t["params"] / 1e6, 2) == 1.53
    ops = sp.lower(s)
    assert sum(o["macs"] for o in ops) == t["macs"] and len(ops) == t["ops"]
    assert ops[0]["kind"] == "conv" and ops[0]["in_shape"] == (32, 32, 3)
    macs, params = sp.macs_params(sp.enumerate())
    assert macs.dtype == np.float64 and macs[sp.index(s)] == t["macs"]
    assert sp.decode(sp.encode(s)) == s


def test_sampling_is_counter_based():
    fb = proxysim.Space("fbnet")
    a = fb.sample(100, seed=3)
    b = fb.sample(40, seed=3, first=60)
    np.testing.assert_array_equal(a[60:], b)
    assert not (fb.sample(100, seed=4) == a).all()


def test_device_lists_equal_cli(run_cli):
    for flag, devs in (([], proxysim.builtin_devices()), (["--twins"], proxysim.twin_devices())):
        names = [line.split()[0] for line in run_cli("devices", *flag).stdout.splitlines() if line.strip()]
        assert names == [d.name for d in devs]
    assert len(proxysim.devices("all")) == len(proxysim.builtin_devices())


def test_yaml_round_trip_and_replace(tmp_path):
    d = proxysim.device("pixel3_cpu")
    again = proxysim.parse_device_yaml(d.to_yaml())
    assert again.params == d.params and again.name == d.name
    path = tmp_path / "mine.yaml"
    path.write_text(d.to_yaml())
    assert proxysim.load_device(str(path)).params == d.params
    faster = d.replace(name="pixel3_2x", peak_gflops=d.params["peak_gflops"] * 2)
    assert faster.name == "pixel3_2x" and faster.params["dram_gbps"] == d.params["dram_gbps"]
    ev = proxysim.evaluate("nb201", [d, faster], "all")
    assert (ev.latency_ms[:, 1] <= ev.latency_ms[:, 0] * 1.0001).mean() > 0.99


def test_population_equals_config_devices(tmp_path, run_cli):
    pop = proxysim.population("mobile_gpu", 4, seed=2)
    assert [p.name for p in pop] == [f"pop_mobile_gpu_{i:04d}" for i in range(4)]
    cfg = tmp_path / "p.yaml"
    cfg.write_text("name: p\nspace: nb201\narchs: {sample: 50, seed: 1}\n"
                   "devices: [{population: {class: mobile_gpu, count: 4, seed: 2}}]\nstages:\n  - eval: {}\n")
    run_cli("run", cfg, "--out", tmp_path / "p.h5", "--quiet")
    import h5py
    with h5py.File(tmp_path / "p.h5", "r") as f:
        cli = f["/cells/0/eval/latency_ms"][()]
    ev = proxysim.evaluate("nb201", pop, 50, seed=1)
    np.testing.assert_array_equal(ev.latency_ms, cli)


def test_per_space_parameters_are_what_each_space_evaluates(tmp_path, run_cli):
    # A twin with a set of its own in FBNet evaluates FBNet exactly as a plain device
    # made of that set, and every other space with its base set, from Python and the CLI.
    base = proxysim.device("pixel3_cpu").replace(name="base", noise_sigma=0.0)
    plain = base.replace(name="plain", peak_gflops=base.params["peak_gflops"] * 3, efficiency={"grouped": 0.05})
    own = (base.to_yaml().replace("name: base", "name: twin") +
           f"spaces:\n  fbnet: {{peak_gflops: {plain.params['peak_gflops']!r}, efficiency: {{grouped: 0.05}}}}\n")
    twin_path = tmp_path / "twin.yaml"
    twin_path.write_text(own)
    twin = proxysim.load_device(str(twin_path))
    assert twin.params == base.params and twin.params_in("fbnet") == plain.params
    fb = proxysim.evaluate("fbnet", [twin, plain, base], 300, seed=4)
    np.testing.assert_array_equal(fb.latency_ms[:, 0], fb.latency_ms[:, 1])
    assert (fb.latency_ms[:, 0] != fb.latency_ms[:, 2]).mean() > 0.9
    nb = proxysim.evaluate("nb201", [twin, plain, base], "all")
    np.testing.assert_array_equal(nb.latency_ms[:, 0], nb.latency_ms[:, 2])
    plain_path = tmp_path / "plain.yaml"
    plain_path.write_text(plain.to_yaml())
    run_cli("eval", "--space", "fbnet", "--devices", f"{twin_path},{plain_path}", "--archs", "300", "--seed", "4",
            "--out", tmp_path / "fb.h5", "--quiet")
    import h5py
    with h5py.File(tmp_path / "fb.h5", "r") as f:
        cli = f["/cells/0/eval/latency_ms"][()]
    np.testing.assert_array_equal(cli, fb.latency_ms[:, :2])
