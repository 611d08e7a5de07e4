"""Convenience layer over proxysim._core: device lists as the CLI takes them, one-call
evaluation, the monotonicity picture of a latency matrix, and whole runs."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Sequence, Union

import numpy as np

from . import _core

DeviceLike = Union[str, "_core.Device"]


def devices(spec: Union[str, DeviceLike, Iterable[DeviceLike]] = "all") -> list:
    """Devices as the CLI's ``--devices`` takes them: "all" (the built-in library),
    "twins", a comma-separated string of names and ``.yaml`` paths, or a list mixing
    names, paths and ``Device`` objects."""
    if isinstance(spec, _core.Device):
        return [spec]
    if isinstance(spec, (str, os.PathLike)):
        return _core.select_devices(os.fspath(spec))
    out = []
    for item in spec:
        out.extend(devices(item))
    return out


@dataclass
class Evaluation:
    """One batch evaluation. ``latency_ms`` is float32 (n, D), ms per inference at each
    device's batch size; ``codes`` uint8 (n, K); ``macs`` and ``params`` float32 (n),
    absolute counts at batch 1. ``devices`` names the columns."""

    latency_ms: np.ndarray
    codes: np.ndarray
    macs: np.ndarray
    params: np.ndarray
    devices: list
    space: "_core.Space"
    backend: str

    def column(self, device: str) -> np.ndarray:
        """One device's latencies (a view of the matrix, no copy)."""
        return self.latency_ms[:, self.devices.index(device)]


def _space(space, dataset: str = "") -> "_core.Space":
    return space if isinstance(space, _core.Space) else _core.Space(space, dataset)


def evaluate(space, devices_spec="all", archs: Union[str, int, np.ndarray, Sequence[str]] = "all", *,
             dataset: str = "", seed: int = 0, noise_seed: int = 0, backend: str = "auto", mode: str = "auto",
             out: np.ndarray | None = None, chunk: int = 0) -> Evaluation:
    """The n x D latency matrix of architectures on simulated devices, as ``proxysim
    eval`` computes it (same architectures for the same seed, same noise for the same
    noise_seed).

    archs: "all" (enumerable spaces, official order), an int (that many sampled
    architectures of `seed`), an (n, K) uint8 code array, or a list of architecture
    strings. `out`: a C-contiguous float32 (n, D) array to write the matrix into.
    The GIL is released while the core runs; Ctrl-C interrupts between chunks.
    """
    sp = _space(space, dataset)
    ev = _core.Evaluator(sp, devices(devices_spec), backend, mode, noise_seed)
    if isinstance(archs, str) and archs == "all":
        lat, codes, macs, params = ev.enumerate(out=out, chunk=chunk)
    elif isinstance(archs, (int, np.integer)):
        lat, codes, macs, params = ev.sample(int(archs), seed=seed, out=out, chunk=chunk)
    else:
        if not isinstance(archs, np.ndarray):
            archs = sp.encode_many(list(archs))
        lat, codes, macs, params = ev.codes(archs, out=out, chunk=chunk)
    return Evaluation(lat, codes, macs, params, ev.devices, sp, ev.backend)


def monotonicity(latency_ms, devices: Sequence[str] | None = None, *, kendall: bool = True, top_k: int = 100,
                 keep=None, backend: str = "auto") -> dict:
    """Latency monotonicity between every two columns of a latency matrix (n x D, NaN =
    not measured): Spearman's rho (SRCC), Kendall's tau-b and top-k agreement, each
    D x D with rows = proxy, columns = target, as the monotonicity stage writes them.
    `keep` (bool, n) selects rows (e.g. ``Space.connected(codes)`` on NB201)."""
    lat = np.asarray(latency_ms)
    if keep is not None:
        lat = lat[np.asarray(keep, dtype=bool)]
    srcc, pairs = _core.spearman_matrix(lat, backend)
    out = {"srcc": srcc, "pairs": pairs}
    if devices is not None:
        out["devices"] = list(devices)
    if kendall:
        out["kendall_tau_b"] = _core.kendall_matrix(lat, backend)[0]
    if top_k > 0:
        out["top_k"] = _top_k_matrix(lat, top_k, backend)
        out["k"] = top_k
    return out


def proxies(latency_ms, devices: Sequence[str], target: str, *, kendall: bool = True, top_k: int = 100, keep=None,
            backend: str = "auto") -> list:
    """Every other column of a latency matrix ranked as the proxy of `target`, best
    first, as ``proxysim monotonicity --target`` prints it and writes
    ``/monotonicity/ranking``: a list of dicts with ``device``, ``srcc``,
    ``kendall_tau_b``, ``top_k`` (NaN when not computed) and ``pairs`` (architectures
    measured on both). Undefined SRCCs go last; ties keep the column order."""
    devices = list(devices)
    if target not in devices:
        raise ValueError(f"target '{target}' is not one of the devices: {', '.join(devices)}")
    m = monotonicity(latency_ms, devices, kendall=kendall, top_k=top_k, keep=keep, backend=backend)
    t = devices.index(target)
    rows = []
    for p, d in enumerate(devices):
        if p == t:
            continue
        rows.append({"device": d, "srcc": float(m["srcc"][p, t]),
                     "kendall_tau_b": float(m["kendall_tau_b"][p, t]) if kendall else float("nan"),
                     "top_k": float(m["top_k"][p, t]) if top_k > 0 else float("nan"),
                     "pairs": int(m["pairs"][p, t])})
    rows.sort(key=lambda r: (np.isnan(r["srcc"]), 0.0 if np.isnan(r["srcc"]) else -r["srcc"]))
    return rows


def _top_k_matrix(lat, k: int, backend: str) -> np.ndarray:
    """top_k_agreement for every (proxy, target) pair. Without NaNs every pair uses all
    rows, so each column's k fastest rows (ties to the earlier row, as the core breaks
    them: a stable sort) are found once and pairs only intersect sets; with NaNs each
    pair has its own rows and goes to the core."""
    lat32 = np.ascontiguousarray(lat, dtype=np.float32)
    n, D = lat32.shape
    tk = np.full((D, D), np.nan)
    if n == 0:
        return tk
    if not np.isnan(lat32).any():
        kk = min(k, n)
        top = [np.argsort(lat32[:, d], kind="stable")[:kk] for d in range(D)]
        for a in range(D):
            for b in range(D):
                tk[a, b] = np.intersect1d(top[a], top[b], assume_unique=True).size / kk
        return tk
    cols = [np.ascontiguousarray(lat32[:, d]) for d in range(D)]
    for a in range(D):
        for b in range(D):
            tk[a, b] = _core.top_k_agreement(cols[a], cols[b], k, backend)
    return tk


def run(config: Union[str, os.PathLike], *, backend: str = "", output: str = "", quiet: bool = True,
        sets: Sequence[str] = ()) -> dict:
    """Runs an experiment config, a file path or YAML text, as ``proxysim run`` does:
    same sweep expansion, same resumable cells, same HDF5 result file (``/cells/<i>``).
    ``sets`` are ``--set key.path=value`` overrides. Returns a summary dict
    (``output``: the result file; for a one-cell run also ``devices``: per-device
    min/mean/max ms and ``monotonicity``: its matrices when the stage ran; for a sweep
    ``cells`` and ``resumed``). Ctrl-C abandons the run between evaluation chunks and
    stages; finished cells stay for a rerun to resume."""
    return _core.run(os.fspath(config), backend, output, quiet, list(sets))
