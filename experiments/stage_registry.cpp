// The registry of stages: adding a stage is one entry in PROXYSIM_STAGES (its place in
// the list is its place in the run order) and one file defining make_<name>_stage()
// (docs/ARCHITECTURE.md, "Adding a stage").
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "experiments/stage.hpp"
#include "base/error.hpp"
#include "sim/nb201.hpp"

#define PROXYSIM_STAGES(X) X(eval) X(monotonicity) X(adapt) X(select) X(cover) X(nas) X(deploy)

namespace proxysim {

#define PROXYSIM_DECLARE_STAGE(name) std::unique_ptr<Stage> make_##name##_stage();
PROXYSIM_STAGES(PROXYSIM_DECLARE_STAGE)
#undef PROXYSIM_DECLARE_STAGE

namespace {

struct Entry {
  std::string name;
  std::unique_ptr<Stage> (*make)();
};

const std::vector<Entry>& registry() {
#define PROXYSIM_STAGE_ENTRY(name) Entry{#name, &make_##name##_stage},
  static const std::vector<Entry> stages = {PROXYSIM_STAGES(PROXYSIM_STAGE_ENTRY)};
#undef PROXYSIM_STAGE_ENTRY
  return stages;
}

}  // namespace

const std::vector<std::string>& stage_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& e : registry()) v.push_back(e.name);
    return v;
  }();
  return names;
}

std::unique_ptr<Stage> make_stage(const std::string& name) {
  for (const auto& e : registry()) {
    if (e.name == name) return e.make();
  }
  std::string list;
  for (const auto& e : registry()) list += (list.empty() ? "" : ", ") + e.name;
  throw UserError("unknown stage '" + name + "' (expected one of " + list + ")");
}

int stage_order(const std::string& name) {
  const auto& names = stage_names();
  return static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
}

RunColumns::RunColumns(const SearchSpace& space_, const std::vector<std::string>& names_, int simulated_,
                       const std::vector<MeasuredTable>& tables, const std::vector<ArchCode>& rows_)
    : space(space_), names(names_), simulated(simulated_), rows(rows_) {
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

bool RunColumns::on(int col, size_t row) const {
  return col < simulated || measured_[static_cast<size_t>(col - simulated)][row] != 0;
}

int64_t RunColumns::both(int a, int b, bool include_disconnected) const {
  int64_t m = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (on(a, r) && on(b, r) && !leaves_out(space, rows[r].data(), include_disconnected)) ++m;
  }
  return m;
}

double fit_bytes(const RunShape& shape, double rows) { return rows * (3.0 * shape.features + 25.0) * 8.0; }

bool leaves_out(const SearchSpace& space, const uint8_t* code, bool include_disconnected) {
  return space.id() == SpaceId::kNb201 && !include_disconnected && !nb201::connected(code);
}

StageRows stage_rows(const SearchSpace& space, const std::vector<uint8_t>& codes, uint64_t rows,
                     bool include_disconnected) {
  const auto K = static_cast<uint64_t>(space.decisions());
  StageRows s;
  s.arch.resize(rows);
  s.usable.assign(rows, 1);
  for (uint64_t i = 0; i < rows; ++i) {
    s.arch[i].assign(codes.begin() + static_cast<int64_t>(i * K), codes.begin() + static_cast<int64_t>((i + 1) * K));
    if (leaves_out(space, s.arch[i].data(), include_disconnected)) {
      s.usable[i] = 0;
      ++s.excluded;
    }
  }
  return s;
}

}  // namespace proxysim
