#include "search/adaptation.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "base/error.hpp"
#include "base/rng.hpp"
#include "search/python_random.hpp"
#include "search/schemes/support.hpp"

namespace proxysim {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using adaptation_detail::least_squares;

namespace {

void check_samples(const TargetSamples& s, const char* what, Index n, std::set<int64_t>& seen) {
  if (static_cast<Index>(s.rows.size()) != s.latency_ms.size()) {
    throw UserError(std::string("adaptation input: ") + what + " has " + std::to_string(s.rows.size()) +
                    " rows but " + std::to_string(s.latency_ms.size()) + " latencies");
  }
  for (size_t i = 0; i < s.rows.size(); ++i) {
    const int64_t r = s.rows[i];
    if (r < 0 || r >= n) {
      throw UserError(std::string("adaptation input: ") + what + " row " + std::to_string(r) +
                      " is outside the " + std::to_string(n) + " architectures");
    }
    if (!seen.insert(r).second) {
      throw UserError(std::string("adaptation input: ") + what + " row " + std::to_string(r) +
                      " is sampled twice");
    }
    const double v = s.latency_ms[static_cast<Index>(i)];
    if (!(std::isfinite(v) && v > 0)) {
      throw UserError(std::string("adaptation input: ") + what + " latency of row " + std::to_string(r) + " is " +
                      std::to_string(v) + " (a latency must be positive and finite)");
    }
  }
}

}  // namespace

ProxyTwin make_proxy_twin(std::string proxy, const DeviceSpec& twin, const SearchSpace& space,
                          const std::vector<ArchCode>& codes) {
  ProxyTwin t;
  t.proxy = std::move(proxy);
  t.name = twin.name;
  t.params = twin.params_for(space.id());
  t.archs = std::make_shared<const LoweredArchs>(lower_archs(space, codes));
  return t;
}

const MatrixXd& no_candidate_proxies() {
  static const MatrixXd empty(0, 0);
  return empty;
}

void check_adaptation_input(const AdaptationInput& in) {
  const Index n = in.features.rows();
  if (in.proxy_ms.size() != n) {
    throw UserError("adaptation input: " + std::to_string(in.proxy_ms.size()) + " proxy latencies for " +
                    std::to_string(n) + " architectures");
  }
  if (!in.proxy_ms.allFinite() || !(in.proxy_ms.array() > 0).all()) {
    throw UserError("adaptation input: a proxy latency is not positive and finite");
  }
  std::set<int64_t> seen;
  if (in.candidate_proxies_ms.cols() > 0) {
    if (in.candidate_proxies_ms.rows() != n) {
      throw UserError("adaptation input: " + std::to_string(in.candidate_proxies_ms.rows()) +
                      " rows of candidate proxy latencies for " + std::to_string(n) + " architectures");
    }
    if (!in.candidate_proxies_ms.allFinite() || !(in.candidate_proxies_ms.array() > 0).all()) {
      throw UserError("adaptation input: a candidate proxy latency is not positive and finite");
    }
  }
  check_samples(in.train, "train", n, seen);
  check_samples(in.validation, "validation", n, seen);
  if (in.train.rows.size() < 3) {
    throw UserError("adaptation input: " + std::to_string(in.train.rows.size()) +
                    " training samples, expected at least 3");
  }
}

VectorXd proxy_operator_weights(const Eigen::Ref<const MatrixXd>& features, const Eigen::Ref<const VectorXd>& proxy_ms) {
  return least_squares(features, proxy_ms);
}

TargetSamples gather_target_samples(const std::vector<int64_t>& rows, const float* target_ms) {
  TargetSamples s;
  s.rows = rows;
  s.latency_ms.resize(static_cast<Index>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) s.latency_ms[static_cast<Index>(i)] = target_ms[rows[i]];
  return s;
}

std::vector<int64_t> draw_rows(uint64_t seed, const std::vector<int64_t>& pool, int64_t count) {
  if (count < 0 || count > static_cast<int64_t>(pool.size())) {
    throw UserError("draw_rows: " + std::to_string(count) + " samples from a pool of " +
                    std::to_string(pool.size()));
  }
  std::vector<int64_t> p = pool;
  for (int64_t i = 0; i < count; ++i) {
    const auto left = static_cast<uint32_t>(p.size() - static_cast<size_t>(i));
    const int64_t j = i + bounded(counter_hash(seed ^ 0x6a09e667f3bcc908ull, 0, static_cast<uint64_t>(i)), left);
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  p.resize(static_cast<size_t>(count));
  return p;
}

std::vector<int64_t> draw_rows_stratified(uint64_t seed, const std::vector<int64_t>& pool,
                                          const std::vector<double>& key, int64_t count) {
  if (key.size() != pool.size()) {
    throw UserError("draw_rows_stratified: " + std::to_string(key.size()) + " keys for a pool of " +
                    std::to_string(pool.size()));
  }
  if (count < 0 || count > static_cast<int64_t>(pool.size())) {
    throw UserError("draw_rows_stratified: " + std::to_string(count) + " samples from a pool of " +
                    std::to_string(pool.size()));
  }
  for (double k : key) {
    if (std::isnan(k)) throw UserError("draw_rows_stratified: a key is NaN");
  }
  std::vector<size_t> order(pool.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key[a] < key[b]; });
  const auto m = static_cast<int64_t>(pool.size());
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t s = 0; s < count; ++s) {
    // Stratum s holds sorted positions [s m / count, (s + 1) m / count): sizes differ by one at most.
    const int64_t lo = s * m / count, hi = (s + 1) * m / count;
    const auto width = static_cast<uint32_t>(hi - lo);
    const int64_t at = lo + bounded(counter_hash(seed ^ 0xbb67ae8584caa73bull, 1, static_cast<uint64_t>(s)), width);
    out.push_back(pool[order[static_cast<size_t>(at)]]);
  }
  return out;
}

const std::vector<std::string>& lambda_grid_names() {
  static const std::vector<std::string> names = {"authors", "proxysim"};
  return names;
}

const std::vector<std::string>& lambda_tie_names() {
  static const std::vector<std::string> names = {"least_penalised", "most_penalised"};
  return names;
}

LambdaGrid lambda_grid_from_name(std::string_view name) {
  if (name == "authors") return LambdaGrid::kAuthors;
  if (name == "proxysim") return LambdaGrid::kProxysim;
  throw UserError("unknown lambda grid '" + std::string(name) + "', expected authors or proxysim");
}

LambdaTie lambda_tie_from_name(std::string_view name) {
  if (name == "least_penalised") return LambdaTie::kLeastPenalised;
  if (name == "most_penalised") return LambdaTie::kMostPenalised;
  throw UserError("unknown lambda tie-break '" + std::string(name) + "', expected least_penalised or most_penalised");
}

const std::vector<std::string>& sampling_names() {
  static const std::vector<std::string> names = {"random", "stratified"};
  return names;
}

const std::vector<std::string>& adaptation_sampling_names() {
  static const std::vector<std::string> names = {"random", "stratified", "authors"};
  return names;
}

Sampling sampling_from_name(std::string_view name) {
  if (name == "random") return Sampling::kRandom;
  if (name == "stratified") return Sampling::kStratified;
  if (name == "authors") return Sampling::kAuthors;
  throw UserError("unknown sampling '" + std::string(name) + "', expected random, stratified or authors");
}

SampleSplit draw_adaptation_samples(Sampling sampling, uint64_t seed, const std::vector<double>& proxy_ms, int64_t n,
                                    int64_t v) {
  const auto m = static_cast<int64_t>(proxy_ms.size());
  if (n < 0 || v < 0 || n + v > m) {
    throw UserError("adaptation samples: " + std::to_string(n) + " training + " + std::to_string(v) +
                    " validation from " + std::to_string(m) + " architectures");
  }
  std::vector<int64_t> pool(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) pool[static_cast<size_t>(i)] = i;
  SampleSplit out;
  if (sampling == Sampling::kRandom || sampling == Sampling::kAuthors) {
    const std::vector<int64_t> drawn = sampling == Sampling::kRandom ? draw_rows(seed, pool, n + v) : python_sample(seed, m, n + v);
    out.train.assign(drawn.begin(), drawn.begin() + n);
    out.validation.assign(drawn.begin() + n, drawn.end());
    return out;
  }
  out.train = draw_rows_stratified(seed, pool, proxy_ms, n);
  std::vector<uint8_t> taken(static_cast<size_t>(m), 0);
  for (int64_t i : out.train) taken[static_cast<size_t>(i)] = 1;
  std::vector<int64_t> rest;
  std::vector<double> rest_key;
  for (int64_t i = 0; i < m; ++i) {
    if (taken[static_cast<size_t>(i)]) continue;
    rest.push_back(i);
    rest_key.push_back(proxy_ms[static_cast<size_t>(i)]);
  }
  out.validation = draw_rows_stratified(counter_hash(seed, 2, 0x7a11d), rest, rest_key, v);
  return out;
}

std::unique_ptr<AdaptationScheme> make_adaptation_scheme(std::string_view name, const AdaptationOptions& options) {
  using namespace adaptation_detail;
  if (name == "none") return make_none_scheme();
  if (name == "target_only") return make_target_only_scheme();
  if (name == "adaproxy") return make_adaproxy_scheme(false, options.adaproxy_grid, options.adaproxy_tie);
  if (name == "adaproxy_sq") return make_adaproxy_scheme(true, options.adaproxy_grid, options.adaproxy_tie);
  if (name == "anchored") return make_anchored_scheme();
  if (name == "multi_proxy") return make_multi_proxy_scheme(options.multi_proxy_k);
  if (name == "twin") return make_twin_scheme(options.twin_mu, options.twin_max_evaluations);
  if (name == "target_twin") return make_target_twin_scheme(options.twin_mu, options.twin_max_evaluations, true);
  if (name == "target_start") return make_target_twin_scheme(options.twin_mu, options.twin_max_evaluations, false);
  std::string known;
  for (const auto& n : adaptation_scheme_names()) known += (known.empty() ? "" : ", ") + n;
  throw UserError("unknown adaptation scheme '" + std::string(name) + "', expected one of " + known);
}

std::vector<std::string> adaptation_scheme_names() {
  return {"none", "target_only", "adaproxy", "adaproxy_sq", "anchored", "multi_proxy", "twin", "target_twin", "target_start"};
}

}  // namespace proxysim
