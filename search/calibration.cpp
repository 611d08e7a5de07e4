#include "search/calibration.hpp"

#include <fmt/format.h>

#include <nlopt.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>
#include <set>
#include <tuple>

#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"
#include "base/error.hpp"
#include "sim/latency_model.hpp"

namespace proxysim {

namespace {

// Some rows of one space's data lowered once: every architecture's ops back to back.
struct LoweredSet {
  SpaceId space = SpaceId::kNb201;
  std::vector<Op> ops;
  std::vector<uint32_t> begin;  // archs + 1 offsets into ops
  std::vector<double> ms, log_ms;
  double weight = 1.0;  // 1 / the variance of log_ms: the loss is a fraction of it
  size_t size() const { return log_ms.size(); }
};

// A set's log-latency variance below (1 %)^2 is taken as (1 %)^2, so a space measured
// as nearly constant cannot outweigh the others without bound.
constexpr double kMinLogVariance = 1e-4;

LoweredSet lower_rows(const CalibrationSet& set, const std::vector<size_t>& rows) {
  LoweredSet out;
  out.space = set.space.id();
  out.begin.push_back(0);
  for (size_t i : rows) {
    const std::vector<Op> ops = set.space.lower(set.codes[i]);
    out.ops.insert(out.ops.end(), ops.begin(), ops.end());
    out.begin.push_back(static_cast<uint32_t>(out.ops.size()));
    out.ms.push_back(set.latency_ms[i]);
    out.log_ms.push_back(std::log(set.latency_ms[i]));
  }
  double mean = 0, var = 0;
  for (double v : out.log_ms) mean += v;
  mean /= static_cast<double>(std::max<size_t>(out.size(), 1));
  for (double v : out.log_ms) var += (v - mean) * (v - mean);
  var /= static_cast<double>(std::max<size_t>(out.size(), 1));
  out.weight = 1.0 / std::max(var, kMinLogVariance);
  return out;
}

double walk_ms(const Op* first, const Op* last, const DeviceParams& dev, bool isolate_blocks) {
  LatencyWalk walk(dev, isolate_blocks);
  for (const Op* op = first; op != last; ++op) walk(*op);
  return walk.total_s * 1e3 * dev.level;
}

std::vector<double> predict(const LoweredSet& s, const DeviceParams& d) {
  std::vector<double> out(s.size());
  const bool isolate = isolates_blocks(d, s.space);
  for (size_t i = 0; i < s.size(); ++i) out[i] = walk_ms(s.ops.data() + s.begin[i], s.ops.data() + s.begin[i + 1], d, isolate);
  return out;
}

// Mean over sets of each set's mean squared log error, weighted (the loss) or not
// (its square root is the reported rms log error).
double set_loss(const std::vector<LoweredSet>& sets, const DeviceParams& d, bool weighted) {
  double total = 0;
  for (const LoweredSet& s : sets) {
    const std::vector<double> ms = predict(s, d);
    double sum = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const double r = std::log(std::max(ms[i], 1e-9)) - s.log_ms[i];
      sum += r * r;
    }
    total += (weighted ? s.weight : 1.0) * sum / static_cast<double>(s.size());
  }
  return total / static_cast<double>(sets.size());
}

double srcc(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  const std::vector<float> fa(a.begin(), a.end()), fb(b.begin(), b.end());
  return spearman_pair(Backend::kCpu, fa.data(), fb.data(), static_cast<int64_t>(fa.size()));
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

// A device k times slower in every op: compute (efficiencies), memory (bandwidths)
// and dispatch (launch) all scale by k, so every latency does and every ranking is
// kept. half_util_macs and the on-chip capacity are counts, not times. In the fitted
// parameters only, so that a fit can start from it.
DeviceParams rescaled(DeviceParams d, double k) {
  for (float& e : d.efficiency) e = static_cast<float>(e / k);
  d.dram_gbps = static_cast<float>(d.dram_gbps / k);
  d.onchip_gbps = static_cast<float>(d.onchip_gbps / k);
  d.launch_us = static_cast<float>(d.launch_us * k);
  return d;
}

// The same device clocked k times slower, k rounded to a power of two: peak,
// bandwidths and dispatch scale, the efficiencies (bounded by 2) do not. A power of
// two scales every float parameter, and so every latency, exactly: every ranking is
// kept bit for bit, at the price of a level within a factor sqrt(2) of the data's.
// How a start is brought to the data's level.
DeviceParams clocked(DeviceParams d, double k) {
  const double p = std::exp2(std::round(std::log2(k)));
  d.peak_gflops = static_cast<float>(d.peak_gflops / p);
  d.dram_gbps = static_cast<float>(d.dram_gbps / p);
  d.onchip_gbps = static_cast<float>(d.onchip_gbps / p);
  d.launch_us = static_cast<float>(d.launch_us * p);
  return d;
}

// The fit's objective: the weighted loss over the fit rows, plus the prior
// mu * ||x - prior||^2 on the log parameters (mu = 0: none).
struct Problem {
  const std::vector<LoweredSet>* sets;
  DeviceParams base;
  std::vector<Param> params;
  std::vector<double> prior;  // log of the base, clamped into the bounds
  double mu = 0;
  int evaluations = 0;

  DeviceParams device(const std::vector<double>& x) const {
    DeviceParams d = base;
    for (size_t i = 0; i < params.size(); ++i) set(d, params[i], std::exp(x[i]));
    return d;
  }

  double objective(const std::vector<double>& x) const {
    double penalty = 0;
    if (mu > 0) {
      for (size_t i = 0; i < x.size(); ++i) penalty += (x[i] - prior[i]) * (x[i] - prior[i]);
    }
    return set_loss(*sets, device(x), true) + mu * penalty;
  }

  static double nlopt_objective(const std::vector<double>& x, std::vector<double>& /*grad*/, void* data) {
    auto* self = static_cast<Problem*>(data);
    ++self->evaluations;
    return self->objective(x);
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
    value = p.objective(x);
  }
  return {x, value};
}

// Start devices that differ only in continuous parameters or batch would repeat one
// another's fit: keep one per discrete structure.
auto structure(const DeviceParams& d) {
  return std::make_tuple(d.lanes_out, d.lanes_in, d.units, d.pixels_per_unit, d.async_launch, d.fuse_bn_act,
                         d.fuse_elementwise, d.prune_dead, d.fold_zero_inputs, d.bytes_per_element, static_cast<int>(d.device_class));
}

// Rows of each set held back for validation: a deterministic draw of
// floor(n * fraction) rows, or none for every set when some set would get fewer
// than kMinValidationRows or keep fewer than 3 rows to fit on.
constexpr size_t kMinValidationRows = 5;

std::vector<std::vector<bool>> validation_rows(const std::vector<CalibrationSet>& sets, double fraction, uint64_t seed) {
  std::vector<std::vector<bool>> held(sets.size());
  bool possible = fraction > 0;
  for (const CalibrationSet& s : sets) {
    const size_t n = s.codes.size();
    const auto v = static_cast<size_t>(std::floor(static_cast<double>(n) * fraction));
    if (v < kMinValidationRows || n - v < 3) possible = false;
  }
  for (size_t k = 0; k < sets.size(); ++k) {
    const size_t n = sets[k].codes.size();
    held[k].assign(n, false);
    if (!possible) continue;
    std::vector<uint64_t> key(n);
    for (size_t i = 0; i < n; ++i) key[i] = counter_hash(seed ^ 0x7a11da7eull, k, i);
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key[a] < key[b] || (key[a] == key[b] && a < b); });
    const auto v = static_cast<size_t>(std::floor(static_cast<double>(n) * fraction));
    for (size_t i = 0; i < v; ++i) held[k][order[i]] = true;
  }
  return held;
}

std::string fmt_mu(double mu) { return mu == 0 ? std::string("fit") : fmt::format("fit, mu {:g}", mu); }

// The factor that brings a device to the data's level: exp of the loss-weighted mean
// log ratio of measured to predicted latency.
double level_factor(const std::vector<LoweredSet>& sets, const DeviceParams& d) {
  double num = 0, den = 0;
  for (const LoweredSet& s : sets) {
    const std::vector<double> ms = predict(s, d);
    double mean = 0;
    for (size_t i = 0; i < s.size(); ++i) mean += s.log_ms[i] - std::log(std::max(ms[i], 1e-9));
    num += s.weight * mean / static_cast<double>(s.size());
    den += s.weight;
  }
  return std::exp(num / den);
}

// Whether every fitted parameter of `d` is inside its bounds (the ones the start lacks,
// at 0, are left out: rescaling keeps them at 0).
bool within_bounds(const std::vector<Param>& params, const DeviceParams& d) {
  for (const Param& q : params) {
    const double v = get(d, q);
    if (v != 0 && (v < q.lower || v > q.upper)) return false;
  }
  return true;
}

// Whether a clocked device is still a valid device: the parameters clocking moves
// stay in their physical ranges (the device YAML's).
bool within_ranges(const DeviceParams& d) {
  auto in = [](double v, ParamRange r) { return v >= r.lo && v <= r.hi; };
  for (float e : d.efficiency) {
    if (!in(e, kEfficiencyRange)) return false;
  }
  return in(d.peak_gflops, kPeakGflopsRange) && in(d.dram_gbps, kDramGbpsRange) &&
         in(d.onchip_gbps, kOnchipGbpsRange) && in(d.launch_us, kLaunchUsRange);
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
  for (double mu : options.prior_weights) {
    if (!(mu > 0) || !std::isfinite(mu)) throw UserError("calibration: prior weight " + std::to_string(mu) + ", expected > 0");
  }

  // Fit rows and validation rows of every non-empty set.
  const std::vector<std::vector<bool>> held = validation_rows(sets, options.validation_fraction, options.seed);
  std::vector<LoweredSet> fit_sets, val_sets;
  std::vector<std::string> names;  // the space of each lowered set
  int64_t fit_rows = 0, val_rows = 0;
  for (size_t k = 0; k < sets.size(); ++k) {
    if (sets[k].codes.empty()) continue;
    names.push_back(sets[k].space.name());
    std::vector<size_t> fit, val;
    for (size_t i = 0; i < sets[k].codes.size(); ++i) (held[k][i] ? val : fit).push_back(i);
    fit_sets.push_back(lower_rows(sets[k], fit));
    val_sets.push_back(lower_rows(sets[k], val));
    fit_rows += static_cast<int64_t>(fit.size());
    val_rows += static_cast<int64_t>(val.size());
  }
  const bool validate = val_rows > 0;

  // The reference start as given, and as the data were measured.
  const DeviceParams& reference = starts.front().params;
  DeviceParams measured = reference;
  for (const CalibrationSet& s : sets) measured.measurement[static_cast<int>(s.space.id())] = s.measurement;

  std::vector<const DeviceSpec*> distinct;
  std::set<decltype(structure(reference))> seen;
  for (const DeviceSpec& s : starts) {
    if (seen.insert(structure(s.params)).second) distinct.push_back(&s);
  }
  // The reference's tiling without its reduction lanes, and without any lanes: the
  // widths a datasheet gives (an array's rows, a SIMD width) need not be the ones the
  // measured runtime's kernels quantise to (HW-NAS-Bench's FPGA estimates, fitted
  // from the ZC706's 64-row tiling, rank FBNet at 0.87; without it, at 0.98).
  std::vector<DeviceSpec> variants;
  variants.reserve(2);
  for (int v = 0; v < 2; ++v) {
    DeviceSpec d = starts.front();
    d.params.lanes_in = 1;
    if (v == 1) d.params.lanes_out = 1;
    d.name = starts.front().name + (v == 0 ? " (lanes_in 1)" : " (lanes 1)");
    if (seen.insert(structure(d.params)).second) variants.push_back(std::move(d));
  }
  for (const DeviceSpec& d : variants) distinct.push_back(&d);

  std::vector<bool> class_used(kNumOpClasses, false);
  for (const LoweredSet& s : fit_sets) {
    for (const Op& op : s.ops) class_used[static_cast<int>(op_class(op))] = true;
  }

  // One problem per start structure, each with the reference's batch, noise, timer
  // and the data's measurement methods.
  std::vector<Problem> problems(distinct.size());
  std::vector<Run> runs(distinct.size());
  for (size_t k = 0; k < distinct.size(); ++k) {
    DeviceParams base = distinct[k]->params;
    base.batch = reference.batch;
    base.noise_sigma = reference.noise_sigma;
    base.resolution_ms = reference.resolution_ms;
    std::copy(std::begin(measured.measurement), std::end(measured.measurement), std::begin(base.measurement));
    std::vector<bool> used = class_used;
    if (!base.fuse_bn_act) used[static_cast<int>(OpClass::kElementwise)] = true;
    problems[k] = Problem{&fit_sets, base, parameters(base, used, options.bandwidth_headroom), {}, 0.0, 0};
    // The fit starts from, and its prior pulls toward, the start at the data's level
    // where that is inside the bounds, else the start itself.
    const DeviceParams level = rescaled(base, level_factor(fit_sets, base));
    problems[k].prior = clamp_start(problems[k], within_bounds(problems[k].params, level) ? level : base);
  }
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t k = 0; k < static_cast<int64_t>(distinct.size()); ++k) {
    try {
      runs[k] = bobyqa(problems[k], problems[k].prior, options.max_evaluations);
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

  // The candidates: the start as given, the start measured as the data were, the fits
  // pulled toward their start (strongest prior first), the best fit.
  struct Candidate {
    CalibrationCandidate report;
    DeviceParams params;
    const Problem* problem;  // whose parameters it reports
    std::string structure;
  };
  std::vector<Candidate> cands;
  auto named = [](std::string name, double mu) {
    CalibrationCandidate r;
    r.name = std::move(name);
    r.mu = mu;
    return r;
  };
  cands.push_back({named("start", 0), reference, &problems.front(), starts.front().name});
  bool measured_differs = false;
  for (int s = 0; s < kNumSpaces; ++s) measured_differs = measured_differs || measured.measurement[s] != reference.measurement[s];
  if (measured_differs) {
    cands.push_back({named("start, measured as the data", 0), measured, &problems.front(), starts.front().name});
  }
  // The start at the data's level: every latency times one factor (DeviceParams::level),
  // which keeps its ranking exactly.
  DeviceParams level = measured;
  level.level = static_cast<float>(measured.level * level_factor(fit_sets, measured));
  if (level.level >= kLevelRange.lo && level.level <= kLevelRange.hi) {
    cands.push_back({named("start, at the data's level", 0), level, &problems.front(), starts.front().name});
  }
  int evaluations = 0;
  if (validate) {
    std::vector<Problem> priors(options.prior_weights.size(), p);
    std::vector<Run> prior_runs(priors.size());
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = 0; k < static_cast<int64_t>(priors.size()); ++k) {
      try {
        priors[k].mu = options.prior_weights[k];
        priors[k].evaluations = 0;
        prior_runs[k] = bobyqa(priors[k], run.x, options.max_evaluations);
      } catch (...) {
#pragma omp critical
        error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    std::vector<size_t> order(priors.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return priors[a].mu > priors[b].mu; });
    for (size_t k : order) {
      cands.push_back({named(fmt_mu(priors[k].mu), priors[k].mu), priors[k].device(prior_runs[k].x), &p,
                       distinct[best]->name});
      evaluations += priors[k].evaluations;
    }
    // Fits that cannot trade one space for another: the start clocked to the data's
    // level, with only the efficiencies of op classes no other space has (FBNet's
    // depthwise and grouped convolutions next to NB201) fitted. The other spaces'
    // rankings are the start's, exactly.
    if (fit_sets.size() > 1) {
      std::vector<std::vector<bool>> uses(fit_sets.size(), std::vector<bool>(kNumOpClasses, false));
      for (size_t k = 0; k < fit_sets.size(); ++k) {
        for (const Op& op : fit_sets[k].ops) uses[k][static_cast<int>(op_class(op))] = true;
      }
      for (size_t k = 0; k < fit_sets.size(); ++k) {
        Problem q = problems.front();
        q.base = clocked(measured, level_factor(fit_sets, measured));
        q.params.clear();
        for (const Param& prm : problems.front().params) {
          if (prm.slot != Slot::kEfficiency || !uses[k][prm.op_class]) continue;
          bool shared = false;
          for (size_t j = 0; j < fit_sets.size(); ++j) shared = shared || (j != k && uses[j][prm.op_class]);
          if (!shared) q.params.push_back(prm);
        }
        if (q.params.empty()) continue;
        q.mu = 0;
        q.evaluations = 0;
        const Run own = bobyqa(q, clamp_start(q, q.base), options.max_evaluations);
        evaluations += q.evaluations;
        const DeviceParams d = q.device(own.x);
        if (!within_ranges(d)) continue;
        cands.push_back({named("start, " + names[k] + "-only classes fitted", 0), d, &problems.front(),
                         starts.front().name});
      }
    }
  }
  cands.push_back({named(fmt_mu(0), 0), p.device(run.x), &p, distinct[best]->name});

  CalibrationResult result;
  size_t chosen = cands.size() - 1;
  if (validate) {
    std::vector<std::vector<std::vector<double>>> preds(cands.size());
    for (size_t c = 0; c < cands.size(); ++c) {
      for (const LoweredSet& s : val_sets) {
        preds[c].push_back(predict(s, cands[c].params));
        cands[c].report.validation_srcc.push_back(srcc(preds[c].back(), s.ms));
      }
      cands[c].report.validation_loss = set_loss(val_sets, cands[c].params, true);
    }
    // Bootstrap standard error of each candidate's SRCC minus the start's, resampling
    // the validation rows of each set (the same resamples for every candidate).
    for (size_t k = 0; k < val_sets.size(); ++k) {
      const size_t n = val_sets[k].size();
      std::vector<std::vector<double>> diffs(cands.size());
      std::vector<double> a(n), b(n), y(n);
      for (int r = 0; r < options.bootstrap; ++r) {
        std::vector<size_t> idx(n);
        for (size_t i = 0; i < n; ++i) idx[i] = bounded(counter_hash(options.seed ^ 0xb007ull, k * 1000003 + static_cast<uint64_t>(r), i), static_cast<uint32_t>(n));
        for (size_t i = 0; i < n; ++i) {
          y[i] = val_sets[k].ms[idx[i]];
          b[i] = preds[0][k][idx[i]];
        }
        const double base = srcc(b, y);
        for (size_t c = 1; c < cands.size(); ++c) {
          for (size_t i = 0; i < n; ++i) a[i] = preds[c][k][idx[i]];
          diffs[c].push_back(srcc(a, y) - base);
        }
      }
      cands[0].report.validation_se.push_back(0.0);
      for (size_t c = 1; c < cands.size(); ++c) {
        double mean = 0, var = 0;
        for (double d : diffs[c]) mean += d;
        mean /= static_cast<double>(std::max<size_t>(diffs[c].size(), 1));
        for (double d : diffs[c]) var += (d - mean) * (d - mean);
        const double se = diffs[c].size() > 1 ? std::sqrt(var / static_cast<double>(diffs[c].size() - 1)) : 0.0;
        cands[c].report.validation_se.push_back(std::isfinite(se) ? se : 0.0);
      }
    }
    // A candidate that keeps the start's ranking of a set by construction (its
    // latencies there the start's times one factor: the start clocked to the data's
    // level, or a set whose classes a joint fit left alone) passes there with no gain.
    // Any other must gain: a fit that happens to rank the 50 validation rows exactly as
    // the start does (a difference of 0 with a standard error of 0) has shown nothing,
    // and may rank the held-out rows a little worse.
    auto proportional = [](const std::vector<double>& a, const std::vector<double>& b) {
      if (a.empty()) return true;
      const double f = a.front() / b.front();
      for (size_t i = 0; i < a.size(); ++i) {
        if (!(std::abs(a[i] / (f * b[i]) - 1.0) <= 1e-5)) return false;
      }
      return true;
    };
    const std::vector<double>& floor = cands.front().report.validation_srcc;
    for (size_t c = 0; c < cands.size(); ++c) {
      bool ok = true;
      for (size_t k = 0; k < floor.size(); ++k) {
        if (std::isnan(floor[k])) continue;
        const double gain = cands[c].report.validation_srcc[k] - floor[k];
        const bool kept = proportional(preds[c][k], preds[0][k]);
        ok = ok && gain >= options.validation_z * cands[c].report.validation_se[k] && (kept || gain > 0);
      }
      cands[c].report.eligible = ok;
    }
    // The eligible candidate with the lowest validation loss; a tie keeps the earlier
    // (the start, then the more constrained fit).
    chosen = 0;
    for (size_t k = 1; k < cands.size(); ++k) {
      if (cands[k].report.eligible && cands[k].report.validation_loss < cands[chosen].report.validation_loss) chosen = k;
    }
    const Candidate& c = cands[chosen];
    auto srccs = [&](const Candidate& x) {
      std::string out;
      for (size_t k = 0; k < val_sets.size(); ++k) {
        out += fmt::format("{}{} {:.4f}", k ? ", " : "", names[k], x.report.validation_srcc[k]);
      }
      return out;
    };
    if (chosen > 0) {
      result.reason = fmt::format("{}: validation loss {:.4g} (start {:.4g}), validation SRCC {} (start {})", c.report.name,
                                  c.report.validation_loss, cands[0].report.validation_loss, srccs(c), srccs(cands[0]));
    } else {
      std::string why;
      for (size_t k = 1; k < cands.size(); ++k) {
        const Candidate& f = cands[k];
        std::string what;
        for (size_t s = 0; s < val_sets.size(); ++s) {
          if (!(f.report.validation_srcc[s] - floor[s] >= options.validation_z * f.report.validation_se[s])) {
            what += fmt::format("{}{} SRCC {:.4f} vs {:.4f} (standard error {:.4f})", what.empty() ? "" : ", ",
                                names[s], f.report.validation_srcc[s], floor[s], f.report.validation_se[s]);
          }
        }
        if (what.empty()) what = fmt::format("loss {:.4g} >= {:.4g}", f.report.validation_loss, cands[0].report.validation_loss);
        why += fmt::format("; {}: {}", f.report.name, what);
      }
      result.reason = "no candidate beats the start on the validation rows, so the twin is the start" + why;
    }
  } else {
    result.reason = "no validation rows (validation_fraction 0, or too few rows): the best fit on every row is kept";
  }

  const Candidate& c = cands[chosen];
  result.params = c.params;
  result.start = c.structure;
  result.chosen = c.report.name;
  result.train_rmse_log = std::sqrt(set_loss(fit_sets, c.params, false));
  result.start_rmse_log = std::sqrt(set_loss(fit_sets, measured, false));
  for (const Problem& q : problems) result.evaluations += q.evaluations;
  result.evaluations += evaluations;
  for (const Param& q : c.problem->params) {
    result.parameters.push_back({q.name, get(c.problem->base, q), get(result.params, q), q.lower, q.upper});
  }
  for (const Candidate& x : cands) result.candidates.push_back(x.report);
  result.fit_rows = fit_rows;
  result.validation_rows = val_rows;
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
