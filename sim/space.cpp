#include "sim/space.hpp"

#include "base/error.hpp"

#include <array>
#include <sstream>

namespace proxysim {

namespace {

constexpr std::array<const char*, nb201::kOps> kNb201OpNames = {"none", "skip_connect", "nor_conv_1x1",
                                                               "nor_conv_3x3", "avg_pool_3x3"};
constexpr std::array<const char*, fbnet::kChoices> kFbnetOpNames = {"k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1",
                                                                   "k5_e1_g2", "k5_e3", "k5_e6", "skip"};

struct OpSink {
  std::vector<Op>* ops;
  void operator()(const Op& op) { ops->push_back(op); }
};

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

int parse_int(const std::string& s, std::string_view whole, const char* what) {
  try {
    size_t used = 0;
    const int v = std::stoi(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  throw UserError("architecture '" + std::string(whole) + "': expected an integer " + what + ", found '" + s + "'");
}

template <size_t N>
int index_of(const std::array<const char*, N>& names, const std::string& s) {
  for (size_t i = 0; i < N; ++i) {
    if (s == names[i]) return static_cast<int>(i);
  }
  return -1;
}

// A '-' separated list of `count` values, each one of allowed[0..2], into code bytes.
void fill_choices(const std::string& space, const std::string& whole, const std::string& list, uint8_t* out, int count,
                  const int* allowed, const char* what) {
  const auto items = split(list, '-');
  if (static_cast<int>(items.size()) != count) {
    throw UserError(space + " architecture '" + whole + "': expected " + std::to_string(count) + " " + what +
                    ", found " + std::to_string(items.size()));
  }
  for (int i = 0; i < count; ++i) {
    const int v = parse_int(items[i], whole, what);
    int idx = -1;
    for (int c = 0; c < 3; ++c) {
      if (allowed[c] == v) idx = c;
    }
    if (idx < 0) {
      throw UserError(space + " architecture '" + whole + "': " + what + " " + std::to_string(i) + " must be " +
                      std::to_string(allowed[0]) + ", " + std::to_string(allowed[1]) + " or " +
                      std::to_string(allowed[2]) + ", found " + items[i]);
    }
    out[i] = static_cast<uint8_t>(idx);
  }
}

template <size_t N>
std::string joined(const std::array<const char*, N>& names) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += (i ? ", " : "") + std::string(names[i]);
  return out;
}

}  // namespace

const std::vector<uint16_t>& nb201_official_order() {
  static const std::vector<uint16_t> table = {
#include "sim/nb201_order.inc"
  };
  return table;
}

uint32_t nb201_index(const ArchCode& code) {
  static const std::vector<uint32_t> inverse = [] {
    std::vector<uint32_t> inv(nb201::kArchs);
    const auto& order = nb201_official_order();
    for (uint32_t i = 0; i < order.size(); ++i) inv[order[i]] = i;
    return inv;
  }();
  uint32_t packed = 0;
  for (int e = 0; e < nb201::kEdges; ++e) packed = packed * 5 + code.at(e);
  return inverse.at(packed);
}

std::optional<uint64_t> SearchSpace::size() const {
  if (id_ == SpaceId::kNb201) return nb201::kArchs;
  return std::nullopt;
}

ArchCode SearchSpace::code_at(uint64_t index) const {
  if (id_ != SpaceId::kNb201) throw UserError("space '" + name_ + "' is too large to enumerate; sample it instead");
  if (index >= nb201::kArchs) {
    throw UserError("nb201 index " + std::to_string(index) + " is out of range [0, 15624]");
  }
  ArchCode code(nb201::kEdges);
  nb201_unpack(nb201_official_order()[index], code.data());
  return code;
}

ArchCode SearchSpace::sample(uint64_t seed, uint64_t i) const {
  ArchCode code(decisions());
  sample_code(id_, seed, i, code.data());
  return code;
}

void SearchSpace::validate(const ArchCode& code) const {
  if (static_cast<int>(code.size()) != decisions()) {
    throw UserError("space '" + name_ + "': an architecture has " + std::to_string(decisions()) +
                    " decisions, found " + std::to_string(code.size()));
  }
  for (int k = 0; k < decisions(); ++k) {
    if (code[k] >= choices(k)) {
      throw UserError("space '" + name_ + "': decision " + std::to_string(k) + " takes 0.." +
                      std::to_string(choices(k) - 1) + ", found " + std::to_string(code[k]));
    }
  }
}

std::string SearchSpace::to_string(const ArchCode& code) const {
  validate(code);
  std::ostringstream os;
  switch (id_) {
    case SpaceId::kNb201: {
      int e = 0;
      for (int j = 1; j < 4; ++j) {
        if (j > 1) os << '+';
        os << '|';
        for (int i = 0; i < j; ++i, ++e) os << kNb201OpNames[code[e]] << '~' << i << '|';
      }
      break;
    }
    case SpaceId::kFbnet:
      for (int l = 0; l < fbnet::kLayers; ++l) os << (l ? "-" : "") << kFbnetOpNames[code[l]];
      break;
    case SpaceId::kOfaMbv3: {
      os << 'r' << ofa::resolution(code[0]) << ":d";
      for (int s = 0; s < ofa::kStages; ++s) os << (s ? "-" : "") << 2 + code[ofa::kDepthOffset + s];
      os << ":k";
      for (int s = 0; s < ofa::kSlots; ++s) os << (s ? "-" : "") << ofa::kKernelChoices[code[ofa::kKernelOffset + s]];
      os << ":e";
      for (int s = 0; s < ofa::kSlots; ++s) os << (s ? "-" : "") << ofa::kExpandChoices[code[ofa::kExpandOffset + s]];
      break;
    }
    case SpaceId::kMbv2: {
      os << 'd';
      for (int s = 0; s < mbv2::kStages; ++s) os << (s ? "-" : "") << mbv2::kDepthChoices[code[mbv2::kDepthOffset + s]];
      os << ":k";
      for (int s = 0; s < mbv2::kSlots; ++s) os << (s ? "-" : "") << mbv2::kKernelChoices[code[mbv2::kKernelOffset + s]];
      os << ":e";
      for (int s = 0; s < mbv2::kSlots; ++s) os << (s ? "-" : "") << mbv2::kExpandChoices[code[mbv2::kExpandOffset + s]];
      break;
    }
  }
  return os.str();
}

ArchCode SearchSpace::from_string(std::string_view text) const {
  ArchCode code(decisions());
  const std::string whole(text);
  switch (id_) {
    case SpaceId::kNb201: {
      // |op~0|+|op~0|op~1|+|op~0|op~1|op~2|
      const auto nodes = split(text, '+');
      if (nodes.size() != 3) {
        throw UserError("nb201 architecture '" + whole + "': expected 3 nodes joined by '+', like " +
                        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|");
      }
      int e = 0;
      for (int j = 1; j <= 3; ++j) {
        const std::string& node = nodes[j - 1];
        if (node.size() < 2 || node.front() != '|' || node.back() != '|') {
          throw UserError("nb201 architecture '" + whole + "': node " + std::to_string(j) +
                          " must be written |op~i|...|, found '" + node + "'");
        }
        const auto edges = split(std::string_view(node).substr(1, node.size() - 2), '|');
        if (static_cast<int>(edges.size()) != j) {
          throw UserError("nb201 architecture '" + whole + "': node " + std::to_string(j) + " takes " +
                          std::to_string(j) + " inputs, found " + std::to_string(edges.size()));
        }
        for (int i = 0; i < j; ++i, ++e) {
          const auto parts = split(edges[i], '~');
          const int op = parts.size() == 2 ? index_of(kNb201OpNames, parts[0]) : -1;
          if (op < 0) {
            throw UserError("nb201 architecture '" + whole + "': unknown op '" + edges[i] + "' (expected one of " +
                            joined(kNb201OpNames) + ", then ~input)");
          }
          if (parts[1] != std::to_string(i)) {
            throw UserError("nb201 architecture '" + whole + "': edge '" + edges[i] + "' should read from node " +
                            std::to_string(i));
          }
          code[e] = static_cast<uint8_t>(op);
        }
      }
      break;
    }
    case SpaceId::kFbnet: {
      const auto ops = split(text, '-');
      if (static_cast<int>(ops.size()) != fbnet::kLayers) {
        throw UserError("fbnet architecture '" + whole + "': expected 22 ops joined by '-', found " +
                        std::to_string(ops.size()));
      }
      for (int l = 0; l < fbnet::kLayers; ++l) {
        const int op = index_of(kFbnetOpNames, ops[l]);
        if (op < 0) {
          throw UserError("fbnet architecture '" + whole + "': unknown op '" + ops[l] + "' at layer " +
                          std::to_string(l) + " (expected one of " + joined(kFbnetOpNames) + ")");
        }
        code[l] = static_cast<uint8_t>(op);
      }
      break;
    }
    case SpaceId::kOfaMbv3: {
      // r<res>:d<5 depths>:k<20 kernels>:e<20 expansions>
      const auto parts = split(text, ':');
      if (parts.size() != 4 || parts[0].empty() || parts[0][0] != 'r' || parts[1].empty() || parts[1][0] != 'd' ||
          parts[2].empty() || parts[2][0] != 'k' || parts[3].empty() || parts[3][0] != 'e') {
        throw UserError("ofa_mbv3 architecture '" + whole +
                        "': expected r<resolution>:d<5 depths>:k<20 kernels>:e<20 expansions>, '-' separated");
      }
      const int res = parse_int(parts[0].substr(1), text, "resolution");
      if (res < 128 || res > 224 || res % 4 != 0) {
        throw UserError("ofa_mbv3 architecture '" + whole + "': resolution must be 128..224 in steps of 4, found " +
                        std::to_string(res));
      }
      code[0] = static_cast<uint8_t>((res - 128) / 4);
      static constexpr int kDepths[3] = {2, 3, 4};
      fill_choices("ofa_mbv3", whole, parts[1].substr(1), &code[ofa::kDepthOffset], ofa::kStages, kDepths, "depths");
      fill_choices("ofa_mbv3", whole, parts[2].substr(1), &code[ofa::kKernelOffset], ofa::kSlots, ofa::kKernelChoices,
                   "kernel sizes");
      fill_choices("ofa_mbv3", whole, parts[3].substr(1), &code[ofa::kExpandOffset], ofa::kSlots, ofa::kExpandChoices,
                   "expand ratios");
      break;
    }
    case SpaceId::kMbv2: {
      // d<5 depths>:k<21 kernels>:e<21 expansions>
      const auto parts = split(text, ':');
      if (parts.size() != 3 || parts[0].empty() || parts[0][0] != 'd' || parts[1].empty() || parts[1][0] != 'k' ||
          parts[2].empty() || parts[2][0] != 'e') {
        throw UserError("mbv2 architecture '" + whole +
                        "': expected d<5 depths>:k<21 kernels>:e<21 expansions>, '-' separated");
      }
      fill_choices("mbv2", whole, parts[0].substr(1), &code[mbv2::kDepthOffset], mbv2::kStages, mbv2::kDepthChoices,
                   "depths");
      fill_choices("mbv2", whole, parts[1].substr(1), &code[mbv2::kKernelOffset], mbv2::kSlots, mbv2::kKernelChoices,
                   "kernel sizes");
      fill_choices("mbv2", whole, parts[2].substr(1), &code[mbv2::kExpandOffset], mbv2::kSlots, mbv2::kExpandChoices,
                   "expand ratios");
      break;
    }
  }
  return code;
}

std::vector<Op> SearchSpace::lower(const ArchCode& code) const {
  validate(code);
  std::vector<Op> ops;
  OpSink sink{&ops};
  lower_code(id_, code.data(), params_, sink);
  return ops;
}

OpTotals SearchSpace::totals(const ArchCode& code) const {
  validate(code);
  OpTotals t;
  lower_code(id_, code.data(), params_, t);
  return t;
}

std::string SearchSpace::describe() const {
  switch (id_) {
    case SpaceId::kNb201:
      return "NAS-Bench-201 cell: 6 edges x 5 ops, 15625 archs, 3 stages x 5 cells, " + dataset_ + " " +
             std::to_string(params_.input_hw) + "x" + std::to_string(params_.input_hw);
    case SpaceId::kFbnet:
      return "FBNet (HW-NAS-Bench): 22 layers x 9 blocks, 9^22 archs, " + dataset_ + " 32x32";
    case SpaceId::kMbv2:
      return "MobileNetV2-based: 5 stages of depth 2-4 and one of 1, kernel 3/5/7, expand 3/4/6, " + dataset_ +
             " 224x224";
    default:
      return "OFA MobileNetV3 w1.0: 5 stages, depth 2-4, kernel 3/5/7, expand 3/4/6, resolution 128-224, " + dataset_;
  }
}

SearchSpace make_space(std::string_view name, std::string_view dataset) {
  const std::string n(name);
  std::string ds(dataset);
  if (n == "nb201") {
    if (ds.empty()) ds = "cifar10";
    if (ds == "cifar10") return SearchSpace(SpaceId::kNb201, n, ds, SpaceParams{32, 10});
    if (ds == "cifar100") return SearchSpace(SpaceId::kNb201, n, ds, SpaceParams{32, 100});
    if (ds == "imagenet16-120") return SearchSpace(SpaceId::kNb201, n, ds, SpaceParams{16, 120});
    throw UserError("space nb201: unknown dataset '" + ds + "' (expected cifar10, cifar100 or imagenet16-120)");
  }
  if (n == "fbnet") {
    if (ds.empty()) ds = "cifar100";
    if (ds != "cifar100") throw UserError("space fbnet: unknown dataset '" + ds + "' (expected cifar100)");
    return SearchSpace(SpaceId::kFbnet, n, ds, SpaceParams{32, 100});
  }
  if (n == "ofa_mbv3") {
    if (ds.empty()) ds = "imagenet";
    if (ds != "imagenet") throw UserError("space ofa_mbv3: unknown dataset '" + ds + "' (expected imagenet)");
    return SearchSpace(SpaceId::kOfaMbv3, n, ds, SpaceParams{224, 1000});
  }
  if (n == "mbv2") {
    if (ds.empty()) ds = "imagenet";
    if (ds != "imagenet") throw UserError("space mbv2: unknown dataset '" + ds + "' (expected imagenet)");
    return SearchSpace(SpaceId::kMbv2, n, ds, SpaceParams{mbv2::kInput, 1000});
  }
  throw UserError("unknown search space '" + n + "' (expected one of nb201, fbnet, ofa_mbv3, mbv2)");
}

std::vector<std::string> space_names() { return {"nb201", "fbnet", "ofa_mbv3", "mbv2"}; }

}  // namespace proxysim
