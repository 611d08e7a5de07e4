#include "experiments/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/error.hpp"
#include "sim/population.hpp"

namespace proxysim {

namespace {


// A device name for generated devices: letters, digits and '_', as device YAML names.
void check_device_name(const ConfigReader& ctx, const YAML::Node& n, const std::string& path) {
  const std::string s = ctx.str(n, path);
  if (s.empty()) ctx.fail(n, path, "expected a non-empty name");
  for (char ch : s) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) ctx.fail(n, path, "use letters, digits and '_'");
  }
}

// A devices: entry that is a mapping: {population: {...}} or {srcc_to: {...}}.
void parse_device_entry(const ConfigReader& ctx, const YAML::Node& e, const std::string& path, ExperimentConfig& c) {
  ctx.only_keys(e, path, {"population", "srcc_to"});
  if (e.size() != 1) ctx.fail(e, path, "expected one of {population: {...}} or {srcc_to: {...}}");
  const std::string kind = e.begin()->first.as<std::string>();
  const YAML::Node b = e.begin()->second;
  const std::string bp = path + "." + kind;
  if (kind == "population") {
    ctx.only_keys(b, bp, {"class", "count", "seed", "centers", "spread", "prefix"});
    PopulationRequest r;
    r.where = ctx.where(b, bp);
    if (!b["class"]) ctx.fail(b, bp + ".class", "missing (a device class, e.g. mobile_cpu)");
    r.device_class = ctx.str(b["class"], bp + ".class");
    if (!parse_device_class(r.device_class)) {
      ctx.fail(b["class"], bp + ".class",
               "expected one of cpu, mobile_cpu, gpu, mobile_gpu, dsp, npu, tpu, fpga, asic; found '" + r.device_class + "'");
    }
    if (!b["count"]) ctx.fail(b, bp + ".count", "missing (how many devices to sample)");
    r.count = ctx.u64(b["count"], bp + ".count", 1, 100000);
    if (b["seed"]) r.seed = ctx.u64(b["seed"], bp + ".seed", 0, UINT64_MAX);
    if (b["centers"] && !(b["centers"].IsScalar() && b["centers"].Scalar() == "all")) {
      r.centers = ctx.str_list(b["centers"], bp + ".centers");
    }
    // Four times the default sigmas already spans orders of magnitude per parameter.
    if (b["spread"]) r.spread = ctx.real(b["spread"], bp + ".spread", 0.0, 4.0);
    if (b["prefix"]) {
      check_device_name(ctx, b["prefix"], bp + ".prefix");
      r.prefix = b["prefix"].Scalar();
    }
    c.populations.push_back(std::move(r));
  } else {
    ctx.only_keys(b, bp, {"proxy", "srcc", "seed", "far", "name"});
    SrccRequest r;
    r.where = ctx.where(b, bp);
    if (!b["proxy"]) ctx.fail(b, bp + ".proxy", "missing (a built-in device name or .yaml file)");
    r.proxy = ctx.str(b["proxy"], bp + ".proxy");
    if (!b["srcc"]) ctx.fail(b, bp + ".srcc", "missing (the SRCC to the proxy, in [-1, 1])");
    r.srcc = ctx.real(b["srcc"], bp + ".srcc", -1.0, 1.0);
    if (b["seed"]) r.seed = ctx.u64(b["seed"], bp + ".seed", 0, UINT64_MAX);
    if (b["far"]) r.far = ctx.str(b["far"], bp + ".far");
    if (b["name"]) {
      check_device_name(ctx, b["name"], bp + ".name");
      r.name = b["name"].Scalar();
    }
    c.srcc_devices.push_back(std::move(r));
  }
}

}  // namespace

bool ExperimentConfig::has(const std::string& stage) const {
  return std::any_of(stages.begin(), stages.end(), [&](const auto& s) { return stage == s->name(); });
}

void ExperimentConfig::add(std::unique_ptr<Stage> stage) {
  const std::string name = stage->name();
  std::erase_if(stages, [&](const auto& s) { return name == s->name(); });
  const int order = stage_order(name);
  auto at = std::find_if(stages.begin(), stages.end(), [&](const auto& s) { return stage_order(s->name()) > order; });
  stages.insert(at, std::shared_ptr<const Stage>(std::move(stage)));
}

ExperimentConfig parse_config(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw UserError((file.empty() ? "config" : file) + ":" + std::to_string(e.mark.line + 1) +
                    ": not valid YAML: " + e.msg);
  }
  try {
    return parse_config_node(root, file);
  } catch (const YAML::Exception& e) {
    // Any conversion the checks above missed still reads as a user's mistake, with its line.
    throw UserError((file.empty() ? "config" : file) + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

ExperimentConfig parse_config_node(const YAML::Node& root, const std::string& file) {
  ExperimentConfig c;
  c.file = file;
  if (!root || !root.IsMap()) throw UserError((file.empty() ? "config" : file) + ": expected a mapping of settings");
  const ConfigReader plain(file, {});
  // A sweep is many configs: experiments/sweep.hpp expands it into cells first.
  if (root["sweep"]) plain.fail(root["sweep"], "sweep", "a sweep expands into cells: load it with load_sweep (proxysim run)");
  plain.only_keys(root, "", {"name", "space", "archs", "devices", "measured", "noise_seed", "backend", "stages", "output",
                             "data_dir"});
  const DataDir data_dir = resolve_data_dir(root["data_dir"] ? plain.str(root["data_dir"], "data_dir") : "");
  const ConfigReader ctx(file, data_dir);

  if (root["name"]) c.name = ctx.str(root["name"], "name");
  for (char ch : c.name) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-')) {
      ctx.fail(root["name"], "name", "use letters, digits, '-' and '_' (it names the run folder)");
    }
  }
  if (root["measured"]) {
    const YAML::Node m = root["measured"];
    if (m.IsScalar()) {
      c.measured.push_back(ctx.data_file(m, "measured", data_dir));
    } else if (m.IsSequence() && m.size() > 0) {
      for (size_t i = 0; i < m.size(); ++i) {
        c.measured.push_back(ctx.data_file(m[i], "measured[" + std::to_string(i) + "]", data_dir));
      }
    } else {
      ctx.fail(m, "measured", "expected a CSV path or a non-empty list of them");
    }
  }
  if (!root["space"]) ctx.fail(root, "space", "missing (nb201, fbnet, ofa_mbv3 or mbv2)");
  const YAML::Node sp = root["space"];
  if (sp.IsScalar()) {
    c.space = sp.Scalar();
  } else {
    ctx.only_keys(sp, "space", {"name", "dataset"});
    if (!sp["name"]) ctx.fail(sp, "space.name", "missing");
    c.space = ctx.str(sp["name"], "space.name");
    if (sp["dataset"]) c.dataset = ctx.str(sp["dataset"], "space.dataset");
  }
  try {
    make_space(c.space, c.dataset);
  } catch (const UserError& e) {
    ctx.fail(sp, "space", e.what());
  }

  if (!root["archs"] && !c.measured.empty()) {
    c.archs.kind = ArchSelection::Kind::kMeasured;
  } else if (!root["archs"]) {
    ctx.fail(root, "archs", "missing (all, measured, {sample: N, seed: S} or {list: [...]})");
  }
  const YAML::Node a = root["archs"] ? root["archs"] : YAML::Node(std::string("measured"));
  if (a.IsScalar()) {
    if (a.Scalar() == "measured") {
      if (c.measured.empty()) ctx.fail(a, "archs", "'measured' needs measured: files");
      c.archs.kind = ArchSelection::Kind::kMeasured;
    } else if (a.Scalar() == "all") {
      c.archs.kind = ArchSelection::Kind::kEnumerate;
    } else {
      ctx.fail(a, "archs", "expected all, measured or a mapping, found '" + a.Scalar() + "'");
    }
  } else {
    ctx.only_keys(a, "archs", {"sample", "seed", "list"});
    if (a["list"]) {
      if (a["sample"]) ctx.fail(a, "archs", "give either 'sample' or 'list', not both");
      const YAML::Node l = a["list"];
      if (!l.IsSequence() || l.size() == 0) ctx.fail(l, "archs.list", "expected a non-empty list of architecture strings");
      c.archs.kind = ArchSelection::Kind::kList;
      for (size_t i = 0; i < l.size(); ++i) c.archs.list.push_back(ctx.str(l[i], "archs.list[" + std::to_string(i) + "]"));
      c.archs.count = c.archs.list.size();
    } else {
      if (!a["sample"]) ctx.fail(a, "archs.sample", "missing");
      c.archs.kind = ArchSelection::Kind::kSample;
      c.archs.count = ctx.u64(a["sample"], "archs.sample", 1, kMaxArchs);
      if (a["seed"]) c.archs.seed = ctx.u64(a["seed"], "archs.seed", 0, UINT64_MAX);
    }
  }

  if (root["devices"]) {
    const YAML::Node d = root["devices"];
    c.devices.clear();
    if (d.IsScalar() && d.Scalar() == "none") {
      if (c.measured.empty()) ctx.fail(d, "devices", "'none' leaves nothing to evaluate without measured: files");
    } else if (d.IsScalar()) {
      c.devices.push_back(d.Scalar());
    } else if (d.IsSequence() && d.size() > 0) {
      for (size_t i = 0; i < d.size(); ++i) {
        const std::string path = "devices[" + std::to_string(i) + "]";
        if (d[i].IsMap()) {
          parse_device_entry(ctx, d[i], path, c);
        } else {
          c.devices.push_back(ctx.str(d[i], path));
          if (c.devices.back().ends_with(".yaml")) ctx.existing_file(d[i], path);
        }
      }
    } else if (d.IsMap()) {
      parse_device_entry(ctx, d, "devices", c);
    } else {
      ctx.fail(d, "devices",
               "expected 'all', 'none' or a non-empty list of device names, .yaml files, {population: ...} and "
               "{srcc_to: ...} entries");
    }
  }
  if (!root["devices"] && !c.measured.empty()) c.devices.clear();  // measured columns alone
  if (root["noise_seed"]) c.noise_seed = ctx.u64(root["noise_seed"], "noise_seed", 0, UINT64_MAX);
  if (root["backend"]) {
    c.backend = ctx.str(root["backend"], "backend");
    if (c.backend != "auto" && c.backend != "cpu" && c.backend != "cuda") {
      ctx.fail(root["backend"], "backend", "expected auto, cpu or cuda, found '" + c.backend + "'");
    }
  }
  if (root["output"]) c.output = ctx.str(root["output"], "output");

  if (!root["stages"]) ctx.fail(root, "stages", "missing (a list of stages, e.g. [eval])");
  const YAML::Node st = root["stages"];
  if (!st.IsSequence() || st.size() == 0) ctx.fail(st, "stages", "expected a non-empty list of stages");
  for (size_t i = 0; i < st.size(); ++i) {
    const std::string path = "stages[" + std::to_string(i) + "]";
    const YAML::Node s = st[i];
    std::string kind;
    YAML::Node body;
    if (s.IsScalar()) {
      kind = s.Scalar();
    } else if (s.IsMap() && s.size() == 1) {
      kind = s.begin()->first.as<std::string>();
      body = s.begin()->second;
    } else {
      ctx.fail(s, path, "expected a stage name or {name: {settings}}");
    }
    const std::vector<std::string>& known = stage_names();
    if (std::find(known.begin(), known.end(), kind) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      ctx.fail(s, path, "unknown stage '" + kind + "' (expected one of " + list + ")");
    }
    if (c.has(kind)) ctx.fail(s, path, "stage '" + kind + "' is listed twice");
    std::unique_ptr<Stage> stage = make_stage(kind);
    stage->parse(ctx, s, body, path + "." + kind);
    c.add(std::move(stage));
  }
  return c;
}

ExperimentConfig load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UserError(path + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

std::string resolved_yaml(const ExperimentConfig& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << c.name;
  out << YAML::Key << "space" << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value << c.space
      << YAML::Key << "dataset" << YAML::Value << make_space(c.space, c.dataset).dataset() << YAML::EndMap;
  out << YAML::Key << "archs" << YAML::Value;
  switch (c.archs.kind) {
    case ArchSelection::Kind::kEnumerate: out << "all"; break;
    case ArchSelection::Kind::kSample:
      out << YAML::BeginMap << YAML::Key << "sample" << YAML::Value << c.archs.count << YAML::Key << "seed"
          << YAML::Value << c.archs.seed << YAML::EndMap;
      break;
    case ArchSelection::Kind::kList:
      out << YAML::BeginMap << YAML::Key << "list" << YAML::Value << c.archs.list << YAML::EndMap;
      break;
    case ArchSelection::Kind::kMeasured: out << "measured"; break;
  }
  out << YAML::Key << "devices" << YAML::Value << YAML::BeginSeq;
  for (const auto& d : c.devices) out << d;
  for (const auto& p : c.populations) {
    out << YAML::BeginMap << YAML::Key << "population" << YAML::Value << YAML::BeginMap << YAML::Key << "class"
        << YAML::Value << p.device_class << YAML::Key << "count" << YAML::Value << p.count << YAML::Key << "seed"
        << YAML::Value << p.seed << YAML::Key << "centers" << YAML::Value;
    if (p.centers.empty()) {
      out << "all";
    } else {
      out << YAML::Flow << p.centers;
    }
    out << YAML::Key << "spread" << YAML::Value << p.spread;
    if (!p.prefix.empty()) out << YAML::Key << "prefix" << YAML::Value << p.prefix;
    out << YAML::EndMap << YAML::EndMap;
  }
  for (const auto& r : c.srcc_devices) {
    out << YAML::BeginMap << YAML::Key << "srcc_to" << YAML::Value << YAML::BeginMap << YAML::Key << "proxy"
        << YAML::Value << r.proxy << YAML::Key << "srcc" << YAML::Value << r.srcc << YAML::Key << "seed" << YAML::Value
        << r.seed;
    if (!r.far.empty()) out << YAML::Key << "far" << YAML::Value << r.far;
    if (!r.name.empty()) out << YAML::Key << "name" << YAML::Value << r.name;
    out << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::EndSeq;
  if (!c.measured.empty()) out << YAML::Key << "measured" << YAML::Value << c.measured;
  out << YAML::Key << "noise_seed" << YAML::Value << c.noise_seed;
  out << YAML::Key << "backend" << YAML::Value << c.backend;
  out << YAML::Key << "stages" << YAML::Value << YAML::BeginSeq;
  for (const auto& stage : c.stages) {
    out << YAML::BeginMap << YAML::Key << stage->name() << YAML::Value;
    stage->write(out);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  if (!c.output.empty()) out << YAML::Key << "output" << YAML::Value << c.output;
  out << YAML::EndMap;
  return out.c_str();
}

}  // namespace proxysim

