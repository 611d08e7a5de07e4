"""Search NB201 under a latency budget on a target device with your own accuracy
predictor. The search is a seeded latency-constrained random search written in numpy
over proxysim's latencies; when proxysim's native NAS strategies (regularized
evolution among them) land in the package, this example switches to them with the same
predictor callback.

    python3 latency_constrained_search.py [--device edgetpu] [--budget-quantile 0.3] [--samples 500]
"""
import argparse

import numpy as np

import proxysim


def my_accuracy_predictor(ops_per_edge: np.ndarray) -> np.ndarray:
    """A user's predictor: any function of the architectures. Here a hand rule of
    thumb (3x3 convs help most, then 1x1 convs, skips a little, 'none' and pooling
    hurt), standing in for a trained surrogate."""
    gain = np.array([-1.0, 0.3, 1.0, 1.8, -0.2])  # none, skip, conv1x1, conv3x3, avg_pool
    return 70.0 + gain[ops_per_edge].sum(axis=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="edgetpu")
    ap.add_argument("--budget-quantile", type=float, default=0.3, help="latency budget as a quantile of the space")
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    api = proxysim.create("nb201", devices=[args.device])
    table = api.latency_table("cifar10")           # every architecture's latency (ms), one call
    lat = table.latency_ms[:, 0]
    connected = table.space.connected(table.codes)
    budget = float(np.quantile(lat[connected], args.budget_quantile))

    rng = np.random.default_rng(args.seed)
    candidates = rng.choice(np.flatnonzero(connected), size=args.samples, replace=False)
    feasible = candidates[lat[candidates] <= budget]
    acc = my_accuracy_predictor(table.codes[feasible])
    best = feasible[np.argmax(acc)]
    # The exhaustive answer over every connected architecture, for comparison.
    all_ok = np.flatnonzero(connected & (lat <= budget))
    oracle = all_ok[np.argmax(my_accuracy_predictor(table.codes[all_ok]))]
    print(f"budget {budget:.3f} ms on {args.device}: {len(feasible)} of {args.samples} sampled architectures fit")
    print(f"random search: index {best} {api.arch(best)} predicted {my_accuracy_predictor(table.codes[[best]])[0]:.1f}"
          f" at {lat[best]:.3f} ms")
    print(f"exhaustive:    index {oracle} {api.arch(oracle)} predicted "
          f"{my_accuracy_predictor(table.codes[[oracle]])[0]:.1f} at {lat[oracle]:.3f} ms")
    return int(best), int(oracle), budget, lat


if __name__ == "__main__":
    main()
