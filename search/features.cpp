#include "search/features.hpp"

#include <string>

#include "base/error.hpp"

namespace proxysim {

int feature_count(SpaceId space) {
  switch (space) {
    case SpaceId::kNb201: return nb201::kEdges * nb201::kOps + 1;
    case SpaceId::kFbnet: return fbnet::kLayers * fbnet::kChoices + 1;
    case SpaceId::kMbv2: return mbv2::kSlots * 6 + mbv2::kStages * 3 + 1;
    default: return ofa::kSlots * 6 + ofa::kStages * 3 + ofa::kResolutions + 1;
  }
}

namespace {

void check_code(SpaceId space, const ArchCode& code, size_t row) {
  const int n = space_decisions(space);
  if (static_cast<int>(code.size()) != n) {
    throw UserError("one_hot_features: architecture " + std::to_string(row) + " has " +
                    std::to_string(code.size()) + " decisions, expected " + std::to_string(n));
  }
  for (int k = 0; k < n; ++k) {
    if (code[k] >= decision_choices(space, k)) {
      throw UserError("one_hot_features: architecture " + std::to_string(row) + " decision " +
                      std::to_string(k) + " is " + std::to_string(code[k]) + ", expected < " +
                      std::to_string(decision_choices(space, k)));
    }
  }
}

}  // namespace

Eigen::MatrixXd one_hot_features(SpaceId space, const std::vector<ArchCode>& codes) {
  const int f = feature_count(space);
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(codes.size()), f);
  for (size_t i = 0; i < codes.size(); ++i) {
    const ArchCode& c = codes[i];
    check_code(space, c, i);
    const auto r = static_cast<Eigen::Index>(i);
    if (space == SpaceId::kOfaMbv3) {
      for (int s = 0; s < ofa::kSlots; ++s) {
        if (ofa::slot_choice(c.data(), s) == ofa::kUnusedSlot) continue;
        x(r, 6 * s + c[ofa::kKernelOffset + s]) = 1.0;
        x(r, 6 * s + 3 + c[ofa::kExpandOffset + s]) = 1.0;
      }
      for (int t = 0; t < ofa::kStages; ++t) x(r, kOfaDepthColumn + 3 * t + c[ofa::kDepthOffset + t]) = 1.0;
      x(r, kOfaResolutionColumn + c[0]) = 1.0;
    } else if (space == SpaceId::kMbv2) {
      for (int s = 0; s < mbv2::kSlots; ++s) {
        if (mbv2::slot_choice(c.data(), s) == mbv2::kUnusedSlot) continue;
        x(r, 6 * s + c[mbv2::kKernelOffset + s]) = 1.0;
        x(r, 6 * s + 3 + c[mbv2::kExpandOffset + s]) = 1.0;
      }
      for (int t = 0; t < mbv2::kStages; ++t) x(r, kMbv2DepthColumn + 3 * t + c[mbv2::kDepthOffset + t]) = 1.0;
    } else {
      const int choices = decision_choices(space, 0);
      for (int k = 0; k < space_decisions(space); ++k) x(r, k * choices + c[k]) = 1.0;
    }
    x(r, f - 1) = 1.0;
  }
  return x;
}

}  // namespace proxysim
