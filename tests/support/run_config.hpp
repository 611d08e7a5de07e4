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

// Runs `PROXYSIM_BINARY args` with stdout discarded, keeping its exit status and stderr.
inline RunOutcome run_proxysim(const std::string& name, const std::string& args, const std::string& env = "") {
  const std::filesystem::path err = std::filesystem::temp_directory_path() / (name + ".err");
  const int rc =
      std::system((env + std::string(PROXYSIM_BINARY) + " " + args + " > /dev/null 2> " + err.string()).c_str());
  RunOutcome r;
  r.rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  std::ifstream in(err);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  return r;
}

inline RunOutcome run_config(const std::string& name, const std::string& yaml, const std::filesystem::path& out,
                             const std::string& env = "") {
  const std::filesystem::path cfg = std::filesystem::temp_directory_path() / (name + ".yaml");
  std::ofstream(cfg) << yaml;
  std::filesystem::remove(out);
  return run_proxysim(name, "run " + cfg.string() + " --backend cpu --out " + out.string(), env);
}

}  // namespace proxysim::test
