# Checks the README's install command in a fresh virtual environment
# (python3 -m venv --system-site-packages, pip install --no-build-isolation ./python):
# the installed package imports from the venv and evaluates exactly what the tested
# package does. It builds in the tree the tests' extension came from
# (PROXYSIM_BUILD_DIR), so it costs seconds; a build from scratch into build-python/
# runs the same setup.py with a CMake configure first.
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import proxysim

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_pip_install_into_venv(tmp_path):
    build = pathlib.Path(proxysim.__file__).resolve().parents[2]
    if not (build / "CMakeCache.txt").exists():
        pytest.skip(f"the tested package is not from a CMake build tree ({proxysim.__file__})")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PROXYSIM_BUILD_DIR"] = str(build)
    r = subprocess.run([str(py), "-m", "pip", "install", "--no-build-isolation", "--no-index", "-q",
                        str(ROOT / "python")], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    code = ("import proxysim, numpy as np; "
            "ev = proxysim.evaluate('fbnet', 'edgetpu,raspi4', 200, seed=5, backend='cpu'); "
            "print(proxysim.__file__); np.save('lat.npy', ev.latency_ms)")
    r = subprocess.run([str(py), "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(str(venv))  # the installed copy, not the build tree
    want = proxysim.evaluate("fbnet", "edgetpu,raspi4", 200, seed=5, backend="cpu").latency_ms
    np.testing.assert_array_equal(np.load(tmp_path / "lat.npy"), want)
