// target_twin's starts for a target column, and the provenance of the calibrated twins
// they are chosen from (experiments/adapt.hpp; docs/ARCHITECTURE.md, "target_twin").
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "experiments/adapt.hpp"
#include "sim/device_yaml.hpp"
#include "sim/population.hpp"

namespace proxysim {

std::string measured_device_key(std::string_view column) {
  std::string k(column);
  constexpr std::string_view prefix = "rice_", suffix = "_latency";
  if (k.size() > prefix.size() && k.compare(0, prefix.size(), prefix) == 0) k.erase(0, prefix.size());
  if (k.size() > suffix.size() && k.compare(k.size() - suffix.size(), suffix.size(), suffix) == 0) {
    k.erase(k.size() - suffix.size());
  }
  // HELP's OFA table spells Titan Xp titan_xp_1 where its NB201 and FBNet tables have
  // titanxp_1: underscores carry no identity.
  k.erase(std::remove(k.begin(), k.end(), '_'), k.end());
  return k;
}

std::string builtin_hardware(std::string_view name) {
  std::string h(name);
  // One trailing _b<digits> or _fp<digits>.
  for (std::string_view tag : {"_b", "_fp"}) {
    const size_t at = h.rfind(tag);
    if (at == std::string::npos || at == 0 || at + tag.size() >= h.size()) continue;
    const bool digits = std::all_of(h.begin() + static_cast<std::ptrdiff_t>(at + tag.size()), h.end(),
                                    [](char c) { return c >= '0' && c <= '9'; });
    if (digits) {
      h.erase(at);
      break;
    }
  }
  h.erase(std::remove(h.begin(), h.end(), '_'), h.end());  // comparable with measured_device_key
  return h;
}

TwinProvenance twin_provenance(const DeviceSpec& twin) {
  TwinProvenance p;
  const std::string& s = twin.source;
  constexpr std::string_view column = " column ", started = "started from ";
  for (size_t at = s.find(column); at != std::string::npos; at = s.find(column, at + 1)) {
    const size_t b = at + column.size();
    size_t e = b;
    while (e < s.size() && s[e] != ' ' && s[e] != ',' && s[e] != ';' && s[e] != ')') ++e;
    if (e > b) p.columns.push_back(s.substr(b, e - b));
  }
  const size_t at = s.find(started);
  if (at != std::string::npos) {
    const size_t b = at + started.size();
    size_t e = b;
    while (e < s.size() && s[e] != ' ' && s[e] != ',' && s[e] != ';' && s[e] != ')') ++e;
    p.started_from = s.substr(b, e - b);
  }
  p.ok = !p.columns.empty() && !p.started_from.empty();
  return p;
}

bool adapt_uses_target_starts(const AdaptSettings& stage) {
  for (const auto& s : stage.schemes) {
    if (s == "target_twin" || s == "target_start") return true;
  }
  return false;
}

TargetStarts resolve_target_starts(const std::string& target, const AdaptSettings& stage) {
  const std::string where = stage.target_class_where.empty() ? "adapt.target_class" : stage.target_class_where;
  const std::string key = measured_device_key(target);
  TargetStarts out;
  std::set<std::string> hardware;
  std::vector<const DeviceSpec*> own;
  for (const DeviceSpec& d : twin_devices()) {
    const TwinProvenance p = twin_provenance(d);
    for (const auto& c : p.columns) {
      if (measured_device_key(c) == key) {
        own.push_back(&d);
        out.own_twins.push_back(d.name);
        if (!p.started_from.empty()) hardware.insert(builtin_hardware(p.started_from));
        break;
      }
    }
  }
  for (const DeviceSpec& d : builtin_devices()) {
    if (builtin_hardware(d.name) == key) hardware.insert(builtin_hardware(d.name));
  }
  out.hardware.assign(hardware.begin(), hardware.end());

  // The class.
  const auto given = stage.target_class.find(target);
  if (given != stage.target_class.end()) {
    const std::string& v = given->second;
    if (const auto c = parse_device_class(v)) {
      out.device_class = *c;
    } else {
      const DeviceSpec* named = nullptr;
      for (const auto* lib : {&builtin_devices(), &twin_devices()}) {
        for (const DeviceSpec& d : *lib) {
          if (d.name == v) named = &d;
        }
      }
      if (named == nullptr) {
        std::string classes;
        for (int i = 0; i < kNumDeviceClasses; ++i)
          classes += (i ? ", " : "") + std::string(device_class_name(static_cast<DeviceClass>(i)));
        throw UserError(fmt::format("{}: '{}' for target '{}' is neither a device class ({}) nor a built-in or twin "
                                    "device",
                                    where, v, target, classes));
      }
      out.device_class = named->params.device_class;
    }
    out.class_source = "adapt.target_class";
  } else if (!own.empty()) {
    out.device_class = own.front()->params.device_class;
    out.class_source = own.front()->name;
  } else if (const auto same = std::find_if(builtin_devices().begin(), builtin_devices().end(),
                                            [&](const DeviceSpec& d) { return d.name == target; });
             same != builtin_devices().end()) {
    out.device_class = same->params.device_class;
    out.class_source = same->name;
  } else {
    throw UserError(fmt::format("{}: target '{}' has no calibrated twin or built-in device to take its class from; "
                                "name its class (or a built-in device of it) with adapt.target_class: {{{}: CLASS}}",
                                where, target, target));
  }

  auto excluded_why = [&](const DeviceSpec& d, bool twin) -> std::string {
    if (!twin) return hardware.count(builtin_hardware(d.name)) ? "the target's hardware" : "";
    const TwinProvenance p = twin_provenance(d);
    if (!p.ok) return "provenance unreadable";
    for (const auto& c : p.columns) {
      if (measured_device_key(c) == key) return "fitted on the target's data";
    }
    if (hardware.count(builtin_hardware(p.started_from))) return "a twin of the target's hardware";
    return "";
  };
  for (const auto* lib : {&builtin_devices(), &twin_devices()}) {
    const bool twin = lib == &twin_devices();
    for (const DeviceSpec& d : *lib) {
      if (d.params.device_class != out.device_class) continue;
      const std::string why = excluded_why(d, twin);
      if (why.empty()) {
        out.starts.push_back(&d);
      } else {
        out.excluded.push_back(d.name + " (" + why + ")");
      }
    }
  }
  if (out.starts.empty()) {
    std::string left;
    for (const auto& e : out.excluded) left += (left.empty() ? "" : ", ") + e;
    throw UserError(fmt::format("{}: no start of class '{}' is left for target '{}' once the devices imitating it are "
                                "excluded ({}); name another class or device with adapt.target_class: {{{}: ...}}",
                                where, device_class_name(out.device_class), target, left.empty() ? "none" : left,
                                target));
  }
  return out;
}

}  // namespace proxysim
