# Checks the numpy contract: dtypes and shapes of what comes out, arrays written in
# place without a copy where the docs say so (np.shares_memory / the owner), and
# inputs of any dtype or layout giving the same result as the documented fast form.
# Exact comparisons: the same core computes both sides.
import numpy as np
import pytest

import proxysim


def test_evaluation_dtypes_and_shapes():
    ev = proxysim.evaluate("fbnet", "pixel3_cpu,edgetpu", 1000, seed=1, backend="cpu")
    assert ev.latency_ms.dtype == np.float32 and ev.latency_ms.shape == (1000, 2)
    assert ev.codes.dtype == np.uint8 and ev.codes.shape == (1000, 22)
    assert ev.macs.dtype == np.float32 and ev.macs.shape == (1000,)
    assert ev.params.dtype == np.float32 and ev.params.shape == (1000,)
    assert ev.latency_ms.flags.c_contiguous and ev.latency_ms.flags.owndata
    assert (ev.latency_ms > 0).all()
    # column() is a view of the matrix.
    assert np.shares_memory(ev.column("edgetpu"), ev.latency_ms)


def test_out_buffer_is_written_in_place():
    e = proxysim.Evaluator(proxysim.Space("fbnet"), proxysim.devices("pixel3_cpu,edgetpu,raspi4"), "cpu")
    buf = np.full((2048, 3), -1.0, dtype=np.float32)
    lat, codes, macs, params = e.sample(2048, seed=4, out=buf)
    assert lat is buf or np.shares_memory(lat, buf)
    assert (buf > 0).all()
    fresh = e.sample(2048, seed=4)[0]
    np.testing.assert_array_equal(buf, fresh)
    # A view with the right layout works too: rows 100.. of a bigger matrix.
    big = np.zeros((3000, 3), dtype=np.float32)
    e.sample(2048, seed=4, out=big[100:2148])
    np.testing.assert_array_equal(big[100:2148], fresh)
    assert (big[:100] == 0).all() and (big[2148:] == 0).all()


@pytest.mark.parametrize("bad", [np.zeros((2048, 3), np.float64), np.zeros((3, 2048), np.float32).T,
                                 np.zeros((2047, 3), np.float32)])
def test_out_buffer_must_fit(bad):
    e = proxysim.Evaluator(proxysim.Space("fbnet"), proxysim.devices("pixel3_cpu,edgetpu,raspi4"), "cpu")
    with pytest.raises(proxysim.UserError, match="out: expected"):
        e.sample(2048, out=bad)


def test_statistics_accept_any_dtype_and_layout():
    rng = np.random.default_rng(1)
    lat32 = rng.lognormal(size=(500, 5)).astype(np.float32)
    srcc, pairs = proxysim.spearman_matrix(lat32, "cpu")
    assert srcc.dtype == np.float64 and srcc.shape == (5, 5) and pairs.dtype == np.int64
    # The core's result buffer, handed to numpy (its owner is the capsule that frees it), not a copy.
    assert not srcc.flags.owndata and type(srcc.base).__name__ == "PyCapsule"
    for variant in (lat32.astype(np.float64), np.asfortranarray(lat32), lat32.T.copy().T):
        np.testing.assert_array_equal(proxysim.spearman_matrix(variant, "cpu")[0], srcc)
    np.testing.assert_allclose(np.diag(srcc), 1.0)


def test_measured_table_is_a_readonly_view(data):
    t = proxysim.read_measured_csv(str(data / "hwnasbench_nb201_cifar10.csv"))
    a, b = t.latency_ms, t.latency_ms
    assert a.dtype == np.float32 and a.shape == (15625, 6)
    assert np.shares_memory(a, b)  # both views of the table's one buffer
    assert not a.flags.writeable
    assert t.codes.shape == (15625, 6) and t.codes.dtype == np.uint8
    assert int((~t.connected).sum()) == 341


def test_features_are_fortran_float64_and_adapt_reads_them():
    sp = proxysim.Space("nb201")
    codes = sp.enumerate()
    f = proxysim.features(sp, codes)
    assert f.dtype == np.float64 and f.shape == (15625, 31) and f.flags.f_contiguous
    # Hand check: the one-hot column of edge e, op o is e * 5 + o, the last is 1.
    for i in (0, 77, 15624):
        expect = np.zeros(31)
        expect[np.arange(6) * 5 + codes[i]] = 1
        expect[30] = 1
        np.testing.assert_array_equal(f[i], expect)
