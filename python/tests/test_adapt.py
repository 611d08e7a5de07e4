# Checks the single-call adaptation binding against hand values: the unadapted scheme
# returns the proxy's latencies unchanged, target_only on noiseless linear latencies
# ranks them as they are (SRCC > 0.99: the ridge penalty shrinks the fit a little), and a
# malformed sample set raises the core's UserError. The stage-level path is compared
# with the CLI in test_cli_equal.py.
import numpy as np
import pytest

import proxysim


@pytest.fixture(scope="module")
def nb201():
    sp = proxysim.Space("nb201")
    codes = sp.enumerate()
    keep = sp.connected(codes)
    return sp, codes[keep], proxysim.features(sp, codes[keep])


def test_none_returns_the_proxy(nb201):
    sp, codes, f = nb201
    proxy = np.linspace(1.0, 2.0, len(codes))
    pred, choice = proxysim.adapt("none", f, proxy, [1, 2, 3], [1.0, 2.0, 3.0], [4, 5], [4.0, 5.0])
    np.testing.assert_array_equal(pred, proxy)
    assert pred.dtype == np.float64 and pred.shape == (len(codes),)


def test_target_only_recovers_a_linear_target(nb201):
    sp, codes, f = nb201
    rng = np.random.default_rng(3)
    w = rng.uniform(0.1, 1.0, f.shape[1])
    target = f @ w                      # exactly linear in the one-hot features
    proxy = f @ rng.uniform(0.1, 1.0, f.shape[1])
    rows = rng.choice(len(codes), 60, replace=False)
    pred, _ = proxysim.adapt("target_only", f, proxy, rows[:50], target[rows[:50]], rows[50:], target[rows[50:]])
    assert proxysim.spearman(pred.astype(np.float32), target.astype(np.float32)) > 0.99


def test_bad_samples_raise_user_error(nb201):
    sp, codes, f = nb201
    proxy = np.ones(len(codes))
    with pytest.raises(proxysim.UserError, match="twice"):
        proxysim.adapt("adaproxy", f, proxy, [1, 2, 3], [1.0, 2.0, 3.0], [3, 4], [3.0, 4.0])
    with pytest.raises(proxysim.UserError, match="no_such_scheme"):
        proxysim.adapt("no_such_scheme", f, proxy, [1, 2, 3], [1.0, 2.0, 3.0], [4, 5], [4.0, 5.0])


def test_predictions_that_are_not_latencies_are_counted_and_warned(nb201):
    sp, codes, f = nb201
    rng = np.random.default_rng(4)
    # A positive target far from linear in the features (exponential in a linear score,
    # from 1 to e^6): a linear fit of it goes below zero at the fast end, as a linear
    # correction can on architectures unlike its samples.
    score = f @ rng.uniform(-1.0, 1.0, f.shape[1])
    target = np.exp(6.0 * (score - score.min()) / (score.max() - score.min()))
    proxy = np.linspace(1.0, 2.0, len(codes))
    rows = rng.choice(len(codes), 60, replace=False)
    with pytest.warns(RuntimeWarning, match="no positive latency"):
        pred, choice = proxysim.adapt("target_only", f, proxy, rows[:50], target[rows[:50]], rows[50:], target[rows[50:]])
    assert choice["invalid_predictions"] == int(np.sum(~(pred > 0))) > 0
    _, none = proxysim.adapt("none", f, proxy, [1, 2, 3], [1.0, 2.0, 3.0], [4, 5], [4.0, 5.0])
    assert none["invalid_predictions"] == 0
