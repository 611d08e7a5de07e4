// Search spaces on the host: names, encodings, enumeration, string forms and
// lowering to operator lists. The per-architecture math lives in space_kernels.hpp.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/lowering.hpp"
#include "sim/op.hpp"
#include "sim/space_kernels.hpp"

namespace proxysim {

using ArchCode = std::vector<uint8_t>;

class SearchSpace {
 public:
  SearchSpace(SpaceId id, std::string name, std::string dataset, SpaceParams params)
      : id_(id), name_(std::move(name)), dataset_(std::move(dataset)), params_(params) {}

  SpaceId id() const { return id_; }
  const std::string& name() const { return name_; }
  const std::string& dataset() const { return dataset_; }
  const SpaceParams& params() const { return params_; }
  int decisions() const { return space_decisions(id_); }
  int choices(int decision) const { return decision_choices(id_, decision); }
  // Number of architectures when the space can be enumerated, else nullopt.
  std::optional<uint64_t> size() const;
  // Architecture `index` in the space's official order (NB201's topology index).
  ArchCode code_at(uint64_t index) const;
  ArchCode sample(uint64_t seed, uint64_t i) const;
  std::string to_string(const ArchCode& code) const;
  // Throws UserError naming the string and what was expected.
  ArchCode from_string(std::string_view text) const;
  // Throws UserError if a decision is out of range.
  void validate(const ArchCode& code) const;
  std::vector<Op> lower(const ArchCode& code) const;
  OpTotals totals(const ArchCode& code) const;
  std::string describe() const;

 private:
  SpaceId id_;
  std::string name_;
  std::string dataset_;
  SpaceParams params_;
};

// "nb201" (datasets cifar10, cifar100, imagenet16-120), "fbnet" (cifar100),
// "ofa_mbv3" (imagenet), "mbv2" (imagenet). An empty dataset picks the space's default.
SearchSpace make_space(std::string_view name, std::string_view dataset = {});
std::vector<std::string> space_names();

// NB201's official topology index -> packed code (base 5, edge 0 first).
const std::vector<uint16_t>& nb201_official_order();
// Inverse of the table: the official index of an NB201 code.
uint32_t nb201_index(const ArchCode& code);

}  // namespace proxysim
