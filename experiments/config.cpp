#include "experiments/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "experiments/nas.hpp"
#include "experiments/select.hpp"
#include "search/adaptation.hpp"
#include "search/strategy.hpp"
#include "sim/error.hpp"
#include "sim/population.hpp"

namespace proxysim {

namespace {

constexpr uint64_t kMaxArchs = uint64_t{1} << 40;

}  // namespace

DataDir resolve_data_dir(const std::string& config_value) {
  if (const char* env = std::getenv("PROXYSIM_DATA"); env && *env) return {env, "PROXYSIM_DATA or --data-dir"};
  if (!config_value.empty()) return {config_value, "the config's data_dir"};
  std::error_code ec;
  if (std::filesystem::is_directory("../shared/data", ec)) return {"../shared/data", "the default, ../shared/data"};
  return {"data", "the default, data/ (../shared/data is absent)"};
}

namespace {

class Ctx {
 public:
  explicit Ctx(std::string file) : file_(std::move(file)) {}

  // "file:line: 'key path'", the prefix of every message about that key.
  std::string where(const YAML::Node& n, const std::string& path) const {
    std::string w = file_.empty() ? "config" : file_;
    if (n && n.Mark().line >= 0) w += ":" + std::to_string(n.Mark().line + 1);
    return w + ": '" + path + "'";
  }

  [[noreturn]] void fail(const YAML::Node& n, const std::string& path, const std::string& what) const {
    throw UserError(where(n, path) + ": " + what);
  }

  bool flag(const YAML::Node& n, const std::string& path) const {
    try {
      return n.as<bool>();
    } catch (const YAML::Exception&) {
      fail(n, path, "expected true or false");
    }
  }

  // A scalar or a non-empty list of scalars.
  std::vector<std::string> str_list(const YAML::Node& n, const std::string& path) const {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
    } else if (n.IsSequence() && n.size() > 0) {
      for (size_t i = 0; i < n.size(); ++i) out.push_back(str(n[i], path + "[" + std::to_string(i) + "]"));
    } else {
      fail(n, path, "expected a name or a non-empty list of names");
    }
    return out;
  }

  // A name or list of names, each one of `known` and none twice (schemes, rules).
  std::vector<std::string> choices(const YAML::Node& n, const std::string& path, const std::vector<std::string>& known,
                                   const std::string& what) const {
    std::vector<std::string> out = str_list(n, path);
    for (size_t j = 0; j < out.size(); ++j) {
      const std::string key = n.IsSequence() ? path + "[" + std::to_string(j) + "]" : path;
      const YAML::Node at = n.IsSequence() ? n[j] : n;
      if (std::find(known.begin(), known.end(), out[j]) == known.end()) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fail(at, key, "unknown " + what + " '" + out[j] + "' (expected one of " + list + ")");
      }
      if (std::find(out.begin(), out.begin() + j, out[j]) != out.begin() + j) {
        fail(at, key, what + " '" + out[j] + "' is listed twice");
      }
    }
    return out;
  }

  // One of `known`, given as a single name (not a list).
  std::string choice(const YAML::Node& n, const std::string& path, const std::vector<std::string>& known,
                     const std::string& what) const {
    if (!n.IsScalar()) fail(n, path, "expected one " + what + " name");
    return choices(n, path, known, what).front();
  }

  // Sample budgets: a number or an increasing list, each at least 3.
  std::vector<int64_t> budgets(const YAML::Node& n, const std::string& path) const {
    std::vector<int64_t> out;
    if (n.IsScalar()) {
      out.push_back(static_cast<int64_t>(u64(n, path, 3, kMaxArchs)));
    } else if (n.IsSequence() && n.size() > 0) {
      for (size_t j = 0; j < n.size(); ++j) {
        const std::string key = path + "[" + std::to_string(j) + "]";
        out.push_back(static_cast<int64_t>(u64(n[j], key, 3, kMaxArchs)));
        if (j > 0 && out[j] <= out[j - 1]) fail(n[j], key, "budgets must increase");
      }
    } else {
      fail(n, path, "expected a number or a non-empty list of sample budgets");
    }
    return out;
  }

  void only_keys(const YAML::Node& map, const std::string& path, const std::set<std::string>& allowed) const {
    if (!map.IsMap()) fail(map, path, "expected a mapping");
    for (const auto& kv : map) {
      // Found by fuzz_config: a complex key (`? [a, b]`) made as<std::string> throw
      // yaml-cpp's own exception past the UserError contract.
      if (!kv.first.IsScalar()) fail(kv.first, path, "expected a plain key name");
      const std::string& k = kv.first.Scalar();
      if (!allowed.count(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, path.empty() ? k : path + "." + k, "unknown key (expected one of " + list + ")");
      }
    }
  }

  // Files named in the config are checked here, so the message names the key and line.
  void existing_file(const YAML::Node& n, const std::string& path) const {
    std::error_code ec;
    const bool there = std::filesystem::exists(n.Scalar(), ec);
    if (ec) fail(n, path, "cannot look up file '" + n.Scalar() + "': " + ec.message());
    if (!there) fail(n, path, "no such file '" + n.Scalar() + "'");
  }

  // A data file's path: a bare or folder-relative name (hwnasbench_nb201_cifar10.csv)
  // is looked up in the data directory, a path that is absolute or starts with ./ or
  // ../ is taken as given (relative to the working directory). The file must exist.
  std::string data_file(const YAML::Node& n, const std::string& path, const DataDir& dir) const {
    const std::string given = str(n, path);
    const bool as_given = given.rfind('/', 0) == 0 || given.rfind("./", 0) == 0 || given.rfind("../", 0) == 0;
    std::string resolved = as_given ? given : (std::filesystem::path(dir.path) / given).string();
    std::error_code ec;
    const bool there = std::filesystem::exists(resolved, ec);
    if (ec) fail(n, path, "cannot look up file '" + resolved + "': " + ec.message());
    if (!there) {
      fail(n, path, as_given ? "no such file '" + given + "'"
                             : "no file '" + given + "' in the data directory '" + dir.path + "' (" + dir.source +
                                   "; set data_dir in the config, --data-dir or PROXYSIM_DATA to the folder that holds "
                                   "it: README, \"Data\")");
    }
    return resolved;
  }

  std::string str(const YAML::Node& n, const std::string& path) const {
    if (!n.IsScalar()) fail(n, path, "expected a string");
    return n.Scalar();
  }

  double real(const YAML::Node& n, const std::string& path, double lo, double hi) const {
    if (!n.IsScalar()) fail(n, path, "expected a number");
    const std::string& s = n.Scalar();
    double v = 0.0;
    try {
      size_t used = 0;
      v = std::stod(s, &used);
      if (used != s.size()) throw std::invalid_argument(s);
    } catch (const std::exception&) {
      fail(n, path, "expected a number, found '" + s + "'");
    }
    if (!std::isfinite(v) || v < lo || v > hi) {
      std::ostringstream range;
      range << "must be in [" << lo << ", " << hi << "], found " << s;
      fail(n, path, range.str());
    }
    return v;
  }

  uint64_t u64(const YAML::Node& n, const std::string& path, uint64_t lo, uint64_t hi) const {
    if (!n.IsScalar()) fail(n, path, "expected a whole number");
    const std::string& s = n.Scalar();
    uint64_t v = 0;
    try {
      size_t used = 0;
      if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
        v = std::stoull(s, &used);  // exact: seeds use all 64 bits
      } else {
        // 1e6 and the like: whole, and below 2^53 so the double holds it exactly
        // (a larger value outside uint64_t's range would make the cast undefined).
        const double d = std::stod(s, &used);
        if (!(d >= 0 && d < 9007199254740992.0) || d != std::floor(d)) throw std::invalid_argument(s);
        v = static_cast<uint64_t>(d);
      }
      if (used != s.size()) throw std::invalid_argument(s);
    } catch (const std::exception&) {
      fail(n, path, "expected a whole number, found '" + s + "'");
    }
    if (v < lo || v > hi) {
      fail(n, path, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], found " + s);
    }
    return v;
  }

 private:
  std::string file_;
};

// A device name for generated devices: letters, digits and '_', as device YAML names.
void check_device_name(const Ctx& ctx, const YAML::Node& n, const std::string& path) {
  const std::string s = ctx.str(n, path);
  if (s.empty()) ctx.fail(n, path, "expected a non-empty name");
  for (char ch : s) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) ctx.fail(n, path, "use letters, digits and '_'");
  }
}

// A devices: entry that is a mapping: {population: {...}} or {srcc_to: {...}}.
void parse_device_entry(const Ctx& ctx, const YAML::Node& e, const std::string& path, ExperimentConfig& c) {
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
  Ctx ctx(file);
  ExperimentConfig c;
  c.file = file;
  if (!root || !root.IsMap()) throw UserError((file.empty() ? "config" : file) + ": expected a mapping of settings");
  // A sweep is many configs: experiments/sweep.hpp expands it into cells first.
  if (root["sweep"]) ctx.fail(root["sweep"], "sweep", "a sweep expands into cells: load it with load_sweep (proxysim run)");
  ctx.only_keys(root, "", {"name", "space", "archs", "devices", "measured", "noise_seed", "backend", "stages", "output",
                           "data_dir"});
  const DataDir data_dir = resolve_data_dir(root["data_dir"] ? ctx.str(root["data_dir"], "data_dir") : "");
  // A stage's NB201 accuracy table: the file it names, else nb201_accuracy.csv in the
  // data directory, which must then be there (the key is named when it is not).
  auto accuracy_file = [&](const YAML::Node& body, const std::string& bp, const std::string& source) -> std::string {
    if (body["accuracy_file"]) return ctx.data_file(body["accuracy_file"], bp + ".accuracy_file", data_dir);
    if (source != "nb201") return "";
    std::string file = (std::filesystem::path(data_dir.path) / "nb201_accuracy.csv").string();
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
      ctx.fail(body, bp + ".accuracy_file",
               "not given, and no 'nb201_accuracy.csv' in the data directory '" + data_dir.path + "' (" +
                   data_dir.source + "; set data_dir in the config, --data-dir or PROXYSIM_DATA: README, \"Data\")");
    }
    return file;
  };

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
  if (!root["space"]) ctx.fail(root, "space", "missing (nb201, fbnet or ofa_mbv3)");
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
    if (kind == "eval") {
      c.eval = true;
      if (body && !body.IsNull()) {
        ctx.only_keys(body, path + ".eval", {"chunk", "mode"});
        if (body["chunk"]) c.eval_stage.chunk = ctx.u64(body["chunk"], path + ".eval.chunk", 1, uint64_t{1} << 26);
        if (body["mode"]) {
          const std::string m = ctx.str(body["mode"], path + ".eval.mode");
          if (m == "auto") {
            c.eval_stage.mode = EvalMode::kAuto;
          } else if (m == "walk") {
            c.eval_stage.mode = EvalMode::kWalk;
          } else if (m == "compiled") {
            c.eval_stage.mode = EvalMode::kCompiled;
          } else {
            ctx.fail(body["mode"], path + ".eval.mode", "expected auto, walk or compiled, found '" + m + "'");
          }
        }
      }
    } else if (kind == "monotonicity") {
      c.monotonicity = true;
      auto& m = c.monotonicity_stage;
      if (body && !body.IsNull()) {
        const std::string bp = path + ".monotonicity";
        ctx.only_keys(body, bp, {"kendall", "top_k", "bootstrap", "bootstrap_seed", "include_disconnected", "target"});
        auto flag = [&](const char* key, bool& out) {
          if (!body[key]) return;
          try {
            out = body[key].as<bool>();
          } catch (const YAML::Exception&) {
            ctx.fail(body[key], bp + "." + key, "expected true or false");
          }
        };
        flag("kendall", m.kendall);
        flag("include_disconnected", m.include_disconnected);
        if (body["top_k"]) m.top_k = static_cast<int64_t>(ctx.u64(body["top_k"], bp + ".top_k", 0, kMaxArchs));
        if (body["bootstrap"]) m.bootstrap = static_cast<int32_t>(ctx.u64(body["bootstrap"], bp + ".bootstrap", 0, 100000));
        if (body["bootstrap_seed"]) m.bootstrap_seed = ctx.u64(body["bootstrap_seed"], bp + ".bootstrap_seed", 0, UINT64_MAX);
        if (body["target"]) m.target = ctx.str(body["target"], bp + ".target");
      }
    } else if (kind == "adapt") {
      c.adapt = true;
      auto& a = c.adapt_stage;
      const std::string bp = path + ".adapt";
      if (!body || body.IsNull()) ctx.fail(s, bp, "needs settings, at least {proxy: DEVICE}");
      ctx.only_keys(body, bp, {"proxy", "targets", "schemes", "n", "validation", "repeats", "seed", "include_disconnected",
                               "candidates", "k", "sampling", "twin", "protocol", "adaproxy", "predict", "export"});
      if (!body["proxy"]) ctx.fail(body, bp + ".proxy", "missing (the proxy device's column name)");
      a.proxy = ctx.str(body["proxy"], bp + ".proxy");
      a.proxy_where = ctx.where(body["proxy"], bp + ".proxy");
      if (body["targets"]) {
        const YAML::Node t = body["targets"];
        a.targets_where = ctx.where(t, bp + ".targets");
        if (!(t.IsScalar() && t.Scalar() == "all")) a.targets = ctx.str_list(t, bp + ".targets");
      }
      if (body["schemes"]) {
        const YAML::Node sc = body["schemes"];
        a.schemes = ctx.choices(sc, bp + ".schemes", adaptation_scheme_names(), "adaptation scheme");
      }
      if (body["n"]) {
        const YAML::Node nn = body["n"];
        a.n_where = ctx.where(nn, bp + ".n");
        // Fewer than 3 training samples cannot fit a slope and an intercept with a check.
        a.n = ctx.budgets(nn, bp + ".n");
      }
      // Fewer than 3 validation samples rank nothing worth choosing by.
      if (body["validation"]) a.validation = static_cast<int64_t>(ctx.u64(body["validation"], bp + ".validation", 3, kMaxArchs));
      if (body["repeats"]) a.repeats = static_cast<int32_t>(ctx.u64(body["repeats"], bp + ".repeats", 1, 100000));
      if (body["seed"]) a.seed = ctx.u64(body["seed"], bp + ".seed", 0, UINT64_MAX);
      if (body["include_disconnected"]) a.include_disconnected = ctx.flag(body["include_disconnected"], bp + ".include_disconnected");
      if (body["candidates"]) {
        const YAML::Node cn = body["candidates"];
        a.candidates_where = ctx.where(cn, bp + ".candidates");
        if (!(cn.IsScalar() && cn.Scalar() == "all")) a.candidates = ctx.str_list(cn, bp + ".candidates");
      }
      if (body["k"]) a.k = static_cast<int32_t>(ctx.u64(body["k"], bp + ".k", 1, 64));
      if (body["sampling"]) {
        a.sampling = ctx.choice(body["sampling"], bp + ".sampling", adaptation_sampling_names(), "sampling");
      }
      if (body["adaproxy"]) {
        const YAML::Node ap = body["adaproxy"];
        const std::string ab = bp + ".adaproxy";
        if (!ap.IsMap()) ctx.fail(ap, ab, "expected a map {lambda_grid: authors|proxysim, tie: least_penalised|most_penalised}");
        ctx.only_keys(ap, ab, {"lambda_grid", "tie"});
        if (ap["lambda_grid"]) a.adaproxy_grid = ctx.choice(ap["lambda_grid"], ab + ".lambda_grid", lambda_grid_names(), "lambda grid");
        if (ap["tie"]) a.adaproxy_tie = ctx.choice(ap["tie"], ab + ".tie", lambda_tie_names(), "tie-break");
      }
      if (body["protocol"]) {
        a.protocol = ctx.choice(body["protocol"], bp + ".protocol", {"paper", "paper_mean", "extension"}, "protocol");
        if (a.protocol != "extension") {
          a.n = {60};
          a.validation = 10;
          a.sampling = "authors";
          a.seed = 1;
          a.repeats = a.protocol == "paper" ? 1 : 20;
        }
      }
      if (body["twin"]) {
        a.twin = ctx.str(body["twin"], bp + ".twin");
        a.twin_where = ctx.where(body["twin"], bp + ".twin");
      }
      if (body["predict"]) a.predict = ctx.flag(body["predict"], bp + ".predict");
      if (body["export"]) {
        a.export_csv = ctx.str(body["export"], bp + ".export");
        a.predict = true;  // the export is the predictions, written as CSV
      }
    } else if (kind == "select") {
      c.select = true;
      auto& a = c.select_stage;
      const std::string bp = path + ".select";
      if (body && !body.IsNull()) {
        ctx.only_keys(body, bp, {"candidates", "targets", "rules", "n", "repeats", "seed", "include_disconnected", "sampling"});
        auto devices = [&](const char* key, std::vector<std::string>& out, std::string& where) {
          if (!body[key]) return;
          const YAML::Node t = body[key];
          where = ctx.where(t, bp + "." + key);
          if (!(t.IsScalar() && t.Scalar() == "all")) out = ctx.str_list(t, bp + "." + key);
        };
        devices("candidates", a.candidates, a.candidates_where);
        devices("targets", a.targets, a.targets_where);
        if (body["rules"]) {
          const YAML::Node ru = body["rules"];
          a.rules = ctx.choices(ru, bp + ".rules", select_rule_names(), "selection rule");
        }
        if (body["n"]) {
          const YAML::Node nn = body["n"];
          a.n_where = ctx.where(nn, bp + ".n");
          // Fewer than 3 samples leave an SRCC with nothing to rank.
          a.n = ctx.budgets(nn, bp + ".n");
        }
        if (body["repeats"]) a.repeats = static_cast<int32_t>(ctx.u64(body["repeats"], bp + ".repeats", 1, 100000));
        if (body["seed"]) a.seed = ctx.u64(body["seed"], bp + ".seed", 0, UINT64_MAX);
        if (body["include_disconnected"]) a.include_disconnected = ctx.flag(body["include_disconnected"], bp + ".include_disconnected");
        if (body["sampling"]) a.sampling = ctx.choice(body["sampling"], bp + ".sampling", sampling_names(), "sampling");
      }
    } else if (kind == "cover") {
      c.cover = true;
      auto& cv = c.cover_stage;
      const std::string bp = path + ".cover";
      if (body && !body.IsNull()) {
        ctx.only_keys(body, bp, {"thresholds", "by_class", "include_disconnected"});
        if (body["thresholds"]) {
          const YAML::Node t = body["thresholds"];
          cv.thresholds.clear();
          if (t.IsScalar()) {
            cv.thresholds.push_back(ctx.real(t, bp + ".thresholds", -1.0, 1.0));
          } else if (t.IsSequence() && t.size() > 0) {
            for (size_t j = 0; j < t.size(); ++j) {
              const std::string key = bp + ".thresholds[" + std::to_string(j) + "]";
              cv.thresholds.push_back(ctx.real(t[j], key, -1.0, 1.0));
              if (j > 0 && cv.thresholds[j] <= cv.thresholds[j - 1]) ctx.fail(t[j], key, "thresholds must increase");
            }
          } else {
            ctx.fail(t, bp + ".thresholds", "expected an SRCC or a non-empty increasing list of them");
          }
        }
        if (body["by_class"]) cv.by_class = ctx.flag(body["by_class"], bp + ".by_class");
        if (body["include_disconnected"]) cv.include_disconnected = ctx.flag(body["include_disconnected"], bp + ".include_disconnected");
      }
    } else if (kind == "nas") {
      c.nas = true;
      auto& a = c.nas_stage;
      const std::string bp = path + ".nas";
      if (!body || body.IsNull()) ctx.fail(s, bp, "needs settings, at least {proxy: DEVICE}");
      ctx.only_keys(body, bp, {"accuracy", "accuracy_file", "synthetic_seed", "proxy", "targets", "sources", "scheme",
                               "n", "validation", "strategies", "constraints", "constraint_ms", "seeds", "seed", "budget", "population",
                               "sample", "ofa", "checkpoints", "include_disconnected"});
      if (body["accuracy"]) a.accuracy = ctx.choice(body["accuracy"], bp + ".accuracy", {"nb201", "synthetic"}, "accuracy source");
      a.accuracy_file = accuracy_file(body, bp, a.accuracy);
      if (body["synthetic_seed"]) a.synthetic_seed = ctx.u64(body["synthetic_seed"], bp + ".synthetic_seed", 0, UINT64_MAX);
      if (!body["proxy"]) ctx.fail(body, bp + ".proxy", "missing (the proxy device's column name)");
      a.proxy = ctx.str(body["proxy"], bp + ".proxy");
      a.proxy_where = ctx.where(body["proxy"], bp + ".proxy");
      if (body["targets"]) {
        const YAML::Node t = body["targets"];
        a.targets_where = ctx.where(t, bp + ".targets");
        if (!(t.IsScalar() && t.Scalar() == "all")) a.targets = ctx.str_list(t, bp + ".targets");
      }
      if (body["sources"]) a.sources = ctx.choices(body["sources"], bp + ".sources", nas_source_names(), "latency source");
      if (body["scheme"]) a.scheme = ctx.choice(body["scheme"], bp + ".scheme", adaptation_scheme_names(), "adaptation scheme");
      if (body["n"]) a.n = static_cast<int64_t>(ctx.u64(body["n"], bp + ".n", 3, kMaxArchs));
      if (body["validation"]) a.validation = static_cast<int64_t>(ctx.u64(body["validation"], bp + ".validation", 3, kMaxArchs));
      if (body["strategies"]) a.strategies = ctx.choices(body["strategies"], bp + ".strategies", strategy_names(), "search strategy");
      // One value or an increasing list of them, each in [lo, hi].
      auto increasing = [&](const YAML::Node& t, const std::string& key, double lo, double hi, const char* expected,
                            const char* order) {
        std::vector<double> v;
        if (t.IsScalar()) {
          v.push_back(ctx.real(t, key, lo, hi));
        } else if (t.IsSequence() && t.size() > 0) {
          for (size_t j = 0; j < t.size(); ++j) {
            const std::string at = key + "[" + std::to_string(j) + "]";
            v.push_back(ctx.real(t[j], at, lo, hi));
            if (j > 0 && v[j] <= v[j - 1]) ctx.fail(t[j], at, order);
          }
        } else {
          ctx.fail(t, key, expected);
        }
        return v;
      };
      // Quantiles of latency; 1 admits every architecture (no constraint).
      if (body["constraints"]) {
        a.constraints = increasing(body["constraints"], bp + ".constraints", 1e-9, 1.0,
                                   "expected a latency quantile in (0, 1] or an increasing list of them",
                                   "constraints must increase");
      }
      // Latency limits on the target in ms, each judged on the target's measurements.
      if (body["constraint_ms"]) {
        if (body["constraints"]) {
          ctx.fail(body["constraint_ms"], bp + ".constraint_ms",
                   "give latency quantiles (constraints) or limits in ms (constraint_ms), not both");
        }
        a.constraint_ms = increasing(body["constraint_ms"], bp + ".constraint_ms", 1e-9, 1e12,
                                     "expected a latency limit in ms (> 0) or an increasing list of them",
                                     "limits must increase");
        a.constraints.clear();
      }
      if (body["seeds"]) a.seeds = static_cast<int32_t>(ctx.u64(body["seeds"], bp + ".seeds", 1, 100000));
      if (body["seed"]) a.seed = ctx.u64(body["seed"], bp + ".seed", 0, UINT64_MAX);
      if (body["budget"]) a.budget = static_cast<int64_t>(ctx.u64(body["budget"], bp + ".budget", 0, kMaxArchs));
      if (body["population"]) a.population = static_cast<int32_t>(ctx.u64(body["population"], bp + ".population", 1, 1000000));
      if (body["sample"]) a.sample = static_cast<int32_t>(ctx.u64(body["sample"], bp + ".sample", 1, 1000000));
      if (body["ofa"]) {
        const YAML::Node o = body["ofa"];
        const std::string op = bp + ".ofa";
        ctx.only_keys(o, op, {"population", "generations", "mutation_prob", "parent_ratio", "mutation_ratio"});
        if (o["population"]) a.ofa_population = static_cast<int32_t>(ctx.u64(o["population"], op + ".population", 2, 1000000));
        if (o["generations"]) a.ofa_generations = static_cast<int32_t>(ctx.u64(o["generations"], op + ".generations", 0, 1000000));
        if (o["mutation_prob"]) a.ofa_mutation_prob = ctx.real(o["mutation_prob"], op + ".mutation_prob", 0.0, 1.0);
        if (o["parent_ratio"]) a.ofa_parent_ratio = ctx.real(o["parent_ratio"], op + ".parent_ratio", 0.01, 1.0);
        if (o["mutation_ratio"]) a.ofa_mutation_ratio = ctx.real(o["mutation_ratio"], op + ".mutation_ratio", 0.0, 1.0);
        if (a.ofa_parent_ratio + a.ofa_mutation_ratio > 1.0) ctx.fail(o, op, "parent_ratio + mutation_ratio must be at most 1");
      }
      if (body["checkpoints"]) a.checkpoints = ctx.budgets(body["checkpoints"], bp + ".checkpoints");
      if (body["include_disconnected"]) a.include_disconnected = ctx.flag(body["include_disconnected"], bp + ".include_disconnected");
    } else if (kind == "deploy") {
      c.deploy = true;
      auto& a = c.deploy_stage;
      const std::string bp = path + ".deploy";
      if (!body || body.IsNull()) ctx.fail(s, bp, "needs settings, at least {proxy: DEVICE, constraint_ms: MS}");
      ctx.only_keys(body, bp, {"proxy", "target", "scheme", "n", "validation", "constraint_ms", "quantile", "accuracy",
                               "accuracy_file", "synthetic_seed", "seed", "alternatives", "include_disconnected",
                               "export"});
      if (!body["proxy"]) ctx.fail(body, bp + ".proxy", "missing (the proxy device's column name)");
      a.proxy = ctx.str(body["proxy"], bp + ".proxy");
      a.proxy_where = ctx.where(body["proxy"], bp + ".proxy");
      if (body["target"]) {
        a.target = ctx.str(body["target"], bp + ".target");
        a.target_where = ctx.where(body["target"], bp + ".target");
      }
      if (body["scheme"]) a.scheme = ctx.choice(body["scheme"], bp + ".scheme", adaptation_scheme_names(), "adaptation scheme");
      if (body["n"]) {
        a.n_where = ctx.where(body["n"], bp + ".n");
        if (!(body["n"].IsScalar() && body["n"].Scalar() == "all")) {
          a.n = static_cast<int64_t>(ctx.u64(body["n"], bp + ".n", 3, kMaxArchs));
        }
      }
      if (body["validation"]) a.validation = static_cast<int64_t>(ctx.u64(body["validation"], bp + ".validation", 2, kMaxArchs));
      if (static_cast<bool>(body["constraint_ms"]) == static_cast<bool>(body["quantile"])) {
        ctx.fail(body, bp, "give exactly one latency limit: constraint_ms (milliseconds on the target) or quantile "
                           "(of the predicted latencies)");
      }
      if (body["constraint_ms"]) {
        a.constraint_ms = ctx.real(body["constraint_ms"], bp + ".constraint_ms", 1e-9, 1e9);
        a.constraint_where = ctx.where(body["constraint_ms"], bp + ".constraint_ms");
      }
      if (body["quantile"]) {
        a.quantile = ctx.real(body["quantile"], bp + ".quantile", 1e-9, 1.0);
        a.constraint_where = ctx.where(body["quantile"], bp + ".quantile");
      }
      if (body["accuracy"]) a.accuracy = ctx.choice(body["accuracy"], bp + ".accuracy", {"nb201", "synthetic"}, "accuracy source");
      a.accuracy_file = accuracy_file(body, bp, a.accuracy);
      if (body["synthetic_seed"]) a.synthetic_seed = ctx.u64(body["synthetic_seed"], bp + ".synthetic_seed", 0, UINT64_MAX);
      if (body["seed"]) a.seed = ctx.u64(body["seed"], bp + ".seed", 0, UINT64_MAX);
      if (body["alternatives"]) a.alternatives = static_cast<int32_t>(ctx.u64(body["alternatives"], bp + ".alternatives", 0, 1000));
      if (body["include_disconnected"]) a.include_disconnected = ctx.flag(body["include_disconnected"], bp + ".include_disconnected");
      if (body["export"]) a.export_json = ctx.str(body["export"], bp + ".export");
    } else {
      ctx.fail(s, path, "unknown stage '" + kind + "' (expected eval, monotonicity, adapt, select, cover, nas or deploy)");
    }
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
  if (c.eval) {
    const char* mode = c.eval_stage.mode == EvalMode::kWalk ? "walk" : c.eval_stage.mode == EvalMode::kCompiled ? "compiled" : "auto";
    out << YAML::BeginMap << YAML::Key << "eval" << YAML::Value << YAML::BeginMap << YAML::Key << "chunk" << YAML::Value
        << c.eval_stage.chunk << YAML::Key << "mode" << YAML::Value << mode << YAML::EndMap << YAML::EndMap;
  }
  if (c.monotonicity) {
    const auto& m = c.monotonicity_stage;
    out << YAML::BeginMap << YAML::Key << "monotonicity" << YAML::Value << YAML::BeginMap << YAML::Key << "kendall"
        << YAML::Value << m.kendall << YAML::Key << "top_k" << YAML::Value << m.top_k << YAML::Key << "bootstrap"
        << YAML::Value << m.bootstrap << YAML::Key << "bootstrap_seed" << YAML::Value << m.bootstrap_seed << YAML::Key
        << "include_disconnected" << YAML::Value << m.include_disconnected;
    if (!m.target.empty()) out << YAML::Key << "target" << YAML::Value << m.target;
    out << YAML::EndMap << YAML::EndMap;
  }
  if (c.adapt) {
    const auto& a = c.adapt_stage;
    out << YAML::BeginMap << YAML::Key << "adapt" << YAML::Value << YAML::BeginMap << YAML::Key << "proxy" << YAML::Value
        << a.proxy << YAML::Key << "targets" << YAML::Value;
    if (a.targets.empty()) {
      out << "all";
    } else {
      out << a.targets;
    }
    out << YAML::Key << "schemes" << YAML::Value << a.schemes << YAML::Key << "n" << YAML::Value << YAML::Flow << a.n
        << YAML::Key << "validation" << YAML::Value << a.validation << YAML::Key << "repeats" << YAML::Value
        << a.repeats << YAML::Key << "seed" << YAML::Value << a.seed << YAML::Key << "include_disconnected"
        << YAML::Value << a.include_disconnected << YAML::Key << "sampling" << YAML::Value << a.sampling << YAML::Key
        << "candidates" << YAML::Value;
    if (a.candidates.empty()) {
      out << "all";
    } else {
      out << a.candidates;
    }
    out << YAML::Key << "protocol" << YAML::Value << a.protocol << YAML::Key << "adaproxy" << YAML::Value
        << YAML::Flow << YAML::BeginMap << YAML::Key << "lambda_grid" << YAML::Value << a.adaproxy_grid << YAML::Key
        << "tie" << YAML::Value << a.adaproxy_tie << YAML::EndMap;
    out << YAML::Key << "k" << YAML::Value << a.k << YAML::Key << "twin" << YAML::Value
        << (a.twin.empty() ? "twin_" + a.proxy : a.twin) << YAML::Key << "predict" << YAML::Value << a.predict;
    if (!a.export_csv.empty()) out << YAML::Key << "export" << YAML::Value << a.export_csv;
    out << YAML::EndMap << YAML::EndMap;
  }
  if (c.select) {
    const auto& a = c.select_stage;
    auto names = [&](const std::vector<std::string>& v) {
      if (v.empty()) {
        out << "all";
      } else {
        out << v;
      }
    };
    out << YAML::BeginMap << YAML::Key << "select" << YAML::Value << YAML::BeginMap << YAML::Key << "candidates"
        << YAML::Value;
    names(a.candidates);
    out << YAML::Key << "targets" << YAML::Value;
    names(a.targets);
    out << YAML::Key << "rules" << YAML::Value << a.rules << YAML::Key << "n" << YAML::Value << YAML::Flow << a.n
        << YAML::Key << "repeats" << YAML::Value << a.repeats << YAML::Key << "seed" << YAML::Value << a.seed
        << YAML::Key << "include_disconnected" << YAML::Value << a.include_disconnected << YAML::Key << "sampling"
        << YAML::Value << a.sampling << YAML::EndMap
        << YAML::EndMap;
  }
  if (c.cover) {
    const auto& cv = c.cover_stage;
    out << YAML::BeginMap << YAML::Key << "cover" << YAML::Value << YAML::BeginMap << YAML::Key << "thresholds"
        << YAML::Value << YAML::Flow << cv.thresholds << YAML::Key << "by_class" << YAML::Value << cv.by_class
        << YAML::Key << "include_disconnected" << YAML::Value << cv.include_disconnected << YAML::EndMap
        << YAML::EndMap;
  }
  if (c.deploy) {
    const auto& a = c.deploy_stage;
    out << YAML::BeginMap << YAML::Key << "deploy" << YAML::Value << YAML::BeginMap << YAML::Key << "proxy"
        << YAML::Value << a.proxy;
    if (!a.target.empty()) out << YAML::Key << "target" << YAML::Value << a.target;
    out << YAML::Key << "scheme" << YAML::Value << a.scheme << YAML::Key << "n" << YAML::Value;
    if (a.n > 0) {
      out << a.n;
    } else {
      out << "all";
    }
    out << YAML::Key << "validation" << YAML::Value << a.validation;
    if (a.constraint_ms > 0) {
      out << YAML::Key << "constraint_ms" << YAML::Value << a.constraint_ms;
    } else {
      out << YAML::Key << "quantile" << YAML::Value << a.quantile;
    }
    out << YAML::Key << "accuracy" << YAML::Value << a.accuracy;
    if (!a.accuracy_file.empty()) out << YAML::Key << "accuracy_file" << YAML::Value << a.accuracy_file;
    out << YAML::Key << "synthetic_seed" << YAML::Value << a.synthetic_seed << YAML::Key << "seed" << YAML::Value
        << a.seed << YAML::Key << "alternatives" << YAML::Value << a.alternatives << YAML::Key
        << "include_disconnected" << YAML::Value << a.include_disconnected;
    if (!a.export_json.empty()) out << YAML::Key << "export" << YAML::Value << a.export_json;
    out << YAML::EndMap << YAML::EndMap;
  }
  if (c.nas) {
    const auto& a = c.nas_stage;
    out << YAML::BeginMap << YAML::Key << "nas" << YAML::Value << YAML::BeginMap << YAML::Key << "accuracy"
        << YAML::Value << a.accuracy << YAML::Key << "accuracy_file" << YAML::Value << a.accuracy_file << YAML::Key
        << "synthetic_seed" << YAML::Value << a.synthetic_seed << YAML::Key << "proxy" << YAML::Value << a.proxy
        << YAML::Key << "targets" << YAML::Value;
    if (a.targets.empty()) {
      out << "all";
    } else {
      out << a.targets;
    }
    out << YAML::Key << "sources" << YAML::Value << YAML::Flow << a.sources << YAML::Key << "scheme" << YAML::Value
        << a.scheme << YAML::Key << "n" << YAML::Value << a.n << YAML::Key << "validation" << YAML::Value
        << a.validation << YAML::Key << "strategies" << YAML::Value << YAML::Flow << a.strategies << YAML::Key
        << (a.constraint_ms.empty() ? "constraints" : "constraint_ms") << YAML::Value << YAML::Flow
        << (a.constraint_ms.empty() ? a.constraints : a.constraint_ms) << YAML::Key << "seeds" << YAML::Value
        << a.seeds << YAML::Key << "seed" << YAML::Value << a.seed << YAML::Key << "budget" << YAML::Value << a.budget
        << YAML::Key << "population" << YAML::Value << a.population << YAML::Key << "sample" << YAML::Value
        << a.sample << YAML::Key << "ofa" << YAML::Value << YAML::BeginMap << YAML::Key << "population" << YAML::Value
        << a.ofa_population << YAML::Key << "generations" << YAML::Value << a.ofa_generations << YAML::Key
        << "mutation_prob" << YAML::Value << a.ofa_mutation_prob << YAML::Key << "parent_ratio" << YAML::Value
        << a.ofa_parent_ratio << YAML::Key << "mutation_ratio" << YAML::Value << a.ofa_mutation_ratio << YAML::EndMap
        << YAML::Key << "checkpoints" << YAML::Value << YAML::Flow << a.checkpoints << YAML::Key
        << "include_disconnected" << YAML::Value << a.include_disconnected << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::EndSeq;
  if (!c.output.empty()) out << YAML::Key << "output" << YAML::Value << c.output;
  out << YAML::EndMap;
  return out.c_str();
}

}  // namespace proxysim
