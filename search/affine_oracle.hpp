// Channels added to an ArchOracle that are affine maps of one of its channels and of
// the architecture's one-hot operator features (search/features.hpp): how an adapted
// proxy (AdaptationChoice::affine) predicts an architecture it was never fitted on.
#pragma once
#include <Eigen/Dense>
#include <memory>
#include <vector>

#include "search/on_the_fly.hpp"
#include "sim/space.hpp"

namespace proxysim {

struct AffineChannel {
  int anchor = 0;                   // channel of the base oracle (the proxy's latency)
  double anchor_scale = 0;
  Eigen::VectorXd feature_weights;  // feature_count(space) entries, the constant last
};

// Channels: the base oracle's, then one per AffineChannel, each
// anchor_scale * base[anchor] + features(arch) . feature_weights, rounded to float as
// every channel is. The accuracy is the base oracle's.
class AffineOracle final : public ArchOracle {
 public:
  AffineOracle(const SearchSpace& space, ArchOracle& base, std::vector<AffineChannel> added);
  int channels() const override { return base_channels_ + static_cast<int>(added_); }
  void evaluate(const std::vector<Arch>& archs, std::vector<float>& values) override;
  double accuracy(const Arch& a) const override { return base_->accuracy(a); }
  // As the base: the added channels cost the same per architecture in any batch.
  bool evaluates_singly() const override { return base_->evaluates_singly(); }
  // The same channels over a fork of the base (nullptr where the base has none).
  std::unique_ptr<ArchOracle> fork() const override;

 private:
  AffineOracle(const AffineOracle& from, std::unique_ptr<ArchOracle> base);

  SpaceId space_;
  int decisions_;
  std::unique_ptr<ArchOracle> owned_base_;  // a fork's own base; null for the original
  ArchOracle* base_;
  int base_channels_;
  Eigen::Index added_;
  std::vector<int> anchor_;
  Eigen::VectorXd scale_;
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> weights_;  // features x added
  std::vector<float> base_values_;
  std::vector<ArchCode> codes_;
};

}  // namespace proxysim
