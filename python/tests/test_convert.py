# Checks the encoding converters against the shared data's own (arch_index, arch_str)
# pairs and the encodings' definitions (Eagle's arch_vector: op indices in string
# order; HW-NAS-Bench's FBNet op names; OFA's {ks, e, d, r}), with round trips.
import csv

import numpy as np
import pytest

import proxysim
from proxysim import convert


def test_nb201_strings_and_indices(data):
    with open(data / "hwnasbench_nb201_cifar10.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows[::13]:
        i, s = int(row["arch_index"]), row["arch_str"]
        assert convert.nb201_str_to_index(s) == i
        assert convert.nb201_index_to_str(i) == s
        vec = convert.nb201_str_to_eagle(s)
        names = [part.split("~")[0] for node in s.split("+") for part in node.strip("|").split("|")]
        assert vec == tuple(convert.NB201_OPS.index(n) for n in names)
        assert convert.nb201_eagle_to_str(vec) == s
        assert convert.nb201_eagle_to_index(vec) == i
        assert convert.nb201_index_to_eagle(i) == vec
        assert convert.nb201_ops_to_str(convert.nb201_str_to_ops(s)) == s


def test_fbnet_ops(data):
    with open(data / "help_fbnet_latency.csv", newline="") as f:
        row = next(csv.DictReader(f))
    code = [int(row[f"L{k}"]) for k in range(22)]
    ops = convert.fbnet_code_to_ops(code)
    assert ops == [convert.FBNET_OPS[c] for c in code]
    np.testing.assert_array_equal(convert.fbnet_ops_to_code(ops), code)
    with pytest.raises(proxysim.UserError, match="unknown op 'k9_e9' at layer 0"):
        convert.fbnet_ops_to_str(["k9_e9"] + ops[1:])


def test_ofa_dicts():
    d = {"ks": [3, 5, 7, 3] * 5, "e": [3, 4, 6, 6] * 5, "d": [2, 3, 4, 4, 2], "r": [160]}
    s = convert.ofa_dict_to_str(d)
    assert s.startswith("r160:d2-3-4-4-2:k3-5-7-3")
    back = convert.ofa_str_to_dict(s)
    assert back == {**d, "r": 160}
    np.testing.assert_array_equal(convert.ofa_code_to_dict(convert.ofa_dict_to_code(d))["ks"], d["ks"])
    with pytest.raises(proxysim.UserError, match="resolution must be 128..224"):
        convert.ofa_dict_to_str({**d, "r": 100})
    with pytest.raises(proxysim.UserError, match="missing key"):
        convert.ofa_dict_to_str({"ks": d["ks"]})
