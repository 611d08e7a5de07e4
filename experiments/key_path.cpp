#include "experiments/key_path.hpp"

#include <algorithm>
#include <limits>
#include <sstream>

#include "base/error.hpp"

namespace proxysim {


std::string at_line(const std::string& file, const YAML::Node& n) {
  std::string w = file.empty() ? "config" : file;
  if (n && n.Mark().line >= 0) w += ":" + std::to_string(n.Mark().line + 1);
  return w;
}

// Parses `adapt.n`, `stages[1].adapt.n`, `devices[0]`; "" when it is not a key path.
bool parse_path(const std::string& s, KeyPath& out, std::string& why) {
  out.clear();
  size_t i = 0;
  while (i < s.size()) {
    Step st;
    while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' || s[i] == '-')) st.key += s[i++];
    if (st.key.empty()) {
      why = "expected a key name at character " + std::to_string(i + 1);
      return false;
    }
    while (i < s.size() && s[i] == '[') {
      size_t j = i + 1;
      std::string digits;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) digits += s[j++];
      if (digits.empty() || j >= s.size() || s[j] != ']') {
        why = "expected [index] at character " + std::to_string(i + 1);
        return false;
      }
      st.index.push_back(std::stoul(digits));
      i = j + 1;
    }
    out.push_back(std::move(st));
    if (i < s.size()) {
      if (s[i] != '.') {
        why = "unexpected '" + std::string(1, s[i]) + "' at character " + std::to_string(i + 1);
        return false;
      }
      ++i;
      if (i == s.size()) {
        why = "ends with '.'";
        return false;
      }
    }
  }
  if (out.empty()) why = "empty key path";
  return !out.empty();
}

std::string flow(const YAML::Node& n) {
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

// A copy without marks: an overridden value has no line in the config file, so its
// errors name the key path alone rather than line 1 of the --set text.
YAML::Node unmarked(const YAML::Node& n) {
  if (n.IsScalar()) return YAML::Node(n.Scalar());
  if (n.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& e : n) out.push_back(unmarked(e));
    return out;
  }
  if (n.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& kv : n) out[kv.first.Scalar()] = unmarked(kv.second);
    return out;
  }
  return YAML::Node(YAML::NodeType::Null);
}

// The node at `path` in `root`, for assignment (missing mapping keys are created) or
// for reading (`create` false: an undefined node when absent). The first step may name
// a stage of the `stages:` list, so `adapt.n` reaches the adapt stage's `n` without
// knowing its position; keys of the root take precedence. `fail` raises the error.
YAML::Node walk(YAML::Node root, const KeyPath& path, bool create, const std::function<void(const std::string&)>& fail) {
  YAML::Node cur;
  cur.reset(root);
  std::string done;
  for (size_t s = 0; s < path.size(); ++s) {
    const Step& st = path[s];
    const bool last_step = s + 1 == path.size();
    if (s == 0 && !root[st.key] && root["stages"] && root["stages"].IsSequence()) {
      YAML::Node stages = root["stages"];
      int found = -1;
      for (size_t i = 0; i < stages.size(); ++i) {
        const YAML::Node e = stages[i];
        const bool named = (e.IsScalar() && e.Scalar() == st.key) ||
                           (e.IsMap() && e.size() == 1 && e.begin()->first.Scalar() == st.key);
        if (!named) continue;
        if (found >= 0) fail("the config lists stage '" + st.key + "' twice; write stages[" + std::to_string(i) + "]." + st.key);
        found = static_cast<int>(i);
      }
      if (found >= 0) {
        if (!st.index.empty()) fail("a stage's settings take no [index]");
        YAML::Node entry = stages[static_cast<size_t>(found)];
        if (entry.IsScalar()) {
          if (!create) return YAML::Node();
          YAML::Node m(YAML::NodeType::Map);
          m[st.key] = YAML::Node(YAML::NodeType::Map);
          stages[static_cast<size_t>(found)] = m;
          entry.reset(stages[static_cast<size_t>(found)]);
        }
        YAML::Node body = entry[st.key];
        if (!body.IsMap()) {
          if (!create) return YAML::Node();
          if (!body.IsNull()) fail("stage '" + st.key + "' has settings that are not a mapping");
          entry[st.key] = YAML::Node(YAML::NodeType::Map);
          body.reset(entry[st.key]);
        }
        if (last_step) fail("names the whole stage '" + st.key + "'; sweep one of its settings (" + st.key + ".KEY)");
        cur.reset(body);
        done = st.key;
        continue;
      }
    }
    if (!cur.IsMap()) {
      if (!create && !cur) return YAML::Node();
      fail("'" + done + "' is " + (cur.IsScalar() ? "'" + cur.Scalar() + "'" : std::string("a list")) +
           ", not a mapping with key '" + st.key + "'");
    }
    done += (done.empty() ? "" : ".") + st.key;
    if (!cur[st.key]) {
      if (!create) return YAML::Node();
      if (!st.index.empty()) fail("no list '" + done + "' to index");
      if (last_step) return cur[st.key];
      cur[st.key] = YAML::Node(YAML::NodeType::Map);
    }
    YAML::Node next = cur[st.key];
    cur.reset(next);
    for (size_t i : st.index) {
      if (!cur.IsSequence()) fail("'" + done + "' is not a list");
      if (i >= cur.size()) fail("'" + done + "' has " + std::to_string(cur.size()) + " entries, no [" + std::to_string(i) + "]");
      YAML::Node item = cur[i];
      cur.reset(item);
      done += "[" + std::to_string(i) + "]";
    }
  }
  return cur;
}


Override parse_set(const std::string& s) {
  const auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) throw UserError("--set '" + s + "': expected key.path=value");
  Override o;
  o.text = s;
  std::string why;
  if (!parse_path(s.substr(0, eq), o.path, why)) throw UserError("--set '" + s + "': bad key path: " + why);
  o.value = s.substr(eq + 1);
  try {
    YAML::Load(o.value);
  } catch (const YAML::Exception& e) {
    throw UserError("--set '" + s + "': the value is not valid YAML: " + e.msg);
  }
  return o;
}

void apply_set(const YAML::Node& root, const Override& o) {
  YAML::Node target = walk(root, o.path, true, [&](const std::string& m) { throw UserError("--set '" + o.text + "': " + m); });
  target = unmarked(YAML::Load(o.value));
}

}  // namespace proxysim
