// Key paths into a config's YAML (`adapt.n`, `stages[1].adapt.n`, `devices[0]`): how
// sweep axes and `--set key.path=value` overrides name the settings they change.
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace proxysim {

// One step of a key path: a mapping key, then list indices (`stages[1]`, `devices[0]`).
struct Step {
  std::string key;
  std::vector<size_t> index;
};
using KeyPath = std::vector<Step>;

// "file:line" of a node ("config" when the file has no name).
std::string at_line(const std::string& file, const YAML::Node& n);
// Parses `adapt.n`, `stages[1].adapt.n`, `devices[0]`; false (with `why`) when it is not a key path.
bool parse_path(const std::string& s, KeyPath& out, std::string& why);
// A node as one line of flow YAML.
std::string flow(const YAML::Node& n);
// A copy without marks: an overridden value has no line in the config file, so its
// errors name the key path alone rather than line 1 of the --set text.
YAML::Node unmarked(const YAML::Node& n);
// The node at `path` in `root`, for assignment (missing mapping keys are created) or
// for reading (`create` false: an undefined node when absent). The first step may name
// a stage of the `stages:` list, so `adapt.n` reaches the adapt stage's `n` without
// knowing its position; keys of the root take precedence. `fail` raises the error.
YAML::Node walk(YAML::Node root, const KeyPath& path, bool create, const std::function<void(const std::string&)>& fail);

// `--set key.path=value`: the path and the value (checked to be YAML).
struct Override {
  std::string text;  // as given
  KeyPath path;
  std::string value;
};
Override parse_set(const std::string& s);
void apply_set(const YAML::Node& root, const Override& o);

}  // namespace proxysim
