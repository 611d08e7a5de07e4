"""Checks that tests/sim/latency_hand_test.cpp catches a 10 % change of any latency-model term.

Each entry below changes one term of sim/latency_model.hpp or sim/op.hpp (a bandwidth,
a constant, a utilisation factor, a byte count; a few change a rule instead). For each,
the model headers are copied to a scratch folder, the one change is applied there, the
hand test is compiled against the copy (ahead of the source tree on the include path;
the model is header-only, so the copy is the model the test runs) and linked with the
build tree's libproxysim_core.a, and the tests that fail are printed. The first entry
changes nothing and must fail none. Build proxysim_tests first (cmake --build build
--target proxysim_tests), then, from the repository root:
    /usr/bin/python3 scripts/dev/perturb_latency_model.py [build] [-j 2] [indices...]
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# (what is changed, file, text, replacement): each text must occur once.
PERTURBATIONS = [
 ('none (baseline)', 'sim/latency_model.hpp', 'namespace proxysim {', 'namespace proxysim {'),
 ('flops per MAC (2.0)', 'sim/latency_model.hpp', 'compute_s = 2.0 * macs /', 'compute_s = 2.2 * macs /'),
 ('efficiency', 'sim/latency_model.hpp', 'const double eff = dev.efficiency[static_cast<int>(cls)];', 'const double eff = 1.1 * dev.efficiency[static_cast<int>(cls)];'),
 ('peak_gflops', 'sim/latency_model.hpp', 'const double peak = static_cast<double>(dev.peak_gflops) * 1e9;', 'const double peak = static_cast<double>(dev.peak_gflops) * 1.1e9;'),
 ('lanes_out utilisation', 'sim/latency_model.hpp', 'quantised_utilisation(op.out_c, dev.lanes_out)', '1.1 * quantised_utilisation(op.out_c, dev.lanes_out)'),
 ('lanes_in utilisation', 'sim/latency_model.hpp', 'quantised_utilisation(reduction, dev.lanes_in)', '1.1 * quantised_utilisation(reduction, dev.lanes_in)'),
 ('wave (tile) utilisation', 'sim/latency_model.hpp', '(tiles / (waves * dev.units))', '(1.1 * tiles / (waves * dev.units))'),
 ('units', 'sim/latency_model.hpp', 'const double waves = std::ceil(tiles / dev.units);\n    const double u = quantised_utilisation(op.out_c, dev.lanes_out) *\n                     quantised_utilisation(reduction, dev.lanes_in) * (tiles / (waves * dev.units));', 'const double waves = std::ceil(tiles / (1.1 * dev.units));\n    const double u = quantised_utilisation(op.out_c, dev.lanes_out) *\n                     quantised_utilisation(reduction, dev.lanes_in) * (tiles / (waves * 1.1 * dev.units));'),
 ('pixels_per_unit', 'sim/latency_model.hpp', 'std::ceil(pixels / dev.pixels_per_unit)', 'std::ceil(pixels / (1.1 * dev.pixels_per_unit))'),
 ('output pixels', 'sim/latency_model.hpp', 'const double pixels = static_cast<double>(op.out_h) * op.out_w * batch;', 'const double pixels = 1.1 * static_cast<double>(op.out_h) * op.out_w * batch;'),
 ('conv reduction depth', 'sim/latency_model.hpp', 'reduction = (static_cast<double>(op.in_c) / op.groups) * op.kernel * op.kernel;', 'reduction = 1.1 * (static_cast<double>(op.in_c) / op.groups) * op.kernel * op.kernel;'),
 ('depthwise reduction depth', 'sim/latency_model.hpp', 'reduction = static_cast<double>(op.kernel) * op.kernel;', 'reduction = 1.1 * static_cast<double>(op.kernel) * op.kernel;'),
 ('FC reduction depth', 'sim/latency_model.hpp', 'reduction = op.in_c;', 'reduction = 1.1 * op.in_c;'),
 ('MAC saturation half_util_macs', 'sim/latency_model.hpp', 'macs / (macs + static_cast<double>(dev.half_util_macs))', 'macs / (macs + 1.1 * static_cast<double>(dev.half_util_macs))'),
 ('vector saturation (0.1 h)', 'sim/latency_model.hpp', '0.1 * static_cast<double>(dev.half_util_macs)', '0.11 * static_cast<double>(dev.half_util_macs)'),
 ('vector compute time', 'sim/latency_model.hpp', 'compute_s = work / (peak * eff * sat);', 'compute_s = 1.1 * work / (peak * eff * sat);'),
 ('DRAM bandwidth (op)', 'sim/latency_model.hpp', 'dram_bytes / (static_cast<double>(dev.dram_gbps) * 1e9)', 'dram_bytes / (static_cast<double>(dev.dram_gbps) * 1.1e9)'),
 ('on-chip bandwidth (op)', 'sim/latency_model.hpp', 'chip_bytes / (static_cast<double>(dev.onchip_gbps) * 1e9)', 'chip_bytes / (static_cast<double>(dev.onchip_gbps) * 1.1e9)'),
 ('weight bytes', 'sim/latency_model.hpp', 'const double weight_bytes = op_weight_elems(op) * bpe;', 'const double weight_bytes = 1.1 * op_weight_elems(op) * bpe;'),
 ('output bytes (op)', 'sim/latency_model.hpp', 'const double out_bytes = op_out_elems(op) * batch * bpe;', 'const double out_bytes = 1.1 * op_out_elems(op) * batch * bpe;'),
 ('first input bytes', 'sim/latency_model.hpp', 'const double first_in_bytes = op_in_elems(op) * batch * bpe;', 'const double first_in_bytes = 1.1 * op_in_elems(op) * batch * bpe;'),
 ('other input bytes', 'sim/latency_model.hpp', 'const double other_in_bytes = (op_input_elems_read(op) - op_in_elems(op)) * batch * bpe;', 'const double other_in_bytes = 1.1 * (op_input_elems_read(op) - op_in_elems(op)) * batch * bpe;'),
 ('batch', 'sim/latency_model.hpp', 'const double batch = dev.batch;', 'const double batch = 1.1 * dev.batch;'),
 ('bytes_per_element', 'sim/latency_model.hpp', 'const double bpe = dev.bytes_per_element;', 'const double bpe = 1.1 * dev.bytes_per_element;'),
 ('elementwise pass bytes', 'sim/latency_model.hpp', 'const double bytes = 2.0 * elems * dev.batch * dev.bytes_per_element;', 'const double bytes = 2.2 * elems * dev.batch * dev.bytes_per_element;'),
 ('elementwise pass capacity test', 'sim/latency_model.hpp', 'bytes * 0.5 <= dev.onchip_bytes', 'bytes * 0.55 <= dev.onchip_bytes'),
 ('elementwise pass compute', 'sim/latency_model.hpp', 'const double compute_s = work / peak;', 'const double compute_s = 1.1 * work / peak;'),
 ('elementwise pass bandwidth', 'sim/latency_model.hpp', 'const double memory_s = bytes / (bw * 1e9);', 'const double memory_s = bytes / (bw * 1.1e9);'),
 ('launch_us', 'sim/latency_model.hpp', 'static_cast<double>(dev->launch_us) * 1e-6', 'static_cast<double>(dev->launch_us) * 1.1e-6'),
 ('async launch hiding', 'sim/latency_model.hpp', 'launch_s > prev_exec_s ? launch_s - prev_exec_s : 0.0', 'launch_s > 1.1 * prev_exec_s ? launch_s - 1.1 * prev_exec_s : 0.0'),
 ('fused add operand read', 'sim/latency_model.hpp', 'd.bytes_per_element / (static_cast<double>(d.dram_gbps) * 1e9);', 'd.bytes_per_element / (static_cast<double>(d.dram_gbps) * 1.1e9);'),
 ('fused add extends the producer', 'sim/latency_model.hpp', 'prev_exec_s += extra_s;', 'prev_exec_s += 1.1 * extra_s;'),
 ('on-chip capacity (walk)', 'sim/latency_model.hpp', 'prev_out_bytes <= static_cast<double>(d.onchip_bytes)', 'prev_out_bytes <= 1.1 * static_cast<double>(d.onchip_bytes)'),
 ('output bytes kept for the next op', 'sim/latency_model.hpp', 'const double out_bytes = op_out_elems(op) * d.batch * d.bytes_per_element;', 'const double out_bytes = 1.1 * op_out_elems(op) * d.batch * d.bytes_per_element;'),
 ('seconds to ms', 'sim/latency_model.hpp', 'static_cast<float>(total_s * 1e3)', 'static_cast<float>(total_s * 1.1e3)'),
 ('noise z scale (sqrt 3)', 'sim/latency_model.hpp', '* 1.7320508f;', '* 1.1f * 1.7320508f;'),
 ('noise sigma', 'sim/latency_model.hpp', 'const float x = sigma * z;', 'const float x = 1.1f * sigma * z;'),
 ('exp series (x^2 term)', 'sim/latency_model.hpp', 'x * (0.5f + x', 'x * (0.55f + x'),
 ('timer resolution', 'sim/latency_model.hpp', 'const float safe_q = q > 0.0f ? q : 1.0f;', 'const float safe_q = q > 0.0f ? 1.1f * q : 1.0f;'),
 ('timer rounding offset', 'sim/latency_model.hpp', 'std::floor(ms / safe_q + 0.5f)', 'std::floor(ms / safe_q + 0.55f)'),
 ('timer one-tick floor', 'sim/latency_model.hpp', 'r = r < safe_q ? safe_q : r;', 'r = r < safe_q ? 1.1f * safe_q : r;'),
 ('MACs (op.hpp)', 'sim/op.hpp', 'return op_out_elems(op) * (static_cast<double>(op.in_c) / op.groups) * op.kernel * op.kernel;', 'return 1.1 * op_out_elems(op) * (static_cast<double>(op.in_c) / op.groups) * op.kernel * op.kernel;'),
 ('depthwise MACs (op.hpp)', 'sim/op.hpp', 'return op_out_elems(op) * op.kernel * op.kernel;\n    case OpKind::kFullyConnected:', 'return 1.1 * op_out_elems(op) * op.kernel * op.kernel;\n    case OpKind::kFullyConnected:'),
 ('FC MACs (op.hpp)', 'sim/op.hpp', 'return static_cast<double>(op.in_c) * op.out_c;', 'return 1.1 * static_cast<double>(op.in_c) * op.out_c;'),
 ('pool work (op.hpp)', 'sim/op.hpp', 'return op_out_elems(op) * op.kernel * op.kernel;\n    case OpKind::kGlobalPool:', 'return 1.1 * op_out_elems(op) * op.kernel * op.kernel;\n    case OpKind::kGlobalPool:'),
 ('elementwise work (op.hpp)', 'sim/op.hpp', '    default:\n      return op_out_elems(op);', '    default:\n      return 1.1 * op_out_elems(op);'),
 ('FC bias (op.hpp)', 'sim/op.hpp', 'p = static_cast<double>(op.in_c) * op.out_c + op.out_c;', 'p = static_cast<double>(op.in_c) * op.out_c + 1.1 * op.out_c;'),
 ('conv weights (op.hpp)', 'sim/op.hpp', '      p = static_cast<double>(op.out_c) * (static_cast<double>(op.in_c) / op.groups) * op.kernel *', '      p = 1.1 * static_cast<double>(op.out_c) * (static_cast<double>(op.in_c) / op.groups) * op.kernel *'),
 ('residual add reads two (op.hpp)', 'sim/op.hpp', 'op.kind == OpKind::kAdd ? 2.0 * op_in_elems(op)', 'op.kind == OpKind::kAdd ? 2.2 * op_in_elems(op)'),
 ('logic: kOpZero not pruned', 'sim/latency_model.hpp', 'const unsigned pruned = kOpDead | kOpZero | zero_fed;', 'const unsigned pruned = kOpDead | zero_fed;'),
 ('logic: zero-fed always folded', 'sim/latency_model.hpp', 'd.fold_zero_inputs ? static_cast<unsigned>(kOpZeroFed) : 0u', 'static_cast<unsigned>(kOpZeroFed)'),
 ('logic: capacity test strict', 'sim/latency_model.hpp', 'prev_out_bytes <= static_cast<double>(d.onchip_bytes)', 'prev_out_bytes < static_cast<double>(d.onchip_bytes)'),
 ('logic: fresh walk treats input as on chip', 'sim/latency_model.hpp', '(op.flags & kOpFromPrev) != 0 && prev_out_bytes >= 0.0', '(op.flags & kOpFromPrev) != 0'),
 ('logic: unfused BN ignored', 'sim/latency_model.hpp', 'if ((op.flags & kOpBn) != 0) launch_kernel', 'if (false) launch_kernel'),
]


def flags_and_libs(build):
    d = os.path.join(build, "tests", "CMakeFiles", "proxysim_tests.dir")
    flags = {}
    for line in open(os.path.join(d, "flags.make")):
        if " = " in line and not line.startswith("#"):
            k, v = line.rstrip("\n").split(" = ", 1)
            flags[k] = shlex.split(v)
    compile_flags = flags["CXX_DEFINES"] + flags["CXX_INCLUDES"] + flags["CXX_FLAGS"]
    link = open(os.path.join(d, "link.txt")).read().split("-o proxysim_tests", 1)[1]
    libs = [os.path.normpath(os.path.join(build, "tests", a)) if a.endswith(".a") and not a.startswith("/") else a
            for a in shlex.split(link)]
    return compile_flags, libs


def run(i, scratch, compile_flags, libs):
    name, rel, old, new = PERTURBATIONS[i]
    tree = os.path.join(scratch, str(i))
    for sub in ("sim", "kernels"):
        os.makedirs(os.path.join(tree, sub))
        for h in os.listdir(os.path.join(ROOT, sub)):
            if h.endswith((".hpp", ".inc")):
                shutil.copy(os.path.join(ROOT, sub, h), os.path.join(tree, sub, h))
    path = os.path.join(tree, rel)
    text = open(path).read()
    if text.count(old) != 1:
        return name, "text found %d times (the model changed: update this entry)" % text.count(old)
    open(path, "w").write(text.replace(old, new))
    # The test is copied too, so that its quoted includes do not find the originals beside it.
    os.makedirs(os.path.join(tree, "tests", "sim"))
    test = os.path.join(tree, "tests", "sim", "latency_hand_test.cpp")
    shutil.copy(os.path.join(ROOT, "tests", "sim", "latency_hand_test.cpp"), test)
    exe = os.path.join(tree, "latency_hand_test")
    r = subprocess.run(["c++", "-I" + tree, *compile_flags, "-O1", test, "-o", exe, *libs], capture_output=True, text=True)
    if r.returncode:
        return name, "build failed: " + r.stderr[-600:]
    r = subprocess.run([exe, "--gtest_brief=1"], capture_output=True, text=True)
    failed = sorted(set(re.findall(r"\[  FAILED  \] LatencyHand\.(\w+)", r.stdout)))
    if not failed and "PASSED" not in r.stdout:
        return name, "no verdict: " + (r.stdout + r.stderr)[-400:]
    return name, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("indices", nargs="*", type=int)
    a = ap.parse_args()
    compile_flags, libs = flags_and_libs(os.path.abspath(a.build))
    indices = a.indices or range(len(PERTURBATIONS))
    missed = 0
    with tempfile.TemporaryDirectory(prefix="perturb_latency_") as scratch, ThreadPoolExecutor(a.j) as ex:
        for i, (name, failed) in zip(indices, ex.map(lambda i: run(i, scratch, compile_flags, libs), indices)):
            print("%2d  %-42s %s" % (i, name, (", ".join(failed) or "no test fails") if isinstance(failed, list) else failed), flush=True)
            caught = isinstance(failed, list) and (bool(failed) == (i != 0))
            missed += not caught
    print("%d of %d entries as expected" % (len(indices) - missed, len(indices)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
