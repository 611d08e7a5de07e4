# Shared fixtures: the CLI the tests compare against, the shared real data, and a
# helper that runs the CLI.
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _cli() -> pathlib.Path:
    return pathlib.Path(os.environ.get("PROXYSIM_CLI", ROOT / "build" / "proxysim"))


def _data() -> pathlib.Path:
    return pathlib.Path(os.environ.get("PROXYSIM_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def cli():
    path = _cli()
    if not path.exists():
        pytest.fail(f"the proxysim CLI is not built at {path} (set PROXYSIM_CLI)")
    return path


@pytest.fixture(scope="session")
def data():
    path = _data()
    if not (path / "hwnasbench_nb201_cifar10.csv").exists():
        pytest.fail(f"the shared data is not at {path} (set PROXYSIM_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def run_cli(cli):
    def run(*args, check=True):
        r = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise AssertionError(f"proxysim {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stderr}")
        return r
    return run
