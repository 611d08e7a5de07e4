#include "experiments/sweep.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "experiments/key_path.hpp"
#include "base/error.hpp"

namespace proxysim {

namespace {

// One axis of the product: a plain axis (one path) or a zip group (several paths that
// advance together) or the seeds replicate.
struct Member {
  std::string name;  // key path as written
  KeyPath path;
  std::string where; // file:line of the axis key
};
struct Dimension {
  enum class Kind { kAxis, kZip, kSeeds } kind = Kind::kAxis;
  int zip_group = -1;  // kZip: index in a list of groups, -1 when zip: is one mapping
  std::vector<Member> members;
  size_t size = 0;
  std::vector<int64_t> seeds;  // kSeeds
};

YAML::Node zip_group_node(const YAML::Node& sweep, int group) {
  return group < 0 ? sweep["zip"] : sweep["zip"][static_cast<size_t>(group)];
}

Member member(const std::string& file, const YAML::Node& key, const std::string& prefix) {
  Member m;
  m.name = key.Scalar();
  m.where = at_line(file, key);
  std::string why;
  if (!parse_path(m.name, m.path, why)) {
    throw UserError(m.where + ": '" + prefix + m.name + "': not a key path (" + why + "; expected e.g. adapt.n or stages[1].adapt.n)");
  }
  return m;
}

int64_t seed_of(const std::string& file, const YAML::Node& n, const std::string& path) {
  try {
    size_t used = 0;
    const long long v = std::stoll(n.Scalar(), &used);
    if (used != n.Scalar().size() || v < 0) throw std::invalid_argument(n.Scalar());
    return v;
  } catch (const std::exception&) {
    throw UserError(at_line(file, n) + ": '" + path + "': expected a whole number, found '" + (n.IsScalar() ? n.Scalar() : flow(n)) + "'");
  }
}

void zip_dimension(const std::string& file, const YAML::Node& group, int index, std::vector<Dimension>& dims) {
  const std::string gp = index < 0 ? "sweep.zip" : "sweep.zip[" + std::to_string(index) + "]";
  if (!group.IsMap() || group.size() < 1) {
    throw UserError(at_line(file, group) + ": '" + gp + "': expected a mapping of key paths to lists that advance together");
  }
  Dimension d;
  d.kind = Dimension::Kind::kZip;
  d.zip_group = index;
  std::string first;
  for (const auto& kv : group) {
    Member m = member(file, kv.first, gp + ".");
    const YAML::Node v = kv.second;
    if (!v.IsSequence() || v.size() == 0) {
      throw UserError(at_line(file, v) + ": '" + gp + "." + m.name + "': expected a non-empty list of values");
    }
    if (d.members.empty()) {
      d.size = v.size();
      first = m.name;
    } else if (v.size() != d.size) {
      throw UserError(at_line(file, v) + ": '" + gp + "." + m.name + "': " + std::to_string(v.size()) +
                      " values, but '" + first + "' has " + std::to_string(d.size) +
                      " (zipped lists advance together and must be as long)");
    }
    d.members.push_back(std::move(m));
  }
  dims.push_back(std::move(d));
}

// Every seed of a config that a replicate should change: the sampling seed, the
// measurement-noise seed and each stage's seed (stages that draw samples, or that set
// a seed), and the bootstrap seed of a bootstrapped monotonicity stage.
std::vector<std::string> default_seed_keys(const YAML::Node& root) {
  std::vector<std::string> keys;
  const YAML::Node a = root["archs"];
  if (a && a.IsMap() && a["sample"]) keys.push_back("archs.seed");
  keys.push_back("noise_seed");
  const YAML::Node st = root["stages"];
  if (!st || !st.IsSequence()) return keys;
  std::vector<std::string> names;
  for (const auto& e : st) names.push_back(e.IsScalar() ? e.Scalar() : e.IsMap() && e.size() == 1 ? e.begin()->first.Scalar() : "");
  for (size_t i = 0; i < st.size(); ++i) {
    const std::string& name = names[i];
    if (name.empty()) continue;
    const bool unique = std::count(names.begin(), names.end(), name) == 1;
    const std::string base = unique ? name : "stages[" + std::to_string(i) + "]." + name;
    const YAML::Node body = st[i].IsMap() ? st[i][name] : YAML::Node();
    const bool samples = name == "adapt" || name == "select" || name == "nas";
    if (samples || (body && body.IsMap() && body["seed"])) keys.push_back(base + ".seed");
    if (body && body.IsMap() && body["bootstrap"]) keys.push_back(base + ".bootstrap_seed");
  }
  return keys;
}

void seeds_dimension(const std::string& file, const YAML::Node& s, const YAML::Node& root, std::vector<Dimension>& dims) {
  Dimension d;
  d.kind = Dimension::Kind::kSeeds;
  YAML::Node values = s, keys;
  if (s.IsMap()) {
    for (const auto& kv : s) {
      const std::string k = kv.first.Scalar();
      if (k != "values" && k != "count" && k != "keys") {
        throw UserError(at_line(file, kv.first) + ": 'sweep.seeds." + k + "': unknown key (expected one of count, keys, values)");
      }
    }
    if (s["values"] && s["count"]) throw UserError(at_line(file, s) + ": 'sweep.seeds': give either 'values' or 'count', not both");
    if (!s["values"] && !s["count"]) throw UserError(at_line(file, s) + ": 'sweep.seeds': missing 'values' or 'count'");
    values.reset(s["values"] ? s["values"] : s["count"]);
    keys.reset(s["keys"]);
  }
  const std::string vp = s.IsMap() ? (s["values"] ? "sweep.seeds.values" : "sweep.seeds.count") : "sweep.seeds";
  if (values.IsScalar()) {
    const int64_t count = seed_of(file, values, vp);
    if (count < 1 || count > 100000) throw UserError(at_line(file, values) + ": '" + vp + "': must be in [1, 100000], found " + values.Scalar());
    for (int64_t i = 0; i < count; ++i) d.seeds.push_back(i);
  } else if (values.IsSequence() && values.size() > 0) {
    for (size_t i = 0; i < values.size(); ++i) d.seeds.push_back(seed_of(file, values[i], vp + "[" + std::to_string(i) + "]"));
  } else {
    throw UserError(at_line(file, values) + ": '" + vp + "': expected a count or a non-empty list of seeds");
  }
  std::vector<std::string> names;
  const bool named = keys && !keys.IsNull();
  if (named) {
    if (keys.IsScalar()) {
      names.push_back(keys.Scalar());
    } else if (keys.IsSequence() && keys.size() > 0) {
      for (const auto& k : keys) names.push_back(k.Scalar());
    } else {
      throw UserError(at_line(file, keys) + ": 'sweep.seeds.keys': expected a key path or a list of them");
    }
  } else {
    names = default_seed_keys(root);
  }
  for (const auto& n : names) {
    Member m;
    m.name = n;
    m.where = at_line(file, named ? keys : s);
    std::string why;
    if (!parse_path(n, m.path, why)) throw UserError(m.where + ": 'sweep.seeds.keys': '" + n + "' is not a key path (" + why + ")");
    d.members.push_back(std::move(m));
  }
  d.size = d.seeds.size();
  dims.push_back(std::move(d));
}

}  // namespace

std::string describe_axes(const SweepCell& cell) {
  std::string s;
  for (const auto& [k, v] : cell.axes) s += (s.empty() ? "" : ", ") + k + "=" + v;
  return s;
}

SweepPlan expand_sweep(const std::string& text, const std::string& file, const std::vector<std::string>& sets) {
  const std::string fname = file.empty() ? "config" : file;
  auto load = [&]() {
    try {
      return YAML::Load(text);
    } catch (const YAML::Exception& e) {
      throw UserError(fname + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
    }
  };
  std::vector<Override> overrides;
  overrides.reserve(sets.size());
  for (const auto& s : sets) overrides.push_back(parse_set(s));

  SweepPlan plan;
  plan.file = file;
  plan.text = text;
  plan.sets = sets;
  YAML::Node root0 = load();
  if (!root0 || !root0.IsMap()) throw UserError(fname + ": expected a mapping of settings");
  for (const auto& o : overrides) apply_set(root0, o);

  std::vector<Dimension> dims;
  const YAML::Node sweep = root0["sweep"];
  if (sweep) {
    plan.swept = true;
    if (!sweep.IsMap() || sweep.size() == 0) {
      throw UserError(at_line(file, sweep) + ": 'sweep': expected a mapping of key paths to lists of values (and zip:, seeds:)");
    }
    for (const auto& kv : sweep) {
      const std::string key = kv.first.Scalar();
      const YAML::Node v = kv.second;
      if (key == "zip") {
        if (v.IsSequence() && v.size() > 0) {
          for (size_t g = 0; g < v.size(); ++g) zip_dimension(file, v[g], static_cast<int>(g), dims);
        } else {
          zip_dimension(file, v, -1, dims);
        }
      } else if (key == "seeds") {
        seeds_dimension(file, v, root0, dims);
      } else {
        Dimension d;
        d.members.push_back(member(file, kv.first, "sweep."));
        if (!v.IsSequence() || v.size() == 0) {
          throw UserError(at_line(file, v) + ": 'sweep." + key + "': expected a non-empty list of values");
        }
        d.size = v.size();
        dims.push_back(std::move(d));
      }
    }
    for (const auto& d : dims) {
      if (d.kind == Dimension::Kind::kSeeds) {
        plan.axis_names.push_back("seed");
      } else {
        for (const auto& m : d.members) {
          // The run's name and output are the run's, not a cell's.
          if (m.path.front().key == "name" || m.path.front().key == "output" || m.path.front().key == "sweep") {
            throw UserError(m.where + ": 'sweep." + m.name + "': '" + m.path.front().key + "' belongs to the whole run and cannot be swept");
          }
          plan.axis_names.push_back(m.name);
        }
      }
    }
  }

  uint64_t total = 1;
  for (const auto& d : dims) {
    if (total > 1000000 / d.size) throw UserError(at_line(file, sweep) + ": 'sweep': more than 1,000,000 cells");
    total *= d.size;
  }
  std::vector<size_t> at(dims.size(), 0);
  for (uint64_t c = 0; c < total; ++c) {
    // Mixed radix, the last dimension fastest.
    uint64_t rest = c;
    for (size_t k = dims.size(); k-- > 0;) {
      at[k] = rest % dims[k].size;
      rest /= dims[k].size;
    }
    SweepCell cell;
    cell.index = c;
    YAML::Node root = load();
    for (const auto& o : overrides) apply_set(root, o);
    const YAML::Node sw = root["sweep"];
    for (size_t k = 0; k < dims.size(); ++k) {
      const Dimension& d = dims[k];
      for (const auto& m : d.members) {
        auto fail = [&](const std::string& msg) { throw UserError(m.where + ": 'sweep." + m.name + "': " + msg); };
        if (d.kind == Dimension::Kind::kSeeds) {
          const YAML::Node base = walk(root, m.path, false, fail);
          int64_t b = 0;
          if (base && !base.IsNull()) b = seed_of(file, base, m.name);
          YAML::Node target = walk(root, m.path, true, fail);
          target = YAML::Node(std::to_string(b + d.seeds[at[k]]));
          continue;
        }
        const YAML::Node list = d.kind == Dimension::Kind::kZip ? zip_group_node(sw, d.zip_group)[m.name] : sw[m.name];
        const YAML::Node value = list[at[k]];
        YAML::Node target = walk(root, m.path, true, fail);
        target = value;
        cell.axes.emplace_back(m.name, flow(value));
      }
      if (d.kind == Dimension::Kind::kSeeds) cell.axes.emplace_back("seed", std::to_string(d.seeds[at[k]]));
    }
    root.remove("sweep");
    YAML::Emitter e;
    e << root;
    cell.yaml = e.c_str();
    try {
      cell.config = parse_config_node(root, file);
    } catch (const UserError& err) {
      std::string context;
      if (plan.swept) {
        context = " [sweep cell " + std::to_string(c);
        size_t a = 0;
        for (const auto& d : dims) {
          for (const auto& m : d.members) {
            context += (a++ ? "; " : ": ") + m.name + (d.kind == Dimension::Kind::kSeeds ? " (seed)" : "") + " from " + m.where;
          }
        }
        context += "]";
      }
      for (const auto& o : overrides) context += " [--set " + o.text + "]";
      throw UserError(err.what() + context);
    }
    plan.cells.push_back(std::move(cell));
  }
  return plan;
}

SweepPlan load_sweep(const std::string& path, const std::vector<std::string>& sets) {
  std::ifstream in(path);
  if (!in) throw UserError(path + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return expand_sweep(ss.str(), path, sets);
}

SweepPlan single_cell_plan(const ExperimentConfig& config) {
  SweepPlan plan;
  plan.file = config.file;
  SweepCell cell;
  cell.yaml = resolved_yaml(config);
  plan.text = cell.yaml;
  cell.config = config;
  plan.cells.push_back(std::move(cell));
  return plan;
}

}  // namespace proxysim
