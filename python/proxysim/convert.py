"""Converters between the architecture encodings NAS tools use and proxysim's codes
(one byte per decision; ``Space.encode``/``decode`` go to and from its strings).

- NB201: the official string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` and the official
  NAS-Bench-201 / NATS-Bench topology index 0..15624.
- Eagle (BRP-NAS) ``arch_vector``: the 6 edge ops in string order, none=0,
  skip_connect=1, nor_conv_1x1=2, nor_conv_3x3=3, avg_pool_3x3=4 (Eagle's pickles key
  latencies by this tuple); it equals proxysim's NB201 code.
- FBNet: HW-NAS-Bench's list of 22 op names (k3_e1, k3_e1_g2, k3_e3, k3_e6, k5_e1,
  k5_e1_g2, k5_e3, k5_e6, skip), code = op index.
- OFA MobileNetV3: Once-for-All's ``{"ks": [20], "e": [20], "d": [5], "r": res}`` dict
  (``r`` may also be a one-element list, as OFA's arch encoders write it).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

from . import _core

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
FBNET_OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
OFA_KERNELS = (3, 5, 7)
OFA_EXPANDS = (3, 4, 6)


@lru_cache(maxsize=None)
def _space(name: str) -> "_core.Space":
    return _core.Space(name)


# ---- NB201 ----

def nb201_str_to_index(arch_str: str) -> int:
    """Official NAS-Bench-201 topology index of an architecture string."""
    return int(_space("nb201").index(arch_str))


def nb201_index_to_str(index: int) -> str:
    """Architecture string of an official NAS-Bench-201 topology index."""
    return _space("nb201").decode(_space("nb201").code_at(int(index)))


def nb201_str_to_eagle(arch_str: str) -> tuple:
    """Eagle's arch_vector (a tuple of 6 op indices) of an NB201 string."""
    return tuple(int(v) for v in _space("nb201").encode(arch_str))


def nb201_eagle_to_str(arch_vector: Sequence[int]) -> str:
    """NB201 string of Eagle's arch_vector."""
    return _space("nb201").decode(np.asarray(arch_vector, dtype=np.int64))


def nb201_eagle_to_index(arch_vector: Sequence[int]) -> int:
    return int(_space("nb201").index(np.asarray(arch_vector, dtype=np.int64)))


def nb201_index_to_eagle(index: int) -> tuple:
    return tuple(int(v) for v in _space("nb201").code_at(int(index)))


def nb201_str_to_ops(arch_str: str) -> list:
    """The 6 edge op names in string order (edges 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2)."""
    return [NB201_OPS[i] for i in nb201_str_to_eagle(arch_str)]


def nb201_ops_to_str(ops: Sequence[str]) -> str:
    if len(ops) != 6:
        raise _core.UserError(f"nb201: expected 6 edge ops, found {len(ops)}")
    return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)


# ---- FBNet ----

def fbnet_ops_to_str(ops: Sequence[str]) -> str:
    """proxysim's FBNet string of HW-NAS-Bench's 22-op list (validated)."""
    text = "-".join(ops)
    _space("fbnet").encode(text)
    return text


def fbnet_str_to_ops(arch_str: str) -> list:
    return [FBNET_OPS[i] for i in _space("fbnet").encode(arch_str)]


def fbnet_ops_to_code(ops: Sequence[str]) -> np.ndarray:
    return _space("fbnet").encode(fbnet_ops_to_str(ops))


def fbnet_code_to_ops(code: Sequence[int]) -> list:
    return fbnet_str_to_ops(_space("fbnet").decode(np.asarray(code, dtype=np.int64)))


# ---- OFA MobileNetV3 ----

def ofa_dict_to_str(arch: dict) -> str:
    """proxysim's OFA string of Once-for-All's {ks, e, d, r} dict (validated)."""
    missing = [k for k in ("ks", "e", "d", "r") if k not in arch]
    if missing:
        raise _core.UserError(f"ofa_mbv3 architecture dict: missing key(s) {', '.join(missing)}")
    r = arch["r"]
    if isinstance(r, (list, tuple)):
        if len(r) != 1:
            raise _core.UserError(f"ofa_mbv3 architecture dict: 'r' holds one resolution, found {len(r)}")
        r = r[0]
    text = "r{}:d{}:k{}:e{}".format(int(r), "-".join(str(int(v)) for v in arch["d"]),
                                    "-".join(str(int(v)) for v in arch["ks"]),
                                    "-".join(str(int(v)) for v in arch["e"]))
    _space("ofa_mbv3").encode(text)
    return text


def ofa_str_to_dict(arch_str: str) -> dict:
    """Once-for-All's dict of a proxysim OFA string: ks, e (20 slots), d (5), r (int)."""
    _space("ofa_mbv3").encode(arch_str)
    r, d, k, e = arch_str.split(":")
    return {"ks": [int(v) for v in k[1:].split("-")], "e": [int(v) for v in e[1:].split("-")],
            "d": [int(v) for v in d[1:].split("-")], "r": int(r[1:])}


def ofa_dict_to_code(arch: dict) -> np.ndarray:
    return _space("ofa_mbv3").encode(ofa_dict_to_str(arch))


def ofa_code_to_dict(code: Sequence[int]) -> dict:
    return ofa_str_to_dict(_space("ofa_mbv3").decode(np.asarray(code, dtype=np.int64)))


def to_code(space: "_core.Space", arch) -> np.ndarray:
    """Any accepted form of one architecture -> its uint8 code: a string, a code, an
    NB201 index, an Eagle tuple, an FBNet op list or an OFA dict."""
    name = space.name
    if isinstance(arch, str):
        return space.encode(arch)
    if isinstance(arch, dict):
        if name != "ofa_mbv3":
            raise _core.UserError(f"space '{name}': a dict architecture is OFA's {{ks, e, d, r}}")
        return space.encode(ofa_dict_to_str(arch))
    if isinstance(arch, (int, np.integer)):
        return space.code_at(int(arch))
    if len(arch) and isinstance(arch[0], str):
        if name == "fbnet":
            return space.encode(fbnet_ops_to_str(arch))
        if name == "nb201":
            return space.encode(nb201_ops_to_str(arch))
        raise _core.UserError(f"space '{name}': op-name lists are FBNet's or NB201's")
    code = np.asarray(arch, dtype=np.int64)
    space.validate(code)
    return code.astype(np.uint8)
