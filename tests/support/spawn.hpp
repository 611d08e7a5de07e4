// Starting the proxysim CLI as a child process the test can kill, and waiting for it.
#pragma once
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include <string>
#include <vector>

namespace proxysim::test {

// How a child is started, for fault injection.
struct SpawnOptions {
  std::string cwd;                // working folder ("" = the test's)
  long long file_size_limit = -1; // RLIMIT_FSIZE in bytes: writes past it fail with EFBIG,
                                  // as on a full disk (SIGXFSZ ignored)
  bool obey_permissions = false;  // drop root's permission overrides, so mode bits bind
  std::vector<std::string> env;   // NAME=VALUE set in the child (added or replaced)
};

// Drops CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER from the bounding set, so
// a root process started after this obeys file modes (a no-op for other users).
// False when that is not allowed here.
inline bool drop_permission_overrides() {
  if (::geteuid() != 0) return true;
  for (const int cap : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER}) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return false;
  }
  return true;
}

// Runs `argv` (argv[0] is the program) with stdout and stderr to `log`; returns its pid.
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& log, const SpawnOptions& o = {}) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) _exit(126);
    if (o.file_size_limit >= 0) {
      signal(SIGXFSZ, SIG_IGN);
      const rlimit r{static_cast<rlim_t>(o.file_size_limit), static_cast<rlim_t>(o.file_size_limit)};
      if (setrlimit(RLIMIT_FSIZE, &r) != 0) _exit(126);
    }
    if (o.obey_permissions && !drop_permission_overrides()) _exit(126);
    for (const auto& kv : o.env) {
      const auto eq = kv.find('=');
      if (eq != std::string::npos) setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Exit status, or -signal when killed.
inline int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : -1000;
}

}  // namespace proxysim::test
