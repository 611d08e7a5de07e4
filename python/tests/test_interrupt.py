# Checks that Ctrl-C (SIGINT) interrupts a long call: a subprocess starts an
# evaluation, a whole run or a search that takes minutes, gets SIGINT once the call is
# under way, and must end with KeyboardInterrupt within 5 s (a chunk takes ~0.4 s; the
# rest of the bound is interpreter start-up and a loaded 2-core machine).
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

LONG_EVAL = """
import proxysim, sys
# The walked reference path: ~100 s for these 43M pairs, 172 MB of output.
ev = proxysim.Evaluator(proxysim.Space("fbnet"), proxysim.devices("all"), "cpu", "walk")
print("started", flush=True)
try:
    ev.sample(1_000_000)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(7)
print("finished", flush=True)
"""

LONG_RUN = """
import proxysim, sys
cfg = '''
name: long
space: fbnet
archs: {sample: 1000000, seed: 1}
devices: all
backend: cpu
stages:
  - eval: {chunk: 4096, mode: walk}
'''
print("started", flush=True)
try:
    proxysim.run(cfg, output=sys.argv[1])
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(7)
print("finished", flush=True)
"""


# A search without a budget never ends by itself. With a Python callback Ctrl-C is
# checked every step; with an accuracy array the loop runs without the GIL and checks
# every 4,096 steps. Tournaments of 1,000 slow each step to microseconds, so the
# evaluations recorded before the signal stay a few MB.
LONG_SEARCH = """
import numpy as np, proxysim, sys
accuracy = (lambda code: 50.0) if sys.argv[1] == "callback" else np.full(15625, 50.0)
print("started", flush=True)
try:
    proxysim.search("regularized_evolution", "nb201", accuracy=accuracy, budget=0, population=1000, sample=1000)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(7)
print("finished", flush=True)
"""


def interrupt(script, *args):
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=os.environ)
    assert p.stdout.readline().strip() == "started"
    time.sleep(1.5)  # well inside the call
    assert p.poll() is None, "the long call ended by itself"
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("SIGINT did not interrupt the call within 5 s")
    return p.returncode, out, time.monotonic() - t0


def test_ctrl_c_interrupts_evaluation():
    rc, out, seconds = interrupt(LONG_EVAL)
    assert rc == 7 and "interrupted" in out, out
    assert seconds < 5


def test_ctrl_c_interrupts_run(tmp_path):
    target = tmp_path / "long.h5"
    rc, out, seconds = interrupt(LONG_RUN, str(target))
    assert rc == 7 and "interrupted" in out, out
    # The abandoned run leaves no result file, partial or not.
    assert not target.exists() and not (tmp_path / "long.h5.partial").exists()


@pytest.mark.parametrize("accuracy", ["callback", "array"])
def test_ctrl_c_interrupts_search(accuracy):
    rc, out, seconds = interrupt(LONG_SEARCH, accuracy)
    assert rc == 7 and "interrupted" in out, out
    assert seconds < 5
