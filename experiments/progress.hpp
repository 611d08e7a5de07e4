// Progress of a sweep: cells done, rate and ETA, as a redrawn bar on a terminal and a
// line every 10 s otherwise (logs of batch jobs); and the human-readable sizes and
// durations the sweep runner and the dry run print.
#pragma once
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace proxysim {

std::string human_seconds(double s);  // 42s, 3m05s, 2h07m
std::string human_bytes(double b);    // KiB, MiB, GiB

// Prints nothing when not enabled.
class Progress {
 public:
  Progress(uint64_t total, uint64_t done, bool enabled, std::ostream& out);
  void update(uint64_t done);
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  void draw(bool force);
  uint64_t total_, start_done_, done_;
  bool enabled_;
  std::ostream& out_;
  bool tty_;
  bool drawn_ = false;
  Clock::time_point t0_, last_;
};

}  // namespace proxysim
