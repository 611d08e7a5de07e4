#include "search/affine_oracle.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "search/features.hpp"

namespace proxysim {

AffineOracle::AffineOracle(const SearchSpace& space, ArchOracle& base, std::vector<AffineChannel> added)
    : space_(space.id()), decisions_(space.decisions()), base_(&base), base_channels_(base.channels()),
      added_(static_cast<Eigen::Index>(added.size())), scale_(added_), weights_(feature_count(space.id()), added_) {
  for (Eigen::Index k = 0; k < added_; ++k) {
    const AffineChannel& a = added[static_cast<size_t>(k)];
    if (a.anchor < 0 || a.anchor >= base_channels_) {
      throw std::invalid_argument(fmt::format("AffineOracle: anchor channel {} of {}", a.anchor, base_channels_));
    }
    if (a.feature_weights.size() != weights_.rows()) {
      throw std::invalid_argument(
          fmt::format("AffineOracle: {} feature weights for a space of {} features", a.feature_weights.size(), weights_.rows()));
    }
    anchor_.push_back(a.anchor);
    scale_[k] = a.anchor_scale;
    weights_.col(k) = a.feature_weights;
  }
}

std::unique_ptr<ArchOracle> AffineOracle::fork() const {
  std::unique_ptr<ArchOracle> base = base_->fork();
  if (!base) return nullptr;
  return std::unique_ptr<ArchOracle>(new AffineOracle(*this, std::move(base)));
}

AffineOracle::AffineOracle(const AffineOracle& from, std::unique_ptr<ArchOracle> base)
    : space_(from.space_), decisions_(from.decisions_), owned_base_(std::move(base)), base_(owned_base_.get()),
      base_channels_(from.base_channels_), added_(from.added_), anchor_(from.anchor_), scale_(from.scale_),
      weights_(from.weights_) {}

void AffineOracle::evaluate(const std::vector<Arch>& archs, std::vector<float>& values) {
  const size_t n = archs.size();
  const auto B = static_cast<size_t>(base_channels_), C = static_cast<size_t>(channels());
  base_values_.assign(n * B, 0.0f);
  base_->evaluate(archs, base_values_);
  codes_.resize(n);
  for (size_t i = 0; i < n; ++i) codes_[i].assign(archs[i].begin(), archs[i].begin() + decisions_);
  // A row has one nonzero feature per decision and the constant (23 of FBNet's 199):
  // summed over the nonzeros, on the calling thread (a round's batch is a few hundred
  // architectures, too little to hand to Eigen's threaded product).
  const Eigen::MatrixXd x = one_hot_features(space_, codes_);
  std::vector<double> sum(static_cast<size_t>(added_));
  for (size_t i = 0; i < n; ++i) {
    std::fill(sum.begin(), sum.end(), 0.0);
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      const double xj = x(static_cast<Eigen::Index>(i), j);
      if (xj == 0) continue;
      for (Eigen::Index k = 0; k < added_; ++k) sum[static_cast<size_t>(k)] += xj * weights_(j, k);
    }
    float* v = values.data() + i * C;
    std::copy_n(base_values_.data() + i * B, B, v);
    for (Eigen::Index k = 0; k < added_; ++k) {
      const double anchor = base_values_[i * B + static_cast<size_t>(anchor_[static_cast<size_t>(k)])];
      v[B + static_cast<size_t>(k)] = static_cast<float>(scale_[k] * anchor + sum[static_cast<size_t>(k)]);
    }
  }
}

}  // namespace proxysim
