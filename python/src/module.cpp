// proxysim._core: the C++ core as a Python extension module. The pure-Python
// package `proxysim` wraps it; this file holds the module, its errors and backends.
#include "common.hpp"

#include "base/error.hpp"

namespace proxysim::py {

Backend backend_from(const std::string& request) { return resolve_backend(request); }

}  // namespace proxysim::py

PYBIND11_MODULE(_core, m) {
  namespace pb = pybind11;
  using namespace proxysim;
  m.doc() = "proxysim's C++/CUDA core (spaces, devices, batch latency evaluation, rank statistics, "
            "proxy adaptation and selection, NAS search strategies, whole experiments)";
  // A user mistake in C++ (bad config, unknown name, malformed file) reaches Python as
  // proxysim.UserError with the C++ message; a ValueError, so generic handlers work.
  pb::register_exception<UserError>(m, "UserError", PyExc_ValueError);

  m.attr("version") = PROXYSIM_VERSION;
  m.attr("has_cuda_backend") = static_cast<bool>(PROXYSIM_HAVE_CUDA);
  m.def("cuda_device_count", &cuda_device_count, "CUDA devices visible (0 in a CPU-only build)");
  m.def("cuda_device_name", &cuda_device_name, "name of CUDA device 0, or '' without one");
  m.def(
      "resolve_backend", [](const std::string& request) { return backend_name(resolve_backend(request)); },
      pb::arg("request") = "auto",
      "'auto' takes CUDA when a GPU is found, else the CPU; 'cuda' without one raises UserError");

  py::bind_spaces(m);
  py::bind_devices(m);
  py::bind_evaluate(m);
  py::bind_stats(m);
  py::bind_search(m);
  py::bind_nas(m);
  py::bind_run(m);
}
