#include "io/measured_csv.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "base/error.hpp"
#include "base/text.hpp"

namespace proxysim {

namespace {

constexpr size_t kMaxColumns = 65536;


long long parse_index(const std::string& s, const std::string& file, uint64_t line, const std::string& col) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0) {
    throw UserError(csv_where(file, line, col) + ": expected an integer, found '" + s + "'");
  }
  return v;
}

}  // namespace

uint64_t MeasuredTable::disconnected() const {
  uint64_t n = 0;
  for (uint8_t c : connected) n += c == 0;
  return n;
}

MeasuredTable read_measured_csv(const std::string& path, const std::string& space_hint) {
  std::ifstream in(path);
  if (!in) throw UserError(path + ": cannot open measured latency file");
  MeasuredTable t;
  t.file = path;
  CsvLines lines(in, path);
  std::string line;
  if (!lines.next(line) || line.empty()) throw UserError(path + ": empty file (expected a header line)");
  if (line.size() > kMaxColumns * 64) throw UserError(path + ":1: header too long (more than " + std::to_string(kMaxColumns) + " columns?)");
  const std::vector<std::string> header = split_csv_line(line, path, 1);
  if (header.size() > kMaxColumns) {
    throw UserError(path + ":1: " + std::to_string(header.size()) + " columns; at most " + std::to_string(kMaxColumns) +
                    " are supported");
  }
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i].empty()) throw UserError(path + ":1: column " + std::to_string(i + 1) + " has no name");
    if (!col.emplace(header[i], i).second) throw UserError(path + ":1: column '" + header[i] + "' appears twice");
  }

  // Key columns by space.
  std::set<std::string> keys = {"row", "arch_id", "arch_index", "arch_str", "connected", "resolution", "depths",
                                "kernel_sizes", "expand_ratios"};
  for (int l = 0; l < 22; ++l) keys.insert("L" + std::to_string(l));
  std::string space = space_hint;
  if (space.empty()) {
    // Official indices alone (no arch_str) also mean NB201: only NB201 has them.
    if (col.count("arch_str") || (col.count("arch_index") && !col.count("L0") && !col.count("resolution"))) {
      space = "nb201";
    } else if (col.count("L0")) {
      space = "fbnet";
    } else if (col.count("resolution") && col.count("depths")) {
      space = "ofa_mbv3";
    } else if (col.count("depths")) {
      space = "mbv2";  // MBv2's input is fixed at 224: no resolution column
    } else {
      throw UserError(path + ":1: cannot tell the search space: expected an arch_str or arch_index column (nb201), "
                      "L0..L21 (fbnet), resolution,depths,kernel_sizes,expand_ratios (ofa_mbv3) or "
                      "depths,kernel_sizes,expand_ratios (mbv2)");
    }
  }
  const SearchSpace s = make_space(space);
  t.space = s.name();
  auto require = [&](const std::string& c) {
    if (!col.count(c)) throw UserError(path + ":1: space " + space + " needs a column '" + c + "'");
    return col[c];
  };
  std::vector<size_t> device_cols;
  for (size_t i = 0; i < header.size(); ++i) {
    if (keys.count(header[i])) continue;
    device_cols.push_back(i);
    std::string name = header[i];
    const std::string suffix = "_latency";
    if (name.size() > suffix.size() && name.ends_with(suffix)) name.resize(name.size() - suffix.size());
    t.devices.push_back(name);
  }
  if (device_cols.empty()) throw UserError(path + ":1: no device columns after the architecture key columns");
  t.missing.assign(device_cols.size(), 0);

  std::map<ArchCode, uint64_t> seen;
  std::vector<std::string> f;
  while (lines.next_fields(f)) {
    const uint64_t lineno = lines.line();
    if (f.empty()) continue;  // blank lines, trailing ones included, hold no row
    if (f.size() != header.size()) {
      throw UserError(path + ":" + std::to_string(lineno) + ": " + std::to_string(f.size()) + " fields, the header has " +
                      std::to_string(header.size()));
    }
    ArchCode code;
    int64_t index = -1;
    uint8_t connected = 1;
    try {
      if (s.id() == SpaceId::kNb201 && !col.count("arch_str")) {
        // Official indices alone (arch_index,my_phone): the index names the architecture.
        if (!col.count("arch_index")) throw UserError(path + ":1: space nb201 needs a column 'arch_str' or 'arch_index'");
        index = parse_index(f[col["arch_index"]], path, lineno, "arch_index");
        if (index < 0 || index >= 15625) {
          throw UserError(csv_where(path, lineno, "arch_index") + ": must be in [0, 15624], found " + std::to_string(index));
        }
        code = s.code_at(static_cast<uint64_t>(index));
        connected = nb201::connected(code.data()) ? 1 : 0;
        if (col.count("connected")) {
          const long long c = parse_index(f[col["connected"]], path, lineno, "connected");
          if (c != connected) {
            throw UserError(csv_where(path, lineno, "connected") + ": says " + std::to_string(c) + " but index " +
                            std::to_string(index) + " is " + (connected ? "connected" : "disconnected"));
          }
        }
      } else if (s.id() == SpaceId::kNb201) {
        code = s.from_string(f[require("arch_str")]);
        if (col.count("arch_index")) {
          index = parse_index(f[col["arch_index"]], path, lineno, "arch_index");
          if (index < 0 || index >= 15625) {
            throw UserError(csv_where(path, lineno, "arch_index") + ": must be in [0, 15624], found " + std::to_string(index));
          }
          if (s.code_at(static_cast<uint64_t>(index)) != code) {
            throw UserError(csv_where(path, lineno, "arch_index") + ": index " + std::to_string(index) +
                            " is not the official index of " + f[col["arch_str"]] + " (that is " +
                            std::to_string(nb201_index(code)) + ")");
          }
        } else {
          index = nb201_index(code);
        }
        connected = nb201::connected(code.data()) ? 1 : 0;
        if (col.count("connected")) {
          const long long c = parse_index(f[col["connected"]], path, lineno, "connected");
          if (c != connected) {
            throw UserError(csv_where(path, lineno, "connected") + ": says " + std::to_string(c) + " but " +
                            f[col["arch_str"]] + " is " + (connected ? "connected" : "disconnected"));
          }
        }
      } else if (s.id() == SpaceId::kFbnet) {
        code.resize(22);
        for (int l = 0; l < 22; ++l) {
          const std::string c = "L" + std::to_string(l);
          const long long v = parse_index(f[require(c)], path, lineno, c);
          if (v < 0 || v > 8) throw UserError(csv_where(path, lineno, c) + ": FBNet op must be 0..8, found " + f[col[c]]);
          code[l] = static_cast<uint8_t>(v);
        }
      } else if (s.id() == SpaceId::kMbv2) {
        code = s.from_string("d" + f[require("depths")] + ":k" + f[require("kernel_sizes")] + ":e" +
                             f[require("expand_ratios")]);
      } else {
        std::string str = "r" + f[require("resolution")] + ":d" + f[require("depths")] + ":k" +
                          f[require("kernel_sizes")] + ":e" + f[require("expand_ratios")];
        code = s.from_string(str);
      }
    } catch (const UserError& e) {
      const std::string msg = e.what();
      if (msg.rfind(path, 0) == 0) throw;
      throw UserError(path + ":" + std::to_string(lineno) + ": " + msg);
    }
    auto [it, inserted] = seen.emplace(code, lineno);
    if (!inserted) {
      throw UserError(path + ":" + std::to_string(lineno) + ": duplicate architecture " + s.to_string(code) +
                      " (first on line " + std::to_string(it->second) + ")");
    }
    for (size_t d = 0; d < device_cols.size(); ++d) {
      const std::string& v = f[device_cols[d]];
      float x = std::numeric_limits<float>::quiet_NaN();
      if (v.empty()) {
        ++t.missing[d];
      } else {
        char* end = nullptr;
        errno = 0;
        const double val = std::strtod(v.c_str(), &end);
        if (*end != '\0' || errno == ERANGE || !std::isfinite(val)) {
          throw UserError(csv_where(path, lineno, header[device_cols[d]]) + ": expected a finite latency in ms, found '" + v + "'");
        }
        if (val <= 0) {
          throw UserError(csv_where(path, lineno, header[device_cols[d]]) + ": " + (val < 0 ? "negative" : "zero") +
                          " latency " + v + " (leave the cell empty when not measured)");
        }
        x = static_cast<float>(val);
        // Latencies are held as floats: a value outside float's normal range would
        // become infinite or zero there.
        if (!std::isfinite(x) || !std::isnormal(x)) {
          throw UserError(csv_where(path, lineno, header[device_cols[d]]) + ": latency " + v +
                          " ms is outside the range a float holds (1.2e-38 to 3.4e38)");
        }
      }
      t.latency_ms.push_back(x);
    }
    t.codes.push_back(std::move(code));
    t.lines.push_back(static_cast<uint32_t>(lineno));
    t.arch_index.push_back(index);
    t.connected.push_back(connected);
  }
  if (t.codes.empty()) throw UserError(path + ": header only, no architectures");
  return t;
}

}  // namespace proxysim
