#include "experiments/calibrate.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "sim/device_yaml.hpp"
#include "io/measured_csv.hpp"
#include "kernels/rank_stats.hpp"
#include "search/adaptation.hpp"
#include "search/features.hpp"
#include "search/schemes/support.hpp"
#include "base/error.hpp"

namespace proxysim {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Split {
  std::string file, column;
  SearchSpace space;
  std::vector<ArchCode> train_codes, held_codes;
  std::vector<double> train_ms, held_ms;
};

Split load_split(const std::string& spec, const std::string& dataset, int64_t train, uint64_t seed) {
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
    throw UserError("--data '" + spec + "': expected FILE:COLUMN, e.g. ../shared/data/help_nb201_latency.csv:pixel3");
  }
  const std::string file = spec.substr(0, colon);
  const MeasuredTable t = read_measured_csv(file);
  Split s{file, spec.substr(colon + 1), make_space(t.space, t.space == "nb201" ? dataset : std::string()), {}, {}, {}, {}};
  // The split's seed is keyed by the space (SpaceId order), so a space's training rows
  // are the same whichever other spaces are fitted beside it.
  seed += static_cast<uint64_t>(s.space.id());
  int64_t col = -1;
  std::string names;
  for (size_t j = 0; j < t.devices.size(); ++j) {
    if (t.devices[j] == s.column) col = static_cast<int64_t>(j);
    names += (j ? ", " : "") + t.devices[j];
  }
  if (col < 0) throw UserError(s.file + ": no device column '" + s.column + "' (columns: " + names + ")");

  const size_t devices = t.devices.size();
  std::vector<int64_t> pool;
  for (size_t r = 0; r < t.rows(); ++r) {
    const float v = t.latency_ms[r * devices + static_cast<size_t>(col)];
    if (std::isfinite(v) && t.connected[r]) pool.push_back(static_cast<int64_t>(r));
  }
  if (pool.empty()) throw UserError(s.file + ": column '" + s.column + "' has no measured architectures");
  const int64_t n_train = std::min<int64_t>(train, static_cast<int64_t>(pool.size()));
  const std::vector<int64_t> picked = draw_rows(seed, pool, n_train);
  std::vector<bool> is_train(t.rows(), false);
  for (int64_t r : picked) is_train[static_cast<size_t>(r)] = true;
  auto ms = [&](int64_t r) { return static_cast<double>(t.latency_ms[static_cast<size_t>(r) * devices + col]); };
  for (int64_t r : picked) {
    s.train_codes.push_back(t.codes[static_cast<size_t>(r)]);
    s.train_ms.push_back(ms(r));
  }
  for (int64_t r : pool) {
    if (is_train[static_cast<size_t>(r)]) continue;
    s.held_codes.push_back(t.codes[static_cast<size_t>(r)]);
    s.held_ms.push_back(ms(r));
  }
  return s;
}

double srcc(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 2) return kNaN;
  const std::vector<float> fa(a.begin(), a.end()), fb(b.begin(), b.end());
  return spearman_pair(Backend::kCpu, fa.data(), fb.data(), static_cast<int64_t>(fa.size()));
}

double kendall(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 2) return kNaN;
  const std::vector<float> fa(a.begin(), a.end()), fb(b.begin(), b.end());
  return kendall_tau_b(Backend::kCpu, fa.data(), fb.data(), static_cast<int64_t>(fa.size()));
}

double mape(const std::vector<double>& pred, const std::vector<double>& meas) {
  if (meas.empty()) return kNaN;
  double s = 0;
  for (size_t i = 0; i < meas.size(); ++i) s += std::abs(pred[i] - meas[i]) / meas[i];
  return s / static_cast<double>(meas.size());
}

double within(const std::vector<double>& pred, const std::vector<double>& meas, double tol) {
  if (meas.empty()) return kNaN;
  size_t k = 0;
  for (size_t i = 0; i < meas.size(); ++i) k += std::abs(pred[i] / meas[i] - 1.0) <= tol;
  return static_cast<double>(k) / static_cast<double>(meas.size());
}

// AdaProxy's base predictor: least squares on one-hot operator features (minimum-norm
// solution, since each decision's one-hots sum to the constant column).
std::vector<double> linear_baseline(const Split& s) {
  const Eigen::MatrixXd x = one_hot_features(s.space.id(), s.train_codes);
  const Eigen::VectorXd y = Eigen::Map<const Eigen::VectorXd>(s.train_ms.data(), static_cast<Eigen::Index>(s.train_ms.size()));
  const Eigen::VectorXd w = adaptation_detail::least_squares(x, y);  // with AdaProxy's explicit rank cut
  if (s.held_codes.empty()) return {};
  const Eigen::VectorXd p = one_hot_features(s.space.id(), s.held_codes) * w;
  return std::vector<double>(p.data(), p.data() + p.size());
}

// The largest relative residual of the one-hot least-squares fit on the training
// rows, NaN when the rows leave fewer than kAdditivityDof residual degrees of freedom
// (a fit that interpolates says nothing). Below kAdditiveTolerance the table is a sum
// of per-block measurements: an end-to-end measurement is never additive to float
// precision (timer noise alone is larger), a lookup-table sum always is.
constexpr double kAdditiveTolerance = 1e-6;
constexpr int64_t kAdditivityDof = 10;

double additivity(const Split& s) {
  const Eigen::MatrixXd x = one_hot_features(s.space.id(), s.train_codes);
  const Eigen::VectorXd y = Eigen::Map<const Eigen::VectorXd>(s.train_ms.data(), static_cast<Eigen::Index>(s.train_ms.size()));
  const Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod(x);
  if (x.rows() - cod.rank() < kAdditivityDof) return kNaN;
  const Eigen::VectorXd r = x * cod.solve(y) - y;
  double worst = 0;
  for (Eigen::Index i = 0; i < r.size(); ++i) worst = std::max(worst, std::abs(r[i]) / y[i]);
  return worst;
}

std::string measurement_name(Measurement m) { return m == Measurement::kBlockSum ? "block_sum" : "end_to_end"; }

// --measurement SPACE=METHOD entries, checked against the spaces of --data.
std::map<std::string, Measurement> given_measurements(const std::vector<std::string>& specs,
                                                      const std::set<std::string>& spaces) {
  std::map<std::string, Measurement> out;
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    const std::string space = spec.substr(0, eq), method = eq == std::string::npos ? "" : spec.substr(eq + 1);
    if (eq == std::string::npos || !spaces.count(space)) {
      std::string known;
      for (const std::string& n : spaces) known += (known.empty() ? "" : ", ") + n;
      throw UserError("--measurement '" + spec + "': expected SPACE=end_to_end or SPACE=block_sum with SPACE one of the --data spaces (" + known + ")");
    }
    if (method != "end_to_end" && method != "block_sum") {
      throw UserError("--measurement '" + spec + "': the method is end_to_end or block_sum, found '" + method + "'");
    }
    if (!out.emplace(space, method == "block_sum" ? Measurement::kBlockSum : Measurement::kEndToEnd).second) {
      throw UserError("--measurement: space " + space + " is given twice");
    }
  }
  return out;
}

bool whole_milliseconds(const Split& s) {
  return std::all_of(s.train_ms.begin(), s.train_ms.end(), [](double v) { return v == std::floor(v); });
}

std::string json_number(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : "null"; }

}  // namespace

CalibrateReport run_calibrate(const CalibrateOptions& o, std::ostream& log) {
  if (o.data.empty()) throw UserError("calibrate: give at least one --data FILE:COLUMN");
  if (o.starts.empty()) throw UserError("calibrate: give --start, the built-in device the fit starts from");
  if (o.train < kMinCalibrationRows) {
    throw UserError("calibrate: --train " + std::to_string(o.train) + " is below the minimum of " +
                    std::to_string(kMinCalibrationRows));
  }

  std::vector<Split> splits;
  std::set<std::string> spaces;
  for (size_t k = 0; k < o.data.size(); ++k) {
    Split s = load_split(o.data[k], o.dataset, o.train, o.seed);
    if (!spaces.insert(s.space.name()).second) {
      throw UserError("calibrate: two --data entries are in space " + s.space.name() + "; give one table per space");
    }
    splits.push_back(std::move(s));
  }

  std::vector<DeviceSpec> starts;
  std::set<std::string> named;
  for (const std::string& n : o.starts) {
    if (named.insert(n).second) starts.push_back(builtin_device(n));
  }
  if (o.batch < 0 || o.batch > 4096) throw UserError("calibrate: --batch must be in [1, 4096], found " + std::to_string(o.batch));
  if (o.batch > 0) starts.front().params.batch = o.batch;
  if (o.class_starts) {
    for (const DeviceSpec& d : builtin_devices()) {
      if (d.params.device_class == starts.front().params.device_class && named.insert(d.name).second) starts.push_back(d);
    }
  }

  const std::map<std::string, Measurement> given = given_measurements(o.measurement, spaces);
  std::vector<CalibrationSet> sets;
  std::vector<double> additive(splits.size());
  sets.reserve(splits.size());
  for (size_t k = 0; k < splits.size(); ++k) {
    const Split& s = splits[k];
    additive[k] = additivity(s);
    const auto it = given.find(s.space.name());
    const Measurement m = it != given.end()          ? it->second
                          : additive[k] < kAdditiveTolerance ? Measurement::kBlockSum
                                                             : Measurement::kEndToEnd;
    sets.push_back({s.space, s.train_codes, s.train_ms, m});
    fmt::print(log, "calibrate: {} measured {} ({}; one-hot least squares off by at most {:.2g} relative)\n",
               s.space.name(), measurement_name(m), it != given.end() ? "given" : "detected", additive[k]);
  }

  fmt::print(log, "calibrate: {} space(s), {} start device(s) from {} ({}), BOBYQA in log latency\n", splits.size(),
             starts.size(), starts.front().name, device_class_name(starts.front().params.device_class));
  const auto t0 = std::chrono::steady_clock::now();
  CalibrateReport report;
  CalibrationOptions copt;
  copt.seed = o.seed;
  copt.restarts = o.restarts;
  copt.max_evaluations = o.max_evaluations;
  if (!(o.validation_fraction >= 0 && o.validation_fraction < 1)) {
    throw UserError("calibrate: --validation must be in [0, 1), found " + std::to_string(o.validation_fraction));
  }
  copt.validation_fraction = o.validation_fraction;
  // The starts as evaluated in a space (a twin started from keeps its per-space sets).
  auto starts_in = [&](SpaceId id) {
    std::vector<DeviceSpec> out;
    out.reserve(starts.size());
    for (const DeviceSpec& d : starts) out.push_back(in_space(d, id));
    return out;
  };
  auto log_fit = [&](const CalibrationResult& f, const std::string& what, double seconds) {
    fmt::print(log, "calibrate: {}fitted in {:.1f} s, {} evaluations, rms log error {:.4f} (start {:.4f}), structure of {}\n",
               what, seconds, f.evaluations, f.train_rmse_log, f.start_rmse_log, f.start);
    fmt::print(log, "calibrate: {}kept {}: {}\n", what, f.chosen, f.reason);
  };
  if (o.joint || splits.size() == 1) {
    copt.data_name = "calibrate " + o.data.front();
    report.fits.push_back(calibrate_device(starts_in(splits.front().space.id()), sets, copt));
    report.fit_spaces.emplace_back();
    for (const Split& s : splits) report.fit_spaces.back().push_back(s.space.name());
    log_fit(report.fits.back(), "", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  } else {
    for (size_t k = 0; k < splits.size(); ++k) {
      const auto tk = std::chrono::steady_clock::now();
      copt.data_name = "calibrate " + o.data[k];
      report.fits.push_back(calibrate_device(starts_in(splits[k].space.id()), {sets[k]}, copt));
      report.fit_spaces.push_back({splits[k].space.name()});
      log_fit(report.fits.back(), splits[k].space.name() + ": ",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - tk).count());
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The fit that made split k's parameters: its own, or the one joint fit.
  auto fit_of = [&](size_t k) { return report.fits.size() == 1 ? size_t{0} : k; };

  DeviceSpec& twin = report.twin;
  twin.name = o.name.empty() ? "twin_" + splits.front().column : o.name;
  for (char& ch : twin.name) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) ch = '_';
  }
  std::string where;
  for (const Split& s : splits) {
    where += (where.empty() ? "" : ", ") + fmt::format("{} column {} ({} archs)",
                                                      std::filesystem::path(s.file).filename().string(), s.column,
                                                      s.train_codes.size());
  }
  std::string structure;
  for (size_t f = 0; f < report.fits.size(); ++f) {
    structure += (f ? ", " : "") + report.fits[f].start;
    if (report.fits.size() > 1) structure += " (" + report.fit_spaces[f].front() + ")";
  }
  twin.imitates = o.imitates.empty() ? "real device '" + splits.front().column + "' as measured in " + where : o.imitates;
  twin.source = fmt::format("proxysim calibrate: {} (seed {}{}); structure from built-in {}, started from {}", where,
                            o.seed, report.fits.size() > 1 ? ", one fit per space" : "", structure, starts.front().name);
  // Each space's parameters: its fit's, evaluating each space the way the candidate
  // kept for it does (measured as the table was, or as the start is); phones that
  // report whole milliseconds keep doing so in the twin. The first space's set is also
  // the twin's set for every space it was not fitted on.
  auto params_of = [&](size_t k) {
    DeviceParams p = report.fits[fit_of(k)].params;
    for (size_t j = 0; j < splits.size(); ++j) {
      const int id = static_cast<int>(splits[j].space.id());
      p.measurement[id] = report.fits[fit_of(j)].params.measurement[id];
    }
    const bool whole = o.joint ? std::all_of(splits.begin(), splits.end(), [](const Split& s) { return whole_milliseconds(s); })
                               : whole_milliseconds(splits[k]);
    if (whole) p.resolution_ms = 1.0f;
    // A table of block sums has no noise of its own per architecture: each block was
    // timed once and the same number enters every architecture that has the block, so
    // the twin of such a space draws none either (its per-block errors are the fit's).
    if (!o.joint && p.measurement[static_cast<int>(splits[k].space.id())] == Measurement::kBlockSum) p.noise_sigma = 0;
    return p;
  };
  twin.params = params_of(0);
  if (report.fits.size() > 1) {
    for (size_t k = 1; k < splits.size(); ++k) twin.space_params[static_cast<size_t>(splits[k].space.id())] = params_of(k);
  }
  twin.file = o.out_yaml;

  for (size_t k = 0; k < splits.size(); ++k) {
    const Split& s = splits[k];
    HeldOutReport h;
    h.space = s.space.name();
    h.fit = fit_of(k);
    h.measurement = measurement_name(sets[k].measurement);
    h.measurement_source = given.count(h.space) ? "given" : "detected";
    h.additivity = additive[k];
    h.file = s.file;
    h.column = s.column;
    h.train = static_cast<int64_t>(s.train_codes.size());
    h.held_out = static_cast<int64_t>(s.held_codes.size());
    const std::vector<double> pred = model_latency_ms(s.space, s.held_codes, twin.params_for(s.space.id()));
    h.srcc = srcc(pred, s.held_ms);
    h.kendall = kendall(pred, s.held_ms);
    h.mape = mape(pred, s.held_ms);
    h.within10 = within(pred, s.held_ms, 0.10);
    h.start_srcc = srcc(model_latency_ms(s.space, s.held_codes, starts.front().params_for(s.space.id())), s.held_ms);
    const std::vector<double> lin = linear_baseline(s);
    h.linear_srcc = srcc(lin, s.held_ms);
    h.linear_mape = mape(lin, s.held_ms);
    std::vector<double> macs;
    for (const ArchCode& c : s.held_codes) macs.push_back(s.space.totals(c).macs);
    h.macs_srcc = srcc(macs, s.held_ms);
    if (h.held_out < 2) fmt::print(log, "calibrate: warning: {} has no held-out architectures to report on\n", s.file);
    report.spaces.push_back(h);
  }

  if (!o.out_yaml.empty()) {
    std::string comment = fmt::format("Twin of a real device, written by `proxysim calibrate` (seed {}).\n", o.seed);
    for (const HeldOutReport& h : report.spaces) {
      comment += fmt::format("{} ({}): held-out SRCC {:.4f} (start {:.4f}), Kendall {:.4f}, MAPE {:.1f}%, within 10% {:.1f}% ({} held out)\n",
                             h.space, h.measurement, h.srcc, h.start_srcc, h.kendall, 100 * h.mape, 100 * h.within10,
                             h.held_out);
    }
    for (size_t f = 0; f < report.fits.size(); ++f) {
      const CalibrationResult& fit = report.fits[f];
      std::string on;
      for (const std::string& n : report.fit_spaces[f]) on += (on.empty() ? "" : " + ") + n;
      comment += on + ": kept " + fit.chosen + " (" + std::to_string(fit.fit_rows) + " rows fitted, " +
                 std::to_string(fit.validation_rows) + " held back to validate)\n";
    }
    const std::filesystem::path path(o.out_yaml);
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    const std::string tmp = o.out_yaml + ".partial";
    {
      std::ofstream out(tmp);
      if (!out) throw UserError(o.out_yaml + ": cannot write");
      out << device_yaml(twin, comment);
      if (!out) throw UserError(o.out_yaml + ": write failed");
    }
    std::filesystem::rename(tmp, o.out_yaml);
  }
  if (!o.report_json.empty()) {
    std::ofstream out(o.report_json);
    if (!out) throw UserError(o.report_json + ": cannot write");
    out << calibrate_report_json(report);
  }
  return report;
}

void print_calibrate_report(const CalibrateReport& r, std::ostream& out) {
  fmt::print(out, "{}: held-out architectures (twin | linear one-hot on the same training set | MACs | start device)\n",
             r.twin.name);
  fmt::print(out, "  {:<9} {:>6} {:>6}  {:>6} {:>7} {:>7} {:>6}  {:>6} {:>7}  {:>6}  {:>6}\n", "space", "train", "held",
             "SRCC", "Kendall", "MAPE%", "<=10%", "linSRCC", "linMAPE%", "MACs", "start");
  for (const HeldOutReport& h : r.spaces) {
    fmt::print(out, "  {:<9} {:>6} {:>6}  {:>6.4f} {:>7.4f} {:>7.1f} {:>6.1f}  {:>7.4f} {:>8.1f}  {:>6.4f}  {:>6.4f}\n",
               h.space, h.train, h.held_out, h.srcc, h.kendall, 100 * h.mape, 100 * h.within10, h.linear_srcc,
               100 * h.linear_mape, h.macs_srcc, h.start_srcc);
  }
  for (const HeldOutReport& h : r.spaces) {
    fmt::print(out, "  {} measured {} ({}, one-hot least squares off by at most {:.2g} relative)\n", h.space,
               h.measurement, h.measurement_source, h.additivity);
  }
  for (size_t f = 0; f < r.fits.size(); ++f) {
    std::string on;
    for (const std::string& n : r.fit_spaces[f]) on += (on.empty() ? "" : " + ") + n;
    fmt::print(out, "  {}: kept {}: {}\n", on, r.fits[f].chosen, r.fits[f].reason);
    fmt::print(out, "  {}: fitted parameters (start {} -> fitted, bounds):\n", on, r.fits[f].start);
    for (const FittedParameter& p : r.fits[f].parameters) {
      fmt::print(out, "    {:<28} {:>12.5g} -> {:>12.5g}   [{:.3g}, {:.3g}]\n", p.name, p.start, p.value, p.lower, p.upper);
    }
  }
}

std::string calibrate_report_json(const CalibrateReport& r) {
  auto quoted = [](const std::string& text) {
    std::string q = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') q += '\\';
      q += c;
    }
    return q + "\"";
  };
  std::string s = fmt::format("{{\"twin\": \"{}\", \"seconds\": {}, \"fits\": [", r.twin.name, json_number(r.seconds));
  for (size_t f = 0; f < r.fits.size(); ++f) {
    const CalibrationResult& fit = r.fits[f];
    std::string on;
    for (const std::string& n : r.fit_spaces[f]) on += (on.empty() ? "" : ", ") + quoted(n);
    s += fmt::format("{}{{\"spaces\": [{}], \"start\": \"{}\", \"evaluations\": {}, \"train_rmse_log\": {}, "
                     "\"start_rmse_log\": {}, \"fit_rows\": {}, \"validation_rows\": {}, \"chosen\": {}, "
                     "\"reason\": {}, \"candidates\": [",
                     f ? ", " : "", on, fit.start, fit.evaluations, json_number(fit.train_rmse_log),
                     json_number(fit.start_rmse_log), fit.fit_rows, fit.validation_rows, quoted(fit.chosen),
                     quoted(fit.reason));
    for (size_t i = 0; i < fit.candidates.size(); ++i) {
      const CalibrationCandidate& c = fit.candidates[i];
      std::string v, se;
      for (size_t k = 0; k < c.validation_srcc.size(); ++k) v += (k ? ", " : "") + json_number(c.validation_srcc[k]);
      for (size_t k = 0; k < c.validation_se.size(); ++k) se += (k ? ", " : "") + json_number(c.validation_se[k]);
      s += fmt::format("{}{{\"name\": {}, \"mu\": {}, \"validation_srcc\": [{}], \"validation_se\": [{}], "
                       "\"validation_loss\": {}, \"eligible\": {}}}",
                       i ? ", " : "", quoted(c.name), json_number(c.mu), v, se, json_number(c.validation_loss),
                       c.eligible ? "true" : "false");
    }
    s += "]}";
  }
  s += "], \"spaces\": [";
  for (size_t i = 0; i < r.spaces.size(); ++i) {
    const HeldOutReport& h = r.spaces[i];
    s += fmt::format("{}{{\"space\": \"{}\", \"column\": \"{}\", \"file\": \"{}\", \"train\": {}, \"held_out\": {}, "
                     "\"srcc\": {}, \"kendall\": {}, \"mape\": {}, \"within10\": {}, \"start_srcc\": {}, "
                     "\"linear_srcc\": {}, \"linear_mape\": {}, \"macs_srcc\": {}, \"measurement\": \"{}\", "
                     "\"measurement_source\": \"{}\", \"additivity\": {}, \"fit\": {}}}",
                     i ? ", " : "", h.space, h.column, std::filesystem::path(h.file).filename().string(), h.train,
                     h.held_out, json_number(h.srcc), json_number(h.kendall), json_number(h.mape),
                     json_number(h.within10), json_number(h.start_srcc), json_number(h.linear_srcc),
                     json_number(h.linear_mape), json_number(h.macs_srcc), h.measurement, h.measurement_source,
                     json_number(h.additivity), h.fit);
  }
  return s + "]}\n";
}

}  // namespace proxysim
