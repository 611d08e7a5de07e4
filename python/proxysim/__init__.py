"""proxysim from Python: search spaces, simulated and measured devices, batch latency
evaluation into numpy arrays, latency monotonicity statistics, proxy adaptation and
selection, NAS search strategies with your own accuracy function (``search``,
``strategy``), and whole experiments, on the C++/CUDA core of the `proxysim` CLI.

Latencies are milliseconds per inference at the device's batch size
(``Device.batch``; 1 unless the device's name says otherwise, e.g. ``gtx1080ti_b32``).

Copies: the evaluation calls (``evaluate``, ``Evaluator.sample/enumerate/codes``)
write the latency matrix, codes, MACs and parameters straight into numpy arrays
they return (or into the caller's ``out=`` array), with no copy. Inputs are read in
place when they already have the dtype and layout the core reads (latency matrices:
float32, C order; codes: uint8, C order; adaptation features: float64, Fortran
order, as ``features`` returns them); anything else is converted once by numpy.
``MeasuredTable.latency_ms`` is a read-only view of the table. Statistics return new
arrays that take over the core's buffers (no copy). Copies that do happen:
``monotonicity(keep=...)`` gathers the kept rows; ``adaptation_study`` and
``select_proxy`` copy the matrix and codes once into the stage's own buffers;
``MeasuredTable.codes`` is built per access.
"""
from . import _core
from ._core import (  # noqa: F401  (the public names of the extension)
    UserError,
    Space,
    Device,
    Evaluator,
    MeasuredTable,
    space_names,
    builtin_devices,
    twin_devices,
    device,
    select_devices,
    load_device,
    parse_device_yaml,
    population,
    read_measured_csv,
    spearman_matrix,
    kendall_matrix,
    spearman,
    kendall_tau_b,
    top_k_agreement,
    pareto_front,
    bootstrap_spearman,
    proxy_cover,
    features,
    adapt,
    adaptation_scheme_names,
    draw_adaptation_samples,
    adaptation_study,
    select_proxy,
    select_rule_names,
    resolve_backend,
    cuda_device_count,
    cuda_device_name,
)
from .core import devices, evaluate, monotonicity, proxies, run, Evaluation  # noqa: F401
from .api import Benchmark, HWNASBenchAPI, create  # noqa: F401
from .nas import (  # noqa: F401
    SearchResult, nb201_accuracy, search, search_table, strategy, synthetic_accuracy)
from ._core import Strategy, StrategyOptions, strategy_names  # noqa: F401
from . import convert  # noqa: F401

__version__ = _core.version
