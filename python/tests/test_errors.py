# Checks that C++ user errors reach Python as proxysim.UserError (a ValueError) with
# the C++ message, the same words the CLI prints after "proxysim: error: ".
import numpy as np
import pytest

import proxysim


def test_user_error_is_value_error():
    assert issubclass(proxysim.UserError, ValueError)


@pytest.mark.parametrize("call, cli_args", [
    (lambda: proxysim.Space("nb999"), ["eval", "--space", "nb999", "--out", "/tmp/x.h5"]),
    (lambda: proxysim.devices("no_such_device"), ["eval", "--space", "nb201", "--devices", "no_such_device",
                                                   "--out", "/tmp/x.h5"]),
])
def test_message_equals_cli(call, cli_args, run_cli):
    r = run_cli(*cli_args, check=False)
    assert r.returncode == 2
    prefix = "proxysim: error: "
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith(prefix)
    with pytest.raises(proxysim.UserError) as e:
        call()
    assert str(e.value) == line[len(prefix):]


def test_messages_name_what_is_wrong(tmp_path):
    sp = proxysim.Space("nb201")
    with pytest.raises(proxysim.UserError, match="unknown op 'nor_conv_9x9~0'"):
        sp.encode("|nor_conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(proxysim.UserError, match=r"nb201 index 15625 is out of range \[0, 15624\]"):
        proxysim.HWNASBenchAPI(None, devices="edgetpu").query_by_index(15625, "cifar10")
    with pytest.raises(proxysim.UserError, match="decision 0 takes 0..4, found 7"):
        sp.decode([7, 0, 0, 0, 0, 0])
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nspace: nb201\narchs: {sample: 10}\ndevices: [edgetpu]\nstages:\n  - eval: {chunck: 4}\n")
    with pytest.raises(proxysim.UserError, match="chunck"):
        proxysim.run(str(bad), output=str(tmp_path / "o.h5"))
    assert not (tmp_path / "o.h5").exists() and not (tmp_path / "o.h5.partial").exists()
    with pytest.raises(proxysim.UserError, match="peak_gflops"):
        proxysim.device("edgetpu").replace(peak_gflops=-1.0)
    with pytest.raises(proxysim.UserError, match="backend"):
        proxysim.spearman_matrix([[1.0, 2.0]], "tpu")


@pytest.mark.parametrize("call, message", [
    (lambda: proxysim.spearman_matrix(np.array([[1.0, 2.0], [3.0, -1.0]], np.float32), "cpu"),
     "latency_ms[1, 1] = -1: a latency must be positive and finite (NaN = not measured)"),
    (lambda: proxysim.kendall_matrix(np.array([[1.0, np.inf], [3.0, 2.0]], np.float32), "cpu"),
     "latency_ms[0, 1] = inf: a latency must be positive and finite"),
    (lambda: proxysim.top_k_agreement(np.array([1.0, 0.0, 3.0], np.float32), np.array([1.0, 2.0, 3.0], np.float32), 1),
     "proxy_ms[1] = 0: a latency must be positive and finite"),
    (lambda: proxysim.pareto_front(np.array([1.0, 2.0, -np.inf], np.float32), np.array([1.0, 2.0, 3.0], np.float32)),
     "latency_ms[2] = -inf: a latency must be positive and finite"),
])
def test_bad_latencies_stop_at_the_boundary_named(call, message):
    with pytest.raises(proxysim.UserError) as e:
        call()
    assert message in str(e.value)


def test_unmeasured_latencies_are_nan_and_allowed():
    lat = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 4.5], [4.0, 5.0]], np.float32)
    srcc, pairs = proxysim.spearman_matrix(lat, "cpu")
    assert pairs[0, 1] == 3 and srcc[0, 1] == pytest.approx(1.0)
