// Hardware-aware NAS from Python: the search strategies (search/strategy.hpp) as an
// ask/tell object and as a search loop whose accuracy may be a Python callback, the
// native tabulated runner (search/nas.hpp), the NB201 accuracy table and the synthetic
// surrogate (search/accuracy.hpp).
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "common.hpp"
#include "search/accuracy.hpp"
#include "search/nas.hpp"
#include "search/strategy.hpp"
#include "base/error.hpp"

namespace proxysim::py {

namespace {

// A search between two Ctrl-C checks when nothing calls into Python: a native step is
// well under a microsecond, so 4,096 of them keep the interrupt immediate.
constexpr int64_t kSignalEvery = 4096;

// The space's architectures as rows in their official order (row i = code_at(i)), so
// per-architecture arrays are indexed as the rest of the package indexes them (NB201's
// topology index). Only for spaces TabularSpace accepts (at most 2^26 architectures).
std::shared_ptr<const TabularSpace> tabulate(const SearchSpace& space) {
  const auto size = space.size();
  if (!size || *size > (uint64_t{1} << 26)) return nullptr;
  const auto K = static_cast<size_t>(space.decisions());
  std::vector<uint8_t> codes(*size * K);
  for (uint64_t i = 0; i < *size; ++i) {
    const ArchCode c = space.code_at(i);
    std::copy(c.begin(), c.end(), codes.begin() + static_cast<int64_t>(i * K));
  }
  return std::make_shared<const TabularSpace>(space, codes, *size);
}

// A per-architecture array of a tabulated space, checked for its length.
template <class T>
CArray<T> per_arch(const pb::handle& h, const TabularSpace* table, const SearchSpace& space, const char* what) {
  if (!table) {
    throw UserError(std::string(what) + ": an array needs a space small enough to tabulate (nb201); space '" +
                    space.name() + "' takes a callable");
  }
  auto a = pb::cast<CArray<T>>(h);
  if (a.ndim() != 1 || static_cast<uint64_t>(a.shape(0)) != table->rows()) {
    throw UserError(std::string(what) + ": expected one value per architecture of space '" + space.name() + "' (" +
                    std::to_string(table->rows()) + ", in official index order), found shape (" +
                    (a.ndim() == 1 ? std::to_string(a.shape(0)) : std::to_string(a.ndim()) + "-d") + ")");
  }
  return a;
}

pb::array_t<uint8_t> code_array(const Arch& a, int K) {
  pb::array_t<uint8_t> out(static_cast<pb::ssize_t>(K));
  std::copy(a.begin(), a.begin() + K, out.mutable_data());
  return out;
}

// A Python callable's answer as a number; anything else is the user's mistake.
double number_from(const pb::object& r, const char* what) {
  try {
    return r.cast<double>();
  } catch (const pb::cast_error&) {
    throw UserError(std::string(what) + " callback must return a number, returned " +
                    pb::repr(r).cast<std::string>());
  }
}

// Bad numbers stop at this boundary, named: a latency is positive and finite, or NaN
// for "not measured" (never feasible); an accuracy is finite, or NaN for "not
// measured" (never the best).
std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void check_latency(double v, const std::string& source) {
  if (!std::isnan(v) && !(std::isfinite(v) && v > 0)) {
    throw UserError(source + " = " + number_text(v) + ": a latency must be positive and finite (NaN = not measured)");
  }
}

void check_accuracy(double v, const std::string& source) {
  if (std::isinf(v)) throw UserError(source + " = " + number_text(v) + ": an accuracy must be finite (NaN = not measured)");
}

template <class F>
void check_array(const CArray<double>& a, const char* what, F&& check) {
  const double* d = a.data();
  for (pb::ssize_t i = 0; i < a.shape(0); ++i) check(d[i], std::string(what) + "[" + std::to_string(i) + "]");
}

// The latency side of a search: a per-architecture array (tabulated spaces), a Python
// callable on the code (any space), or none; optionally an eligibility mask.
class PyFeasibility final : public Feasibility {
 public:
  PyFeasibility(const SearchSpace& space, std::shared_ptr<const TabularSpace> table, const pb::object& latency_ms,
                std::optional<double> constraint_ms, const pb::object& eligible)
      : space_(space), table_(std::move(table)) {
    if (!latency_ms.is_none() && !constraint_ms) throw UserError("latency_ms given without constraint_ms");
    if (latency_ms.is_none() && constraint_ms) throw UserError("constraint_ms given without latency_ms");
    if (constraint_ms) {
      if (std::isnan(*constraint_ms)) throw UserError("constraint_ms: expected a number, found NaN");
      limit_ = *constraint_ms;
    }
    if (!latency_ms.is_none()) {
      if (PyCallable_Check(latency_ms.ptr())) {
        callable_ = latency_ms;
      } else {
        latency_ = per_arch<double>(latency_ms, table_.get(), space, "latency_ms");
        check_array(*latency_, "latency_ms", check_latency);
      }
    }
    if (!eligible.is_none()) eligible_ = per_arch<uint8_t>(eligible, table_.get(), space, "eligible");
  }

  // Called from ask()/the search loop with the GIL held when a callable is involved.
  bool feasible(const Arch& a) const override {
    if (table_) {
      const int64_t r = table_->row(a);
      if (r < 0) return false;
      if (eligible_ && !eligible_->data()[r]) return false;
      // NaN (an unmeasured architecture) compares false: never feasible.
      if (latency_) return latency_->data()[r] <= limit_;
    }
    if (callable_) {
      const double v = number_from(callable_(code_array(a, space_.decisions())), "latency_ms");
      check_latency(v, "the latency_ms callback's value");
      return v <= limit_;
    }
    return true;
  }
  bool calls_python() const { return static_cast<bool>(callable_); }

 private:
  const SearchSpace space_;
  std::shared_ptr<const TabularSpace> table_;
  std::optional<CArray<double>> latency_;
  std::optional<CArray<uint8_t>> eligible_;
  pb::object callable_;
  double limit_ = std::numeric_limits<double>::infinity();
};

void check_options(const StrategyOptions& o) {
  if (o.budget < 0) throw UserError("budget: expected >= 0 (0 = no limit), found " + std::to_string(o.budget));
  if (o.max_tries < 1) throw UserError("max_tries: expected >= 1, found " + std::to_string(o.max_tries));
  if (!(o.ofa_mutation_prob >= 0 && o.ofa_mutation_prob <= 1)) {
    throw UserError("ofa_mutation_prob: expected a probability in [0, 1], found " + std::to_string(o.ofa_mutation_prob));
  }
}

// One search as Python drives it. Not movable: the strategy holds a reference to
// feasibility_, so the object lives where pybind11 constructed it.
class PyStrategy {
 public:
  PyStrategy(const SearchSpace& space, const std::string& strategy, uint64_t seed, const StrategyOptions& options,
             const pb::object& latency_ms, std::optional<double> constraint_ms, const pb::object& eligible)
      : space_(space),
        kind_(strategy_from_name(strategy)),
        table_(tabulate(space)),
        feasibility_(space, table_, latency_ms, constraint_ms, eligible) {
    check_options(options);
    if (kind_ == StrategyKind::kExhaustive && !space.size()) {
      throw UserError("exhaustive search needs an enumerable space; space '" + space.name() + "' is not");
    }
    strategy_ = make_strategy(kind_, SpaceShape::of(space), feasibility_, seed, options);
  }
  PyStrategy(const PyStrategy&) = delete;
  PyStrategy& operator=(const PyStrategy&) = delete;

  // The next architecture, false when the search has ended. The C++ strategies assert
  // the ask/tell alternation, which a release build does not check: it is checked here.
  bool next(Arch& out) {
    if (outstanding_) throw UserError("ask() called twice without tell(): report the last architecture's accuracy first");
    if (done_) return false;
    if (!strategy_->next(out)) {
      done_ = true;
      return false;
    }
    outstanding_ = true;
    last_ = out;
    return true;
  }
  void report(double accuracy) {
    if (!outstanding_) throw UserError("tell() without ask(): there is no architecture awaiting its accuracy");
    check_accuracy(accuracy, "the reported accuracy");
    outstanding_ = false;
    ++evaluations_;
    strategy_->report(accuracy);
  }

  pb::object ask() {
    Arch a{};
    if (!next(a)) return pb::none();
    return code_array(a, space_.decisions());
  }
  int64_t index_of(const Arch& a) const { return table_ ? table_->row(a) : -1; }
  std::optional<int64_t> last_index() const {
    if (!table_ || (!outstanding_ && evaluations_ == 0)) return std::nullopt;
    return table_->row(last_);
  }

  const SearchSpace space_;
  const StrategyKind kind_;
  const std::shared_ptr<const TabularSpace> table_;
  PyFeasibility feasibility_;
  std::unique_ptr<SearchStrategy> strategy_;
  bool outstanding_ = false, done_ = false;
  int64_t evaluations_ = 0;
  Arch last_{};
};

// The whole search in C++; the accuracy a per-architecture array or a Python callable.
pb::dict run_loop(PyStrategy& st, const pb::object& accuracy) {
  const int K = st.space_.decisions();
  std::vector<uint8_t> codes;
  std::vector<double> acc;
  std::vector<int64_t> index;
  const bool callable = PyCallable_Check(accuracy.ptr());
  std::optional<CArray<double>> table;
  if (!callable) {
    table = per_arch<double>(accuracy, st.table_.get(), st.space_, "accuracy");
    check_array(*table, "accuracy", check_accuracy);
  }
  Arch a{};
  auto record = [&](double v) {
    codes.insert(codes.end(), a.begin(), a.begin() + K);
    acc.push_back(v);
    index.push_back(st.index_of(a));
  };
  if (callable || st.feasibility_.calls_python()) {
    // Python runs every step: keep the GIL, and let Ctrl-C (or the callback's own
    // exception) end the search between steps.
    while (st.next(a)) {
      if (PyErr_CheckSignals() != 0) throw pb::error_already_set();
      const double v = callable ? number_from(accuracy(code_array(a, K)), "accuracy")
                                : table->data()[st.index_of(a)];
      st.report(v);
      record(v);
    }
  } else {
    pb::gil_scoped_release release;
    const double* t = table->data();
    int64_t step = 0;
    while (st.next(a)) {
      if (++step % kSignalEvery == 0) check_signals();
      const double v = t[st.index_of(a)];
      st.report(v);
      record(v);
    }
  }
  const auto n = static_cast<pb::ssize_t>(acc.size());
  pb::dict d;
  // The best evaluated architecture: the first with the highest accuracy (NaN never wins).
  int64_t best = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (best < 0 ? !std::isnan(acc[i]) : acc[i] > acc[static_cast<size_t>(best)]) best = i;
  }
  d["strategy"] = strategy_names()[static_cast<size_t>(st.kind_)];
  d["best"] = best < 0 ? pb::object(pb::none()) : pb::object(pb::int_(best));
  d["codes"] = to_numpy(std::move(codes), {n, static_cast<pb::ssize_t>(K)});
  d["accuracy"] = to_numpy(std::move(acc), {n});
  if (st.table_) d["index"] = to_numpy(std::move(index), {n});
  return d;
}

}  // namespace

void bind_nas(pb::module_& m) {
  m.def("strategy_names", &strategy_names, "the NAS search strategies: exhaustive, random, regularized_evolution, ofa_evolution, local_search, "
        "latency_aware_random");

  pb::class_<StrategyOptions>(m, "StrategyOptions", "a search's budget and the strategies' settings (search/strategy.hpp)")
      .def(pb::init([](int64_t budget, int32_t population, int32_t sample, int32_t ofa_population,
                       int32_t ofa_generations, double ofa_mutation_prob, double ofa_parent_ratio,
                       double ofa_mutation_ratio, int32_t max_tries) {
             StrategyOptions o;
             o.budget = budget;
             o.population = population;
             o.sample = sample;
             o.ofa_population = ofa_population;
             o.ofa_generations = ofa_generations;
             o.ofa_mutation_prob = ofa_mutation_prob;
             o.ofa_parent_ratio = ofa_parent_ratio;
             o.ofa_mutation_ratio = ofa_mutation_ratio;
             o.max_tries = max_tries;
             check_options(o);
             return o;
           }),
           pb::kw_only(), pb::arg("budget") = StrategyOptions{}.budget, pb::arg("population") = StrategyOptions{}.population,
           pb::arg("sample") = StrategyOptions{}.sample, pb::arg("ofa_population") = StrategyOptions{}.ofa_population,
           pb::arg("ofa_generations") = StrategyOptions{}.ofa_generations,
           pb::arg("ofa_mutation_prob") = StrategyOptions{}.ofa_mutation_prob,
           pb::arg("ofa_parent_ratio") = StrategyOptions{}.ofa_parent_ratio,
           pb::arg("ofa_mutation_ratio") = StrategyOptions{}.ofa_mutation_ratio,
           pb::arg("max_tries") = StrategyOptions{}.max_tries)
      .def_readonly("budget", &StrategyOptions::budget)
      .def_readonly("population", &StrategyOptions::population)
      .def_readonly("sample", &StrategyOptions::sample)
      .def_readonly("ofa_population", &StrategyOptions::ofa_population)
      .def_readonly("ofa_generations", &StrategyOptions::ofa_generations)
      .def_readonly("ofa_mutation_prob", &StrategyOptions::ofa_mutation_prob)
      .def_readonly("ofa_parent_ratio", &StrategyOptions::ofa_parent_ratio)
      .def_readonly("ofa_mutation_ratio", &StrategyOptions::ofa_mutation_ratio)
      .def_readonly("max_tries", &StrategyOptions::max_tries);

  pb::class_<PyStrategy>(m, "Strategy",
                         "one search, driven from Python: ask() proposes an architecture (uint8 code; None when the "
                         "search has ended), tell(accuracy) reports it. Only feasible architectures are proposed")
      .def(pb::init([](const SearchSpace& space, const std::string& strategy, uint64_t seed,
                       const StrategyOptions& options, const pb::object& latency_ms,
                       std::optional<double> constraint_ms, const pb::object& eligible) {
             return std::make_unique<PyStrategy>(space, strategy, seed, options, latency_ms, constraint_ms, eligible);
           }),
           pb::arg("space"), pb::arg("strategy"), pb::arg("seed") = 0, pb::arg("options") = StrategyOptions{},
           pb::arg("latency_ms") = pb::none(), pb::arg("constraint_ms") = pb::none(), pb::arg("eligible") = pb::none(),
           "latency_ms: per-architecture array in official index order (nb201) or a callable code -> ms; "
           "feasible when latency_ms <= constraint_ms (NaN never is). eligible: per-architecture mask (nb201)")
      .def("ask", &PyStrategy::ask)
      .def("tell", &PyStrategy::report, pb::arg("accuracy"))
      .def_property_readonly("index", &PyStrategy::last_index,
                             "official index of the architecture last asked (tabulated spaces), else None")
      .def_property_readonly("evaluations", [](const PyStrategy& s) { return s.evaluations_; })
      .def_property_readonly("done", [](const PyStrategy& s) { return s.done_; })
      .def_property_readonly("rejected", [](const PyStrategy& s) { return s.strategy_->rejected(); },
                             "architectures the latency constraint refused before any evaluation")
      .def_property_readonly("name", [](const PyStrategy& s) { return strategy_names()[static_cast<size_t>(s.kind_)]; });

  m.def(
      "search",
      [](const SearchSpace& space, const std::string& strategy, const pb::object& accuracy, const pb::object& latency_ms,
         std::optional<double> constraint_ms, const pb::object& eligible, uint64_t seed, const StrategyOptions& options) {
        PyStrategy st(space, strategy, seed, options, latency_ms, constraint_ms, eligible);
        return run_loop(st, accuracy);
      },
      pb::arg("space"), pb::arg("strategy"), pb::arg("accuracy"), pb::arg("latency_ms") = pb::none(),
      pb::arg("constraint_ms") = pb::none(), pb::arg("eligible") = pb::none(), pb::arg("seed") = 0,
      pb::arg("options") = StrategyOptions{},
      "a whole search: accuracy a callable code -> accuracy (called with the GIL, Ctrl-C checked between "
      "steps) or a per-architecture array (the loop then runs without the GIL). Returns a dict: codes, "
      "accuracy (per evaluation, in order), index (tabulated spaces), best (position of the first most "
      "accurate evaluation, None when nothing was evaluated)");

  m.def(
      "search_table",
      [](const SearchSpace& space, const std::string& strategy, const CArray<float>& accuracy,
         const CArray<float>& latency_ms, double constraint_ms, const std::vector<uint64_t>& seeds,
         const std::optional<CArray<uint8_t>>& eligible, bool whole_front, const StrategyOptions& options) {
        const auto table = tabulate(space);
        if (!table) throw UserError("search_table: space '" + space.name() + "' is too large to tabulate (nb201 is not)");
        const auto acc = per_arch<float>(accuracy, table.get(), space, "accuracy");
        const auto lat = per_arch<float>(latency_ms, table.get(), space, "latency_ms");
        std::vector<uint8_t> all;
        const uint8_t* el = nullptr;
        if (eligible) {
          el = per_arch<uint8_t>(*eligible, table.get(), space, "eligible").data();
        } else {
          all.assign(table->rows(), 1);
          el = all.data();
        }
        check_options(options);
        const NasProblem problem{table.get(), el, acc.data()};
        SearchSpec spec;
        spec.strategy = strategy_from_name(strategy);
        spec.source = lat.data();
        spec.source_limit = constraint_ms;
        spec.whole_front = whole_front;
        spec.options = options;
        std::vector<std::vector<int32_t>> rows(seeds.size());
        {
          pb::gil_scoped_release release;
          for (size_t i = 0; i < seeds.size(); ++i) {
            check_signals();
            spec.seed = seeds[i];
            rows[i] = run_search(problem, spec);
          }
        }
        pb::list out;
        for (auto& r : rows) {
          const auto n = static_cast<pb::ssize_t>(r.size());
          out.append(to_numpy(std::move(r), {n}));
        }
        return out;
      },
      pb::arg("space"), pb::arg("strategy"), pb::arg("accuracy"), pb::arg("latency_ms"), pb::arg("constraint_ms"),
      pb::arg("seeds"), pb::arg("eligible") = pb::none(), pb::arg("whole_front") = false,
      pb::arg("options") = StrategyOptions{},
      "the nas stage's own search loop (search/nas.hpp run_search) on float32 per-architecture arrays, one "
      "search per seed, without the GIL: the official indices each search evaluated, in order");

  m.def(
      "read_nb201_accuracy",
      [](const std::string& path) {
        Nb201AccuracyTable t;
        {
          pb::gil_scoped_release release;
          t = read_nb201_accuracy(path);
        }
        const auto n = static_cast<pb::ssize_t>(t.connected.size());
        pb::dict d;
        d["file"] = t.file;
        d["cifar10"] = to_numpy(std::move(t.cifar10), {n});
        d["cifar100"] = to_numpy(std::move(t.cifar100), {n});
        d["imagenet16-120"] = to_numpy(std::move(t.imagenet16_120), {n});
        d["connected"] = to_numpy(std::move(t.connected), {n});
        return d;
      },
      pb::arg("path"),
      "NB201 test accuracies (%, float32 per official index) for cifar10, cifar100, imagenet16-120 and the "
      "connected mask (uint8), validated as the nas stage validates them");

  m.def(
      "synthetic_accuracy",
      [](const SearchSpace& space, const CArray<uint8_t>& codes, uint64_t seed) {
        const int K = space.decisions();
        if (codes.ndim() != 2 || codes.shape(1) != K) {
          throw UserError("codes: expected shape (n, " + std::to_string(K) + ") for space '" + space.name() + "'");
        }
        const pb::ssize_t n = codes.shape(0);
        std::vector<ArchCode> list;
        list.reserve(static_cast<size_t>(n));
        for (pb::ssize_t i = 0; i < n; ++i) {
          list.emplace_back(codes.data() + i * K, codes.data() + (i + 1) * K);
          space.validate(list.back());
        }
        std::vector<double> out(static_cast<size_t>(n));
        {
          pb::gil_scoped_release release;
          for (pb::ssize_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = synthetic_accuracy(space, list[i], seed);
        }
        return to_numpy(std::move(out), {n});
      },
      pb::arg("space"), pb::arg("codes"), pb::arg("seed") = 0,
      "the synthetic accuracy surrogate (%, float64 per row of (n, K) codes): a seeded function of the "
      "architecture, not a model of any trained network");
}

}  // namespace proxysim::py
