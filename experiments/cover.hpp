// Device populations and requested-SRCC devices in a run, and the cover stage: the
// fewest proxy devices that leave every device of the run (and of each device class)
// with a proxy of SRCC at least a threshold, over a grid of thresholds.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "experiments/config.hpp"
#include "io/h5.hpp"
#include "kernels/engine.hpp"
#include "sim/device_spec.hpp"
#include "sim/population.hpp"

namespace proxysim {

// Greedy proxy cover of the run's devices (search/proxy_cover.hpp) over a grid of
// SRCC thresholds: for all devices together and, with by_class, for each device class.
struct CoverSettings {
  std::vector<double> thresholds = {0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99};
  bool by_class = true;
  bool include_disconnected = false;  // NB201's 341 disconnected architectures
};

// The population's devices: centers resolved (built-in names, .yaml paths, or every
// built-in of the class), then sampled. UserErrors name the config entry.
std::vector<DeviceSpec> population_specs(const PopulationRequest& request, SpaceId space);

// Architectures an SRCC request is measured on: the run's first `max_archs` (NB201's
// disconnected ones left out, as the monotonicity and cover stages do by default).
inline constexpr uint64_t kSrccMaxArchs = uint64_t{1} << 16;

// The proxy's SRCC to candidate devices on a run's architectures, measured through
// the engine exactly as the run will measure them (same backend, noise seed and mode;
// the candidate under its own name, whose hash keys its noise).
class SrccMeter {
 public:
  SrccMeter(Backend backend, const SearchSpace& space, const ArchBatch& archs, const EngineOptions& options,
            const DeviceSpec& proxy);
  double operator()(const std::string& name, const DeviceParams& candidate) const;
  uint64_t rows() const { return proxy_ms_.size(); }
  const SearchSpace& space() const { return space_; }

 private:
  std::vector<float> latency(const std::string& name, const DeviceParams& params) const;
  Backend backend_;
  SearchSpace space_;
  EngineOptions options_;
  std::vector<uint8_t> codes_;   // the architectures the SRCC uses, rows x decisions
  std::vector<float> proxy_ms_;  // the proxy's latencies on them
};

// The requested device (sim/population.hpp device_with_srcc on the path from the proxy
// to `far`, or to the first of up to 16 scrambled twins drawn from the request's seed
// whose SRCC to the proxy is at most the target, else the one of lowest SRCC).
SrccDevice srcc_spec(const SrccRequest& request, const SrccMeter& meter, const DeviceSpec& proxy);
DeviceSpec resolve_one_device(const std::string& name_or_file, const std::string& where);
// The request's name, or <proxy>_srcc070_s<seed> for SRCC 0.70 (m for a minus sign).
std::string srcc_device_name(const SrccRequest& request, const std::string& proxy_name);

struct CoverReport {
  std::vector<double> thresholds;
  std::vector<std::string> groups;   // "all", then each device class present
  std::vector<int64_t> group_size;
  std::vector<int32_t> proxies_needed;  // [group][threshold]
  // The chosen proxies of (group, threshold) in greedy order, flattened: entries
  // chosen_offset[g * T + t] .. chosen_offset[g * T + t + 1] - 1 of chosen (device names)
  // and chosen_covered (devices of the group covered after each choice).
  std::vector<std::string> chosen;
  std::vector<uint64_t> chosen_covered;
  std::vector<uint64_t> chosen_offset;
  uint64_t rows = 0;                  // architectures the SRCC ran over
  uint64_t excluded_disconnected = 0;
  size_t at(size_t group, size_t t) const { return group * thresholds.size() + t; }
};

// `latency_ms` is rows x devices (NaN = not measured), `codes` rows x space.decisions();
// `classes` names each column's class ("measured" for measured columns).
CoverReport compute_cover(Backend backend, const SearchSpace& space, const std::vector<float>& latency_ms,
                          uint64_t rows, const std::vector<uint8_t>& codes, const std::vector<std::string>& devices,
                          const std::vector<std::string>& classes, const CoverSettings& stage);
// /cover in the result file: thresholds, groups, proxies needed [group, threshold],
// and the chosen proxies with their cumulative coverage (flattened, with offsets).
void write_cover(H5Writer& h5, const CoverReport& r);
// Proxies needed per group at each threshold.
void print_cover_table(const CoverReport& r, std::ostream& out);

}  // namespace proxysim
