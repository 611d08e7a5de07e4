"""Hardware-aware NAS from Python: proxysim's native search strategies (exhaustive,
random, regularized evolution, Once-for-All's evolution) under a latency constraint,
with the accuracy from your own function or a per-architecture array.

Architectures are uint8 codes (one byte per decision, as ``Space`` encodes them). On
NB201 per-architecture arrays (latency, accuracy, eligibility) are indexed by the
official topology index; on FBNet and OFA, which are too large to tabulate, latency
and accuracy are callables on the code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np

from . import _core
from .core import _space

ArrayOrCallable = Union[np.ndarray, Callable[[np.ndarray], float]]


_OPTION_NAMES = ("population", "sample", "ofa_population", "ofa_generations", "ofa_mutation_prob",
                 "ofa_parent_ratio", "ofa_mutation_ratio", "max_tries")


def _options(budget: int, options: dict) -> "_core.StrategyOptions":
    unknown = sorted(set(options) - set(_OPTION_NAMES))
    if unknown:  # pybind11's own message lists a signature, not the mistake
        raise TypeError(f"unknown strategy option {unknown[0]!r} (expected one of {', '.join(_OPTION_NAMES)})")
    return _core.StrategyOptions(budget=budget, **options)


def strategy(strategy: str, space="nb201", *, latency_ms: Optional[ArrayOrCallable] = None,
             constraint_ms: Optional[float] = None, eligible: Optional[np.ndarray] = None, budget: int = 1000,
             seed: int = 0, **options) -> "_core.Strategy":
    """An ask/tell search: ``code = s.ask()`` (None when the search has ended), then
    ``s.tell(accuracy)``. Only architectures with ``latency_ms <= constraint_ms`` (and
    ``eligible``) are proposed; ``budget`` counts tells (0 = no limit). ``options``:
    population, sample (regularized evolution), ofa_population, ofa_generations,
    ofa_mutation_prob, ofa_parent_ratio, ofa_mutation_ratio, max_tries."""
    return _core.Strategy(_space(space), strategy, seed, _options(budget, options), latency_ms, constraint_ms,
                          eligible)


@dataclass
class SearchResult:
    """One search: every evaluation in order, and the best of them."""
    strategy: str
    codes: np.ndarray                # (evaluations, K) uint8
    accuracy: np.ndarray             # (evaluations,) float64, as the accuracy source returned it
    index: Optional[np.ndarray]      # (evaluations,) int64 official indices (tabulated spaces), else None
    best: Optional[int]              # position of the first most accurate evaluation

    @property
    def best_code(self) -> Optional[np.ndarray]:
        return None if self.best is None else self.codes[self.best]

    @property
    def best_accuracy(self) -> float:
        return float("nan") if self.best is None else float(self.accuracy[self.best])

    @property
    def best_index(self) -> Optional[int]:
        return None if self.best is None or self.index is None else int(self.index[self.best])


def search(strategy: str = "regularized_evolution", space="nb201", *, accuracy: ArrayOrCallable,
           latency_ms: Optional[ArrayOrCallable] = None, constraint_ms: Optional[float] = None,
           eligible: Optional[np.ndarray] = None, budget: int = 1000, seed: int = 0, **options) -> SearchResult:
    """A whole search in C++. ``accuracy``: a callable ``code -> accuracy`` (your
    predictor or training run; it runs with the GIL, Ctrl-C and its own exceptions end
    the search) or a per-architecture array (the loop then runs without the GIL).
    The same seed and options give the same trajectory as ``strategy(...)`` driven by
    hand and as the nas stage's own loop (``search_table``)."""
    d = _core.search(_space(space), strategy, accuracy, latency_ms, constraint_ms, eligible, seed,
                     _options(budget, options))
    return SearchResult(d["strategy"], d["codes"], d["accuracy"], d.get("index"), d["best"])


def search_table(strategy: str, space, *, accuracy: np.ndarray, latency_ms: np.ndarray, constraint_ms: float,
                 seeds, eligible: Optional[np.ndarray] = None, whole_front: bool = False, budget: int = 1000,
                 **options) -> list:
    """The nas stage's native loop on float32 per-architecture arrays (tabulated spaces),
    one search per seed, without the GIL: the official indices each search evaluated."""
    return _core.search_table(_space(space), strategy, accuracy, latency_ms, constraint_ms, list(seeds), eligible,
                              whole_front, _options(budget, options))


def nb201_accuracy(path, dataset: Optional[str] = None):
    """NB201 test accuracies (%, float32, per official index) from nb201_accuracy.csv,
    validated as the nas stage validates them: a dict of cifar10, cifar100,
    imagenet16-120 and ``connected`` (bool), or one dataset's column."""
    d = _core.read_nb201_accuracy(str(path))
    d["connected"] = d["connected"].view(bool)
    if dataset is None:
        return d
    if dataset not in ("cifar10", "cifar100", "imagenet16-120"):
        raise _core.UserError(f"dataset: expected cifar10, cifar100 or imagenet16-120, found '{dataset}'")
    return d[dataset]


def synthetic_accuracy(space, codes, seed: int = 0) -> np.ndarray:
    """proxysim's *synthetic* accuracy surrogate (%) of (n, K) codes, or of one code: a
    seeded function of the architecture for spaces with no trained table, not a model
    of any trained network."""
    codes = np.asarray(codes, dtype=np.uint8)
    one = codes.ndim == 1
    out = _core.synthetic_accuracy(_space(space), codes[None, :] if one else codes, seed)
    return float(out[0]) if one else out
