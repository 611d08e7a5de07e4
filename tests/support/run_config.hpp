// Running the proxysim CLI on a config written by a test, keeping its exit status
// and stderr (the binary is PROXYSIM_BINARY; files go to the temporary folder).
#pragma once
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace proxysim::test {

struct RunOutcome {
  int rc = -1;
  std::string err;
};

inline RunOutcome run_config(const std::string& name, const std::string& yaml, const std::filesystem::path& out,
                             const std::string& env = "") {
  const std::filesystem::path cfg = std::filesystem::temp_directory_path() / (name + ".yaml");
  std::ofstream(cfg) << yaml;
  const std::filesystem::path err = std::filesystem::temp_directory_path() / (name + ".err");
  std::filesystem::remove(out);
  const int rc = std::system((env + std::string(PROXYSIM_BINARY) + " run " + cfg.string() + " --backend cpu --out " +
                              out.string() + " > /dev/null 2> " + err.string())
                                 .c_str());
  RunOutcome r;
  r.rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  std::ifstream in(err);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  return r;
}

}  // namespace proxysim::test
