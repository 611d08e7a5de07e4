"""pip install ./python (from the repository root): builds proxysim._core with CMake
from this source tree (no network: the C++ dependencies are the Debian packages
scripts/setup installs, pybind11 is Debian's pybind11-dev) and installs the package.

    pip install --no-build-isolation ./python

Environment: PROXYSIM_CMAKE_ARGS adds CMake arguments (e.g. -DPROXYSIM_CUDA=OFF or
-DPROXYSIM_NATIVE=OFF for a wheel meant for other CPUs); PROXYSIM_BUILD_DIR sets the
CMake build folder (default <root>/build-python); PROXYSIM_JOBS the parallel jobs.
"""
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = pathlib.Path(os.environ.get("PROXYSIM_BUILD_DIR", ROOT / "build-python"))
        build.mkdir(parents=True, exist_ok=True)
        args = [f"-DPython3_EXECUTABLE={sys.executable}", "-DCMAKE_BUILD_TYPE=Release", "-DPROXYSIM_TESTS=OFF",
                "-DPROXYSIM_BENCH=OFF", "-DPROXYSIM_PYTHON=ON"]
        args += os.environ.get("PROXYSIM_CMAKE_ARGS", "").split()
        subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(build), *args])
        jobs = os.environ.get("PROXYSIM_JOBS", str(os.cpu_count() or 2))
        subprocess.check_call(["cmake", "--build", str(build), "--target", "_core", "-j", jobs])
        built = next((build / "python" / "proxysim").glob("_core*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


def version():
    for line in (ROOT / "CMakeLists.txt").read_text().splitlines():
        if line.startswith("project(proxysim VERSION"):
            return line.split()[2]
    return "0"


setup(
    name="proxysim",
    version=version(),
    description="Latency monotonicity and proxy devices for hardware-aware NAS, simulated at scale",
    packages=["proxysim"],
    ext_modules=[CMakeExtension("proxysim._core")],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    install_requires=["numpy"],
    zip_safe=False,
)
