// Proxy adaptation (search/adaptation.hpp) and proxy selection on numpy data; the NAS
// strategies are in nas.cpp.
#include <Eigen/Dense>

#include <cmath>

#include "common.hpp"
#include "experiments/adapt.hpp"
#include "experiments/select.hpp"
#include "search/adaptation.hpp"
#include "search/features.hpp"
#include "base/error.hpp"

namespace proxysim::py {

namespace {

using FArray = pb::array_t<double, pb::array::f_style | pb::array::forcecast>;

std::vector<ArchCode> code_list(const SearchSpace& space, const CArray<uint8_t>& codes) {
  const int K = space.decisions();
  if (codes.ndim() != 2 || codes.shape(1) != K) {
    throw UserError("codes: expected shape (n, " + std::to_string(K) + ") for space '" + space.name() + "'");
  }
  std::vector<ArchCode> out;
  out.reserve(codes.shape(0));
  for (pb::ssize_t i = 0; i < codes.shape(0); ++i) out.emplace_back(codes.data() + i * K, codes.data() + (i + 1) * K);
  return out;
}

// An Eigen matrix handed to numpy without a copy (Fortran order, as Eigen stores it).
pb::array_t<double> eigen_to_numpy(Eigen::MatrixXd&& m) {
  auto* heap = new Eigen::MatrixXd(std::move(m));
  pb::capsule owner(heap, [](void* p) { delete static_cast<Eigen::MatrixXd*>(p); });
  const pb::ssize_t r = heap->rows(), c = heap->cols(), s = sizeof(double);
  return pb::array_t<double>({r, c}, {s, s * r}, heap->data(), owner);
}

std::vector<int64_t> rows_of(const CArray<int64_t>& a) { return std::vector<int64_t>(a.data(), a.data() + a.size()); }

// Matrix in the driver's form (rows x devices, C order) from a numpy array.
std::vector<float> matrix_vector(const CArray<float>& latency, size_t devices) {
  if (latency.ndim() != 2 || static_cast<size_t>(latency.shape(1)) != devices) {
    throw UserError("latency_ms: expected shape (n, " + std::to_string(devices) + "), one column per device name");
  }
  return std::vector<float>(latency.data(), latency.data() + latency.size());
}

}  // namespace

void bind_search(pb::module_& m) {
  m.def(
      "features",
      [](const SearchSpace& space, const CArray<uint8_t>& codes) {
        return eigen_to_numpy(one_hot_features(space.id(), code_list(space, codes)));
      },
      pb::arg("space"), pb::arg("codes"),
      "one-hot operator features (n x F float64, Fortran order, last column the constant 1) of AdaProxy's "
      "linear latency model");
  m.def("adaptation_scheme_names", &adaptation_scheme_names);
  m.def(
      "adapt",
      [](const std::string& scheme, const FArray& features, const pb::array_t<double, pb::array::forcecast>& proxy_ms,
         const CArray<int64_t>& train_rows, const pb::array_t<double, pb::array::forcecast>& train_ms,
         const CArray<int64_t>& validation_rows, const pb::array_t<double, pb::array::forcecast>& validation_ms,
         const std::optional<FArray>& candidates, int k) {
        if (features.ndim() != 2) throw UserError("features: expected an n x F matrix");
        const Eigen::Index n = features.shape(0);
        if (proxy_ms.ndim() != 1 || proxy_ms.shape(0) != n) {
          throw UserError("proxy_ms: expected " + std::to_string(n) + " values, one per feature row");
        }
        const Eigen::Map<const Eigen::MatrixXd> f(features.data(), n, features.shape(1));
        const Eigen::Map<const Eigen::VectorXd> p(proxy_ms.data(), n);
        auto samples = [](const CArray<int64_t>& rows, const pb::array_t<double, pb::array::forcecast>& ms,
                          const char* what) {
          if (rows.ndim() != 1 || ms.ndim() != 1 || rows.shape(0) != ms.shape(0)) {
            throw UserError(std::string(what) + ": rows and latencies must be 1-d of the same length");
          }
          TargetSamples s;
          s.rows = rows_of(rows);
          s.latency_ms = Eigen::Map<const Eigen::VectorXd>(ms.data(), ms.shape(0));
          return s;
        };
        if (candidates && (candidates->ndim() != 2 || candidates->shape(0) != n)) {
          throw UserError("candidates_ms: expected an n x C matrix, n = " + std::to_string(n));
        }
        // No candidates: an empty 0 x 0 map, as no_candidate_proxies() is.
        const Eigen::Map<const Eigen::MatrixXd> cand(candidates ? candidates->data() : nullptr, candidates ? n : 0,
                                                     candidates ? candidates->shape(1) : 0);
        AdaptationInput in{f, p, samples(train_rows, train_ms, "train"),
                           samples(validation_rows, validation_ms, "validation"), cand};
        AdaptationOptions o;
        o.multi_proxy_k = k;
        auto s = make_adaptation_scheme(scheme, o);
        check_adaptation_input(in);
        Eigen::VectorXd pred;
        {
          pb::gil_scoped_release release;
          pred = s->predict(in);
        }
        const AdaptationChoice& c = s->last_choice();
        pb::dict choice;
        choice["lambda"] = c.lambda;
        choice["validation_srcc"] = c.validation_srcc;
        choice["kept_proxy"] = c.kept_proxy;
        choice["proxy_columns"] = c.proxy_columns;
        choice["proxy_weights"] = c.proxy_weights;
        // The model's raw output, as fitted; a prediction at or below zero (or not
        // finite) is not a latency, and is counted and warned about rather than hidden.
        int64_t invalid = 0;
        for (Eigen::Index i = 0; i < pred.size(); ++i) invalid += std::isfinite(pred[i]) && pred[i] > 0 ? 0 : 1;
        choice["invalid_predictions"] = invalid;
        if (invalid > 0) {
          const std::string msg = "proxysim.adapt: '" + scheme + "' predicts no positive latency for " +
                                  std::to_string(invalid) + " of " + std::to_string(pred.size()) +
                                  " rows (choice['invalid_predictions']); rank or clip them knowingly";
          if (PyErr_WarnEx(PyExc_RuntimeWarning, msg.c_str(), 1) != 0) throw pb::error_already_set();
        }
        std::vector<double> out(pred.data(), pred.data() + pred.size());
        return pb::make_tuple(to_numpy(std::move(out), {static_cast<pb::ssize_t>(n)}), choice);
      },
      pb::arg("scheme"), pb::arg("features"), pb::arg("proxy_ms"), pb::arg("train_rows"), pb::arg("train_ms"),
      pb::arg("validation_rows"), pb::arg("validation_ms"), pb::arg("candidates_ms") = pb::none(), pb::arg("k") = 3,
      "(predicted target latency of every row, the scheme's choice): the scheme sees the target latencies of "
      "the train and validation rows only");
  m.def(
      "draw_adaptation_samples",
      [](const std::string& sampling, uint64_t seed, const std::vector<double>& proxy_ms, int64_t n, int64_t v) {
        const SampleSplit s = draw_adaptation_samples(sampling_from_name(sampling), seed, proxy_ms, n, v);
        return pb::make_tuple(s.train, s.validation);
      },
      pb::arg("sampling"), pb::arg("seed"), pb::arg("proxy_ms"), pb::arg("n"), pb::arg("v"),
      "(train, validation) positions among the proxy's architectures, random or stratified by its latency");
  m.def(
      "adaptation_study",
      [](const SearchSpace& space, const CArray<float>& latency, const CArray<uint8_t>& codes,
         const std::vector<std::string>& devices, const std::string& proxy, const std::vector<std::string>& targets,
         const std::vector<std::string>& schemes, const std::vector<int64_t>& n, int64_t validation, int32_t repeats,
         uint64_t seed, const std::string& sampling, const std::vector<std::string>& candidates, int32_t k,
         bool include_disconnected) {
        AdaptSettings st;
        st.proxy = proxy;
        st.targets = targets;
        st.schemes = schemes;
        st.n = n;
        st.validation = validation;
        st.repeats = repeats;
        st.seed = seed;
        st.sampling = sampling;
        st.candidates = candidates;
        st.k = k;
        st.include_disconnected = include_disconnected;
        st.proxy_where = st.targets_where = st.n_where = st.candidates_where = "adaptation_study";
        sampling_from_name(sampling);
        const std::vector<float> mat = matrix_vector(latency, devices.size());
        const std::vector<ArchCode> cl = code_list(space, codes);
        if (cl.size() != static_cast<size_t>(latency.shape(0))) throw UserError("codes: one row per latency row");
        std::vector<uint8_t> flat(codes.data(), codes.data() + codes.size());
        resolve_adapt_devices(st, devices);
        AdaptReport r;
        {
          pb::gil_scoped_release release;
          r = compute_adaptation(space, mat, cl.size(), flat, devices, st);
        }
        const pb::ssize_t S = r.schemes.size(), T = r.targets.size(), N = r.n.size();
        pb::dict d;
        d["proxy"] = r.proxy;
        d["targets"] = r.targets;
        d["schemes"] = r.schemes;
        d["n"] = r.n;
        d["measurements"] = [&] {
          std::vector<int64_t> m;
          for (auto x : r.n) m.push_back(x + r.validation);
          return m;
        }();
        d["srcc_mean"] = to_numpy(std::move(r.srcc_mean), {S, T, N});
        d["srcc_std"] = to_numpy(std::move(r.srcc_std), {S, T, N});
        d["srcc_unsampled_mean"] = to_numpy(std::move(r.srcc_unsampled_mean), {S, T, N});
        d["srcc_unadapted"] = to_numpy(std::move(r.srcc_unadapted), {T});
        d["eligible"] = r.eligible;
        return d;
      },
      pb::arg("space"), pb::arg("latency_ms"), pb::arg("codes"), pb::arg("devices"), pb::arg("proxy"),
      pb::arg("targets") = std::vector<std::string>{},
      pb::arg("schemes") = std::vector<std::string>{"none", "adaproxy", "anchored"},
      pb::arg("n") = std::vector<int64_t>{5, 10, 20, 50, 100, 200}, pb::arg("validation") = 10,
      pb::arg("repeats") = 20, pb::arg("seed") = 0, pb::arg("sampling") = "random",
      pb::arg("candidates") = std::vector<std::string>{}, pb::arg("k") = 3, pb::arg("include_disconnected") = false,
      "the adapt stage on a latency matrix: [scheme, target, n] SRCC cubes, as /adapt of a run");
  m.def("select_rule_names", &select_rule_names);
  m.def(
      "select_proxy",
      [](const SearchSpace& space, const CArray<float>& latency, const CArray<uint8_t>& codes,
         const std::vector<std::string>& devices, const std::vector<std::string>& candidates,
         const std::vector<std::string>& targets, const std::vector<std::string>& rules, const std::vector<int64_t>& n,
         int32_t repeats, uint64_t seed, const std::string& sampling, bool include_disconnected) {
        SelectSettings st;
        st.candidates = candidates;
        st.targets = targets;
        st.rules = rules;
        st.n = n;
        st.repeats = repeats;
        st.seed = seed;
        st.sampling = sampling;
        st.include_disconnected = include_disconnected;
        st.candidates_where = st.targets_where = st.n_where = "select_proxy";
        sampling_from_name(sampling);
        const std::vector<float> mat = matrix_vector(latency, devices.size());
        const std::vector<ArchCode> cl = code_list(space, codes);
        if (cl.size() != static_cast<size_t>(latency.shape(0))) throw UserError("codes: one row per latency row");
        std::vector<uint8_t> flat(codes.data(), codes.data() + codes.size());
        resolve_select_devices(st, devices);
        SelectReport r;
        {
          pb::gil_scoped_release release;
          r = compute_selection(space, mat, cl.size(), flat, devices, st);
        }
        const pb::ssize_t R = r.rules.size(), T = r.targets.size(), N = r.n.size(), C = r.candidates.size();
        pb::dict d;
        d["rules"] = r.rules;
        d["targets"] = r.targets;
        d["candidates"] = r.candidates;
        d["n"] = r.n;
        d["oracle"] = r.oracle;
        d["oracle_srcc"] = r.oracle_srcc;
        d["macs_srcc"] = r.macs_srcc;
        d["srcc_full"] = to_numpy(std::move(r.srcc_full), {C, T});
        d["srcc_mean"] = to_numpy(std::move(r.srcc_mean), {R, T, N});
        d["regret_mean"] = to_numpy(std::move(r.regret_mean), {R, T, N});
        d["oracle_fraction"] = to_numpy(std::move(r.oracle_fraction), {R, T, N});
        d["group_srcc_mean"] = to_numpy(std::move(r.group_srcc_mean), {R, N});
        d["group_regret_mean"] = to_numpy(std::move(r.group_regret_mean), {R, N});
        return d;
      },
      pb::arg("space"), pb::arg("latency_ms"), pb::arg("codes"), pb::arg("devices"),
      pb::arg("candidates") = std::vector<std::string>{}, pb::arg("targets") = std::vector<std::string>{},
      pb::arg("rules") = select_rule_names(), pb::arg("n") = std::vector<int64_t>{5, 10, 20, 50},
      pb::arg("repeats") = 20, pb::arg("seed") = 0, pb::arg("sampling") = "random",
      pb::arg("include_disconnected") = false,
      "the select stage on a latency matrix: each rule's chosen proxy, regret against the oracle, as /select");
}

}  // namespace proxysim::py
