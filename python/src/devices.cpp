// Devices: the built-in library, calibrated twins, populations, YAML specs.
#include <algorithm>

#include "common.hpp"
#include "experiments/config.hpp"
#include "experiments/cover.hpp"
#include "sim/device_yaml.hpp"
#include "io/measured_csv.hpp"
#include "base/error.hpp"
#include "sim/population.hpp"

namespace proxysim::py {

namespace {

pb::dict params_dict(const DeviceParams& p) {
  pb::dict d;
  d["device_class"] = std::string(device_class_name(p.device_class));
  d["peak_gflops"] = p.peak_gflops;
  d["dram_gbps"] = p.dram_gbps;
  d["onchip_gbps"] = p.onchip_gbps;
  d["onchip_bytes"] = p.onchip_bytes;
  d["bytes_per_element"] = p.bytes_per_element;
  d["lanes_out"] = p.lanes_out;
  d["lanes_in"] = p.lanes_in;
  d["units"] = p.units;
  d["pixels_per_unit"] = p.pixels_per_unit;
  d["half_util_macs"] = p.half_util_macs;
  pb::dict eff;
  for (int c = 0; c < kNumOpClasses; ++c) eff[pb::str(std::string(op_class_name(static_cast<OpClass>(c))))] = p.efficiency[c];
  d["efficiency"] = eff;
  d["launch_us"] = p.launch_us;
  d["async_launch"] = p.async_launch;
  d["fuse_bn_act"] = p.fuse_bn_act;
  d["fuse_elementwise"] = p.fuse_elementwise;
  d["prune_dead"] = p.prune_dead;
  d["fold_zero_inputs"] = p.fold_zero_inputs;
  d["batch"] = p.batch;
  d["noise_sigma"] = p.noise_sigma;
  d["resolution_ms"] = p.resolution_ms;
  d["level"] = p.level;
  pb::dict meas;
  const char* spaces[kNumSpaces] = {"nb201", "fbnet", "ofa_mbv3", "mbv2"};  // SpaceId order
  for (int i = 0; i < kNumSpaces; ++i) {
    meas[spaces[i]] = p.measurement[i] == Measurement::kBlockSum ? "block_sum" : "end_to_end";
  }
  d["measurement"] = meas;
  return d;
}

// A copy of the spec with some parameters changed, validated by the device YAML
// reader (the same ranges a spec file must respect).
DeviceSpec with_params(const DeviceSpec& spec, const std::string& name, const pb::dict& changes) {
  DeviceSpec s = spec;
  if (!name.empty()) s.name = name;
  // A twin's per-space sets (DeviceSpec::space_params) take the same changes.
  auto change = [&](DeviceParams& p) {
    for (const auto& [k, v] : changes) {
      const std::string key = pb::str(k);
      if (key == "device_class") {
        const auto c = parse_device_class(v.cast<std::string>());
        if (!c) throw UserError("device '" + s.name + "': unknown device_class '" + v.cast<std::string>() + "'");
        p.device_class = *c;
      } else if (key == "peak_gflops") p.peak_gflops = v.cast<float>();
      else if (key == "dram_gbps") p.dram_gbps = v.cast<float>();
      else if (key == "onchip_gbps") p.onchip_gbps = v.cast<float>();
      else if (key == "onchip_bytes") p.onchip_bytes = v.cast<float>();
      else if (key == "bytes_per_element") p.bytes_per_element = v.cast<float>();
      else if (key == "lanes_out") p.lanes_out = v.cast<int32_t>();
      else if (key == "lanes_in") p.lanes_in = v.cast<int32_t>();
      else if (key == "units") p.units = v.cast<int32_t>();
      else if (key == "pixels_per_unit") p.pixels_per_unit = v.cast<int32_t>();
      else if (key == "half_util_macs") p.half_util_macs = v.cast<float>();
      else if (key == "launch_us") p.launch_us = v.cast<float>();
      else if (key == "async_launch") p.async_launch = v.cast<bool>();
      else if (key == "fuse_bn_act") p.fuse_bn_act = v.cast<bool>();
      else if (key == "fuse_elementwise") p.fuse_elementwise = v.cast<bool>();
      else if (key == "prune_dead") p.prune_dead = v.cast<bool>();
      else if (key == "fold_zero_inputs") p.fold_zero_inputs = v.cast<bool>();
      else if (key == "batch") p.batch = v.cast<int32_t>();
      else if (key == "noise_sigma") p.noise_sigma = v.cast<float>();
      else if (key == "resolution_ms") p.resolution_ms = v.cast<float>();
      else if (key == "level") p.level = v.cast<float>();
      else if (key == "efficiency") {
        for (const auto& [ck, cv] : v.cast<pb::dict>()) {
          const std::string cls = pb::str(ck);
          int found = -1;
          for (int c = 0; c < kNumOpClasses; ++c) {
            if (op_class_name(static_cast<OpClass>(c)) == cls) found = c;
          }
          if (found < 0) throw UserError("device '" + s.name + "': unknown op class '" + cls + "' in efficiency");
          p.efficiency[found] = cv.cast<float>();
        }
      } else if (key == "measurement") {
        // One method for every space, or a dict of space to method, read by the YAML
        // reader (which names what is wrong): the spec's YAML ends with this field.
        std::string text;
        if (pb::isinstance<pb::str>(v)) {
          text = v.cast<std::string>();
        } else {
          for (const auto& [sk, sv] : v.cast<pb::dict>()) {
            text += (text.empty() ? "" : ", ") + pb::str(sk).cast<std::string>() + ": " + pb::str(sv).cast<std::string>();
          }
          text = "{" + text + "}";
        }
        DeviceSpec one = s;
        one.params = p;
        one.space_params = {};
        std::string yaml = device_yaml(one);
        yaml = yaml.substr(0, yaml.rfind("measurement:")) + "measurement: " + text + "\n";
        const DeviceParams parsed = parse_device_yaml(yaml, "device '" + s.name + "'").params;
        std::copy(std::begin(parsed.measurement), std::end(parsed.measurement), std::begin(p.measurement));
      } else {
        throw UserError("device '" + s.name + "': unknown parameter '" + key + "'");
      }
    }
  };
  change(s.params);
  for (auto& own : s.space_params) {
    if (own) change(*own);
  }
  // The YAML reader range-checks every field and names the one out of range.
  DeviceSpec checked = parse_device_yaml(device_yaml(s), "device '" + s.name + "'");
  checked.file = spec.file;
  return checked;
}

}  // namespace

void bind_devices(pb::module_& m) {
  pb::class_<DeviceSpec>(m, "Device", "A simulated device: the parameters of its analytic latency model")
      .def_readonly("name", &DeviceSpec::name)
      .def_readonly("imitates", &DeviceSpec::imitates)
      .def_readonly("source", &DeviceSpec::source)
      .def_readonly("file", &DeviceSpec::file)
      .def_property_readonly("device_class",
                             [](const DeviceSpec& d) { return std::string(device_class_name(d.params.device_class)); })
      .def_property_readonly("batch", [](const DeviceSpec& d) { return d.params.batch; })
      .def_property_readonly("params", [](const DeviceSpec& d) { return params_dict(d.params); },
                             "the model's parameters as a dict (a copy)")
      .def(
          "params_in",
          [](const DeviceSpec& d, const std::string& space) { return params_dict(d.params_for(make_space(space).id())); },
          pb::arg("space"), "the parameters the device is evaluated with in `space` (a twin may have one set per space)")
      .def("to_yaml", &device_yaml, pb::arg("comment") = "", "the spec as device YAML (reads back exactly)")
      .def(
          "replace",
          [](const DeviceSpec& d, const std::string& name, const pb::kwargs& kw) { return with_params(d, name, kw); },
          pb::arg("name") = "",
          "a copy with parameters changed (keyword arguments named as in device YAML), range-checked; a twin's "
          "per-space sets (params_in) take the same changes")
      .def("__repr__", [](const DeviceSpec& d) {
        return "Device('" + d.name + "', " + std::string(device_class_name(d.params.device_class)) + ", batch " +
               std::to_string(d.params.batch) + ")";
      });

  m.def("builtin_devices", &builtin_devices, "the device library compiled in (sim/devices/*.yaml)");
  m.def("twin_devices", &twin_devices, "the calibrated twins of real devices (sim/devices/twins/*.yaml)");
  m.def(
      "device", [](const std::string& name) { return builtin_device(name); }, pb::arg("name"),
      "a built-in device or twin by name");
  m.def(
      "select_devices", [](const std::string& list) { return select_devices(list); }, pb::arg("list"),
      "'all', 'twins', or comma-separated built-in or twin names and .yaml paths, as the CLI's --devices");
  m.def("load_device", &load_device_file, pb::arg("path"), "a device YAML file");
  m.def("parse_device_yaml", &parse_device_yaml, pb::arg("text"), pb::arg("file") = "<string>",
        "device YAML text; `file` names it in errors");
  m.def(
      "population",
      [](const std::string& device_class, uint64_t count, uint64_t seed, const std::vector<std::string>& centers,
         double spread, const std::string& prefix, const std::string& space) {
        PopulationRequest r;
        r.device_class = device_class;
        r.count = count;
        r.seed = seed;
        r.centers = centers;
        r.spread = spread;
        r.prefix = prefix;
        return population_specs(r, make_space(space).id());
      },
      pb::arg("device_class"), pb::arg("count"), pb::arg("seed") = 0, pb::arg("centers") = std::vector<std::string>{},
      pb::arg("spread") = 1.0, pb::arg("prefix") = "", pb::arg("space") = "nb201",
      "devices sampled around the class's built-ins and twins (or `centers`), as a config's {population: ...}; "
      "`space`: the space whose parameters a twin centre lends (a twin may have one set per space)");

  pb::class_<MeasuredTable>(m, "MeasuredTable", "A measured latency table (CSV in the shared data's format)")
      .def_readonly("file", &MeasuredTable::file)
      .def_readonly("space", &MeasuredTable::space)
      .def_readonly("devices", &MeasuredTable::devices)
      .def_property_readonly("rows", &MeasuredTable::rows)
      .def_property_readonly("codes",
                             [](const MeasuredTable& t) {
                               const pb::ssize_t n = static_cast<pb::ssize_t>(t.rows());
                               const pb::ssize_t K = n ? static_cast<pb::ssize_t>(t.codes[0].size()) : 0;
                               pb::array_t<uint8_t> out({n, K});
                               for (pb::ssize_t i = 0; i < n; ++i) std::copy(t.codes[i].begin(), t.codes[i].end(), out.mutable_data() + i * K);
                               return out;
                             })
      .def_property_readonly(
          "latency_ms",
          [](pb::object self) {
            // A view of the table's own buffer, kept alive by the table (no copy).
            const auto& t = self.cast<const MeasuredTable&>();
            pb::array_t<float> view({static_cast<pb::ssize_t>(t.rows()), static_cast<pb::ssize_t>(t.devices.size())},
                                    t.latency_ms.data(), self);
            view.attr("setflags")(pb::arg("write") = false);
            return view;
          },
          "rows x devices float32, NaN = not measured; a read-only view of the table (no copy)")
      .def_property_readonly("arch_index",
                             [](const MeasuredTable& t) {
                               return pb::array_t<int64_t>(static_cast<pb::ssize_t>(t.arch_index.size()), t.arch_index.data());
                             })
      .def_property_readonly("connected",
                             [](const MeasuredTable& t) {
                               pb::array_t<bool> out(static_cast<pb::ssize_t>(t.connected.size()));
                               for (size_t i = 0; i < t.connected.size(); ++i) out.mutable_data()[i] = t.connected[i] != 0;
                               return out;
                             })
      .def_readonly("missing", &MeasuredTable::missing)
      .def("__repr__", [](const MeasuredTable& t) {
        return "MeasuredTable('" + t.file + "', " + t.space + ", " + std::to_string(t.rows()) + " rows x " +
               std::to_string(t.devices.size()) + " devices)";
      });
  m.def(
      "read_measured_csv",
      [](const std::string& path, const std::string& space) {
        pb::gil_scoped_release release;
        return read_measured_csv(path, space);
      },
      pb::arg("path"), pb::arg("space") = "",
      "a measured latency CSV; the space is inferred from its key columns when ''");
}

}  // namespace proxysim::py
