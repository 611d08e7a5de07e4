// Reading a config's YAML: every value is checked where it is read, and every message
// names the file, the line and the key path ("config.yaml:12: 'stages[1].adapt.n'").
// The config loader and every stage's parse() read through one ConfigReader.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace YAML {
class Node;
class Emitter;
}  // namespace YAML

namespace proxysim {

// Where configs' data files are looked up (README, "Data"): PROXYSIM_DATA (which
// --data-dir sets), else the config's data_dir, else ../shared/data when it exists,
// else data/. `source` says which, for messages.
struct DataDir {
  std::string path, source;
};
DataDir resolve_data_dir(const std::string& config_value);

// Largest architecture count or sample budget a config may name.
inline constexpr uint64_t kMaxArchs = uint64_t{1} << 40;

class ConfigReader {
 public:
  ConfigReader(std::string file, DataDir data_dir) : file_(std::move(file)), data_dir_(std::move(data_dir)) {}
  const DataDir& data_dir() const { return data_dir_; }

  // "file:line: 'key path'", the prefix of every message about that key.
  std::string where(const YAML::Node& n, const std::string& path) const;

  [[noreturn]] void fail(const YAML::Node& n, const std::string& path, const std::string& what) const;

  bool flag(const YAML::Node& n, const std::string& path) const;

  // A scalar or a non-empty list of scalars.
  std::vector<std::string> str_list(const YAML::Node& n, const std::string& path) const;

  // A name or list of names, each one of `known` and none twice (schemes, rules).
  std::vector<std::string> choices(const YAML::Node& n, const std::string& path, const std::vector<std::string>& known,
                                   const std::string& what) const;

  // One of `known`, given as a single name (not a list).
  std::string choice(const YAML::Node& n, const std::string& path, const std::vector<std::string>& known,
                     const std::string& what) const;

  // Sample budgets: a number or an increasing list, each at least 3.
  std::vector<int64_t> budgets(const YAML::Node& n, const std::string& path) const;

  void only_keys(const YAML::Node& map, const std::string& path, const std::set<std::string>& allowed) const;

  // Files named in the config are checked here, so the message names the key and line.
  void existing_file(const YAML::Node& n, const std::string& path) const;

  // A data file's path: a bare or folder-relative name (hwnasbench_nb201_cifar10.csv)
  // is looked up in the data directory, a path that is absolute or starts with ./ or
  // ../ is taken as given (relative to the working directory). The file must exist.
  std::string data_file(const YAML::Node& n, const std::string& path, const DataDir& dir) const;

  std::string str(const YAML::Node& n, const std::string& path) const;

  double real(const YAML::Node& n, const std::string& path, double lo, double hi) const;

  uint64_t u64(const YAML::Node& n, const std::string& path, uint64_t lo, uint64_t hi) const;
  // One number or a non-empty increasing list of them, each in [lo, hi]; `expected`
  // and `order` are the messages for a wrong shape and a list that does not increase.
  std::vector<double> increasing(const YAML::Node& n, const std::string& path, double lo, double hi,
                                 const std::string& expected, const std::string& order) const;

  // Device column names: 'all' (returns empty) or a name or list of names; `where`
  // receives the key's location, for errors raised once the run's columns are known.
  std::vector<std::string> devices(const YAML::Node& n, const std::string& path, std::string& where) const;

  // A stage's NB201 accuracy table: the file `accuracy_file` names, else
  // nb201_accuracy.csv in the data directory, which must then be there (the key is
  // named when it is not); "" when `source` is not nb201 and no file is named.
  std::string accuracy_file(const YAML::Node& body, const std::string& path, const std::string& source) const;

 private:
  std::string file_;
  DataDir data_dir_;
};

// Device names written back: 'all' when empty (every column), else the list.
void write_device_names(YAML::Emitter& out, const std::vector<std::string>& names);

}  // namespace proxysim
