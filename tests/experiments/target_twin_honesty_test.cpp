// Leave-one-out honesty of target_twin: for every device column of every measured
// table in ../shared/data, no start of the target's (its candidates, and the priors
// its recalibration pulls toward) was fitted on that target's own data, nor models its
// hardware. Checked from the data, not from the names the rule uses: a twin's
// `source:` line names the files and columns it was fitted on; each is read here and
// compared with the target's column value by value on the architectures both measured
// (one device's data appear under three names across the tables: help raspi4,
// hwnasbench raspi4_latency, oneproxy rice_raspi4). A built-in start must not be the
// device any twin fitted on the target's data was started from (its hardware model).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "experiments/adapt.hpp"
#include "sim/device_yaml.hpp"
#include "io/measured_csv.hpp"
#include "base/error.hpp"

using namespace proxysim;

namespace {

const std::string kData = PROXYSIM_SHARED_DATA;

const MeasuredTable& table(const std::string& file) {
  static std::map<std::string, MeasuredTable> cache;
  auto it = cache.find(file);
  if (it == cache.end()) it = cache.emplace(file, read_measured_csv(kData + "/" + file)).first;
  return it->second;
}

std::vector<std::string> latency_files() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(kData)) {
    const std::string f = e.path().filename().string();
    if (f.rfind("srcc_", 0) == 0 || f.find("accuracy") != std::string::npos || e.path().extension() != ".csv") continue;
    out.push_back(f);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int column(const MeasuredTable& t, const std::string& name) {
  for (size_t d = 0; d < t.devices.size(); ++d) {
    // The reader drops a trailing _latency; a twin's source line may keep it.
    if (t.devices[d] == name || t.devices[d] + "_latency" == name) return static_cast<int>(d);
  }
  return -1;
}

// One column's measured values by architecture (read once per column).
const std::map<ArchCode, float>& values(const MeasuredTable& t, int d) {
  static std::map<std::pair<std::string, int>, std::map<ArchCode, float>> cache;
  auto it = cache.find({t.file, d});
  if (it != cache.end()) return it->second;
  std::map<ArchCode, float> v;
  for (size_t i = 0; i < t.rows(); ++i) {
    const float x = t.latency_ms[i * t.devices.size() + static_cast<size_t>(d)];
    if (!std::isnan(x)) v.emplace(t.codes[i], x);
  }
  return cache.emplace(std::pair{t.file, d}, std::move(v)).first->second;
}

// Whether two columns hold the same data: among the architectures both measured (at
// least 100), more than half carry the same value to 1e-6 relative. The first 200
// common architectures decide when fewer than a quarter of them agree.
bool same_data(const MeasuredTable& a, int da, const MeasuredTable& b, int db) {
  if (a.space != b.space) return false;
  const std::map<ArchCode, float>& av = values(a, da);
  const std::map<ArchCode, float>& bv = values(b, db);
  int64_t common = 0, equal = 0;
  for (const auto& [code, v] : bv) {
    const auto it = av.find(code);
    if (it == av.end()) continue;
    ++common;
    equal += std::fabs(it->second - v) <= 1e-6 * std::max(1.0f, std::fabs(v));
    if (common == 200 && 4 * equal < common) return false;
  }
  return common >= 100 && 2 * equal > common;
}

// The twin's fitted columns as (file, column) pairs, read from its source line.
std::vector<std::pair<std::string, std::string>> fitted_on(const DeviceSpec& twin) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string& s = twin.source;
  for (size_t at = s.find(" column "); at != std::string::npos; at = s.find(" column ", at + 1)) {
    size_t fb = s.rfind(' ', at - 1);
    fb = fb == std::string::npos ? 0 : fb + 1;
    const std::string file = s.substr(fb, at - fb);
    const size_t cb = at + 8, ce = s.find(' ', cb);
    out.emplace_back(file, s.substr(cb, ce - cb));
  }
  return out;
}

// The classes the paper configs name for targets whose own class has no other device
// (experiments/paper/*target_twin*.yaml): Eyeriss and the FPGA take each other's,
// the Edge TPUs and the Hexagon DSP a mobile NPU's.
AdaptSettings stage_for(const std::string& target) {
  AdaptSettings st;
  const std::string key = measured_device_key(target);
  if (key == "eyeriss") st.target_class[target] = "fpga";
  if (key == "fpga") st.target_class[target] = "asic";
  if (key == "edgetpu" || key == "eagletpu" || key == "eagledsp855") st.target_class[target] = "npu";
  return st;
}

}  // namespace

TEST(TargetTwinHonesty, EveryTwinSaysWhatItWasFittedOnAndStartedFrom) {
  ASSERT_FALSE(twin_devices().empty());
  for (const DeviceSpec& t : twin_devices()) {
    const TwinProvenance p = twin_provenance(t);
    EXPECT_TRUE(p.ok) << t.name << ": " << t.source;
    EXPECT_EQ(p.columns.size(), fitted_on(t).size()) << t.name;
  }
}

TEST(TargetTwinHonesty, NoStartWasFittedOnTheTargetsDataOrModelsItsHardware) {
  const std::vector<std::string> files = latency_files();
  ASSERT_GE(files.size(), 5u);  // help nb201/fbnet/ofa, hwnasbench, oneproxy
  int columns = 0, targets = 0, starts = 0;
  for (const std::string& file : files) {
    const MeasuredTable& tt = table(file);
    for (size_t d = 0; d < tt.devices.size(); ++d) {
      const std::string& target = tt.devices[d];
      SCOPED_TRACE(file + " column " + target);
      ++columns;
      // Twins fitted on the target's data, found by value.
      std::set<std::string> own, own_hardware;
      for (const DeviceSpec& tw : twin_devices()) {
        for (const auto& [f, c] : fitted_on(tw)) {
          if (!std::filesystem::exists(kData + "/" + f)) continue;
          const MeasuredTable& ft = table(f);
          const int fc = column(ft, c);
          ASSERT_GE(fc, 0) << tw.name << " names " << f << " column " << c;
          if (same_data(ft, fc, tt, static_cast<int>(d))) {
            own.insert(tw.name);
            own_hardware.insert(twin_provenance(tw).started_from);
          }
        }
      }
      TargetStarts ts;
      try {
        ts = resolve_target_starts(target, stage_for(target));
      } catch (const UserError& e) {
        // Only a target with no class to take may fail, and the error names the key.
        EXPECT_NE(std::string(e.what()).find("adapt.target_class"), std::string::npos) << e.what();
        continue;
      }
      ++targets;
      for (const std::string& o : own) {
        EXPECT_NE(std::find(ts.own_twins.begin(), ts.own_twins.end(), o), ts.own_twins.end()) << o;
      }
      for (const DeviceSpec* s : ts.starts) {
        ++starts;
        EXPECT_EQ(own.count(s->name), 0u) << s->name << " was fitted on the target's data";
        EXPECT_EQ(own_hardware.count(s->name), 0u) << s->name << " is the target's own hardware model";
        const TwinProvenance p = twin_provenance(*s);
        if (!p.columns.empty()) {
          EXPECT_EQ(own_hardware.count(p.started_from), 0u) << s->name << " was started from the target's model";
          for (const auto& [f, c] : fitted_on(*s)) {
            if (!std::filesystem::exists(kData + "/" + f)) continue;
            const MeasuredTable& ft = table(f);
            EXPECT_FALSE(same_data(ft, column(ft, c), tt, static_cast<int>(d))) << s->name;
          }
        }
        EXPECT_EQ(s->params.device_class, ts.device_class) << s->name;
      }
    }
  }
  // Every column resolves (with the classes above for the lone ones): 27 + 27 + 12 HELP
  // columns, 6 HW-NAS-Bench, 18 OneProxy.
  EXPECT_EQ(columns, 90);
  EXPECT_EQ(targets, columns);
  EXPECT_GT(starts, 300);
}

TEST(TargetTwinHonesty, ExamplesOfTheRule) {
  // pixel2: its twin and the built-in it was started from are out; other phones stay.
  const TargetStarts p2 = resolve_target_starts("pixel2", AdaptSettings{});
  EXPECT_EQ(p2.device_class, DeviceClass::kMobileCpu);
  auto has = [](const TargetStarts& t, const std::string& n) {
    for (const DeviceSpec* s : t.starts) {
      if (s->name == n) return true;
    }
    return false;
  };
  EXPECT_FALSE(has(p2, "twin_pixel2"));
  EXPECT_FALSE(has(p2, "pixel2_cpu"));
  EXPECT_TRUE(has(p2, "pixel3_cpu"));
  EXPECT_TRUE(has(p2, "twin_pixel3"));
  // titan_rtx_256: every Titan RTX, built-in or twin, at any batch.
  const TargetStarts tr = resolve_target_starts("titan_rtx_256", AdaptSettings{});
  for (const char* n : {"titan_rtx_b1", "titan_rtx_b32", "titan_rtx_b256", "twin_titan_rtx_1", "twin_titan_rtx_32",
                        "twin_titan_rtx_64", "twin_titan_rtx_256"}) {
    EXPECT_FALSE(has(tr, n)) << n;
  }
  EXPECT_TRUE(has(tr, "twin_titanx_256"));
  // The OneProxy release's rice_raspi4 is HELP's raspi4: twin_raspi4 is its own.
  EXPECT_FALSE(has(resolve_target_starts("rice_raspi4", AdaptSettings{}), "twin_raspi4"));
  // Eyeriss is alone in its class: the error names the key, and a named class works.
  try {
    resolve_target_starts("eyeriss", AdaptSettings{});
    ADD_FAILURE() << "eyeriss resolved without adapt.target_class";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("adapt.target_class"), std::string::npos) << e.what();
  }
  AdaptSettings st;
  st.target_class["eyeriss"] = "zc706_fpga";
  const TargetStarts ey = resolve_target_starts("eyeriss", st);
  EXPECT_EQ(ey.device_class, DeviceClass::kFpga);
  EXPECT_TRUE(has(ey, "twin_fpga"));
  // A column named like a built-in takes its class, and loses that built-in and the
  // twins started from it (nn-Meter's Cortex-A76 twin).
  const TargetStarts a76 = resolve_target_starts("cortex_a76", AdaptSettings{});
  EXPECT_EQ(a76.device_class, DeviceClass::kMobileCpu);
  EXPECT_FALSE(has(a76, "cortex_a76"));
  EXPECT_FALSE(has(a76, "twin_true_a76"));
  EXPECT_TRUE(has(a76, "pixel3_cpu"));
  // A target with no twin or built-in of its name needs the key.
  EXPECT_THROW(resolve_target_starts("my_phone", AdaptSettings{}), UserError);
  st.target_class["my_phone"] = "not_a_class";
  EXPECT_THROW(resolve_target_starts("my_phone", st), UserError);
}
