#include "experiments/stage_checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "experiments/adapt.hpp"
#include "experiments/deploy.hpp"
#include "experiments/monotonicity.hpp"
#include "experiments/nas.hpp"
#include "experiments/select.hpp"
#include "search/nas.hpp"
#include "sim/error.hpp"
#include "sim/nb201.hpp"

namespace proxysim {

void check_stage_devices(const ExperimentConfig& c, const std::vector<std::string>& names) {
  if (c.monotonicity) monotonicity_target_column(c.monotonicity_stage, names);
  if (c.adapt) {
    resolve_adapt_devices(c.adapt_stage, names);
    resolve_adapt_twin(c.adapt_stage);
  }
  if (c.select) resolve_select_devices(c.select_stage, names);
  if (c.nas) resolve_nas_devices(c.nas_stage, names);
  if (c.deploy) resolve_deploy_devices(c.deploy_stage, names);
}

namespace {

// Which rows each column has a latency for: every row for a simulated column, the
// rows whose architecture its table measured for a measured one.
class Coverage {
 public:
  Coverage(int simulated, const std::vector<MeasuredTable>& tables, const std::vector<ArchCode>& rows)
      : simulated_(simulated), rows_(rows) {
    for (const auto& t : tables) {
      std::map<ArchCode, size_t> line;
      for (size_t i = 0; i < t.codes.size(); ++i) line.emplace(t.codes[i], i);
      for (size_t d = 0; d < t.devices.size(); ++d) {
        std::vector<uint8_t> has(rows.size(), 0);
        for (size_t r = 0; r < rows.size(); ++r) {
          const auto it = line.find(rows[r]);
          has[r] = it != line.end() && !std::isnan(t.latency_ms[it->second * t.devices.size() + d]);
        }
        measured_.push_back(std::move(has));
      }
    }
  }
  // Rows measured on both columns, connected ones only on NB201 unless `all`.
  int64_t both(int a, int b, bool nb201_connected_only) const {
    int64_t m = 0;
    for (size_t r = 0; r < rows_.size(); ++r) {
      if (!on(a, r) || !on(b, r)) continue;
      if (nb201_connected_only && !nb201::connected(rows_[r].data())) continue;
      ++m;
    }
    return m;
  }

 private:
  bool on(int col, size_t r) const { return col < simulated_ || measured_[static_cast<size_t>(col - simulated_)][r]; }
  int simulated_;
  const std::vector<ArchCode>& rows_;
  std::vector<std::vector<uint8_t>> measured_;
};

}  // namespace

void check_stage_data(const ExperimentConfig& c, const SearchSpace& space, const std::vector<std::string>& names,
                      int simulated, const std::vector<MeasuredTable>& tables, const std::vector<ArchCode>& rows) {
  if (c.nas) require_tabulable(space);
  if (rows.empty() || (!c.adapt && !c.nas)) return;
  const Coverage cover(simulated, tables, rows);
  const bool nb201 = space.id() == SpaceId::kNb201;
  if (c.adapt) {
    const AdaptStage& a = c.adapt_stage;
    const AdaptDevices cols = resolve_adapt_devices(a, names);
    const int64_t largest = *std::max_element(a.n.begin(), a.n.end()) + a.validation;
    for (int32_t t : cols.targets) {
      const int64_t m = cover.both(cols.proxy, t, nb201 && !a.include_disconnected);
      if (m < largest + 1) {
        throw UserError(fmt::format("{}: n = {} training + {} validation samples need more than the {} architectures "
                                    "measured on both '{}' and '{}'",
                                    a.n_where.empty() ? "adapt.n" : a.n_where, largest - a.validation, a.validation, m,
                                    a.proxy, names[static_cast<size_t>(t)]));
      }
    }
  }
  if (c.nas) {
    const NasStage& s = c.nas_stage;
    const NasDevices cols = resolve_nas_devices(s, names);
    const bool adapted = std::find(s.sources.begin(), s.sources.end(), "adapted") != s.sources.end();
    const int64_t need = adapted ? s.n + s.validation + 1 : 1;
    for (int32_t t : cols.targets) {
      const int64_t m = cover.both(cols.proxy, t, nb201 && !s.include_disconnected);
      if (m < need) {
        throw UserError(fmt::format("nas: only {} architectures are measured on both '{}' and '{}' (need at least {}{})",
                                    m, s.proxy, names[static_cast<size_t>(t)], need,
                                    adapted ? ": the adapted source's n + validation samples and one more" : ""));
      }
    }
  }
}

}  // namespace proxysim
