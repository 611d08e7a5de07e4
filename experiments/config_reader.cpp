#include "experiments/config_reader.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "base/error.hpp"

namespace proxysim {

DataDir resolve_data_dir(const std::string& config_value) {
  if (const char* env = std::getenv("PROXYSIM_DATA"); env && *env) return {env, "PROXYSIM_DATA or --data-dir"};
  if (!config_value.empty()) return {config_value, "the config's data_dir"};
  std::error_code ec;
  if (std::filesystem::is_directory("../shared/data", ec)) return {"../shared/data", "the default, ../shared/data"};
  return {"data", "the default, data/ (../shared/data is absent)"};
}

std::string ConfigReader::where(const YAML::Node& n, const std::string& path) const {
  std::string w = file_.empty() ? "config" : file_;
  if (n && n.Mark().line >= 0) w += ":" + std::to_string(n.Mark().line + 1);
  return w + ": '" + path + "'";
}

void ConfigReader::fail(const YAML::Node& n, const std::string& path, const std::string& what) const {
  throw UserError(where(n, path) + ": " + what);
}

bool ConfigReader::flag(const YAML::Node& n, const std::string& path) const {
  try {
    return n.as<bool>();
  } catch (const YAML::Exception&) {
    fail(n, path, "expected true or false");
  }
}

std::vector<std::string> ConfigReader::str_list(const YAML::Node& n, const std::string& path) const {
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

std::vector<std::string> ConfigReader::choices(const YAML::Node& n, const std::string& path, const std::vector<std::string>& known,
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

std::string ConfigReader::choice(const YAML::Node& n, const std::string& path, const std::vector<std::string>& known,
                     const std::string& what) const {
  if (!n.IsScalar()) fail(n, path, "expected one " + what + " name");
  return choices(n, path, known, what).front();
}

std::vector<int64_t> ConfigReader::budgets(const YAML::Node& n, const std::string& path) const {
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

void ConfigReader::only_keys(const YAML::Node& map, const std::string& path, const std::set<std::string>& allowed) const {
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

void ConfigReader::existing_file(const YAML::Node& n, const std::string& path) const {
  std::error_code ec;
  const bool there = std::filesystem::exists(n.Scalar(), ec);
  if (ec) fail(n, path, "cannot look up file '" + n.Scalar() + "': " + ec.message());
  if (!there) fail(n, path, "no such file '" + n.Scalar() + "'");
}

std::string ConfigReader::data_file(const YAML::Node& n, const std::string& path, const DataDir& dir) const {
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

std::string ConfigReader::str(const YAML::Node& n, const std::string& path) const {
  if (!n.IsScalar()) fail(n, path, "expected a string");
  return n.Scalar();
}

double ConfigReader::real(const YAML::Node& n, const std::string& path, double lo, double hi) const {
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

uint64_t ConfigReader::u64(const YAML::Node& n, const std::string& path, uint64_t lo, uint64_t hi) const {
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

std::vector<double> ConfigReader::increasing(const YAML::Node& n, const std::string& path, double lo, double hi,
                                             const std::string& expected, const std::string& order) const {
  std::vector<double> v;
  if (n.IsScalar()) {
    v.push_back(real(n, path, lo, hi));
  } else if (n.IsSequence() && n.size() > 0) {
    for (size_t j = 0; j < n.size(); ++j) {
      const std::string at = path + "[" + std::to_string(j) + "]";
      v.push_back(real(n[j], at, lo, hi));
      if (j > 0 && v[j] <= v[j - 1]) fail(n[j], at, order);
    }
  } else {
    fail(n, path, expected);
  }
  return v;
}

std::vector<std::string> ConfigReader::devices(const YAML::Node& n, const std::string& path, std::string& where) const {
  where = this->where(n, path);
  if (n.IsScalar() && n.Scalar() == "all") return {};
  return str_list(n, path);
}

std::string ConfigReader::accuracy_file(const YAML::Node& body, const std::string& path, const std::string& source) const {
  if (body["accuracy_file"]) return data_file(body["accuracy_file"], path + ".accuracy_file", data_dir_);
  if (source != "nb201") return "";
  std::string file = (std::filesystem::path(data_dir_.path) / "nb201_accuracy.csv").string();
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    fail(body, path + ".accuracy_file",
         "not given, and no 'nb201_accuracy.csv' in the data directory '" + data_dir_.path + "' (" + data_dir_.source +
             "; set data_dir in the config, --data-dir or PROXYSIM_DATA: README, \"Data\")");
  }
  return file;
}

void write_device_names(YAML::Emitter& out, const std::vector<std::string>& names) {
  if (names.empty()) {
    out << "all";
  } else {
    out << names;
  }
}

}  // namespace proxysim
