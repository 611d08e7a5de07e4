// Checks the built-in device library: every sim/devices/*.yaml parses and equals the
// embedded copy of the same name, names are unique, every device class is present, and
// malformed specs are rejected with a UserError naming the file, field and range.
// Comparisons are exact: embedded and on-disk specs come from the same text.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "sim/device_yaml.hpp"
#include "base/error.hpp"
#include "tests/support/device_params.hpp"

using namespace proxysim;
namespace fs = std::filesystem;

namespace {

const char* const kDevicesDir = PROXYSIM_SOURCE_DIR "/sim/devices";

std::vector<fs::path> device_files() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kDevicesDir)) {
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  }
  return out;
}

void expect_same_params(const DeviceParams& a, const DeviceParams& b, const std::string& name) {
  EXPECT_TRUE(test::same_device_params(a, b)) << name;
}

// A complete, valid spec; the corpus below breaks one thing at a time.
const char* const kValid = R"(name: test_dev
imitates: a test device
source: "hand-written"
class: gpu
peak_gflops: 1000
dram_gbps: 100
onchip_gbps: 500
onchip_bytes: 1048576
bytes_per_element: 4
lanes_out: 32
lanes_in: 1
units: 8
pixels_per_unit: 64
half_util_macs: 1.0e6
efficiency: {pointwise: 0.5, dense3: 0.5, dense5: 0.4, depthwise3: 0.1, depthwise5: 0.1, grouped: 0.2, pool: 0.1, elementwise: 0.1, fully_connected: 0.2}
launch_us: 10
async_launch: true
fuse_bn_act: false
fuse_elementwise: false
prune_dead: false
fold_zero_inputs: false
batch: 1
noise_sigma: 0.01
resolution_ms: 0
)";

std::string replace_line(const std::string& text, const std::string& key, const std::string& line) {
  const size_t at = text.find("\n" + key + ":");
  EXPECT_NE(at, std::string::npos) << key;
  const size_t end = text.find('\n', at + 1);
  return text.substr(0, at + 1) + line + text.substr(end);
}

// Parses `text` and returns the UserError message, or "" when nothing was thrown.
std::string parse_error(const std::string& text, const std::string& file) {
  try {
    parse_device_yaml(text, file);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(DeviceLibrary, EveryFileParsesAndMatchesItsEmbeddedCopy) {
  const auto files = device_files();
  ASSERT_FALSE(files.empty()) << kDevicesDir;
  EXPECT_EQ(files.size(), builtin_devices().size()) << "every sim/devices/*.yaml is embedded, and nothing else";
  for (const auto& path : files) {
    const DeviceSpec disk = load_device_file(path.string());
    EXPECT_EQ(disk.name, path.stem().string()) << "a device file is named after its device";
    const DeviceSpec& embedded = builtin_device(disk.name);
    EXPECT_EQ(disk.imitates, embedded.imitates);
    EXPECT_EQ(disk.source, embedded.source);
    expect_same_params(disk.params, embedded.params, disk.name);
  }
}

TEST(DeviceLibrary, NamesUniqueAndEveryClassPresent) {
  const auto& devices = builtin_devices();
  EXPECT_GE(devices.size(), 24u);
  std::set<std::string> names;
  std::set<int> classes;
  for (const auto& d : devices) {
    EXPECT_TRUE(names.insert(d.name).second) << "duplicate " << d.name;
    classes.insert(static_cast<int>(d.params.device_class));
  }
  for (int c = 0; c < kNumDeviceClasses; ++c) {
    EXPECT_TRUE(classes.count(c)) << "no device of class " << device_class_name(static_cast<DeviceClass>(c));
  }
}

TEST(DeviceLibrary, EveryFileOpensWithACommentAndCitesASource) {
  for (const auto& path : device_files()) {
    const DeviceSpec d = load_device_file(path.string());
    std::ifstream in(path);
    std::string first;
    std::getline(in, first);
    EXPECT_EQ(first.rfind("# ", 0), 0u) << path << ": first line says what the device imitates";
    EXPECT_GT(d.source.size(), 40u) << path << ": source cites datasheets or papers";
  }
}

TEST(DeviceSpecErrors, ValidSpecParses) {
  const DeviceSpec d = parse_device_yaml(kValid, "valid.yaml");
  EXPECT_EQ(d.name, "test_dev");
  EXPECT_EQ(d.params.device_class, DeviceClass::kGpu);
  EXPECT_FLOAT_EQ(d.params.peak_gflops, 1000.0f);
  EXPECT_FLOAT_EQ(d.params.efficiency[static_cast<int>(OpClass::kDense5)], 0.4f);
  EXPECT_TRUE(d.params.async_launch);
}

TEST(DeviceSpecErrors, MalformedCorpusNamesFileFieldAndRange) {
  const std::string valid = kValid;
  struct Case {
    const char* what;
    std::string text;
    std::vector<std::string> must_mention;
  };
  std::string missing = valid;
  missing.erase(missing.find("dram_gbps: 100\n"), std::strlen("dram_gbps: 100\n"));
  std::string missing_eff = valid;
  {
    const std::string k = "dense5: 0.4, ";
    missing_eff.erase(missing_eff.find(k), k.size());
  }
  const std::vector<Case> corpus = {
      {"missing field", missing, {"dram_gbps", "missing"}},
      {"missing efficiency entry", missing_eff, {"efficiency.dense5", "missing"}},
      {"out of range", replace_line(valid, "peak_gflops", "peak_gflops: -5"), {"peak_gflops", "[0.1, 1e+06]", "-5"}},
      {"efficiency above 2", replace_line(valid, "efficiency",
                                          "efficiency: {pointwise: 2.5, dense3: 0.5, dense5: 0.4, depthwise3: 0.1, "
                                          "depthwise5: 0.1, grouped: 0.2, pool: 0.1, elementwise: 0.1, fully_connected: 0.2}"),
       {"efficiency.pointwise", "[0.0001, 2]", "2.5"}},
      {"non-integer lanes", replace_line(valid, "lanes_out", "lanes_out: 3.5"), {"lanes_out", "integer", "[1, 4096]"}},
      {"unknown field", valid + "turbo: true\n", {"turbo", "unknown field"}},
      {"unknown op class", replace_line(valid, "efficiency",
                                        "efficiency: {pointwise: 0.5, dense3: 0.5, dense5: 0.4, depthwise3: 0.1, "
                                        "depthwise5: 0.1, grouped: 0.2, pool: 0.1, elementwise: 0.1, "
                                        "fully_connected: 0.2, attention: 0.3}"),
       {"efficiency.attention", "unknown op class"}},
      {"non-number", replace_line(valid, "dram_gbps", "dram_gbps: fast"), {"dram_gbps", "expected a number", "[0.05, 100000]", "fast"}},
      {"non-boolean", replace_line(valid, "prune_dead", "prune_dead: sometimes"), {"prune_dead", "true or false", "sometimes"}},
      {"bad class", replace_line(valid, "class", "class: quantum"), {"class", "cpu, mobile_cpu", "asic", "quantum"}},
      {"not a mapping", "- name: a\n- name: b\n", {"mapping"}},
      {"invalid YAML", "name: [unclosed\npeak_gflops: 1\n", {"not valid YAML"}},
      // Found by fuzz_device_yaml in CI: a complex key escaped as yaml-cpp's exception.
      {"complex key", valid + "? [a, b]\n: 1\n", {"expected a plain field name"}},
      {"complex key in efficiency", replace_line(valid, "efficiency",
                                                 "efficiency: {? [a, b]: 1, pointwise: 0.5, dense3: 0.5, dense5: 0.4, "
                                                 "depthwise3: 0.1, depthwise5: 0.1, grouped: 0.2, pool: 0.1, "
                                                 "elementwise: 0.1, fully_connected: 0.2}"),
       {"field 'efficiency'", "expected a plain field name"}},
  };
  for (const auto& c : corpus) {
    SCOPED_TRACE(c.what);
    const std::string file = std::string("corpus/") + c.what + ".yaml";
    const std::string msg = parse_error(c.text, file);
    ASSERT_FALSE(msg.empty()) << "no UserError thrown";
    EXPECT_NE(msg.find(file), std::string::npos) << msg;
    for (const auto& m : c.must_mention) EXPECT_NE(msg.find(m), std::string::npos) << "'" << m << "' not in: " << msg;
  }
}

TEST(DeviceSpecErrors, MissingFileIsAUserError) {
  const std::string path = std::string(kDevicesDir) + "/no_such_device.yaml";
  try {
    load_device_file(path);
    FAIL() << "no UserError thrown";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}
