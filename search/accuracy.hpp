// Accuracy sources for hardware-aware NAS: the real NAS-Bench-201 test accuracies
// (NATS-Bench topology space, 200 epochs, mean over seeds) and, for the spaces that
// have no trained table (FBNet, OFA MobileNetV3), a seeded *synthetic* surrogate.
// The surrogate is called `synthetic` in every name, config key and output, so no
// result built on it can be mistaken for one built on measured accuracy.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/space.hpp"

namespace proxysim {

// NB201 test accuracy (%) per official index 0..15624, for the three datasets of
// nb201_accuracy.csv. Disconnected architectures keep their table values (about 10 %
// on CIFAR-10: chance), flagged in `connected`.
struct Nb201AccuracyTable {
  std::string file;
  std::vector<float> cifar10, cifar100, imagenet16_120;  // [official index]
  std::vector<uint8_t> connected;                        // [official index]
  // The column of a dataset as the space names it (cifar10, cifar100, imagenet16-120);
  // throws UserError for another name.
  const std::vector<float>& of(std::string_view dataset) const;
};

// Reads and validates the table: the exact header, one row per official index (every
// index once), arch_str equal to the index's official string, `connected` agreeing
// with the string, accuracies finite numbers in [0, 100]. A bad file throws UserError
// naming the file, line and column.
Nb201AccuracyTable read_nb201_accuracy(const std::string& path);

// The synthetic accuracy surrogate (%), a pure function of (space, architecture,
// seed); it is not a model of any trained network. Its three parts:
//  - capacity with diminishing returns: a_min + (a_max - a_min) * (1 - exp(-c / c0))
//    where c = log(1 + MACs / MACs_min) + 0.5 log(1 + params / params_min), so each
//    doubling of compute buys less than the one before (the shape of every
//    accuracy-vs-FLOPs curve in the NAS literature);
//  - interactions between consecutive decisions: a seeded value in [-1, 1] per
//    (position, choice here, choice at the next position), scaled so that together
//    they spread accuracy by 0.5 points (standard deviation) in any space, so that
//    what a layer is worth depends on its neighbour and no per-decision greedy search
//    is exact;
//  - noise: a seeded value in [-1, 1] per architecture, scaled by 0.3 points, standing
//    for the seed-to-seed spread of training.
// Constants per space are in accuracy.cpp; the seed changes the interactions and noise.
// This form lowers the network for its MACs and parameters: the reference.
double synthetic_accuracy(const SearchSpace& space, const ArchCode& code, uint64_t seed);

// The same surrogate for one (space, seed), its MACs and parameters summed from
// per-(group, position, choice) integer tables of the chain spaces (FBNet; OFA and
// MBv2 by resolution and block slot, an unused slot a choice of its own) instead of
// lowering each network: 20 to 22 table reads where the lowering emitted every op of
// the network, about 30 % of an on-the-fly FBNet search's time on one thread
// (bench/NOTES.md, 4b); the interactions' and the noise's hashes are tables too. Every op's MACs and parameters are integers and the totals
// stay below 2^53, so the lowering's double sums are exact and these integer sums
// equal them: the value is synthetic_accuracy's bit for bit (the constructor checks
// both conditions and keeps the lowering where they fail; NB201, not a chain, is
// lowered). Immutable after construction: callable from many threads at once.
class SyntheticAccuracy {
 public:
  SyntheticAccuracy(const SearchSpace& space, uint64_t seed);
  // `code`: space.decisions() bytes, each within its decision's range (not checked).
  double operator()(const uint8_t* code) const;
  // Checked as SearchSpace::validate checks it (UserError).
  double operator()(const ArchCode& code) const;
  // The MACs and parameters the surrogate is computed from (SearchSpace::totals' macs
  // and params, the same doubles); `code` as above.
  std::pair<double, double> macs_params(const uint8_t* code) const;
  // Whether the tables are used (false: every call lowers the network).
  bool tabulated() const { return !per_choice_.empty(); }

 private:
  SearchSpace space_;
  int positions_ = 0, choices_ = 0;
  std::vector<int64_t> fixed_;       // [group][macs, params]: prefix and suffix
  std::vector<int64_t> per_choice_;  // [group][position][choice][macs, params]
  // The interactions' and the noise's hashes (accuracy.cpp's HashedBits), tabulated per
  // network position k and value: noise_bits_[noise_at_[k] + v] and
  // pair_bits_[pair_at_[k] + a * values_[k + 1] + b]; noise_start_ the noise's seed.
  std::vector<uint32_t> values_, noise_at_, pair_at_;
  std::vector<uint64_t> noise_bits_, pair_bits_;
  uint64_t noise_start_ = 0;
};

// Accuracy per architecture: "nb201" table values (space must be nb201; `table_path`
// the CSV) or "synthetic" (any space).
std::vector<float> accuracy_for(const SearchSpace& space, const std::vector<ArchCode>& codes,
                                const std::string& source, const std::string& table_path, uint64_t synthetic_seed);

}  // namespace proxysim
