#include "search/accuracy.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "base/rng.hpp"
#include "base/error.hpp"
#include "sim/nb201.hpp"
#include "sim/ofa_mbv3.hpp"
#include "base/text.hpp"

namespace proxysim {

namespace {

constexpr uint64_t kNb201Size = 15625;
const char* const kHeader[] = {"arch_index",        "arch_str",          "connected",  "cifar10_test_acc",
                               "cifar100_test_acc", "imagenet16_120_test_acc", "unique_str"};
constexpr size_t kColumns = 7;


float parse_accuracy(const std::string& s, const std::string& file, uint64_t line, const std::string& col) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno != 0) {
    throw UserError(csv_where(file, line, col) + ": expected an accuracy in percent, found '" + s + "'");
  }
  if (!std::isfinite(v) || v < 0.0 || v > 100.0) {
    throw UserError(csv_where(file, line, col) + ": accuracy must be in [0, 100] percent, found '" + s + "'");
  }
  return static_cast<float>(v);
}

// Seeded value in [-1, 1].
double signed_unit(uint64_t bits) { return 2.0 * unit_open(bits) - 1.0; }

}  // namespace

const std::vector<float>& Nb201AccuracyTable::of(std::string_view dataset) const {
  if (dataset == "cifar10") return cifar10;
  if (dataset == "cifar100") return cifar100;
  if (dataset == "imagenet16-120" || dataset == "imagenet16_120") return imagenet16_120;
  throw UserError(file + ": no accuracy column for dataset '" + std::string(dataset) +
                  "' (expected cifar10, cifar100 or imagenet16-120)");
}

Nb201AccuracyTable read_nb201_accuracy(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UserError(path + ": cannot open NB201 accuracy file");
  Nb201AccuracyTable t;
  t.file = path;
  CsvLines lines(in, path);
  std::string line;
  if (!lines.next(line) || line.empty()) throw UserError(path + ": empty file (expected a header line)");
  const auto header = split_csv_line(line, path, 1);
  if (header.size() != kColumns) {
    throw UserError(path + ":1: expected " + std::to_string(kColumns) + " columns (arch_index, arch_str, connected, "
                    "cifar10_test_acc, cifar100_test_acc, imagenet16_120_test_acc, unique_str), found " +
                    std::to_string(header.size()));
  }
  for (size_t c = 0; c < kColumns; ++c) {
    if (header[c] != kHeader[c]) {
      throw UserError(path + ":1: column " + std::to_string(c + 1) + " must be '" + kHeader[c] + "', found '" +
                      header[c] + "'");
    }
  }
  const SearchSpace space = make_space("nb201");
  t.cifar10.assign(kNb201Size, NAN);
  t.cifar100.assign(kNb201Size, NAN);
  t.imagenet16_120.assign(kNb201Size, NAN);
  t.connected.assign(kNb201Size, 0);
  std::vector<uint32_t> seen_at(kNb201Size, 0);
  uint64_t rows = 0;
  uint64_t blank = 0;  // the first blank line: allowed only at the end of the file
  std::vector<std::string> f;
  while (lines.next_fields(f)) {
    const uint64_t lineno = lines.line();
    if (f.empty()) {
      if (blank == 0) blank = lineno;
      continue;
    }
    if (blank != 0) {
      throw UserError(path + ":" + std::to_string(blank) + ": empty line before the row on line " + std::to_string(lineno) +
                      " (blank lines may only end the file)");
    }
    ++rows;
    if (f.size() != kColumns) {
      throw UserError(path + ":" + std::to_string(lineno) + ": expected " + std::to_string(kColumns) +
                      " fields, found " + std::to_string(f.size()));
    }
    char* end = nullptr;
    errno = 0;
    const long long idx = std::strtoll(f[0].c_str(), &end, 10);
    if (f[0].empty() || *end != '\0' || errno != 0 || idx < 0 || idx >= static_cast<long long>(kNb201Size)) {
      throw UserError(csv_where(path, lineno, "arch_index") + ": expected an NB201 index in [0, 15624], found '" + f[0] + "'");
    }
    const auto i = static_cast<size_t>(idx);
    if (seen_at[i]) {
      throw UserError(csv_where(path, lineno, "arch_index") + ": index " + f[0] + " already given on line " +
                      std::to_string(seen_at[i]));
    }
    seen_at[i] = static_cast<uint32_t>(lineno);
    ArchCode code;
    try {
      code = space.from_string(f[1]);
    } catch (const UserError& e) {
      throw UserError(csv_where(path, lineno, "arch_str") + ": " + e.what());
    }
    if (nb201_index(code) != i) {
      throw UserError(csv_where(path, lineno, "arch_str") + ": '" + f[1] + "' is NB201 index " +
                      std::to_string(nb201_index(code)) + ", not " + f[0]);
    }
    if (f[2] != "0" && f[2] != "1") {
      throw UserError(csv_where(path, lineno, "connected") + ": expected 0 or 1, found '" + f[2] + "'");
    }
    const uint8_t conn = f[2] == "1";
    if (conn != static_cast<uint8_t>(nb201::connected(code.data()))) {
      throw UserError(csv_where(path, lineno, "connected") + ": says " + f[2] + " but '" + f[1] + "' is " +
                      (conn ? "disconnected" : "connected"));
    }
    t.connected[i] = conn;
    t.cifar10[i] = parse_accuracy(f[3], path, lineno, kHeader[3]);
    t.cifar100[i] = parse_accuracy(f[4], path, lineno, kHeader[4]);
    t.imagenet16_120[i] = parse_accuracy(f[5], path, lineno, kHeader[5]);
  }
  if (rows == 0) throw UserError(path + ": header only (expected 15625 rows)");
  for (size_t i = 0; i < kNb201Size; ++i) {
    if (!seen_at[i]) {
      throw UserError(path + ": no row for NB201 index " + std::to_string(i) + " (expected all 15625, found " +
                      std::to_string(rows) + " rows)");
    }
  }
  return t;
}

namespace {

// Per space: the accuracy range and the capacity at which 63 % of it is reached.
// The ranges echo published figures for the space's task (NB201 CIFAR-10 about
// 85-94 %, FBNet CIFAR-100 about 60-76 %, OFA ImageNet about 70-80 %) so that
// regrets read in familiar units; nothing else about them is measured.
struct SyntheticConstants {
  double a_min = 85.0, a_max = 94.5, c0 = 1.5, macs_min = 7.8e6, params_min = 7.3e4;
};

SyntheticConstants synthetic_constants(SpaceId id) {
  SyntheticConstants k;
  if (id == SpaceId::kFbnet) {
    k = {60.0, 77.0, 2.0, 1.0e7, 2.0e5};
  } else if (id == SpaceId::kOfaMbv3) {
    k = {70.0, 81.0, 2.0, 1.0e8, 2.0e6};
  } else if (id == SpaceId::kMbv2) {
    // Capacity alone puts MobileNetV2-1.0 (300.8 M multiply-adds, 3.50 M parameters)
    // at 72.0 %, its published top-1; the space spans about 70-73 % before interactions.
    k = {65.0, 80.0, 3.0, 1.0e8, 2.0e6};
  }
  return k;
}

// The network the interactions and the noise see: OFA's and MBv2's kernel and
// expansion bytes past a stage's depth name no layer, so the network is the
// resolution, the depths, then each slot's layer or "unused", and two codes of one
// network get one accuracy. Returns its length K.
size_t network_of(SpaceId id, const uint8_t* code, std::array<uint8_t, kMaxDecisions>& net) {
  size_t K = 0;
  if (id == SpaceId::kOfaMbv3) {
    for (; K < static_cast<size_t>(ofa::kKernelOffset); ++K) net[K] = code[K];
    for (int slot = 0; slot < ofa::kSlots; ++slot) net[K++] = static_cast<uint8_t>(ofa::slot_choice(code, slot));
  } else if (id == SpaceId::kMbv2) {
    for (; K < static_cast<size_t>(mbv2::kKernelOffset); ++K) net[K] = code[K];
    for (int slot = 0; slot < mbv2::kSlots; ++slot) net[K++] = static_cast<uint8_t>(mbv2::slot_choice(code, slot));
  } else {
    for (; K < static_cast<size_t>(space_decisions(id)); ++K) net[K] = code[K];
  }
  return K;
}

// The surrogate's seeded bits, hashed from the seed: the interaction of network
// positions k and k + 1 (values a, b), and position k's share of the noise (value v).
// The noise key sets bit 16, above every interaction key (a << 8 | b), so the two
// never share a hash.
constexpr uint64_t kNoiseKey = uint64_t{1} << 16;
struct HashedBits {
  uint64_t seed;
  uint64_t pair(size_t k, unsigned a, unsigned b) const { return counter_hash(seed, k, (uint64_t{a} << 8) | b); }
  uint64_t noise(size_t k, unsigned v) const { return counter_hash(seed, k, kNoiseKey | v); }
  uint64_t noise_start(size_t K) const { return counter_hash(seed, 0x5eedull, K); }
};

// The surrogate from the network's MACs and parameters on: capacity, interactions,
// noise (search/accuracy.hpp). The lowering path (HashedBits) and the tabulated one
// (SyntheticAccuracy's tables of the same hashes) both end here, so they can differ
// only in the totals they pass: the floating-point expressions are one.
template <class Bits>
double synthetic_from_totals(SpaceId id, const uint8_t* code, double macs, double params, const Bits& bits) {
  const SyntheticConstants k = synthetic_constants(id);
  const double c = std::log1p(macs / k.macs_min) + 0.5 * std::log1p(params / k.params_min);
  double acc = k.a_min + (k.a_max - k.a_min) * (1.0 - std::exp(-c / k.c0));
  std::array<uint8_t, kMaxDecisions> net{};
  const size_t K = network_of(id, code, net);
  // Each pair term is uniform in [-w, w] (variance w^2 / 3); w = 0.5 sqrt(3 / (K - 1))
  // gives the K - 1 terms together a spread of 0.5 points in every space, so capacity
  // stays the main effect however many decisions a space has.
  const double w = K > 1 ? 0.5 * std::sqrt(3.0 / static_cast<double>(K - 1)) : 0.0;
  for (size_t k = 0; k + 1 < K; ++k) acc += w * signed_unit(bits.pair(k, net[k], net[k + 1]));
  // The noise: one hash of the whole network, the XOR of one hash per (position, value)
  // mixed once more, so that its K hashes are independent of each other (a chain of K
  // dependent hashes took a third of an on-the-fly search's time, bench/NOTES.md 4b).
  uint64_t h = bits.noise_start(K);
  for (size_t k = 0; k < K; ++k) h ^= bits.noise(k, net[k]);
  acc += 0.3 * signed_unit(mix64(h));
  return std::clamp(acc, 0.0, 100.0);
}

// Sums an op sequence's MACs and parameters as integers, and whether every op's were
// integers below 2^53 (then a double sum of them in any order is exact).
struct IntegerTotals {
  int64_t macs = 0, params = 0;
  bool exact = true;
  void operator()(const Op& op) {
    add(op_macs(op), macs);
    add(op_params(op), params);
  }
  void add(double v, int64_t& sum) {
    constexpr double kExactBelow = 9007199254740992.0;  // 2^53
    if (!(v >= 0.0 && v < kExactBelow && v == std::floor(v))) {
      exact = false;
      return;
    }
    sum += static_cast<int64_t>(v);
  }
};

}  // namespace

double synthetic_accuracy(const SearchSpace& space, const ArchCode& code, uint64_t seed) {
  const OpTotals tot = space.totals(code);
  return synthetic_from_totals(space.id(), code.data(), tot.macs, tot.params, HashedBits{seed});
}

// SyntheticAccuracy's hash tables read as HashedBits computes them.
struct TableBits {
  const uint32_t *values, *noise_at, *pair_at;
  const uint64_t *noise_bits, *pair_bits;
  uint64_t start;
  uint64_t pair(size_t k, unsigned a, unsigned b) const { return pair_bits[pair_at[k] + a * values[k + 1] + b]; }
  uint64_t noise(size_t k, unsigned v) const { return noise_bits[noise_at[k] + v]; }
  uint64_t noise_start(size_t) const { return start; }
};

SyntheticAccuracy::SyntheticAccuracy(const SearchSpace& space, uint64_t seed) : space_(space) {
  const SpaceId id = space.id();
  {
    // The values each network position takes (network_of): a decision's choices, or
    // for OFA's and MBv2's block slots a slot choice (3 kernels x 3 expansions, unused).
    int prefix = space.decisions(), slots = 0, slot_values = 0;
    if (id == SpaceId::kOfaMbv3) prefix = ofa::kKernelOffset, slots = ofa::kSlots, slot_values = ofa::kSlotChoices;
    if (id == SpaceId::kMbv2) prefix = mbv2::kKernelOffset, slots = mbv2::kSlots, slot_values = mbv2::kSlotChoices;
    for (int k = 0; k < prefix; ++k) values_.push_back(static_cast<uint32_t>(space.choices(k)));
    values_.insert(values_.end(), static_cast<size_t>(slots), static_cast<uint32_t>(slot_values));
    const size_t K = values_.size();
    const HashedBits h{seed};
    noise_start_ = h.noise_start(K);
    for (size_t k = 0; k < K; ++k) {
      noise_at_.push_back(static_cast<uint32_t>(noise_bits_.size()));
      for (unsigned v = 0; v < values_[k]; ++v) noise_bits_.push_back(h.noise(k, v));
      pair_at_.push_back(static_cast<uint32_t>(pair_bits_.size()));
      if (k + 1 == K) continue;
      for (unsigned a = 0; a < values_[k]; ++a) {
        for (unsigned b = 0; b < values_[k + 1]; ++b) pair_bits_.push_back(h.pair(k, a, b));
      }
    }
  }
  if (!is_chain_space(id)) return;  // NB201: one cell shared by 15 places, lowered whole
  // As compile_chain (kernels/chain_tables.cpp): the tensor entering a position has
  // the same shape whatever was chosen before it (only identities may be absent, and
  // they keep the shape), so each (group, position, choice) has fixed totals.
  const int P = chain_positions(id), C = chain_choices(id), G = chain_groups(id);
  positions_ = P;
  choices_ = C;
  fixed_.assign(static_cast<size_t>(G) * 2, 0);
  per_choice_.assign(static_cast<size_t>(G) * P * C * 2, 0);
  bool exact = true;
  for (int g = 0; g < G; ++g) {
    IntegerTotals fixed;
    Emitter<IntegerTotals> em(fixed);
    Tensor x = chain_prefix(id, g, space.params(), em);
    int64_t most_macs = 0, most_params = 0;  // the largest network of the group
    for (int pos = 0; pos < P; ++pos) {
      int64_t top_macs = 0, top_params = 0;
      Tensor next{};
      for (int c = 0; c < C; ++c) {
        IntegerTotals t;
        Emitter<IntegerTotals> e(t);
        const Tensor y = chain_position(id, pos, c, e, x);
        if (c == 0) next = y;
        exact = exact && t.exact;
        int64_t* row = &per_choice_[((static_cast<size_t>(g) * P + pos) * C + c) * 2];
        row[0] = t.macs;
        row[1] = t.params;
        top_macs = std::max(top_macs, t.macs);
        top_params = std::max(top_params, t.params);
      }
      most_macs += top_macs;
      most_params += top_params;
      x = next;
      x.id = -1;
    }
    chain_suffix(id, space.params(), em, x);
    exact = exact && fixed.exact;
    fixed_[static_cast<size_t>(g) * 2] = fixed.macs;
    fixed_[static_cast<size_t>(g) * 2 + 1] = fixed.params;
    // The lowering's running double sums stay exact while every partial sum is an
    // integer below 2^53: bounded by the group's largest network.
    constexpr int64_t kExactBelow = int64_t{1} << 53;
    exact = exact && fixed.macs + most_macs < kExactBelow && fixed.params + most_params < kExactBelow;
  }
  if (!exact) {
    fixed_.clear();
    per_choice_.clear();
  }
}

std::pair<double, double> SyntheticAccuracy::macs_params(const uint8_t* code) const {
  const SpaceId id = space_.id();
  if (per_choice_.empty()) {
    const OpTotals t = space_.totals(ArchCode(code, code + space_.decisions()));
    return {t.macs, t.params};
  }
  const int g = chain_group(id, code);
  int64_t macs = fixed_[static_cast<size_t>(g) * 2], params = fixed_[static_cast<size_t>(g) * 2 + 1];
  const int64_t* rows = &per_choice_[static_cast<size_t>(g) * static_cast<size_t>(positions_ * choices_) * 2];
  for (int pos = 0; pos < positions_; ++pos) {
    const int64_t* r = rows + (static_cast<size_t>(pos) * static_cast<size_t>(choices_) +
                               static_cast<size_t>(chain_choice(id, code, pos))) * 2;
    macs += r[0];
    params += r[1];
  }
  return {static_cast<double>(macs), static_cast<double>(params)};
}

double SyntheticAccuracy::operator()(const uint8_t* code) const {
  const auto [macs, params] = macs_params(code);
  const TableBits bits{values_.data(),     noise_at_.data(), pair_at_.data(),
                       noise_bits_.data(), pair_bits_.data(), noise_start_};
  return synthetic_from_totals(space_.id(), code, macs, params, bits);
}

double SyntheticAccuracy::operator()(const ArchCode& code) const {
  space_.validate(code);
  return (*this)(code.data());
}

std::vector<float> accuracy_for(const SearchSpace& space, const std::vector<ArchCode>& codes, const std::string& source,
                                const std::string& table_path, uint64_t synthetic_seed) {
  std::vector<float> out(codes.size());
  if (source == "synthetic") {
    const SyntheticAccuracy synthetic(space, synthetic_seed);
    for (size_t i = 0; i < codes.size(); ++i) out[i] = static_cast<float>(synthetic(codes[i]));
    return out;
  }
  if (source != "nb201") throw UserError("accuracy source '" + source + "': expected nb201 or synthetic");
  if (space.id() != SpaceId::kNb201) {
    throw UserError("accuracy source 'nb201' needs the nb201 space, not '" + space.name() + "' (use synthetic)");
  }
  const Nb201AccuracyTable t = read_nb201_accuracy(table_path);
  const auto& col = t.of(space.dataset());
  for (size_t i = 0; i < codes.size(); ++i) out[i] = col[nb201_index(codes[i])];
  return out;
}

}  // namespace proxysim
