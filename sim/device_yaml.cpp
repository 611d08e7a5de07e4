#include "sim/device_yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "base/error.hpp"
#include "sim/latency_model.hpp"

namespace proxysim {

namespace detail_embedded {
struct EmbeddedFile {
  const char* name;
  const char* text;
};
// Generated at build time from sim/devices/*.yaml (cmake/embed_devices.cmake).
extern const EmbeddedFile kDeviceFiles[];
extern const int kDeviceFileCount;
}  // namespace detail_embedded

namespace {

constexpr std::array<std::string_view, kNumDeviceClasses> kClassNames = {
    "cpu", "mobile_cpu", "gpu", "mobile_gpu", "dsp", "npu", "tpu", "fpga", "asic"};
constexpr std::array<std::string_view, kNumOpClasses> kOpClassNames = {
    "pointwise", "dense3", "dense5", "depthwise3", "depthwise5", "grouped", "pool", "elementwise", "fully_connected"};
// DeviceParams::measurement's index order, SpaceId's (sim/space_kernels.hpp).
constexpr std::array<std::string_view, kNumSpaces> kSpaceNames = {"nb201", "fbnet", "ofa_mbv3", "mbv2"};
constexpr std::array<std::string_view, 2> kMeasurementNames = {"end_to_end", "block_sum"};

class Reader {
 public:
  Reader(const YAML::Node& root, std::string file) : root_(root), file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw UserError(file_ + ": field '" + key + "': " + what);
  }

  YAML::Node need(const YAML::Node& parent, const std::string& key, const std::string& path) const {
    const YAML::Node n = parent[key];
    if (!n) fail(path, "missing");
    used_.insert(path);
    return n;
  }

  double number(const std::string& key, double lo, double hi) const { return number_in(root_, key, key, lo, hi); }
  double number(const std::string& key, ParamRange r) const { return number(key, r.lo, r.hi); }

  double number_in(const YAML::Node& parent, const std::string& key, const std::string& path, double lo,
                   double hi) const {
    const YAML::Node n = need(parent, key, path);
    double v = 0.0;
    try {
      v = n.as<double>();
    } catch (const YAML::Exception&) {
      fail(path, "expected a number in [" + fmt(lo) + ", " + fmt(hi) + "], found '" + scalar(n) + "'");
    }
    if (!std::isfinite(v) || v < lo || v > hi) {
      fail(path, "must be in [" + fmt(lo) + ", " + fmt(hi) + "], found " + scalar(n));
    }
    return v;
  }

  int integer(const std::string& key, int lo, int hi) const {
    const double v = number(key, lo, hi);
    if (v != std::floor(v)) fail(key, "expected an integer in [" + fmt(lo) + ", " + fmt(hi) + "], found " + fmt(v));
    return static_cast<int>(v);
  }

  bool has(const std::string& key) const { return static_cast<bool>(root_[key]); }

  bool boolean(const std::string& key) const {
    const YAML::Node n = need(root_, key, key);
    try {
      return n.as<bool>();
    } catch (const YAML::Exception&) {
      fail(key, "expected true or false, found '" + scalar(n) + "'");
    }
  }

  std::string text(const std::string& key) const {
    const YAML::Node n = need(root_, key, key);
    if (!n.IsScalar() || n.Scalar().empty()) fail(key, "expected a non-empty string");
    return n.Scalar();
  }

  // A mapping's key as a plain name; a complex key (`? [a, b]`) or a null one is the
  // user's mistake, named with its line.
  std::string key_of(const YAML::Node& k, const std::string& where) const {
    if (!k.IsScalar()) {
      throw UserError(file_ + ":" + std::to_string(k.Mark().line + 1) + ": " + where +
                      ": expected a plain field name");
    }
    return k.Scalar();
  }

  void reject_unknown() const {
    for (const auto& kv : root_) {
      const std::string key = key_of(kv.first, "a top-level field");
      if (!used_.count(key)) fail(key, "unknown field (a typo?)");
    }
  }

  static std::string fmt(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
  }
  static std::string scalar(const YAML::Node& n) { return n.IsScalar() ? n.Scalar() : "<not a scalar>"; }

 private:
  const YAML::Node& root_;
  std::string file_;
  mutable std::set<std::string> used_;
};

}  // namespace

std::string_view device_class_name(DeviceClass c) { return kClassNames[static_cast<int>(c)]; }
std::string_view op_class_name(OpClass c) { return kOpClassNames[static_cast<int>(c)]; }

namespace {

DeviceSpec parse_device_node(const YAML::Node& root, const std::string& file);

}  // namespace

DeviceSpec parse_device_yaml(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw UserError(file + ": not valid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  try {
    return parse_device_node(root, file);
  } catch (const YAML::Exception& e) {
    // Any conversion the checks missed still reads as the user's mistake, with its line.
    throw UserError(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

namespace {

// A search space's index in SpaceId order, from its name as a key of mapping `field`.
int space_index(const Reader& r, const std::string& key, const std::string& field) {
  for (int i = 0; i < kNumSpaces; ++i) {
    if (kSpaceNames[i] == key) return i;
  }
  r.fail(field + "." + key, "unknown search space (expected nb201, fbnet, ofa_mbv3, mbv2)");
}

DeviceSpec parse_device_node(const YAML::Node& root, const std::string& file) {
  if (!root.IsMap()) throw UserError(file + ": expected a mapping of device fields");
  Reader r(root, file);
  DeviceSpec spec;
  spec.file = file;
  spec.name = r.text("name");
  for (char ch : spec.name) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) {
      r.fail("name", "use letters, digits and '_', found '" + spec.name + "'");
    }
  }
  spec.imitates = r.text("imitates");
  spec.source = r.text("source");
  const std::string cls = r.text("class");
  int ci = -1;
  for (int i = 0; i < kNumDeviceClasses; ++i) {
    if (kClassNames[i] == cls) ci = i;
  }
  if (ci < 0) r.fail("class", "expected one of cpu, mobile_cpu, gpu, mobile_gpu, dsp, npu, tpu, fpga, asic; found '" + cls + "'");
  DeviceParams& p = spec.params;
  p.device_class = static_cast<DeviceClass>(ci);
  p.peak_gflops = static_cast<float>(r.number("peak_gflops", kPeakGflopsRange));
  p.dram_gbps = static_cast<float>(r.number("dram_gbps", kDramGbpsRange));
  p.onchip_gbps = static_cast<float>(r.number("onchip_gbps", kOnchipGbpsRange));
  p.onchip_bytes = static_cast<float>(r.number("onchip_bytes", kOnchipBytesRange));
  p.bytes_per_element = static_cast<float>(r.number("bytes_per_element", 1, 4));
  p.lanes_out = r.integer("lanes_out", 1, 4096);
  p.lanes_in = r.integer("lanes_in", 1, 4096);
  p.units = r.integer("units", 1, 65536);
  p.pixels_per_unit = r.integer("pixels_per_unit", 1, 65536);
  p.half_util_macs = static_cast<float>(r.number("half_util_macs", kHalfUtilMacsRange));
  const YAML::Node eff = r.need(root, "efficiency", "efficiency");
  if (!eff.IsMap()) r.fail("efficiency", "expected a mapping of op class to a fraction of peak");
  for (int i = 0; i < kNumOpClasses; ++i) {
    const std::string key(kOpClassNames[i]);
    p.efficiency[i] = static_cast<float>(r.number_in(eff, key, "efficiency." + key, kEfficiencyRange.lo, kEfficiencyRange.hi));
  }
  for (const auto& kv : eff) {
    const std::string key = r.key_of(kv.first, "field 'efficiency'");
    bool known = false;
    for (auto n : kOpClassNames) known = known || n == key;
    if (!known) r.fail("efficiency." + key, "unknown op class (expected pointwise, dense3, dense5, depthwise3, depthwise5, grouped, pool, elementwise, fully_connected)");
  }
  p.launch_us = static_cast<float>(r.number("launch_us", kLaunchUsRange));
  p.async_launch = r.boolean("async_launch");
  p.fuse_bn_act = r.boolean("fuse_bn_act");
  p.fuse_elementwise = r.boolean("fuse_elementwise");
  p.prune_dead = r.boolean("prune_dead");
  p.fold_zero_inputs = r.boolean("fold_zero_inputs");
  p.batch = r.integer("batch", 1, 4096);
  p.noise_sigma = static_cast<float>(r.number("noise_sigma", 0, kMaxNoiseSigma));
  p.resolution_ms = static_cast<float>(r.number("resolution_ms", 0, 100));
  // Optional: a calibrated twin's level (DeviceParams::level); 1 where not given.
  if (r.has("level")) p.level = static_cast<float>(r.number("level", kLevelRange));
  // Optional: how the device's tables were measured, one method for every space or a
  // mapping of space to method (spaces not listed: end_to_end).
  if (r.has("measurement")) {
    const YAML::Node m = r.need(root, "measurement", "measurement");
    auto method = [&](const YAML::Node& n, const std::string& path) {
      const std::string v = n.IsScalar() ? n.Scalar() : "";
      for (size_t i = 0; i < kMeasurementNames.size(); ++i) {
        if (kMeasurementNames[i] == v) return static_cast<Measurement>(i);
      }
      r.fail(path, "expected end_to_end or block_sum, found '" + Reader::scalar(n) + "'");
    };
    if (m.IsScalar()) {
      const Measurement all = method(m, "measurement");
      for (Measurement& x : p.measurement) x = all;
    } else if (m.IsMap()) {
      for (const auto& kv : m) {
        const std::string key = r.key_of(kv.first, "field 'measurement'");
        p.measurement[space_index(r, key, "measurement")] = method(kv.second, "measurement." + key);
      }
    } else {
      r.fail("measurement", "expected end_to_end, block_sum or a mapping of search space to one of them");
    }
  }
  // Optional: parameters of one space's own fit, over the ones above (a calibrated
  // twin's; see DeviceSpec::space_params). Each space's set is the whole device with
  // the listed fields replaced, checked like the device itself.
  if (r.has("spaces")) {
    const YAML::Node spaces = r.need(root, "spaces", "spaces");
    if (!spaces.IsMap()) r.fail("spaces", "expected a mapping of search space to the fields that differ there");
    for (const auto& kv : spaces) {
      const std::string key = r.key_of(kv.first, "field 'spaces'");
      const int found = space_index(r, key, "spaces");
      if (!kv.second.IsMap()) r.fail("spaces." + key, "expected a mapping of device fields");
      YAML::Node merged = YAML::Clone(root);
      merged.remove("spaces");
      for (const auto& f : kv.second) {
        const std::string field = r.key_of(f.first, "field 'spaces." + key + "'");
        if (field == "name" || field == "imitates" || field == "source" || field == "class" ||
            field == "measurement" || field == "spaces") {
          r.fail("spaces." + key + "." + field, "is the device's, not a space's (give it at the top level)");
        }
        if (!root[field] && field != "level") r.fail("spaces." + key + "." + field, "unknown field (a typo?)");
        if (field == "efficiency" && f.second.IsMap()) {
          for (const auto& e : f.second) merged["efficiency"][r.key_of(e.first, "field 'spaces." + key + ".efficiency'")] = e.second;
        } else {
          merged[field] = f.second;
        }
      }
      spec.space_params[static_cast<size_t>(found)] = parse_device_node(merged, file + ": spaces." + key).params;
    }
  }
  r.reject_unknown();
  return spec;
}

}  // namespace

DeviceSpec load_device_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UserError(path + ": cannot open device file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_device_yaml(ss.str(), path);
}

std::string device_yaml(const DeviceSpec& spec, const std::string& comment) {
  const DeviceParams& p = spec.params;
  YAML::Emitter out;
  out.SetDoublePrecision(9);
  out.SetFloatPrecision(9);
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << spec.name;
  out << YAML::Key << "imitates" << YAML::Value << YAML::DoubleQuoted << spec.imitates;
  out << YAML::Key << "source" << YAML::Value << YAML::DoubleQuoted << spec.source;
  out << YAML::Key << "class" << YAML::Value << std::string(device_class_name(p.device_class));
  out << YAML::Key << "peak_gflops" << YAML::Value << p.peak_gflops;
  out << YAML::Key << "dram_gbps" << YAML::Value << p.dram_gbps;
  out << YAML::Key << "onchip_gbps" << YAML::Value << p.onchip_gbps;
  out << YAML::Key << "onchip_bytes" << YAML::Value << p.onchip_bytes;
  out << YAML::Key << "bytes_per_element" << YAML::Value << p.bytes_per_element;
  out << YAML::Key << "lanes_out" << YAML::Value << p.lanes_out;
  out << YAML::Key << "lanes_in" << YAML::Value << p.lanes_in;
  out << YAML::Key << "units" << YAML::Value << p.units;
  out << YAML::Key << "pixels_per_unit" << YAML::Value << p.pixels_per_unit;
  out << YAML::Key << "half_util_macs" << YAML::Value << p.half_util_macs;
  out << YAML::Key << "efficiency" << YAML::Value << YAML::Flow << YAML::BeginMap;
  for (int i = 0; i < kNumOpClasses; ++i) out << YAML::Key << std::string(kOpClassNames[i]) << YAML::Value << p.efficiency[i];
  out << YAML::EndMap;
  out << YAML::Key << "launch_us" << YAML::Value << p.launch_us;
  out << YAML::Key << "async_launch" << YAML::Value << p.async_launch;
  out << YAML::Key << "fuse_bn_act" << YAML::Value << p.fuse_bn_act;
  out << YAML::Key << "fuse_elementwise" << YAML::Value << p.fuse_elementwise;
  out << YAML::Key << "prune_dead" << YAML::Value << p.prune_dead;
  out << YAML::Key << "fold_zero_inputs" << YAML::Value << p.fold_zero_inputs;
  out << YAML::Key << "batch" << YAML::Value << p.batch;
  out << YAML::Key << "noise_sigma" << YAML::Value << p.noise_sigma;
  out << YAML::Key << "resolution_ms" << YAML::Value << p.resolution_ms;
  if (p.level != 1.0f) out << YAML::Key << "level" << YAML::Value << p.level;
  bool uniform = true;
  for (Measurement m : p.measurement) uniform = uniform && m == p.measurement[0];
  out << YAML::Key << "measurement" << YAML::Value;
  if (uniform) {
    out << std::string(kMeasurementNames[static_cast<int>(p.measurement[0])]);
  } else {
    out << YAML::Flow << YAML::BeginMap;
    for (int i = 0; i < kNumSpaces; ++i) {
      out << YAML::Key << std::string(kSpaceNames[i]) << YAML::Value
          << std::string(kMeasurementNames[static_cast<int>(p.measurement[i])]);
    }
    out << YAML::EndMap;
  }
  if (spec.has_space_params()) {
    out << YAML::Key << "spaces" << YAML::Value << YAML::BeginMap;
    for (int i = 0; i < kNumSpaces; ++i) {
      if (!spec.space_params[static_cast<size_t>(i)]) continue;
      const DeviceParams& q = *spec.space_params[static_cast<size_t>(i)];
      out << YAML::Key << std::string(kSpaceNames[i]) << YAML::Value << YAML::BeginMap;
      auto field = [&](const char* key, auto base, auto own) {
        if (own != base) out << YAML::Key << key << YAML::Value << own;
      };
      field("peak_gflops", p.peak_gflops, q.peak_gflops);
      field("dram_gbps", p.dram_gbps, q.dram_gbps);
      field("onchip_gbps", p.onchip_gbps, q.onchip_gbps);
      field("onchip_bytes", p.onchip_bytes, q.onchip_bytes);
      field("bytes_per_element", p.bytes_per_element, q.bytes_per_element);
      field("lanes_out", p.lanes_out, q.lanes_out);
      field("lanes_in", p.lanes_in, q.lanes_in);
      field("units", p.units, q.units);
      field("pixels_per_unit", p.pixels_per_unit, q.pixels_per_unit);
      field("half_util_macs", p.half_util_macs, q.half_util_macs);
      bool efficiency_differs = false;
      for (int c = 0; c < kNumOpClasses; ++c) efficiency_differs = efficiency_differs || q.efficiency[c] != p.efficiency[c];
      if (efficiency_differs) {
        out << YAML::Key << "efficiency" << YAML::Value << YAML::Flow << YAML::BeginMap;
        for (int c = 0; c < kNumOpClasses; ++c) {
          if (q.efficiency[c] != p.efficiency[c]) out << YAML::Key << std::string(kOpClassNames[c]) << YAML::Value << q.efficiency[c];
        }
        out << YAML::EndMap;
      }
      field("launch_us", p.launch_us, q.launch_us);
      field("async_launch", p.async_launch, q.async_launch);
      field("fuse_bn_act", p.fuse_bn_act, q.fuse_bn_act);
      field("fuse_elementwise", p.fuse_elementwise, q.fuse_elementwise);
      field("prune_dead", p.prune_dead, q.prune_dead);
      field("fold_zero_inputs", p.fold_zero_inputs, q.fold_zero_inputs);
      field("batch", p.batch, q.batch);
      field("noise_sigma", p.noise_sigma, q.noise_sigma);
      field("resolution_ms", p.resolution_ms, q.resolution_ms);
      field("level", p.level, q.level);
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  std::string text;
  std::istringstream lines(comment);
  for (std::string line; std::getline(lines, line);) text += "# " + line + "\n";
  return text + out.c_str() + "\n";
}

namespace {
std::vector<DeviceSpec> embedded(const char* folder, bool twins) {
  std::vector<DeviceSpec> out;
  for (int i = 0; i < detail_embedded::kDeviceFileCount; ++i) {
    const auto& f = detail_embedded::kDeviceFiles[i];
    const bool is_twin = std::string_view(f.name).starts_with("twins/");
    if (is_twin == twins) out.push_back(parse_device_yaml(f.text, std::string(folder) + f.name));
  }
  return out;
}
}  // namespace

const std::vector<DeviceSpec>& builtin_devices() {
  static const std::vector<DeviceSpec> devices = embedded("sim/devices/", false);
  return devices;
}

const std::vector<DeviceSpec>& twin_devices() {
  static const std::vector<DeviceSpec> devices = embedded("sim/devices/", true);
  return devices;
}

const DeviceSpec& builtin_device(std::string_view name) {
  for (const auto& d : builtin_devices()) {
    if (d.name == name) return d;
  }
  for (const auto& d : twin_devices()) {
    if (d.name == name) return d;
  }
  throw UserError("unknown device '" + std::string(name) +
                  "' (see `proxysim devices` for the built-in library and `proxysim devices --twins` for the twins)");
}

std::vector<DeviceSpec> select_devices(std::string_view list) {
  if (list == "all") return builtin_devices();
  if (list == "twins") return twin_devices();
  std::vector<DeviceSpec> out;
  std::set<std::string> seen;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const std::string item(list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (item.empty()) throw UserError("device list '" + std::string(list) + "' has an empty entry");
    if (item == "all" || item == "twins") {
      // The library's groups may be listed beside names: "all,twins", "twins,my.yaml".
      for (const DeviceSpec& spec : item == "all" ? builtin_devices() : twin_devices()) {
        if (!seen.insert(spec.name).second) throw UserError("device '" + spec.name + "' is listed twice");
        out.push_back(spec);
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
      continue;
    }
    const bool is_file = item.size() > 5 && (item.ends_with(".yaml") || item.ends_with(".yml"));
    DeviceSpec spec = is_file ? load_device_file(item) : builtin_device(item);
    if (!seen.insert(spec.name).second) throw UserError("device '" + spec.name + "' is listed twice");
    out.push_back(std::move(spec));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace proxysim
