"""The query APIs NAS researchers know, over proxysim's simulated devices and
measured tables.

``HWNASBenchAPI`` follows HW-NAS-Bench (``query_by_index(idx, dataset)`` returns a
flat dict ``{"<device>_latency": ms, ...}``); ``create(space, devices=...)`` follows
NATS-Bench's factory (``len(api)``, ``api.arch(i)``, ``api.query_index_by_arch(s)``,
``api.get_cost_info(i, dataset)``). Both return a ``Benchmark``.

Units: every ``*_latency`` value is milliseconds per inference at the device's batch
size (``api.batch_size(key)``; 1 for the measured HW-NAS-Bench tables and for every
simulated device whose name has no ``_b<N>`` suffix); ``api.describe(key)`` says where
a value comes from. Measured values come from the table as read (NaN where the table
did not measure that architecture); simulated values are those ``proxysim eval``
computes for the same device and noise seed.
"""
from __future__ import annotations

import os
from typing import Iterable, Sequence

import numpy as np

from . import _core
from .convert import to_code
from .core import devices as _devices

_SPACE_ALIASES = {
    "nasbench201": "nb201", "nas-bench-201": "nb201", "nb201": "nb201", "tss": "nb201", "topology": "nb201",
    "nats-tss": "nb201", "fbnet": "fbnet", "ofa": "ofa_mbv3", "ofa_mbv3": "ofa_mbv3", "mbv2": "mbv2",
    "mobilenetv2": "mbv2",
}
# NATS-Bench / HW-NAS-Bench dataset names -> proxysim's.
_DATASET_ALIASES = {"imagenet16-120": "imagenet16-120", "ImageNet16-120": "imagenet16-120",
                    "imagenet16_120": "imagenet16-120", "cifar10-valid": "cifar10"}


def _space_name(name: str) -> str:
    try:
        return _SPACE_ALIASES[name.lower()]
    except KeyError:
        raise _core.UserError(f"unknown search space '{name}' (expected one of {', '.join(sorted(_SPACE_ALIASES))})")


class Benchmark:
    """Latencies of one search space's architectures on simulated devices (evaluated on
    demand, per dataset) and measured devices (tables read once, joined by
    architecture)."""

    def __init__(self, space: str = "nb201", devices="all", measured: Iterable[str] | str = (),
                 measured_dataset: str | None = None, noise_seed: int = 0, backend: str = "auto",
                 seed: int = 0):
        self.space_name = _space_name(space)
        self._default = _core.Space(self.space_name)
        self.noise_seed = noise_seed
        self.backend = _core.resolve_backend(backend)
        self.seed = seed  # sampled spaces: query_by_index(i) is sampled architecture i of this seed
        self._sim = _devices(devices) if devices else []
        self._spaces: dict = {}
        self._evaluators: dict = {}
        self._tables: dict = {}
        if isinstance(measured, (str, os.PathLike)):
            measured = [measured]
        # Measured tables belong to the dataset they were measured on.
        self.measured_dataset = self._dataset(measured_dataset or self._default.dataset)
        self._measured_cols: list = []
        self._measured_rows: dict = {}
        self._measured_values: list = []
        for path in measured:
            t = _core.read_measured_csv(os.fspath(path), self.space_name)
            lat = t.latency_ms
            base = len(self._measured_cols)
            for d in t.devices:
                if d in self._measured_cols:
                    raise _core.UserError(f"{t.file}: device column '{d}' is already given by another table")
                self._measured_cols.append(d)
            self._measured_values.append((base, lat))
            for r, code in enumerate(t.codes):
                self._measured_rows.setdefault(bytes(code), []).append((len(self._measured_values) - 1, r))
        self._batch = {}
        self._about = {}
        for d in self._measured_cols:
            self._batch[f"{d}_latency"] = 1
            self._about[f"{d}_latency"] = f"measured ({d}), ms, batch 1, {self.measured_dataset} only"
        self._keys = []
        for dev in self._sim:
            # A measured column keeps the plain name HW-NAS-Bench users query.
            key = f"{dev.name}_sim_latency" if dev.name in self._measured_cols else f"{dev.name}_latency"
            self._keys.append(key)
            self._batch[key] = dev.batch
            self._about[key] = (f"simulated {dev.name} ({dev.device_class}, imitates {dev.imitates}), ms, "
                                f"batch {dev.batch}, noise seed {noise_seed}")

    # ---- what the values are ----
    @property
    def devices(self) -> list:
        """The keys a query returns, simulated first, then measured."""
        return self._keys + [f"{d}_latency" for d in self._measured_cols]

    def batch_size(self, key: str) -> int:
        return self._batch[key if key.endswith("_latency") else f"{key}_latency"]

    def describe(self, key: str) -> str:
        return self._about[key if key.endswith("_latency") else f"{key}_latency"]

    def __len__(self) -> int:
        size = self._default.size
        if size is None:
            raise TypeError(f"space '{self.space_name}' is sampled, it has no length")
        return size

    # ---- architectures ----
    def _dataset(self, dataset: str | None) -> str:
        if not dataset:
            return self._default.dataset
        return _DATASET_ALIASES.get(dataset, dataset.lower())

    def space(self, dataset: str | None = None) -> "_core.Space":
        ds = self._dataset(dataset)
        if ds not in self._spaces:
            self._spaces[ds] = _core.Space(self.space_name, ds)
        return self._spaces[ds]

    def code(self, index: int) -> np.ndarray:
        """The code of architecture `index`: the official index of enumerable spaces,
        sampled architecture `index` of `seed` otherwise (as ``proxysim eval`` draws)."""
        if self._default.size is not None:
            return self._default.code_at(int(index))
        return self._default.sample(1, self.seed, int(index))[0]

    def arch(self, index: int) -> str:
        return self._default.decode(self.code(index))

    def query_index_by_arch(self, arch) -> int:
        """NB201's official index of an architecture (string, Eagle vector, op list)."""
        if self.space_name != "nb201":
            raise _core.UserError(f"space '{self.space_name}' has no official index")
        return int(self._default.index(to_code(self._default, arch)))

    # ---- latencies ----
    def _evaluator(self, dataset: str) -> "_core.Evaluator":
        if dataset not in self._evaluators:
            self._evaluators[dataset] = _core.Evaluator(self.space(dataset), self._sim, self.backend, "auto",
                                                        self.noise_seed)
        return self._evaluators[dataset]

    def query_by_arch(self, arch, dataset: str | None = None) -> dict:
        """{"<device>_latency": ms} of one architecture (string, code, index, Eagle
        vector, FBNet op list or OFA dict)."""
        ds = self._dataset(dataset)
        sp = self.space(ds)
        code = np.ascontiguousarray(to_code(sp, arch), dtype=np.uint8)
        out = {}
        if self._sim:
            lat = self._evaluator(ds).codes(code[None, :])[0][0]
            out.update({k: float(v) for k, v in zip(self._keys, lat)})
        if self._measured_cols and ds == self.measured_dataset:
            for k in self._measured_cols:
                out[f"{k}_latency"] = float("nan")
            for t, r in self._measured_rows.get(bytes(code), []):
                base, lat = self._measured_values[t]
                for j in range(lat.shape[1]):
                    out[f"{self._measured_cols[base + j]}_latency"] = float(lat[r, j])
        return out

    def query_by_index(self, index: int, dataset: str | None = None) -> dict:
        """HW-NAS-Bench's query: {"<device>_latency": ms} of architecture `index`."""
        return self.query_by_arch(self.code(index), dataset)

    def get_cost_info(self, index: int, dataset: str | None = None) -> dict:
        """NATS-Bench's cost query: flops (M multiply-adds), params (M) and each
        device's latency (ms)."""
        ds = self._dataset(dataset)
        t = self.space(ds).totals(self.code(index))
        out = {"flops": t["macs"] / 1e6, "params": t["params"] / 1e6}
        out.update(self.query_by_index(index, ds))
        return out

    def latency_table(self, dataset: str | None = None, count: int | None = None):
        """Every architecture's simulated latencies at once (enumerable spaces), or
        `count` sampled ones: a ``proxysim.Evaluation`` (n x D float32, ms)."""
        from .core import Evaluation
        ds = self._dataset(dataset)
        ev = self._evaluator(ds)
        if count is None:
            lat, codes, macs, params = ev.enumerate()
        else:
            lat, codes, macs, params = ev.sample(count, seed=self.seed)
        return Evaluation(lat, codes, macs, params, [k[: -len("_latency")] for k in self._keys], self.space(ds),
                          ev.backend)


class HWNASBenchAPI(Benchmark):
    """HW-NAS-Bench's API over proxysim: ``HWNASBenchAPI(path_or_None,
    search_space="nasbench201")``. A ``.csv`` path is a measured table in the shared
    data's format (e.g. hwnasbench_nb201_cifar10.csv, whose columns give edgegpu,
    raspi4, edgetpu, pixel3, eyeriss, fpga); simulated devices come from `devices`."""

    def __init__(self, file_path: str | None = None, search_space: str = "nasbench201", devices="all",
                 measured: Sequence[str] = (), **kw):
        tables = list(measured)
        if file_path:
            tables.insert(0, file_path)
        super().__init__(search_space, devices=devices, measured=tables, **kw)


def create(space: str = "nb201", devices="all", **kw) -> Benchmark:
    """NATS-Bench-style factory: ``api = proxysim.create("tss", devices=["pixel3_cpu",
    "edgetpu"])``; keyword arguments as ``Benchmark``."""
    return Benchmark(space, devices=devices, **kw)
