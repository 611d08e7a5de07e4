// For tests of file readers: scratch files with given text, and the check that a
// reader refuses a file with a UserError naming every given fragment.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

#include "base/error.hpp"
#include "sim/space.hpp"

namespace proxysim::test {

// `text` written to <temp>/<folder>_<pid>/<name>; returns the path.
inline std::string write_temp(const std::string& folder, const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / (folder + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto p = dir / name;
  std::ofstream(p) << text;
  return p.string();
}

// Expects read(path) to throw a UserError whose message contains every fragment.
template <class Reader>
void expect_refused(Reader&& read, const std::string& path, std::initializer_list<std::string> fragments) {
  try {
    read(path);
    ADD_FAILURE() << path << " was accepted";
  } catch (const UserError& e) {
    const std::string msg = e.what();
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

// The UserError message of parsing `text` as an architecture of `space`; "no error"
// when it parses.
inline std::string parse_error_of(const SearchSpace& space, const std::string& text) {
  try {
    space.from_string(text);
  } catch (const UserError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace proxysim::test
