#include "experiments/progress.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace proxysim {

std::string human_seconds(double s) {
  if (!std::isfinite(s)) return "?";
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  return fmt::format("{}h{:02}m", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
}

std::string human_bytes(double b) {
  if (b < 1024.0 * 1024) return fmt::format("{:.0f} KiB", b / 1024);
  if (b < 1024.0 * 1024 * 1024) return fmt::format("{:.1f} MiB", b / (1024.0 * 1024));
  return fmt::format("{:.2f} GiB", b / (1024.0 * 1024 * 1024));
}

Progress::Progress(uint64_t total, uint64_t done, bool enabled, std::ostream& out)
    : total_(total), start_done_(done), done_(done), enabled_(enabled), out_(out), tty_(isatty(STDERR_FILENO) != 0),
      t0_(Clock::now()), last_(t0_) {
  if (enabled_) draw(true);
}

void Progress::update(uint64_t done) {
  if (!enabled_ || done == done_) return;
  done_ = done;
  draw(done_ == total_);
}

void Progress::finish() {
  if (enabled_ && tty_ && drawn_) out_ << "\n";
  drawn_ = false;
}

void Progress::draw(bool force) {
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - t0_).count();
  const uint64_t ran = done_ - start_done_;
  const double rate = ran > 0 ? static_cast<double>(ran) / std::max(elapsed, 1e-9) : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : NAN;
  const std::string rate_s = ran == 0   ? "-"
                             : rate >= 1 ? fmt::format("{:.2f} cells/s", rate)
                                         : fmt::format("{:.2f} cells/min", rate * 60);
  const std::string eta_s = done_ == total_ ? "done in " + human_seconds(elapsed) : "ETA " + human_seconds(eta);
  if (tty_) {
    constexpr int kWidth = 30;
    const int fill = static_cast<int>(kWidth * done_ / std::max<uint64_t>(total_, 1));
    fmt::print(out_, "\r[{}{}] {}/{} cells  {}  {}   ", std::string(fill, '#'), std::string(kWidth - fill, '.'), done_,
               total_, rate_s, eta_s);
    out_.flush();
    drawn_ = true;
  } else if (force || now - last_ >= std::chrono::seconds(10)) {
    fmt::print(out_, "proxysim: {}/{} cells, {}, {}\n", done_, total_, rate_s, eta_s);
    last_ = now;
  }
}

}  // namespace proxysim
