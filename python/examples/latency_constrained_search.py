"""Search NB201 under a latency budget on a target device with your own accuracy
predictor: proxysim's regularized evolution (Real et al. 2019) proposes only
architectures within the budget and calls your predictor for each.

    python3 latency_constrained_search.py [--device edgetpu] [--budget-quantile 0.3] [--evaluations 300]
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
    ap.add_argument("--evaluations", type=int, default=300, help="predictor calls the search may make")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    api = proxysim.create("nb201", devices=[args.device])
    table = api.latency_table("cifar10")           # every architecture's latency (ms), one call
    lat = table.latency_ms[:, 0]
    connected = table.space.connected(table.codes)
    budget = float(np.quantile(lat[connected], args.budget_quantile))

    r = proxysim.search("regularized_evolution", table.space,
                        accuracy=lambda code: float(my_accuracy_predictor(code[None])[0]),
                        latency_ms=lat, constraint_ms=budget, eligible=connected,
                        budget=args.evaluations, seed=args.seed)
    best = r.best_index
    # The exhaustive answer over every connected architecture, for comparison.
    all_ok = np.flatnonzero(connected & (lat <= budget))
    oracle = all_ok[np.argmax(my_accuracy_predictor(table.codes[all_ok]))]
    print(f"budget {budget:.3f} ms on {args.device}: {len(all_ok)} connected architectures fit")
    print(f"regularized evolution, {len(r.accuracy)} evaluations: index {best} {api.arch(best)} "
          f"predicted {r.best_accuracy:.1f} at {lat[best]:.3f} ms")
    print(f"exhaustive:    index {oracle} {api.arch(oracle)} predicted "
          f"{my_accuracy_predictor(table.codes[[oracle]])[0]:.1f} at {lat[oracle]:.3f} ms")
    return int(best), int(oracle), budget, lat


if __name__ == "__main__":
    main()
