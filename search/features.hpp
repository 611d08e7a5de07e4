// One-hot operator encodings of architectures: the linear latency model of proxy
// adaptation (Lu et al. 2022, "AdaProxy") is latency = w . x over these features.
// Every encoding ends with a constant 1 column (the model's fixed cost), so the
// adaptation schemes can leave that column unpenalised.
#pragma once
#include <Eigen/Dense>
#include <vector>

#include "sim/space.hpp"

namespace proxysim {

// NB201: 6 edges x 5 ops + 1 = 31. FBNet: 22 layers x 9 choices + 1 = 199.
// OFA MobileNetV3: 20 slots x (3 kernel + 3 expand) + 5 stages x 3 depths
// + 25 resolutions + 1 = 161. MBv2: 21 slots x (3 kernel + 3 expand) + 5 stages x 3
// depths + 1 = 142.
int feature_count(SpaceId space);

// Column of the constant feature (always the last one).
inline int constant_feature(SpaceId space) { return feature_count(space) - 1; }

// Column layout, for readers of the matrix and for tests.
// NB201 / FBNet: column decision * choices + choice.
// OFA: slot s kernel k -> 6s + k, expand e -> 6s + 3 + e (all zero when the slot is
// past its stage's depth, because an unused slot is no operator at all); stage t
// depth index d -> 120 + 3t + d; resolution index r -> 135 + r; constant -> 160.
inline constexpr int kOfaDepthColumn = 120;
inline constexpr int kOfaResolutionColumn = 135;
// MBv2: slot s as OFA's (the last slot, 20, is always used); stage t depth index d
// -> 126 + 3t + d; constant -> 141.
inline constexpr int kMbv2DepthColumn = 126;

// Rows = architectures in the order given. Throws UserError if a code does not
// belong to the space (wrong length or a decision out of range).
Eigen::MatrixXd one_hot_features(SpaceId space, const std::vector<ArchCode>& codes);

}  // namespace proxysim
