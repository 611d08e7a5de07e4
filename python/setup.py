"""pip install ./python (from the repository root): builds proxysim._core with CMake
from this source tree (no network: the C++ dependencies are the Debian packages
scripts/setup installs, pybind11 is Debian's pybind11-dev) and installs the package.

    pip install --no-build-isolation ./python

Environment: PROXYSIM_CMAKE_ARGS adds CMake arguments (e.g. -DPROXYSIM_CUDA=OFF or
-DPROXYSIM_NATIVE=OFF for a wheel meant for other CPUs); PROXYSIM_JOBS the parallel
jobs. The build goes to <root>/build-python, configured here; PROXYSIM_BUILD_DIR names
a build folder already configured with the Python extension (scripts/setup's build/)
to build and take _core from as it stands, without configuring it again.
"""
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig

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
        jobs = os.environ.get("PROXYSIM_JOBS", str(os.cpu_count() or 2))
        if (build / "CMakeCache.txt").exists() and "PROXYSIM_BUILD_DIR" in os.environ:
            # A tree the user already configured (e.g. build/ of scripts/setup): build
            # the extension there as configured, for the interpreter it was configured
            # for, which must be this one's version (checked below).
            pass
        else:
            build.mkdir(parents=True, exist_ok=True)
            args = [f"-DPython3_EXECUTABLE={sys.executable}", "-DCMAKE_BUILD_TYPE=Release", "-DPROXYSIM_TESTS=OFF",
                    "-DPROXYSIM_BENCH=OFF", "-DPROXYSIM_PYTHON=ON"]
            args += os.environ.get("PROXYSIM_CMAKE_ARGS", "").split()
            subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(build), *args])
        subprocess.check_call(["cmake", "--build", str(build), "--target", "_core", "-j", jobs])
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = build / "python" / "proxysim" / f"_core{suffix}"
        if not built.exists():
            found = [p.name for p in (build / "python" / "proxysim").glob("_core*")]
            raise RuntimeError(f"{build} holds {found or 'no _core'}, not _core{suffix} for {sys.executable}: "
                               "configure it for this interpreter or unset PROXYSIM_BUILD_DIR")
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
