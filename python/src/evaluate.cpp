// Batch latency evaluation into numpy arrays: the engine writes straight into the
// arrays' memory (no copy), chunk by chunk with the GIL released, polling Ctrl-C
// between chunks.
#include <algorithm>
#include <memory>

#include "common.hpp"
#include "base/error.hpp"

namespace proxysim::py {

namespace {

// Compiled chains: the CLI's default chunk (experiments/config.hpp EvalSettings), the
// same engine calls, so the same speed; at ~2.5e8 arch-device pairs/s a chunk of 43
// devices takes ~45 ms, which bounds how long Ctrl-C waits. The walk is ~600x slower
// per pair, so its chunks are 64x smaller (~0.4 s on 43 devices).
constexpr uint64_t kDefaultChunk = uint64_t{1} << 18;
constexpr uint64_t kDefaultWalkChunk = uint64_t{1} << 12;

EvalMode mode_from(const std::string& mode) {
  if (mode == "auto") return EvalMode::kAuto;
  if (mode == "walk") return EvalMode::kWalk;
  if (mode == "compiled") return EvalMode::kCompiled;
  throw UserError("mode: expected auto, walk or compiled, found '" + mode + "'");
}

class Evaluator {
 public:
  Evaluator(const SearchSpace& space, const std::vector<DeviceSpec>& devices, const std::string& backend,
            const std::string& mode, uint64_t noise_seed)
      : space_(space) {
    std::vector<EvalDevice> eval;
    for (const auto& d : devices) {
      for (const auto& name : names_) {
        if (name == d.name) throw UserError("device '" + d.name + "' is listed twice");
      }
      names_.push_back(d.name);
      eval.push_back({d.name, d.params_for(space.id())});
    }
    EngineOptions o;
    o.mode = mode_from(mode);
    o.noise_seed = noise_seed;
    backend_ = resolve_backend(backend);
    engine_ = make_engine(backend_, space_, std::move(eval), o);
  }

  const SearchSpace& space() const { return space_; }
  const std::vector<std::string>& names() const { return names_; }
  std::string backend() const { return backend_name(backend_); }
  bool compiled() const { return engine_->compiled(); }

  // Evaluates `count` architectures of `kind` into numpy arrays (new ones, or the
  // caller's `out` for the latency matrix), returning (latency_ms, codes, macs, params).
  pb::tuple evaluate(ArchBatch::Kind kind, uint64_t first, uint64_t count, uint64_t seed, const uint8_t* list,
                     const pb::object& out, uint64_t chunk) {
    const int K = space_.decisions();
    const pb::ssize_t n = static_cast<pb::ssize_t>(count);
    const pb::ssize_t D = static_cast<pb::ssize_t>(names_.size());
    pb::array_t<float> latency;
    if (out.is_none()) {
      latency = pb::array_t<float>({n, D});
    } else {
      // The caller's buffer, written in place: it must already be what the engine
      // writes (float32, C order, n x D, writeable), else no copy could be avoided.
      if (!pb::isinstance<pb::array_t<float>>(out)) throw UserError("out: expected a float32 numpy array");
      latency = pb::reinterpret_borrow<pb::array_t<float>>(out);
      const bool c_order = (latency.flags() & pb::array::c_style) != 0;
      if (latency.ndim() != 2 || latency.shape(0) != n || latency.shape(1) != D || !c_order || !latency.writeable()) {
        throw UserError("out: expected a writeable C-contiguous float32 array of shape (" + std::to_string(n) + ", " +
                        std::to_string(D) + ")");
      }
    }
    pb::array_t<uint8_t> codes({n, static_cast<pb::ssize_t>(K)});
    pb::array_t<float> macs(n), params(n);
    float* lp = latency.mutable_data();
    uint8_t* cp = codes.mutable_data();
    float* mp = macs.mutable_data();
    float* pp = params.mutable_data();
    if (chunk == 0) chunk = engine_->compiled() ? kDefaultChunk : kDefaultWalkChunk;
    {
      pb::gil_scoped_release release;
      for (uint64_t done = 0; done < count; done += chunk) {
        const uint64_t c = std::min(chunk, count - done);
        ArchBatch b;
        b.kind = kind;
        b.first = kind == ArchBatch::Kind::kList ? done : first + done;
        b.count = c;
        b.seed = seed;
        b.codes = list ? list + done * K : nullptr;
        engine_->evaluate(b, cp + done * K, lp + done * D, mp + done, pp + done);
        check_signals();
      }
    }
    return pb::make_tuple(latency, codes, macs, params);
  }

 private:
  SearchSpace space_;
  std::vector<std::string> names_;
  Backend backend_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace

void bind_evaluate(pb::module_& m) {
  pb::class_<Evaluator>(m, "Evaluator",
                        "The batch latency engine for one space and a list of simulated devices (as `proxysim eval`)")
      .def(pb::init<const SearchSpace&, const std::vector<DeviceSpec>&, const std::string&, const std::string&, uint64_t>(),
           pb::arg("space"), pb::arg("devices"), pb::arg("backend") = "auto", pb::arg("mode") = "auto",
           pb::arg("noise_seed") = 0)
      .def_property_readonly("space", &Evaluator::space)
      .def_property_readonly("devices", &Evaluator::names, "device names, the latency matrix's columns")
      .def_property_readonly("backend", &Evaluator::backend, "cpu or cuda, as resolved")
      .def_property_readonly("compiled", &Evaluator::compiled, "chain tables (FBNet, OFA) rather than the walk")
      .def(
          "sample",
          [](Evaluator& e, uint64_t count, uint64_t seed, uint64_t first, const pb::object& out, uint64_t chunk) {
            return e.evaluate(ArchBatch::Kind::kSample, first, count, seed, nullptr, out, chunk);
          },
          pb::arg("count"), pb::arg("seed") = 0, pb::arg("first") = 0, pb::arg("out") = pb::none(),
          pb::arg("chunk") = 0,
          "sampled architectures first..first+count-1 of `seed` -> (latency_ms, codes, macs, params)")
      .def(
          "enumerate",
          [](Evaluator& e, uint64_t first, std::optional<uint64_t> count, const pb::object& out, uint64_t chunk) {
            const auto size = e.space().size();
            if (!size) throw UserError("space '" + e.space().name() + "' is too large to enumerate; sample it instead");
            const uint64_t n = count ? *count : (first < *size ? *size - first : 0);
            if (first + n > *size) {
              throw UserError("enumerate: architectures " + std::to_string(first) + ".." +
                              std::to_string(first + n - 1) + " are past the space's " + std::to_string(*size));
            }
            return e.evaluate(ArchBatch::Kind::kEnumerate, first, n, 0, nullptr, out, chunk);
          },
          pb::arg("first") = 0, pb::arg("count") = pb::none(), pb::arg("out") = pb::none(), pb::arg("chunk") = 0,
          "architectures in the official order (NB201's topology index) -> (latency_ms, codes, macs, params)")
      .def(
          "codes",
          [](Evaluator& e, const CArray<uint8_t>& codes, const pb::object& out, uint64_t chunk) {
            const int K = e.space().decisions();
            if (codes.ndim() != 2 || codes.shape(1) != K) {
              throw UserError("codes: expected shape (n, " + std::to_string(K) + ") for space '" + e.space().name() + "'");
            }
            const uint8_t* p = codes.data();
            for (pb::ssize_t i = 0; i < codes.shape(0); ++i) {
              for (int k = 0; k < K; ++k) {
                if (p[i * K + k] >= e.space().choices(k)) e.space().validate(ArchCode(p + i * K, p + (i + 1) * K));
              }
            }
            return e.evaluate(ArchBatch::Kind::kList, 0, static_cast<uint64_t>(codes.shape(0)), 0, p, out, chunk);
          },
          pb::arg("codes"), pb::arg("out") = pb::none(), pb::arg("chunk") = 0,
          "given (n, K) uint8 codes -> (latency_ms, codes, macs, params)");
}

}  // namespace proxysim::py
