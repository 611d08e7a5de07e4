# Checks the NAS search API from Python against independent references: a search whose
# accuracy is a Python callback on NB201's real CIFAR-10 accuracies follows exactly the
# trajectory of the nas stage's native loop and of the CLI's nas stage (same seed), and
# exhaustive search returns the constrained optimum brute-forced in numpy from the
# shared CSVs. Comparisons are exact: the strategies are deterministic given the seed,
# and float32 table values reach C++ unchanged as doubles, so any difference is a bug.
import csv
import math

import numpy as np
import pytest

import proxysim

SPACE = proxysim.Space("nb201", "cifar10")
M64 = (1 << 64) - 1


def _column(path, name):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["arch_index"]) for r in rows] == list(range(15625))
    return np.array([float(r[name]) if r[name] else np.nan for r in rows], dtype=np.float32)


@pytest.fixture(scope="module")
def nb201(data):
    """Accuracy, connectivity and two measured latency columns, parsed with csv, not proxysim."""
    acc = _column(data / "nb201_accuracy.csv", "cifar10_test_acc")
    connected = _column(data / "nb201_accuracy.csv", "connected") == 1
    lat = {d: _column(data / "hwnasbench_nb201_cifar10.csv", f"{d}_latency") for d in ("edgegpu", "pixel3")}
    return acc, connected, lat


def _problem(nb201, device, q):
    acc, connected, lat = nb201
    eligible = connected & np.isfinite(lat[device])
    ms = np.sort(lat[device][eligible])
    constraint = float(ms[max(1, math.ceil(q * len(ms))) - 1])  # the fastest ceil(q m), as the nas stage
    return acc, lat[device], eligible, constraint


@pytest.mark.parametrize("strategy", ["regularized_evolution", "random", "ofa_evolution", "local_search",
                                      "latency_aware_random"])
def test_callback_trajectory_equals_native_loop(nb201, strategy):
    acc, lat, eligible, constraint = _problem(nb201, "edgegpu", 0.3)
    calls = []

    def accuracy(code):  # the user's function: here the real table, looked up by index
        calls.append(SPACE.index(code))
        return acc[calls[-1]]

    opts = dict(ofa_population=20, ofa_generations=40) if strategy == "ofa_evolution" else {}
    native = proxysim.search_table(strategy, SPACE, accuracy=acc, latency_ms=lat, constraint_ms=constraint,
                                   seeds=[0, 1, 2], eligible=eligible.astype(np.uint8), budget=500, **opts)
    for seed, rows in zip([0, 1, 2], native):
        calls.clear()
        r = proxysim.search(strategy, SPACE, accuracy=accuracy, latency_ms=lat, constraint_ms=constraint,
                            eligible=eligible, budget=500, seed=seed, **opts)
        assert len(rows) == 500
        np.testing.assert_array_equal(r.index, rows)
        np.testing.assert_array_equal(calls, rows)  # the callback saw exactly these, in order
        np.testing.assert_array_equal(r.codes, np.stack([SPACE.code_at(int(i)) for i in rows]))
        assert r.best_index == rows[int(np.argmax(acc[rows]))]
        assert lat[r.index].max() <= constraint and eligible[r.index].all()

        # The same search driven by hand through ask/tell.
        s = proxysim.strategy(strategy, SPACE, latency_ms=lat, constraint_ms=constraint, eligible=eligible,
                              budget=500, seed=seed, **opts)
        asked = []
        while (code := s.ask()) is not None:
            asked.append(s.index)
            assert s.index == SPACE.index(code)
            s.tell(acc[s.index])
        assert s.done and s.evaluations == 500
        np.testing.assert_array_equal(asked, rows)


def _counter_hash(seed, a, b):
    def mix64(x):  # SplitMix64's finaliser, written out here as base/rng.hpp cites it
        x = (x + 0x9E3779B97F4A7C15) & M64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
        return x ^ (x >> 31)
    return mix64(mix64(mix64(seed) ^ a) ^ ((b * 0xD1342543DE82EF95) & M64))


def test_callback_search_equals_cli_nas_stage(nb201, data, run_cli, tmp_path):
    h5py = pytest.importorskip("h5py")
    acc, connected, lats = nb201
    lat = lats["edgegpu"]
    # The nas stage's eligible rows: connected, measured on the proxy and on the target.
    eligible = connected & np.isfinite(lat) & np.isfinite(lats["pixel3"])
    ms = np.sort(lat[eligible])
    constraint = float(ms[math.ceil(0.3 * len(ms)) - 1])
    cfg = tmp_path / "nas.yaml"
    cfg.write_text(f"""
name: nas_py
space: nb201
measured: {data / 'hwnasbench_nb201_cifar10.csv'}
archs: measured
backend: cpu
stages:
  - nas:
      accuracy: nb201
      accuracy_file: {data / 'nb201_accuracy.csv'}
      proxy: pixel3
      targets: [edgegpu]
      sources: [target]
      strategies: [regularized_evolution, random]
      constraints: [0.3]
      seeds: 2
      seed: 5
      budget: 400
      checkpoints: [10, 50, 400]
""")
    out = tmp_path / "r.h5"
    run_cli("run", cfg, "--out", out)
    with h5py.File(out, "r") as f:
        assert float(f["/cells/0/nas/constraint_ms"][0, 0]) == constraint
        best = f["/cells/0/nas/best_accuracy"][:]  # [strategy, source, target, constraint, seed, checkpoint]
        strategies = [s.decode() if isinstance(s, bytes) else s for s in f["/cells/0/nas/strategies"][:]]
    assert strategies == ["regularized_evolution", "random"]
    for si, strategy in enumerate(strategies):
        for rep in range(2):
            r = proxysim.search(strategy, SPACE, accuracy=lambda code: acc[SPACE.index(code)], latency_ms=lat,
                                constraint_ms=constraint, eligible=eligible, budget=400,
                                seed=_counter_hash(5, rep, 0x5EA6C4))
            running = np.maximum.accumulate(r.accuracy).astype(np.float32)
            np.testing.assert_array_equal(running[[9, 49, 399]], best[si, 0, 0, 0, rep])


def test_exhaustive_returns_bruteforce_optimum(nb201):
    acc, lat, eligible, constraint = _problem(nb201, "pixel3", 0.2)
    feasible = np.flatnonzero(eligible & (lat <= constraint))
    optimum = feasible[np.argmax(acc[feasible])]  # argmax: the first of equal accuracies, in index order
    for accuracy in (acc, lambda code: acc[SPACE.index(code)]):  # native array loop and Python callback
        r = proxysim.search("exhaustive", "nb201", accuracy=accuracy, latency_ms=lat, constraint_ms=constraint,
                            eligible=eligible, budget=0)
        assert sorted(r.index) == list(feasible)  # every feasible architecture once, nothing else
        assert r.best_accuracy == acc[optimum]
        assert acc[r.best_index] == acc[optimum] and lat[r.best_index] <= constraint


def test_nb201_accuracy_reader_matches_csv(nb201, data):
    acc, connected, _ = nb201
    t = proxysim.nb201_accuracy(data / "nb201_accuracy.csv")
    np.testing.assert_array_equal(t["cifar10"], acc)
    np.testing.assert_array_equal(t["connected"], connected)
    assert t["cifar10"].dtype == np.float32 and t["connected"].dtype == bool


def test_synthetic_surrogate_on_fbnet_with_callable_latency():
    fbnet = proxysim.Space("fbnet")
    dev = proxysim.device("pixel3_cpu")
    ev = proxysim.Evaluator(fbnet, [dev], "cpu")
    constraint = float(np.quantile(ev.sample(2000, seed=3)[0][:, 0], 0.2))

    def latency(code):
        return float(ev.codes(code[None, :])[0][0, 0])

    r = proxysim.search("regularized_evolution", fbnet, accuracy=lambda c: proxysim.synthetic_accuracy(fbnet, c, 7),
                        latency_ms=latency, constraint_ms=constraint, budget=60, seed=1)
    assert len(r.accuracy) == 60
    # Every evaluated architecture meets the constraint, recomputed in one batch.
    assert ev.codes(r.codes)[0][:, 0].max() <= constraint
    # The surrogate is a pure function of (architecture, seed): batch equals per-code.
    np.testing.assert_array_equal(proxysim.synthetic_accuracy(fbnet, r.codes, 7), r.accuracy)
    assert not np.array_equal(proxysim.synthetic_accuracy(fbnet, r.codes, 8), r.accuracy)


class Boom(Exception):
    pass


def test_callback_exception_propagates(nb201):
    acc, lat, eligible, constraint = _problem(nb201, "edgegpu", 0.5)
    n = []

    def accuracy(code):
        n.append(1)
        if len(n) == 7:
            raise Boom("seventh")
        return 50.0

    with pytest.raises(Boom, match="seventh"):
        proxysim.search("random", "nb201", accuracy=accuracy, latency_ms=lat, constraint_ms=constraint, budget=100)
    assert len(n) == 7  # the search stopped at the exception

    def latency(code):
        raise Boom("latency")

    with pytest.raises(Boom, match="latency"):
        proxysim.search("random", "nb201", accuracy=acc, latency_ms=latency, constraint_ms=1.0, budget=10)


@pytest.mark.parametrize("call, message", [
    (lambda lat: proxysim.search("annealing", "nb201", accuracy=lambda c: 1.0),
     "unknown search strategy 'annealing' (expected exhaustive, random, regularized_evolution, ofa_evolution, "
     "local_search or latency_aware_random)"),
    (lambda lat: proxysim.search("random", "nb201", accuracy=lambda c: 1.0, latency_ms=lat),
     "latency_ms given without constraint_ms"),
    (lambda lat: proxysim.search("random", "nb201", accuracy=lambda c: 1.0, latency_ms=lat[:100], constraint_ms=1),
     "latency_ms: expected one value per architecture of space 'nb201' (15625"),
    (lambda lat: proxysim.search("regularized_evolution", "nb201", accuracy=lambda c: 1.0, population=0),
     "regularized evolution needs population and sample >= 1"),
    (lambda lat: proxysim.search("random", "nb201", accuracy=lambda c: "high", budget=3),
     "accuracy callback must return a number, returned 'high'"),
    (lambda lat: proxysim.search("random", "fbnet", accuracy=np.zeros(10)),
     "accuracy: an array needs a space small enough to tabulate (nb201); space 'fbnet' takes a callable"),
    (lambda lat: proxysim.search("exhaustive", "fbnet", accuracy=lambda c: 1.0),
     "exhaustive search needs an enumerable space"),
    (lambda lat: proxysim.search("random", "nb201", accuracy=lambda c: 1.0, budget=-1),
     "budget: expected >= 0"),
    # Bad numbers stop at the boundary, named (NaN alone means "not measured").
    (lambda lat: proxysim.search("random", "nb201", accuracy=lambda c: math.inf, budget=3),
     "the reported accuracy = inf: an accuracy must be finite"),
    (lambda lat: proxysim.search("random", "nb201", accuracy=np.where(np.arange(15625) == 9, -np.inf, 50.0)),
     "accuracy[9] = -inf: an accuracy must be finite"),
    (lambda lat: proxysim.search("random", "nb201", accuracy=lambda c: 1.0, latency_ms=lambda c: -2.0,
                                 constraint_ms=5.0, budget=3),
     "the latency_ms callback's value = -2: a latency must be positive and finite (NaN = not measured)"),
    (lambda lat: proxysim.search("random", "nb201", accuracy=lambda c: 1.0,
                                 latency_ms=np.where(np.arange(15625) == 4, 0.0, lat), constraint_ms=5.0),
     "latency_ms[4] = 0: a latency must be positive and finite"),
    (lambda lat: proxysim.search("random", "nb201", accuracy=lambda c: 1.0,
                                 latency_ms=np.where(np.arange(15625) == 7, np.inf, lat), constraint_ms=5.0),
     "latency_ms[7] = inf: a latency must be positive and finite"),
])
def test_bad_arguments_raise_user_error(nb201, call, message):
    with pytest.raises(proxysim.UserError) as e:
        call(nb201[2]["edgegpu"])
    assert message in str(e.value)


def test_unknown_option_names_itself():
    with pytest.raises(TypeError, match="unknown strategy option 'populaton'"):
        proxysim.search("regularized_evolution", "nb201", accuracy=lambda c: 1.0, populaton=10)


def test_ask_tell_order_is_checked():
    s = proxysim.strategy("random", "nb201", budget=2)
    with pytest.raises(proxysim.UserError, match="tell\\(\\) without ask\\(\\)"):
        s.tell(1.0)
    assert s.ask() is not None
    with pytest.raises(proxysim.UserError, match="ask\\(\\) called twice without tell\\(\\)"):
        s.ask()
    s.tell(1.0)
    assert s.ask() is not None
    with pytest.raises(proxysim.UserError, match="the reported accuracy = inf"):
        s.tell(math.inf)
    s.tell(2.0)  # the refused report left the architecture awaiting its accuracy
    assert s.ask() is None and s.done  # the budget of 2 is spent


def test_bad_accuracy_file_names_file_and_line(tmp_path, data):
    bad = tmp_path / "acc.csv"
    lines = (data / "nb201_accuracy.csv").read_text().splitlines()
    bad.write_text("\n".join(lines[:3] + [lines[3].replace(",1,", ",0,", 1)] + lines[4:]) + "\n")
    with pytest.raises(proxysim.UserError) as e:
        proxysim.nb201_accuracy(bad)
    assert f"{bad}:4" in str(e.value)  # file and line (the header is line 1)
