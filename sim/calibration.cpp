#include "sim/calibration.hpp"

#include <nlopt.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <set>
#include <tuple>

#include "kernels/rng.hpp"
#include "sim/error.hpp"
#include "sim/latency_model.hpp"

namespace proxysim {

namespace {

// One space's training data lowered once: every architecture's ops back to back.
struct LoweredSet {
  SpaceId space = SpaceId::kNb201;
  std::vector<Op> ops;
  std::vector<uint32_t> begin;  // archs + 1 offsets into ops
  std::vector<double> log_ms;
};

LoweredSet lower_set(const CalibrationSet& set) {
  LoweredSet out;
  out.space = set.space.id();
  out.begin.push_back(0);
  for (size_t i = 0; i < set.codes.size(); ++i) {
    const std::vector<Op> ops = set.space.lower(set.codes[i]);
    out.ops.insert(out.ops.end(), ops.begin(), ops.end());
    out.begin.push_back(static_cast<uint32_t>(out.ops.size()));
    out.log_ms.push_back(std::log(set.latency_ms[i]));
  }
  return out;
}

double walk_ms(const Op* first, const Op* last, const DeviceParams& dev, bool isolate_blocks) {
  LatencyWalk walk(dev, isolate_blocks);
  for (const Op* op = first; op != last; ++op) walk(*op);
  return walk.total_s * 1e3;
}

// The continuous parameters the fit moves, each on a log scale.
enum class Slot { kEfficiency, kDramGbps, kOnchipGbps, kOnchipBytes, kHalfUtilMacs, kLaunchUs };

struct Param {
  Slot slot;
  int op_class = 0;  // kEfficiency only
  std::string name;
  double lower = 0, upper = 0;  // natural units
};

double get(const DeviceParams& d, const Param& p) {
  switch (p.slot) {
    case Slot::kEfficiency: return d.efficiency[p.op_class];
    case Slot::kDramGbps: return d.dram_gbps;
    case Slot::kOnchipGbps: return d.onchip_gbps;
    case Slot::kOnchipBytes: return d.onchip_bytes;
    case Slot::kHalfUtilMacs: return d.half_util_macs;
    case Slot::kLaunchUs: return d.launch_us;
  }
  return 0;
}

void set(DeviceParams& d, const Param& p, double v) {
  const float f = static_cast<float>(v);
  switch (p.slot) {
    case Slot::kEfficiency: d.efficiency[p.op_class] = f; break;
    case Slot::kDramGbps: d.dram_gbps = f; break;
    case Slot::kOnchipGbps: d.onchip_gbps = f; break;
    case Slot::kOnchipBytes: d.onchip_bytes = f; break;
    case Slot::kHalfUtilMacs: d.half_util_macs = f; break;
    case Slot::kLaunchUs: d.launch_us = f; break;
  }
}

// Bounds are physical: an efficiency stays in (0, 2] (above 1 only for Winograd-like
// algorithms or boost clocks) and within 30x of the start; a bandwidth may fall far
// below the datasheet (poor access patterns) but rise at most `headroom` above it; a
// start of 0 (an effect the start device lacks) is moved to the bottom of its range,
// where it is negligible, so the fit can switch it on.
std::vector<Param> parameters(const DeviceParams& start, const std::vector<bool>& class_used, double headroom) {
  std::vector<Param> ps;
  for (int c = 0; c < kNumOpClasses; ++c) {
    if (!class_used[c]) continue;
    const double e = start.efficiency[c];
    ps.push_back({Slot::kEfficiency, c, "efficiency." + std::string(op_class_name(static_cast<OpClass>(c))),
                  std::max(kEfficiencyRange.lo, e / 30.0), std::min(kEfficiencyRange.hi, e * 30.0)});
  }
  ps.push_back({Slot::kDramGbps, 0, "dram_gbps", std::max(kDramGbpsRange.lo, start.dram_gbps / 30.0), start.dram_gbps * headroom});
  ps.push_back({Slot::kOnchipGbps, 0, "onchip_gbps", std::max(kOnchipGbpsRange.lo, start.onchip_gbps / 30.0),
                start.onchip_gbps * headroom});
  ps.push_back({Slot::kOnchipBytes, 0, "onchip_bytes", 1024.0, 1e9});
  ps.push_back({Slot::kHalfUtilMacs, 0, "half_util_macs", 1.0, 1e10});
  ps.push_back({Slot::kLaunchUs, 0, "launch_us", 0.01, 1e4});
  return ps;
}

struct Problem {
  const std::vector<LoweredSet>* sets;
  DeviceParams base;
  std::vector<Param> params;
  int evaluations = 0;

  DeviceParams device(const std::vector<double>& x) const {
    DeviceParams d = base;
    for (size_t i = 0; i < params.size(); ++i) set(d, params[i], std::exp(x[i]));
    return d;
  }

  // Mean over spaces of the mean squared log error, so each space weighs alike.
  double loss(const DeviceParams& d) const {
    double total = 0;
    for (const LoweredSet& s : *sets) {
      double sum = 0;
      const size_t n = s.log_ms.size();
      const bool isolate = isolates_blocks(d, s.space);
      for (size_t i = 0; i < n; ++i) {
        const double ms = walk_ms(s.ops.data() + s.begin[i], s.ops.data() + s.begin[i + 1], d, isolate);
        const double r = std::log(std::max(ms, 1e-9)) - s.log_ms[i];
        sum += r * r;
      }
      total += sum / static_cast<double>(n);
    }
    return total / static_cast<double>(sets->size());
  }

  static double nlopt_objective(const std::vector<double>& x, std::vector<double>& /*grad*/, void* data) {
    auto* self = static_cast<Problem*>(data);
    ++self->evaluations;
    return self->loss(self->device(x));
  }
};

std::vector<double> clamp_start(const Problem& p, const DeviceParams& d) {
  std::vector<double> x;
  for (const Param& q : p.params) x.push_back(std::log(std::clamp(get(d, q), q.lower, q.upper)));
  return x;
}

struct Run {
  std::vector<double> x;
  double loss = std::numeric_limits<double>::infinity();
};

Run bobyqa(Problem& p, std::vector<double> x, int max_evaluations) {
  const size_t dim = p.params.size();
  nlopt::opt opt(nlopt::LN_BOBYQA, static_cast<unsigned>(dim));
  std::vector<double> lo(dim), hi(dim);
  for (size_t i = 0; i < dim; ++i) {
    lo[i] = std::log(p.params[i].lower);
    hi[i] = std::log(p.params[i].upper);
    x[i] = std::clamp(x[i], lo[i], hi[i]);
  }
  opt.set_lower_bounds(lo);
  opt.set_upper_bounds(hi);
  opt.set_min_objective(&Problem::nlopt_objective, &p);
  opt.set_maxeval(max_evaluations);
  opt.set_ftol_rel(1e-9);
  opt.set_xtol_rel(1e-7);
  opt.set_initial_step(0.3);
  double value = 0;
  try {
    opt.optimize(x, value);
  } catch (const nlopt::roundoff_limited&) {
    // The best point so far is in x: BOBYQA stops when its model is at float precision.
    value = p.loss(p.device(x));
  }
  return {x, value};
}

// Start devices that differ only in continuous parameters or batch would repeat one
// another's fit: keep one per discrete structure.
auto structure(const DeviceParams& d) {
  return std::make_tuple(d.lanes_out, d.lanes_in, d.units, d.pixels_per_unit, d.async_launch, d.fuse_bn_act,
                         d.fuse_elementwise, d.prune_dead, d.fold_zero_inputs, d.bytes_per_element, static_cast<int>(d.device_class));
}

}  // namespace

void check_calibration_data(const std::vector<CalibrationSet>& sets, const std::string& what) {
  size_t rows = 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const CalibrationSet& s : sets) {
    if (s.codes.size() != s.latency_ms.size()) {
      throw UserError(what + ": " + std::to_string(s.codes.size()) + " architectures but " +
                      std::to_string(s.latency_ms.size()) + " latencies");
    }
    for (size_t i = 0; i < s.latency_ms.size(); ++i) {
      const double v = s.latency_ms[i];
      if (!std::isfinite(v) || v <= 0) {
        throw UserError(what + ": latency of " + s.space.name() + " architecture '" + s.space.to_string(s.codes[i]) +
                        "' is " + std::to_string(v) + "; calibration needs finite latencies > 0 ms");
      }
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    rows += s.codes.size();
  }
  if (rows < static_cast<size_t>(kMinCalibrationRows)) {
    throw UserError(what + ": " + std::to_string(rows) + " measured architectures; calibration needs at least " +
                    std::to_string(kMinCalibrationRows));
  }
  if (hi <= lo) {
    throw UserError(what + ": every latency is " + std::to_string(lo) +
                    " ms; constant latencies carry no information to fit a device to");
  }
}

std::vector<double> model_latency_ms(const SearchSpace& space, const std::vector<ArchCode>& codes,
                                     const DeviceParams& device) {
  std::vector<double> out(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    const std::vector<Op> ops = space.lower(codes[i]);
    out[i] = walk_ms(ops.data(), ops.data() + ops.size(), device, isolates_blocks(device, space.id()));
  }
  return out;
}

CalibrationResult calibrate_device(const std::vector<DeviceSpec>& starts, const std::vector<CalibrationSet>& sets,
                                   const CalibrationOptions& options) {
  if (starts.empty()) throw UserError("calibration needs at least one start device");
  check_calibration_data(sets, options.data_name);

  std::vector<LoweredSet> lowered;
  for (const CalibrationSet& s : sets) {
    if (!s.codes.empty()) lowered.push_back(lower_set(s));
  }

  const DeviceParams& reference = starts.front().params;
  std::vector<const DeviceSpec*> distinct;
  std::set<decltype(structure(reference))> seen;
  for (const DeviceSpec& s : starts) {
    if (seen.insert(structure(s.params)).second) distinct.push_back(&s);
  }

  std::vector<bool> class_used(kNumOpClasses, false);
  for (const LoweredSet& s : lowered) {
    for (const Op& op : s.ops) class_used[static_cast<int>(op_class(op))] = true;
  }

  // One problem per start structure, each with the reference's batch, noise and timer.
  std::vector<Problem> problems(distinct.size());
  std::vector<Run> runs(distinct.size());
  for (size_t k = 0; k < distinct.size(); ++k) {
    DeviceParams base = distinct[k]->params;
    base.batch = reference.batch;
    base.noise_sigma = reference.noise_sigma;
    base.resolution_ms = reference.resolution_ms;
    std::vector<bool> used = class_used;
    if (!base.fuse_bn_act) used[static_cast<int>(OpClass::kElementwise)] = true;
    problems[k] = Problem{&lowered, base, parameters(base, used, options.bandwidth_headroom), 0};
  }
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t k = 0; k < static_cast<int64_t>(distinct.size()); ++k) {
    try {
      runs[k] = bobyqa(problems[k], clamp_start(problems[k], problems[k].base), options.max_evaluations);
    } catch (...) {
#pragma omp critical
      error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);

  size_t best = 0;
  for (size_t k = 1; k < runs.size(); ++k) {
    if (runs[k].loss < runs[best].loss) best = k;
  }
  Problem& p = problems[best];
  Run run = runs[best];

  // Perturbed restarts around the best fit escape the flat steps of the model
  // (tile ceilings, the on-chip test) that stall a local trust-region method.
  for (int r = 0; r < options.restarts; ++r) {
    std::vector<double> x = run.x;
    for (size_t i = 0; i < x.size(); ++i) {
      const double u = unit_open(counter_hash(options.seed, static_cast<uint64_t>(r), i));
      x[i] += 0.5 * (2.0 * u - 1.0);
    }
    Run trial = bobyqa(p, x, options.max_evaluations);
    if (trial.loss < run.loss) run = trial;
  }

  CalibrationResult result;
  result.params = p.device(run.x);
  result.start = distinct[best]->name;
  result.train_rmse_log = std::sqrt(run.loss);
  result.start_rmse_log = std::sqrt(problems.front().loss(problems.front().base));
  for (const Problem& q : problems) result.evaluations += q.evaluations;
  for (size_t i = 0; i < p.params.size(); ++i) {
    const Param& q = p.params[i];
    result.parameters.push_back({q.name, get(p.base, q), get(result.params, q), q.lower, q.upper});
  }
  return result;
}

LoweredArchs lower_archs(const SearchSpace& space, const std::vector<ArchCode>& codes) {
  LoweredArchs out;
  out.space = space.id();
  out.begin.reserve(codes.size() + 1);
  for (const ArchCode& code : codes) {
    const std::vector<Op> ops = space.lower(code);
    out.ops.insert(out.ops.end(), ops.begin(), ops.end());
    out.begin.push_back(static_cast<uint32_t>(out.ops.size()));
  }
  return out;
}

double lowered_latency_ms(const LoweredArchs& archs, size_t i, const DeviceParams& device) {
  return walk_ms(archs.ops.data() + archs.begin[i], archs.ops.data() + archs.begin[i + 1], device,
                 isolates_blocks(device, archs.space));
}

namespace {

struct RecalibrationProblem {
  const LoweredArchs* archs;
  const std::vector<int64_t>* rows;
  std::vector<double> log_ms;
  DeviceParams base;
  std::vector<Param> params;
  std::vector<double> prior;  // log of the start, clamped into the bounds
  double mu = 0;
  int evaluations = 0;

  DeviceParams device(const std::vector<double>& x) const {
    DeviceParams d = base;
    for (size_t i = 0; i < params.size(); ++i) set(d, params[i], std::exp(x[i]));
    return d;
  }
  // The residuals' variance: the free offset s takes their mean.
  double misfit(const DeviceParams& d, double* offset) const {
    const size_t n = rows->size();
    std::vector<double> r(n);
    double mean = 0;
    for (size_t i = 0; i < n; ++i) {
      const double ms = lowered_latency_ms(*archs, static_cast<size_t>((*rows)[i]), d);
      r[i] = log_ms[i] - std::log(std::max(ms, 1e-9));
      mean += r[i];
    }
    mean /= static_cast<double>(n);
    double ss = 0;
    for (double v : r) ss += (v - mean) * (v - mean);
    if (offset) *offset = mean;
    return ss / static_cast<double>(n);
  }
  double loss(const std::vector<double>& x) const {
    double penalty = 0;
    for (size_t i = 0; i < x.size(); ++i) penalty += (x[i] - prior[i]) * (x[i] - prior[i]);
    return misfit(device(x), nullptr) + mu * penalty;
  }
  static double nlopt_objective(const std::vector<double>& x, std::vector<double>& /*grad*/, void* data) {
    auto* self = static_cast<RecalibrationProblem*>(data);
    ++self->evaluations;
    return self->loss(x);
  }
};

}  // namespace

Recalibration recalibrate_device(const DeviceParams& start, const LoweredArchs& archs, const std::vector<int64_t>& rows,
                                 const std::vector<double>& latency_ms, double mu, int max_evaluations,
                                 double bandwidth_headroom) {
  if (rows.size() != latency_ms.size() || rows.size() < 2) {
    throw UserError("recalibration: " + std::to_string(rows.size()) + " rows and " +
                    std::to_string(latency_ms.size()) + " latencies; expected as many of each, at least 2");
  }
  if (!(mu >= 0)) throw UserError("recalibration: mu = " + std::to_string(mu) + ", expected >= 0 or infinity");
  RecalibrationProblem p;
  p.archs = &archs;
  p.rows = &rows;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || static_cast<size_t>(rows[i]) >= archs.size()) {
      throw UserError("recalibration: row " + std::to_string(rows[i]) + " is outside the " +
                      std::to_string(archs.size()) + " lowered architectures");
    }
    if (!std::isfinite(latency_ms[i]) || latency_ms[i] <= 0) {
      throw UserError("recalibration: latency " + std::to_string(latency_ms[i]) + " ms of row " +
                      std::to_string(rows[i]) + "; expected finite and > 0");
    }
    p.log_ms.push_back(std::log(latency_ms[i]));
  }
  p.base = start;
  p.mu = mu;
  Recalibration out;
  if (std::isinf(mu)) {
    // The prior alone: the start itself, bit for bit (no exp/log round trip).
    out.params = start;
    out.loss = p.misfit(start, &out.log_scale);
    return out;
  }
  // The parameters the rows' operators exercise, as calibrate_device chooses them.
  std::vector<bool> used(kNumOpClasses, false);
  for (int64_t r : rows) {
    for (uint32_t k = archs.begin[static_cast<size_t>(r)]; k < archs.begin[static_cast<size_t>(r) + 1]; ++k)
      used[static_cast<int>(op_class(archs.ops[k]))] = true;
  }
  if (!start.fuse_bn_act) used[static_cast<int>(OpClass::kElementwise)] = true;
  p.params = parameters(start, used, bandwidth_headroom);
  const size_t dim = p.params.size();
  std::vector<double> lo(dim), hi(dim), x(dim);
  for (size_t i = 0; i < dim; ++i) {
    lo[i] = std::log(p.params[i].lower);
    hi[i] = std::log(p.params[i].upper);
    x[i] = std::log(std::clamp(get(start, p.params[i]), p.params[i].lower, p.params[i].upper));
  }
  p.prior = x;
  nlopt::opt opt(nlopt::LN_BOBYQA, static_cast<unsigned>(dim));
  opt.set_lower_bounds(lo);
  opt.set_upper_bounds(hi);
  opt.set_min_objective(&RecalibrationProblem::nlopt_objective, &p);
  opt.set_maxeval(max_evaluations);
  opt.set_ftol_rel(1e-7);
  opt.set_xtol_rel(1e-5);
  // A tenth of a log unit: the prior keeps the optimum near the start, and a smaller
  // first step spends fewer of the capped evaluations on the interpolation set.
  opt.set_initial_step(0.1);
  double value = 0;
  try {
    opt.optimize(x, value);
  } catch (const nlopt::roundoff_limited&) {
    value = p.loss(x);  // x holds the best point so far
  }
  out.params = p.device(x);
  out.loss = value;
  out.evaluations = p.evaluations;
  p.misfit(out.params, &out.log_scale);
  return out;
}

}  // namespace proxysim
