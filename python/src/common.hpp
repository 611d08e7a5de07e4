// Shared helpers of the proxysim._core bindings: numpy conversions, and the one way a
// long call gives Ctrl-C a chance (reacquire the GIL, poll Python's signal handlers).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/engine.hpp"
#include "sim/device_spec.hpp"
#include "sim/space.hpp"

namespace proxysim::py {

namespace pb = pybind11;

// Called from a loop that runs with the GIL released: takes the GIL, runs Python's
// signal handlers (SIGINT raises KeyboardInterrupt there) and throws the pending
// Python error so the loop unwinds; pybind11 restores it on the way out.
inline void check_signals() {
  pb::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw pb::error_already_set();
}

// A C-contiguous array of T: passed through when the caller's array already is one,
// else converted (a copy) by numpy.
template <class T>
using CArray = pb::array_t<T, pb::array::c_style | pb::array::forcecast>;

// A numpy array that takes ownership of a std::vector's buffer (no copy).
template <class T>
pb::array_t<T> to_numpy(std::vector<T>&& v, std::vector<pb::ssize_t> shape) {
  auto* heap = new std::vector<T>(std::move(v));
  pb::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return pb::array_t<T>(shape, heap->data(), owner);
}

Backend backend_from(const std::string& request);
ArchCode code_from(const SearchSpace& space, const pb::handle& code);

void bind_spaces(pb::module_& m);
void bind_devices(pb::module_& m);
void bind_evaluate(pb::module_& m);
void bind_stats(pb::module_& m);
void bind_search(pb::module_& m);
void bind_nas(pb::module_& m);
void bind_run(pb::module_& m);

}  // namespace proxysim::py
