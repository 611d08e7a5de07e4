#include "experiments/resolve.hpp"

#include <algorithm>
#include <filesystem>

#include "experiments/cover.hpp"
#include "sim/device_yaml.hpp"
#include "base/error.hpp"

namespace proxysim {

namespace {

void add_unique(std::vector<DeviceSpec>& out, DeviceSpec d) {
  for (const auto& have : out) {
    if (have.name == d.name) throw UserError("device '" + d.name + "' is listed twice");
  }
  out.push_back(std::move(d));
}

const MeasuredTable& read_table(const std::string& path, const SearchSpace& space, MeasuredCache* cache,
                                MeasuredTable& local) {
  if (cache == nullptr) {
    local = read_measured_csv(path, space.name());
    return local;
  }
  const std::string key = space.name() + "\n" + path;
  auto it = cache->find(key);
  if (it == cache->end()) it = cache->emplace(key, read_measured_csv(path, space.name())).first;
  return it->second;
}

}  // namespace

ResolvedRun resolve_run(const ExperimentConfig& c, MeasuredCache* cache) {
  if (c.stages.empty()) {
    std::string list;
    for (const auto& k : stage_names()) list += (list.empty() ? "" : ", ") + k;
    throw UserError("config has no stage to run (" + list + ")");
  }
  ResolvedRun r(make_space(c.space, c.dataset));
  const SearchSpace& space = r.space;
  for (const auto& name : c.devices) {
    for (auto& d : select_devices(name)) add_unique(r.specs, in_space(std::move(d), space.id()));
  }
  for (const auto& p : c.populations) {
    for (auto& d : population_specs(p, space.id())) add_unique(r.specs, std::move(d));
  }
  for (const auto& s : r.specs) r.names.push_back(s.name);
  for (const auto& q : c.srcc_devices) {
    const DeviceSpec proxy =
        in_space(resolve_one_device(q.proxy, (q.where.empty() ? "srcc_to" : q.where) + ".proxy"), space.id());
    const std::string name = srcc_device_name(q, proxy.name);
    if (std::find(r.names.begin(), r.names.end(), name) != r.names.end()) {
      throw UserError("device '" + name + "' is listed twice");
    }
    r.names.push_back(name);
  }
  r.simulated = static_cast<int>(r.names.size());

  // Measured columns join the simulated ones, keyed by architecture; a name taken
  // already is prefixed with its file's stem.
  std::map<ArchCode, uint64_t> row_of;
  for (const auto& path : c.measured) {
    MeasuredTable local;
    const MeasuredTable& t = read_table(path, space, cache, local);
    for (const auto& d : t.devices) {
      r.names.push_back(std::find(r.names.begin(), r.names.end(), d) == r.names.end()
                            ? d
                            : std::filesystem::path(t.file).stem().string() + ":" + d);
    }
    r.tables.push_back(t);
  }
  if (r.names.empty()) throw UserError("no devices: name simulated devices or measured: files");

  const bool matrix = std::any_of(c.stages.begin(), c.stages.end(), [](const auto& s) { return s->reads_matrix(); });
  switch (c.archs.kind) {
    case ArchSelection::Kind::kEnumerate: {
      const auto size = space.size();
      if (!size) throw UserError("archs: all: space '" + space.name() + "' is too large to enumerate; use {sample: N}");
      r.kind = ArchBatch::Kind::kEnumerate;
      r.archs = *size;
      if ((matrix || !r.tables.empty()) && r.archs <= (uint64_t{1} << 26)) {
        r.rows.reserve(r.archs);
        for (uint64_t i = 0; i < r.archs; ++i) r.rows.push_back(space.code_at(i));
      } else if (!r.tables.empty()) {
        throw UserError("archs: all: space '" + space.name() + "' is too large to match measured tables' rows");
      }
      break;
    }
    case ArchSelection::Kind::kSample:
      if (!r.tables.empty()) {
        throw UserError("measured: files need archs: all, measured or a list (a sample cannot be matched to the "
                        "tables' rows)");
      }
      r.kind = ArchBatch::Kind::kSample;
      r.archs = c.archs.count;
      break;
    case ArchSelection::Kind::kList:
    case ArchSelection::Kind::kMeasured: {
      r.kind = ArchBatch::Kind::kList;
      auto add = [&](ArchCode code) {
        if (row_of.emplace(code, row_of.size()).second) {
          r.list_codes.insert(r.list_codes.end(), code.begin(), code.end());
          r.rows.push_back(std::move(code));
        }
      };
      if (c.archs.kind == ArchSelection::Kind::kList) {
        for (const auto& s : c.archs.list) add(space.from_string(s));
      } else {
        for (const auto& t : r.tables) {
          for (const auto& code : t.codes) add(code);
        }
      }
      r.archs = r.rows.size();
      break;
    }
  }
  if (r.archs == 0) throw UserError("no architectures to evaluate");
  return r;
}

}  // namespace proxysim
