// The select stage: how well each proxy-selection rule, given only n target
// measurements, picks a proxy device whose latencies rank the target's as the best
// available proxy would (Lu et al. 2022, Sec. 4), over the run's in-memory latency
// matrix.
//
// Rules. max_mean_srcc and max_min_srcc pick the candidate with the highest Spearman
// correlation (SRCC) to the target on the n sampled architectures; for one target the
// mean and the min of one number are that number, so the two rules coincide in the
// per-target form. They differ only in the group form, where one proxy serves every
// target at once and is the candidate with the highest mean (or the highest worst-case)
// sample SRCC over the targets. flops ranks by MACs instead of a device, and random
// is a seeded uniform candidate. Ties, including candidates with no usable sample
// SRCC (fewer than 3 measured samples, or constant latencies), go to the smallest name.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "kernels/engine.hpp"
#include "io/h5.hpp"
#include "sim/space.hpp"

namespace proxysim {

// Proxy selection over the run's latency matrix: for each target, each budget n and
// each repeat, n architectures measured on the target are drawn and every rule picks a
// proxy among the candidates from the target's latencies on them alone.
struct SelectSettings {
  std::vector<std::string> candidates;  // empty = every column
  std::vector<std::string> targets;     // empty = every column
  std::vector<std::string> rules = {"max_mean_srcc", "max_min_srcc", "flops", "random"};
  std::vector<int64_t> n = {5, 10, 20, 50};  // target samples per selection
  std::string sampling = "random";           // random | stratified (by MACs)
  int32_t repeats = 20;
  uint64_t seed = 0;
  bool include_disconnected = false;  // NB201's 341 disconnected architectures
  // Where the device names and budgets were given ("file:line: 'key path'"), for errors
  // the driver raises once it knows the run's device columns.
  std::string candidates_where, targets_where, n_where;
};

// The rules the stage knows, in the order the paper discusses them.
const std::vector<std::string>& select_rule_names();

// Column indices of the stage's candidates and targets among the run's device names.
// Throws UserError naming the config key when a name is not a column, is listed twice,
// or a target has no candidate besides itself.
struct SelectDevices {
  std::vector<int32_t> candidates, targets;
};
SelectDevices resolve_select_devices(const SelectSettings& stage, const std::vector<std::string>& names);

struct SelectReport {
  std::vector<std::string> rules, targets, candidates;
  std::vector<int64_t> n;
  int32_t repeats = 0;
  uint64_t seed = 0;
  // [target]: the oracle (the candidate with the highest SRCC over every architecture
  // measured on the target and on it), its SRCC, the SRCC of MACs, and how many
  // architectures the target's samples are drawn from.
  std::vector<std::string> oracle;
  std::vector<double> oracle_srcc, macs_srcc;
  std::vector<int64_t> eligible;
  // [candidate][target], flattened: full-data SRCC; NaN where the candidate is the target.
  std::vector<double> srcc_full;
  // [rule][target][n], flattened, over repeats: mean full-data SRCC of the chosen proxy,
  // mean regret (oracle SRCC - chosen SRCC) and the fraction of repeats that chose the
  // oracle.
  std::vector<double> srcc_mean, regret_mean, oracle_fraction;
  // [rule][n]: the group form, one proxy for every target; mean over repeats of the
  // mean over targets (other than the chosen proxy itself) of its SRCC and regret.
  std::vector<double> group_srcc_mean, group_regret_mean;
  // [rule][target][n][repeat], flattened: the candidate each rule chose (an index into
  // `candidates`, -1 = MACs).
  std::vector<int32_t> chosen;
  uint64_t excluded_disconnected = 0;
  size_t at(size_t rule, size_t target, size_t k) const { return (rule * targets.size() + target) * n.size() + k; }
  size_t group_at(size_t rule, size_t k) const { return rule * n.size() + k; }
};

// `latency_ms` is rows x devices (NaN = not measured), `codes` rows x space.decisions().
SelectReport compute_selection(const SearchSpace& space, const std::vector<float>& latency_ms, uint64_t rows,
                               const std::vector<uint8_t>& codes, const std::vector<std::string>& devices,
                               const SelectSettings& stage);
// /select in the result file: [rule, target, n] cubes, [rule, n] group results, the
// oracle per target and the full-data SRCC of every candidate, with names per axis.
void write_selection(H5Writer& h5, const SelectReport& r);
// Each target's oracle and each rule's mean regret at the smallest n >= 10 (or the
// largest n when all are smaller), then the group form's.
void print_selection_table(const SelectReport& r, std::ostream& out);

}  // namespace proxysim
