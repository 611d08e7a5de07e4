#include "experiments/cover.hpp"
#include "experiments/stage_rows.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "sim/device_yaml.hpp"
#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"
#include "search/proxy_cover.hpp"
#include "base/error.hpp"
#include "sim/nb201.hpp"

namespace proxysim {

namespace {

// Row chunk of the SRCC meter's evaluations: bounds its buffers, not the row count.
constexpr uint64_t kMeterChunk = uint64_t{1} << 14;
// Scrambled twins tried for a far device before settling for the farthest.
constexpr uint64_t kTwinTries = 16;

std::string where_or(const std::string& where, const std::string& fallback) {
  return where.empty() ? fallback : where;
}

}  // namespace

DeviceSpec resolve_one_device(const std::string& name_or_file, const std::string& where) {
  std::vector<DeviceSpec> found;
  try {
    found = select_devices(name_or_file);
  } catch (const UserError& e) {
    throw UserError(where + ": " + e.what());
  }
  if (found.size() != 1) throw UserError(where + ": expected one device, found '" + name_or_file + "'");
  return found.front();
}

std::vector<DeviceSpec> population_specs(const PopulationRequest& r, SpaceId space) {
  const std::string where = where_or(r.where, "population");
  const auto cls = parse_device_class(r.device_class);
  if (!cls) throw UserError(where + ": unknown device class '" + r.device_class + "'");
  std::vector<DeviceSpec> centers;
  if (r.centers.empty()) {
    // The datasheet-based library and the twins calibrated to real devices.
    for (const auto* lib : {&builtin_devices(), &twin_devices()}) {
      for (const auto& d : *lib) {
        if (d.params.device_class == *cls) centers.push_back(in_space(d, space));
      }
    }
    if (centers.empty()) {
      throw UserError(where + ": no built-in device of class '" + r.device_class + "' to center the population on");
    }
  } else {
    for (const auto& c : r.centers) centers.push_back(in_space(resolve_one_device(c, where + ".centers"), space));
  }
  PopulationOptions o;
  o.device_class = *cls;
  o.count = r.count;
  o.seed = r.seed;
  o.spread_scale = r.spread;
  o.prefix = r.prefix;
  try {
    return sample_population(centers, o);
  } catch (const UserError& e) {
    throw UserError(where + ": " + e.what());
  }
}

SrccMeter::SrccMeter(Backend backend, const SearchSpace& space, const ArchBatch& archs, const EngineOptions& options,
                     const DeviceSpec& proxy)
    : backend_(backend), space_(space), options_(options) {
  const int K = space.decisions();
  auto engine = make_engine(backend, space, {{proxy.name, proxy.params_for(space.id())}}, options);
  const uint64_t n = std::min(archs.count, kSrccMaxArchs);
  std::vector<uint8_t> codes(kMeterChunk * K);
  std::vector<float> ms(kMeterChunk), macs(kMeterChunk), params(kMeterChunk);
  for (uint64_t first = 0; first < n; first += kMeterChunk) {
    ArchBatch b = archs;
    b.first = archs.first + first;
    b.count = std::min(kMeterChunk, n - first);
    if (archs.codes) b.codes = archs.codes + first * K;
    engine->evaluate(b, codes.data(), ms.data(), macs.data(), params.data());
    for (uint64_t i = 0; i < b.count; ++i) {
      const uint8_t* code = codes.data() + i * K;
      if (leaves_out(space, code, false)) continue;
      codes_.insert(codes_.end(), code, code + K);
      proxy_ms_.push_back(ms[i]);
    }
  }
  if (proxy_ms_.size() < 3) {
    throw UserError("srcc_to: the run has " + std::to_string(proxy_ms_.size()) +
                    " usable architectures; an SRCC needs at least 3");
  }
}

std::vector<float> SrccMeter::latency(const std::string& name, const DeviceParams& params) const {
  const int K = space_.decisions();
  auto engine = make_engine(backend_, space_, {{name, params}}, options_);
  const uint64_t n = proxy_ms_.size();
  std::vector<float> out(n);
  std::vector<uint8_t> codes(kMeterChunk * K);
  std::vector<float> macs(kMeterChunk), prm(kMeterChunk);
  for (uint64_t first = 0; first < n; first += kMeterChunk) {
    ArchBatch b;
    b.kind = ArchBatch::Kind::kList;
    b.first = first;
    b.count = std::min(kMeterChunk, n - first);
    b.codes = codes_.data() + first * K;
    engine->evaluate(b, codes.data(), out.data() + first, macs.data(), prm.data());
  }
  return out;
}

double SrccMeter::operator()(const std::string& name, const DeviceParams& candidate) const {
  const std::vector<float> ms = latency(name, candidate);
  return spearman_pair(backend_, proxy_ms_.data(), ms.data(), static_cast<int64_t>(ms.size()));
}

std::string srcc_device_name(const SrccRequest& r, const std::string& proxy_name) {
  if (!r.name.empty()) return r.name;
  const long hundredths = std::lround(std::abs(r.srcc) * 100.0);
  return fmt::format("{}_srcc{}{:03d}_s{}", proxy_name, r.srcc < 0 ? "m" : "", hundredths, r.seed);
}

SrccDevice srcc_spec(const SrccRequest& r, const SrccMeter& meter, const DeviceSpec& proxy) {
  const std::string where = where_or(r.where, "srcc_to");
  const std::string name = srcc_device_name(r, proxy.name);
  DeviceSpec far;
  if (!r.far.empty()) {
    far = in_space(resolve_one_device(r.far, where + ".far"), meter.space().id());
  } else {
    // The first of the seed's scrambled twins far enough to put the target on the path
    // (a twin's SRCC to the proxy varies widely with its draw), else the farthest.
    double lowest = 2.0;
    for (uint64_t k = 0; k < kTwinTries; ++k) {
      DeviceSpec twin = scrambled_twin(proxy, counter_hash(r.seed, k, 0x7417u));
      const double s = meter(name, twin.params);
      if (s < lowest) {
        lowest = s;
        far = twin;
      }
      if (s <= r.srcc) break;
    }
  }
  try {
    return device_with_srcc(
        proxy, far, r.srcc, [&](const DeviceParams& p) { return meter(name, p); }, name);
  } catch (const UserError& e) {
    throw UserError(where + ": " + e.what());
  }
}

CoverReport compute_cover(Backend backend, const SearchSpace& space, const std::vector<float>& latency_ms,
                          uint64_t rows, const std::vector<uint8_t>& codes, const std::vector<std::string>& devices,
                          const std::vector<std::string>& classes, const CoverSettings& stage) {
  const auto D = static_cast<int32_t>(devices.size());
  const int K = space.decisions();
  CoverReport r;
  r.thresholds = stage.thresholds;
  std::vector<float> kept;
  kept.reserve(latency_ms.size());
  for (uint64_t i = 0; i < rows; ++i) {
    if (leaves_out(space, codes.data() + i * K, stage.include_disconnected)) {
      ++r.excluded_disconnected;
      continue;
    }
    kept.insert(kept.end(), latency_ms.begin() + static_cast<int64_t>(i * D),
                latency_ms.begin() + static_cast<int64_t>((i + 1) * D));
  }
  r.rows = rows - r.excluded_disconnected;
  const PairMatrix srcc = spearman_matrix(backend, {kept.data(), static_cast<int64_t>(r.rows), D});

  // Groups: every device, then each class when there are several.
  std::vector<std::vector<int32_t>> members(1);
  r.groups.push_back("all");
  for (int32_t d = 0; d < D; ++d) members[0].push_back(d);
  if (stage.by_class) {
    std::vector<std::string> order;
    std::map<std::string, std::vector<int32_t>> by;
    for (int32_t d = 0; d < D; ++d) {
      if (!by.count(classes[d])) order.push_back(classes[d]);
      by[classes[d]].push_back(d);
    }
    if (order.size() > 1) {
      for (const auto& c : order) {
        r.groups.push_back(c);
        members.push_back(by[c]);
      }
    }
  }
  r.chosen_offset.push_back(0);
  for (const auto& m : members) {
    const auto G = static_cast<int32_t>(m.size());
    r.group_size.push_back(G);
    std::vector<double> sub(static_cast<size_t>(G) * G);
    for (int32_t a = 0; a < G; ++a) {
      for (int32_t b = 0; b < G; ++b) sub[static_cast<size_t>(a) * G + b] = srcc.at(m[a], m[b]);
    }
    for (const ProxyCover& c : proxy_cover_curve(sub, G, r.thresholds)) {
      r.proxies_needed.push_back(static_cast<int32_t>(c.proxies.size()));
      for (size_t j = 0; j < c.proxies.size(); ++j) {
        r.chosen.push_back(devices[m[c.proxies[j]]]);
        r.chosen_covered.push_back(static_cast<uint64_t>(c.covered[j]));
      }
      r.chosen_offset.push_back(r.chosen.size());
    }
  }
  return r;
}

void write_cover(H5Writer& h5, const CoverReport& r) {
  h5.group("/cover");
  {
    const std::vector<float> f(r.thresholds.begin(), r.thresholds.end());
    H5Matrix m = h5.vector_f32("/cover/thresholds", f.size(), "threshold");
    m.write_rows(0, f.size(), f.data());
  }
  h5.strings("/cover/groups", r.groups, "group");
  {
    const std::vector<uint64_t> sizes(r.group_size.begin(), r.group_size.end());
    H5Matrix m = h5.vector_u64("/cover/group_size", sizes.size(), "group");
    m.write_rows(0, sizes.size(), sizes.data());
  }
  {
    // Counts far below 2^24, so float32 holds them exactly.
    const std::vector<float> f(r.proxies_needed.begin(), r.proxies_needed.end());
    h5.array_f32("/cover/proxies_needed", {r.groups.size(), r.thresholds.size()}, f.data(), {"group", "threshold"});
  }
  h5.strings("/cover/chosen", r.chosen, "choice");
  {
    H5Matrix m = h5.vector_u64("/cover/chosen_covered", r.chosen_covered.size(), "choice");
    m.write_rows(0, r.chosen_covered.size(), r.chosen_covered.data());
    H5Matrix o = h5.vector_u64("/cover/chosen_offset", r.chosen_offset.size(), "group_threshold");
    o.write_rows(0, r.chosen_offset.size(), r.chosen_offset.data());
  }
  h5.attr("/cover", "archs", static_cast<int64_t>(r.rows));
  h5.attr("/cover", "excluded_disconnected", static_cast<int64_t>(r.excluded_disconnected));
}

void print_cover_table(const CoverReport& r, std::ostream& out) {
  size_t w = 10;
  for (const auto& g : r.groups) w = std::max(w, g.size());
  fmt::print(out, "\nProxy cover: proxies needed so every device has one with SRCC >= threshold ({} archs)\n{:<{}} {:>7}",
             r.rows, "group", w, "devices");
  for (double t : r.thresholds) fmt::print(out, " {:>5.2f}", t);
  fmt::print(out, "\n");
  for (size_t g = 0; g < r.groups.size(); ++g) {
    fmt::print(out, "{:<{}} {:>7}", r.groups[g], w, r.group_size[g]);
    for (size_t t = 0; t < r.thresholds.size(); ++t) fmt::print(out, " {:>5}", r.proxies_needed[r.at(g, t)]);
    fmt::print(out, "\n");
  }
}

}  // namespace proxysim
