// The select stage's outputs: its HDF5 group and its table.
#include "experiments/select.hpp"
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <algorithm>
#include <map>
#include <cassert>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>
#include "experiments/device_columns.hpp"
#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"
#include "search/adaptation.hpp"
#include "base/error.hpp"
#include "sim/nb201.hpp"

namespace proxysim {

void write_selection(H5Writer& h5, const SelectReport& r) {
  h5.group("/select");
  const std::vector<uint64_t> cube = {r.rules.size(), r.targets.size(), r.n.size()};
  for (const auto& [name, values] :
       {std::pair{"/select/srcc_mean", &r.srcc_mean}, std::pair{"/select/regret_mean", &r.regret_mean},
        std::pair{"/select/oracle_fraction", &r.oracle_fraction}}) {
    const std::vector<float> f(values->begin(), values->end());
    h5.array_f32(name, cube, f.data(), {"rule", "target", "n"});
  }
  for (const auto& [name, values] : {std::pair{"/select/group_srcc_mean", &r.group_srcc_mean},
                                     std::pair{"/select/group_regret_mean", &r.group_regret_mean}}) {
    const std::vector<float> f(values->begin(), values->end());
    h5.array_f32(name, {r.rules.size(), r.n.size()}, f.data(), {"rule", "n"});
  }
  {
    const std::vector<float> f(r.srcc_full.begin(), r.srcc_full.end());
    h5.array_f32("/select/srcc_full", {r.candidates.size(), r.targets.size()}, f.data(), {"candidate", "target"});
  }
  {
    const std::vector<float> f(r.chosen.begin(), r.chosen.end());
    h5.array_f32("/select/chosen", {r.rules.size(), r.targets.size(), r.n.size(), static_cast<uint64_t>(r.repeats)},
                 f.data(), {"rule", "target", "n", "repeat"});
    h5.attr("/select/chosen", "macs", int64_t{-1});
  }
  h5.strings("/select/rules", r.rules, "rule");
  h5.strings("/select/targets", r.targets, "target");
  h5.strings("/select/candidates", r.candidates, "candidate");
  h5.strings("/select/oracle", r.oracle, "target");
  for (const auto& [name, values] :
       {std::pair{"/select/oracle_srcc", &r.oracle_srcc}, std::pair{"/select/macs_srcc", &r.macs_srcc}}) {
    const std::vector<float> f(values->begin(), values->end());
    H5Matrix m = h5.vector_f32(name, f.size(), "target");
    m.write_rows(0, f.size(), f.data());
  }
  {
    std::vector<uint64_t> n(r.n.begin(), r.n.end());
    H5Matrix m = h5.vector_u64("/select/n", n.size(), "n");
    m.write_rows(0, n.size(), n.data());
    std::vector<uint64_t> eligible(r.eligible.begin(), r.eligible.end());
    H5Matrix em = h5.vector_u64("/select/eligible", eligible.size(), "target");
    em.write_rows(0, eligible.size(), eligible.data());
  }
  h5.attr("/select", "repeats", static_cast<int64_t>(r.repeats));
  h5.attr("/select", "seed", static_cast<int64_t>(r.seed));
  h5.attr("/select", "excluded_disconnected", static_cast<int64_t>(r.excluded_disconnected));
}

void print_selection_table(const SelectReport& r, std::ostream& out) {
  size_t w = 17, ow = 6, rw = 8;
  for (const auto& t : r.targets) w = std::max(w, t.size());
  for (const auto& o : r.oracle) ow = std::max(ow, o.size());
  for (const auto& s : r.rules) rw = std::max(rw, s.size());
  const auto R = static_cast<size_t>(r.repeats);
  // The candidate a rule chose most often over the repeats, with how often.
  auto modal = [&](size_t s, size_t t, size_t k) {
    std::map<int32_t, size_t> count;
    for (size_t rep = 0; rep < R; ++rep) ++count[r.chosen[r.at(s, t, k) * R + rep]];
    auto best = count.begin();
    for (auto it = count.begin(); it != count.end(); ++it)
      if (it->second > best->second) best = it;
    const std::string name = best->first < 0 ? "MACs" : r.candidates[static_cast<size_t>(best->first)];
    return fmt::format("{} {}/{}", name, best->second, R);
  };
  // One block per budget: every n asked for is shown.
  for (size_t k = 0; k < r.n.size(); ++k) {
    fmt::print(out, "\nProxy selection: mean regret (oracle SRCC - chosen SRCC) over {} repeats at n = {} target "
               "samples, and the proxy each rule chose most often\n{:<{}} {:<{}} {:>7}",
               r.repeats, r.n[k], "target", w, "oracle", ow, "SRCC");
    for (const auto& s : r.rules) fmt::print(out, " {:>{}}", s, rw);
    fmt::print(out, "   most often chosen\n");
    for (size_t t = 0; t < r.targets.size(); ++t) {
      fmt::print(out, "{:<{}} {:<{}} {:>7.3f}", r.targets[t], w, r.oracle[t], ow, r.oracle_srcc[t]);
      for (size_t s = 0; s < r.rules.size(); ++s) fmt::print(out, " {:>{}.3f}", r.regret_mean[r.at(s, t, k)], rw);
      std::string picks;
      for (size_t s = 0; s < r.rules.size(); ++s) picks += (s ? "; " : "") + r.rules[s] + ": " + modal(s, t, k);
      fmt::print(out, "   {}\n", picks);
    }
    fmt::print(out, "{:<{}} {:<{}} {:>7}", "one proxy for all", w, "", ow, "");
    for (size_t s = 0; s < r.rules.size(); ++s) fmt::print(out, " {:>{}.3f}", r.group_regret_mean[r.group_at(s, k)], rw);
    fmt::print(out, "\n");
  }
}

}  // namespace proxysim
