// Search spaces: encode/decode, enumerate, sample, lower to operators, MACs/params.
#include <stdexcept>

#include "common.hpp"
#include "base/error.hpp"
#include "sim/nb201.hpp"

namespace proxysim::py {

namespace {

constexpr const char* kOpKindNames[] = {"conv",       "depthwise_conv", "avg_pool",  "max_pool",
                                        "global_pool", "add",           "mul",       "activation",
                                        "batch_norm", "fully_connected", "channel_shuffle"};
static_assert(sizeof(kOpKindNames) / sizeof(kOpKindNames[0]) == kNumOpKinds);

// Rows of an (n, K) uint8 code matrix, checked against the space.
const uint8_t* code_rows(const SearchSpace& space, const CArray<uint8_t>& codes, pb::ssize_t& n) {
  if (codes.ndim() != 2 || codes.shape(1) != space.decisions()) {
    throw UserError("space '" + space.name() + "': expected codes of shape (n, " + std::to_string(space.decisions()) +
                    "), found " + std::to_string(codes.ndim()) + "-d array" +
                    (codes.ndim() == 2 ? " with " + std::to_string(codes.shape(1)) + " columns" : ""));
  }
  n = codes.shape(0);
  const uint8_t* p = codes.data();
  for (pb::ssize_t i = 0; i < n; ++i) {
    for (int k = 0; k < space.decisions(); ++k) {
      if (p[i * space.decisions() + k] >= space.choices(k)) {
        space.validate(ArchCode(p + i * space.decisions(), p + (i + 1) * space.decisions()));
      }
    }
  }
  return p;
}

pb::array_t<uint8_t> new_codes(pb::ssize_t n, int K) { return pb::array_t<uint8_t>({n, static_cast<pb::ssize_t>(K)}); }

}  // namespace

ArchCode code_from(const SearchSpace& space, const pb::handle& code) {
  if (pb::isinstance<pb::str>(code)) return space.from_string(code.cast<std::string>());
  const auto a = pb::cast<CArray<int64_t>>(code);
  if (a.ndim() != 1) throw UserError("space '" + space.name() + "': an architecture code is 1-d");
  ArchCode out(a.shape(0));
  for (pb::ssize_t k = 0; k < a.shape(0); ++k) {
    const int64_t v = a.at(k);
    if (v < 0 || v > 255) {
      throw UserError("space '" + space.name() + "': decision " + std::to_string(k) + " takes 0.." +
                      std::to_string(k < space.decisions() ? space.choices(static_cast<int>(k)) - 1 : 0) +
                      ", found " + std::to_string(v));
    }
    out[k] = static_cast<uint8_t>(v);
  }
  space.validate(out);
  return out;
}

void bind_spaces(pb::module_& m) {
  m.def("space_names", &space_names, "the search spaces: nb201, fbnet, ofa_mbv3, mbv2");
  m.attr("op_kind_names") = std::vector<std::string>(std::begin(kOpKindNames), std::end(kOpKindNames));

  pb::class_<SearchSpace>(m, "Space", "A search space: architectures as one byte per decision")
      .def(pb::init([](const std::string& name, const std::string& dataset) { return make_space(name, dataset); }),
           pb::arg("name"), pb::arg("dataset") = "",
           "nb201 (cifar10, cifar100, imagenet16-120), fbnet (cifar100), ofa_mbv3 (imagenet), mbv2 (imagenet); '' = default")
      .def_property_readonly("name", &SearchSpace::name)
      .def_property_readonly("dataset", &SearchSpace::dataset)
      .def_property_readonly("decisions", &SearchSpace::decisions)
      .def_property_readonly("choices",
                             [](const SearchSpace& s) {
                               std::vector<int> c;
                               for (int k = 0; k < s.decisions(); ++k) c.push_back(s.choices(k));
                               return c;
                             })
      .def_property_readonly("size", &SearchSpace::size, "architectures when enumerable (NB201), else None")
      .def("describe", &SearchSpace::describe)
      .def(
          "encode", [](const SearchSpace& s, const std::string& text) {
            const ArchCode c = s.from_string(text);
            pb::array_t<uint8_t> out(static_cast<pb::ssize_t>(c.size()));
            std::copy(c.begin(), c.end(), out.mutable_data());
            return out;
          },
          pb::arg("arch_str"), "architecture string -> uint8 code (raises UserError naming what is wrong)")
      .def(
          "decode", [](const SearchSpace& s, const pb::object& code) { return s.to_string(code_from(s, code)); },
          pb::arg("code"), "uint8 code -> architecture string")
      .def(
          "encode_many",
          [](const SearchSpace& s, const std::vector<std::string>& texts) {
            const int K = s.decisions();
            auto out = new_codes(static_cast<pb::ssize_t>(texts.size()), K);
            uint8_t* p = out.mutable_data();
            for (size_t i = 0; i < texts.size(); ++i) {
              const ArchCode c = s.from_string(texts[i]);
              std::copy(c.begin(), c.end(), p + i * K);
            }
            return out;
          },
          pb::arg("arch_strs"), "architecture strings -> (n, K) uint8 codes")
      .def(
          "decode_many",
          [](const SearchSpace& s, const CArray<uint8_t>& codes) {
            pb::ssize_t n = 0;
            const uint8_t* p = code_rows(s, codes, n);
            const int K = s.decisions();
            std::vector<std::string> out;
            out.reserve(n);
            for (pb::ssize_t i = 0; i < n; ++i) out.push_back(s.to_string(ArchCode(p + i * K, p + (i + 1) * K)));
            return out;
          },
          pb::arg("codes"), "(n, K) codes -> architecture strings")
      .def(
          "validate", [](const SearchSpace& s, const pb::object& code) { code_from(s, code); }, pb::arg("code"),
          "raises UserError when the code does not belong to the space")
      .def(
          "code_at",
          [](const SearchSpace& s, uint64_t index) {
            const ArchCode c = s.code_at(index);
            pb::array_t<uint8_t> out(static_cast<pb::ssize_t>(c.size()));
            std::copy(c.begin(), c.end(), out.mutable_data());
            return out;
          },
          pb::arg("index"), "uint8 code of architecture `index` in the official order (NB201's topology index)")
      .def(
          "enumerate",
          [](const SearchSpace& s, uint64_t first, std::optional<uint64_t> count) {
            const auto size = s.size();
            if (!size) throw UserError("space '" + s.name() + "' is too large to enumerate; sample it instead");
            if (first > *size) throw UserError("first " + std::to_string(first) + " is past the space's size");
            const uint64_t n = count ? *count : *size - first;
            if (first + n > *size) {
              throw UserError("enumerate: " + std::to_string(first) + " + " + std::to_string(n) + " is past the space's " +
                              std::to_string(*size) + " architectures");
            }
            const int K = s.decisions();
            auto out = new_codes(static_cast<pb::ssize_t>(n), K);
            uint8_t* p = out.mutable_data();
            for (uint64_t i = 0; i < n; ++i) {
              const ArchCode c = s.code_at(first + i);
              std::copy(c.begin(), c.end(), p + i * K);
            }
            return out;
          },
          pb::arg("first") = 0, pb::arg("count") = pb::none(),
          "(count, K) codes of architectures first.. in the official order (NB201's topology index)")
      .def(
          "sample",
          [](const SearchSpace& s, uint64_t count, uint64_t seed, uint64_t first) {
            const int K = s.decisions();
            auto out = new_codes(static_cast<pb::ssize_t>(count), K);
            uint8_t* p = out.mutable_data();
            {
              pb::gil_scoped_release release;
              for (uint64_t i = 0; i < count; ++i) sample_code(s.id(), seed, first + i, p + i * K);
            }
            return out;
          },
          pb::arg("count"), pb::arg("seed") = 0, pb::arg("first") = 0,
          "(count, K) codes of sampled architectures first..first+count-1 of `seed`: the ones the CLI draws")
      .def(
          "index",
          [](const SearchSpace& s, const pb::object& code) {
            if (s.id() != SpaceId::kNb201) throw UserError("space '" + s.name() + "' has no official index");
            return nb201_index(code_from(s, code));
          },
          pb::arg("code"), "NB201's official topology index of a code or string")
      .def(
          "indices",
          [](const SearchSpace& s, const CArray<uint8_t>& codes) {
            if (s.id() != SpaceId::kNb201) throw UserError("space '" + s.name() + "' has no official index");
            pb::ssize_t n = 0;
            const uint8_t* p = code_rows(s, codes, n);
            pb::array_t<int64_t> out(n);
            for (pb::ssize_t i = 0; i < n; ++i) out.mutable_data()[i] = nb201_index(ArchCode(p + i * 6, p + i * 6 + 6));
            return out;
          },
          pb::arg("codes"), "NB201 official indices of (n, 6) codes, int64")
      .def(
          "connected",
          [](const SearchSpace& s, const CArray<uint8_t>& codes) {
            pb::ssize_t n = 0;
            const uint8_t* p = code_rows(s, codes, n);
            pb::array_t<bool> out(n);
            for (pb::ssize_t i = 0; i < n; ++i) {
              out.mutable_data()[i] = s.id() != SpaceId::kNb201 || nb201::connected(p + i * s.decisions());
            }
            return out;
          },
          pb::arg("codes"), "NB201: output reachable from input (the 341 others are False); True elsewhere")
      .def(
          "lower",
          [](const SearchSpace& s, const pb::object& code) {
            pb::list out;
            for (const Op& op : s.lower(code_from(s, code))) {
              pb::dict d;
              d["kind"] = kOpKindNames[static_cast<int>(op.kind)];
              d["kernel"] = op.kernel;
              d["stride"] = op.stride;
              d["groups"] = op.groups;
              d["in_shape"] = pb::make_tuple(op.in_h, op.in_w, op.in_c);
              d["out_shape"] = pb::make_tuple(op.out_h, op.out_w, op.out_c);
              d["macs"] = op_macs(op);
              d["params"] = op_params(op);
              d["elems_moved"] = op_elems_moved(op);
              d["bn"] = (op.flags & kOpBn) != 0;
              d["act"] = (op.flags & kOpAct) != 0;
              d["dead"] = (op.flags & kOpDead) != 0;
              d["zero"] = (op.flags & kOpZero) != 0;
              d["zero_fed"] = (op.flags & kOpZeroFed) != 0;
              d["block_start"] = (op.flags & kOpBlockStart) != 0;
              out.append(d);
            }
            return out;
          },
          pb::arg("code"), "the operators the network executes, in order, with shapes (H, W, C), MACs and parameters")
      .def(
          "totals",
          [](const SearchSpace& s, const pb::object& code) {
            const OpTotals t = s.totals(code_from(s, code));
            pb::dict d;
            d["macs"] = t.macs;
            d["params"] = t.params;
            d["elems_moved"] = t.elems_moved;
            d["ops"] = t.ops;
            return d;
          },
          pb::arg("code"), "multiply-adds and parameters of one architecture (batch 1, absolute counts)")
      .def(
          "macs_params",
          [](const SearchSpace& s, const CArray<uint8_t>& codes) {
            pb::ssize_t n = 0;
            const uint8_t* p = code_rows(s, codes, n);
            pb::array_t<double> macs(n), params(n);
            double* pm = macs.mutable_data();
            double* pp = params.mutable_data();
            {
              pb::gil_scoped_release release;
              const int K = s.decisions();
              for (pb::ssize_t i = 0; i < n; ++i) {
                OpTotals t;
                lower_code(s.id(), p + i * K, s.params(), t);
                pm[i] = t.macs;
                pp[i] = t.params;
              }
            }
            return pb::make_tuple(macs, params);
          },
          pb::arg("codes"), "(macs, params) float64 arrays of (n, K) codes")
      .def("__repr__", [](const SearchSpace& s) { return "Space('" + s.name() + "', '" + s.dataset() + "')"; })
      .def(pb::pickle([](const SearchSpace& s) { return pb::make_tuple(s.name(), s.dataset()); },
                      [](const pb::tuple& t) { return make_space(t[0].cast<std::string>(), t[1].cast<std::string>()); }));
}

}  // namespace proxysim::py
