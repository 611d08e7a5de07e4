// The proxysim CLI end to end: the eval result files (built-in devices, a device file, a run config in compiled mode) read back through the HDF5 C API and checked against the search space and a serial reference walk (1e-5 relative: the CLI may pick the CUDA backend), and every user mistake giving exit code 2, one line on stderr and no output or partial file (a read-only folder checked in a child without root's permission overrides, or reported as a skip).
#include <gtest/gtest.h>

#include "tests/support/h5_read.hpp"
#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sim/device_yaml.hpp"
#include "kernels/engine.hpp"
#include "base/rng.hpp"
#include "sim/latency_model.hpp"
#include "sim/space.hpp"
#include "tests/support/spawn.hpp"

namespace fs = std::filesystem;
using namespace proxysim;

namespace {

struct CliResult {
  int code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh folder per test, removed at the end.
class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("proxysim_cli_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_ / "readonly", fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }

  CliResult run(const std::string& args) const {
    const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    const std::string cmd = std::string("'") + PROXYSIM_BINARY + "' " + args + " >'" + out.string() + "' 2>'" +
                            err.string() + "'";
    const int status = std::system(cmd.c_str());
    CliResult r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  // A user mistake: exit 2, one line on stderr that names `part`, and neither the
  // output file nor its partial twin left behind.
  void expect_user_error(const std::string& args, const std::string& part, const fs::path& output) const {
    const CliResult r = run(args);
    EXPECT_EQ(r.code, 2) << args << "\nstderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\nstderr: " << r.err;
    EXPECT_EQ(r.err.rfind("proxysim: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(part), std::string::npos) << args << "\nstderr: " << r.err;
    if (!output.empty()) {
      EXPECT_FALSE(fs::exists(output)) << output;
      EXPECT_FALSE(fs::exists(output.string() + ".partial")) << output;
    }
  }

  fs::path dir_;
};

std::string read_string_attr(hid_t file, const char* name) {
  const hid_t a = H5Aopen_by_name(file, "/", name, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) return "<missing>";
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);  // as written; HDF5 does not convert between character sets
  char* s = nullptr;
  std::string out = "<unreadable>";
  if (H5Aread(a, t, &s) >= 0 && s) {
    out = s;
    H5free_memory(s);
  }
  H5Tclose(t);
  H5Aclose(a);
  return out;
}

const char* kValidDevice = R"(name: cli_test_device
imitates: a test device
source: written in the test
class: cpu
peak_gflops: 100
dram_gbps: 20
onchip_gbps: 100
onchip_bytes: 1048576
bytes_per_element: 4
lanes_out: 8
lanes_in: 1
units: 4
pixels_per_unit: 1
half_util_macs: 1.0e5
efficiency: {pointwise: 0.5, dense3: 0.5, dense5: 0.4, depthwise3: 0.2, depthwise5: 0.2, grouped: 0.3, pool: 0.1, elementwise: 0.1, fully_connected: 0.3}
launch_us: 5
async_launch: false
fuse_bn_act: true
fuse_elementwise: false
prune_dead: false
fold_zero_inputs: false
batch: 1
noise_sigma: 0
resolution_ms: 0
)";

// The serial reference walk of one architecture on one device, with the CLI's
// measurement noise for noise seed 0.
double reference_ms(const SearchSpace& space, const ArchCode& code, const DeviceSpec& dev) {
  LatencyWalk w(dev.params);
  lower_code(space.id(), code.data(), space.params(), w);
  const uint64_t bits = pair_noise_bits(network_hash(space.id(), code.data()), device_noise_key(dev.name, 0));
  return measured_ms(w.total_s, dev.params, bits);
}

}  // namespace

TEST_F(Cli, EvalNb201AllWritesTheLatencyMatrix) {
  const fs::path out = dir_ / "nb201.h5";
  const CliResult r = run("eval --space nb201 --devices all --archs all --out '" + out.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
  const auto& builtin = builtin_devices();
  const hsize_t D = builtin.size();

  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  std::vector<hsize_t> dims;
  const auto lat = read_all<float>(f, "/cells/0/eval/latency_ms", H5T_NATIVE_FLOAT, &dims);
  ASSERT_EQ(dims, (std::vector<hsize_t>{15625, D}));
  const auto codes = read_all<uint8_t>(f, "/cells/0/eval/arch_codes", H5T_NATIVE_UINT8, &dims);
  ASSERT_EQ(dims, (std::vector<hsize_t>{15625, 6}));
  const auto macs = read_all<float>(f, "/cells/0/eval/macs", H5T_NATIVE_FLOAT, &dims);
  ASSERT_EQ(dims, (std::vector<hsize_t>{15625}));
  const auto params = read_all<float>(f, "/cells/0/eval/params", H5T_NATIVE_FLOAT, &dims);
  ASSERT_EQ(dims, (std::vector<hsize_t>{15625}));
  const auto names = read_strings(f, "/cells/0/eval/devices");
  ASSERT_EQ(names.size(), D);
  for (hsize_t d = 0; d < D; ++d) EXPECT_EQ(names[d], builtin[d].name);

  const std::string commit = read_string_attr(f, "git_commit");
  const std::string backend = read_string_attr(f, "backend");
  const std::string config = read_string_attr(f, "config");
  const std::string device_name = read_string_attr(f, "device_name");
  const std::string isa = read_string_attr(f, "build_isa");
  H5Fclose(f);
  for (const std::string* a : {&commit, &backend, &config, &device_name, &isa}) {
    EXPECT_NE(*a, "<missing>");
    EXPECT_NE(*a, "<unreadable>");
  }
  EXPECT_FALSE(commit.empty());
  EXPECT_TRUE(backend == "cpu" || backend == "cuda") << backend;
  EXPECT_NE(config.find("nb201"), std::string::npos) << config;
  EXPECT_FALSE(device_name.empty());
  // What this test binary was compiled for is what the CLI, built with the same flags, records.
#if defined(__x86_64__)
  EXPECT_EQ(isa.rfind("x86-64", 0), 0u) << isa;
#if defined(__FMA__)
  EXPECT_NE(isa.find("+fma"), std::string::npos) << isa;
#else
  EXPECT_EQ(isa.find("+fma"), std::string::npos) << isa;
#endif
#endif

  const SearchSpace space = make_space("nb201");
  for (uint64_t i = 0; i < 15625; ++i) {
    const ArchCode code = space.code_at(i);
    ASSERT_TRUE(std::equal(code.begin(), code.end(), codes.begin() + i * 6)) << "row " << i;
    if (i % 97 != 0) continue;
    const OpTotals t = space.totals(code);
    EXPECT_NEAR(macs[i], t.macs, 1e-6 * t.macs) << i;
    EXPECT_NEAR(params[i], t.params, 1e-6 * t.params) << i;
    for (hsize_t d = 0; d < D; ++d) {
      // The CLI's default noise seed is 0.
      LatencyWalk w(builtin[d].params);
      lower_code(space.id(), code.data(), space.params(), w);
      const uint64_t bits = pair_noise_bits(network_hash(space.id(), code.data()), device_noise_key(builtin[d].name, 0));
      const double want = measured_ms(w.total_s, builtin[d].params, bits);
      EXPECT_NEAR(lat[i * D + d], want, 1e-5 * want) << "row " << i << " device " << builtin[d].name;
    }
  }
}

TEST_F(Cli, EvalWithADeviceFileAndSampledArchs) {
  const fs::path yaml = dir_ / "mine.yaml";
  std::ofstream(yaml) << kValidDevice;
  const fs::path out = dir_ / "sub" / "fbnet.h5";
  const CliResult r = run("eval --space fbnet --archs 300 --seed 4 --devices '" + yaml.string() + "' --quiet --out '" +
                          out.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  std::vector<hsize_t> dims;
  const auto lat = read_all<float>(f, "/cells/0/eval/latency_ms", H5T_NATIVE_FLOAT, &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{300, 1}));
  const auto codes = read_all<uint8_t>(f, "/cells/0/eval/arch_codes", H5T_NATIVE_UINT8, &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{300, 22}));
  EXPECT_EQ(read_strings(f, "/cells/0/eval/devices"), std::vector<std::string>{"cli_test_device"});
  H5Fclose(f);
  const SearchSpace space = make_space("fbnet");
  // The device as written in the file, read independently of the CLI's device list.
  const DeviceSpec dev = parse_device_yaml(kValidDevice, "kValidDevice");
  for (uint64_t i = 0; i < 300; ++i) {
    const ArchCode want = space.sample(4, i);
    ASSERT_TRUE(std::equal(want.begin(), want.end(), codes.begin() + i * 22)) << i;
    const double ms = reference_ms(space, want, dev);
    EXPECT_NEAR(lat[i], ms, 1e-5 * ms) << "architecture " << i;
  }
}

TEST_F(Cli, UserMistakesExitTwoAndLeaveNoFile) {
  const fs::path out = dir_ / "x.h5";
  const std::string o = " --out '" + out.string() + "'";
  expect_user_error("eval --space nb999 --archs all" + o, "nb999", out);
  expect_user_error("eval --space nb201 --archs all --devices no_such_device" + o, "no_such_device", out);

  const fs::path bad = dir_ / "bad_device.yaml";
  std::string text = kValidDevice;
  text.replace(text.find("peak_gflops: 100"), 16, "peak_gflops: fast");
  std::ofstream(bad) << text;
  expect_user_error("eval --space nb201 --archs all --devices '" + bad.string() + "'" + o, bad.string(), out);
  expect_user_error("eval --space nb201 --archs all --devices '" + bad.string() + "'" + o, "peak_gflops", out);
  const fs::path unparsable = dir_ / "unparsable.yaml";
  std::ofstream(unparsable) << "name: [unclosed\n";
  expect_user_error("eval --space nb201 --archs all --devices '" + unparsable.string() + "'" + o, unparsable.string(), out);

  expect_user_error("eval --space nb201 --archs abc" + o, "'abc'", out);
  expect_user_error("eval --space nb201 --archs 0" + o, "'0'", out);
  expect_user_error("eval --space fbnet --archs all" + o, "fbnet", out);
  expect_user_error("eval --space nb201 --archs all --mode sideways" + o, "sideways", out);
}

TEST_F(Cli, UnwritableOutputsExitTwoAndLeaveNoFile) {
  expect_user_error("eval --space nb201 --archs 10 --out /proc/x.h5", "/proc/x.h5", "/proc/x.h5");
  // A folder that cannot exist: a path component is a regular file.
  const fs::path file = dir_ / "plain_file";
  std::ofstream(file) << "not a folder\n";
  const fs::path under_file = file / "sub" / "x.h5";
  expect_user_error("eval --space nb201 --archs 10 --out '" + under_file.string() + "'", under_file.string(), under_file);
}

// A read-only folder. Root ignores mode bits, so the CLI runs in a child that gave up
// root's permission overrides first (tests/support/spawn.hpp, as the fault tests do);
// where even that is not allowed the test says so as a skip.
TEST_F(Cli, ReadOnlyOutputFolderExitsTwoAndLeavesNoFile) {
  const fs::path ro = dir_ / "readonly";
  fs::create_directories(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read | fs::perms::group_exec |
                          fs::perms::others_read | fs::perms::others_exec);
  test::SpawnOptions obey;
  obey.obey_permissions = true;
  const std::string log = (dir_ / "log.txt").string();
  const int probe = test::wait_for(test::spawn({"/usr/bin/touch", (ro / "probe").string()}, log, obey));
  if (probe == 126) GTEST_SKIP() << "cannot drop root's permission overrides here: read-only folder untested";
  ASSERT_NE(probe, 0) << "the folder is writable after chmod 0555: " << slurp(log);

  const fs::path in_ro = ro / "x.h5";
  const int rc = test::wait_for(
      test::spawn({PROXYSIM_BINARY, "eval", "--space", "nb201", "--archs", "10", "--quiet", "--out", in_ro.string()}, log, obey));
  const std::string err = slurp(log);
  EXPECT_EQ(rc, 2) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_EQ(err.rfind("proxysim: error: ", 0), 0u) << err;
  EXPECT_NE(err.find(in_ro.string()), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(in_ro));
  EXPECT_FALSE(fs::exists(in_ro.string() + ".partial"));
}

TEST_F(Cli, RunConfigErrorsNameTheKeyOrFile) {
  const fs::path out = dir_ / "run.h5";
  const fs::path cfg = dir_ / "typo.yaml";
  std::ofstream(cfg) << "name: typo\nspace: nb201\narchs: all\nbogus_setting: 3\nstages: [eval]\noutput: " << out.string()
                     << "\n";
  expect_user_error("run '" + cfg.string() + "'", "bogus_setting", out);
  expect_user_error("run '" + cfg.string() + "'", cfg.string(), out);
  const fs::path missing = dir_ / "no_such_config.yaml";
  expect_user_error("run '" + missing.string() + "'", missing.string(), out);

  const fs::path good = dir_ / "good.yaml";
  std::ofstream(good) << "name: good\nspace: {name: fbnet}\narchs: {sample: 64, seed: 2}\ndevices: all\n"
                      << "stages:\n  - eval: {chunk: 10, mode: compiled}\noutput: " << out.string() << "\n";
  const CliResult r = run("run '" + good.string() + "' --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
  // The compiled-mode latencies against the serial reference walk, every row and device.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  std::vector<hsize_t> dims;
  const auto lat = read_all<float>(f, "/cells/0/eval/latency_ms", H5T_NATIVE_FLOAT, &dims);
  const auto codes = read_all<uint8_t>(f, "/cells/0/eval/arch_codes", H5T_NATIVE_UINT8, &dims);
  H5Fclose(f);
  const auto& builtin = builtin_devices();
  const SearchSpace space = make_space("fbnet");
  ASSERT_EQ(lat.size(), 64 * builtin.size());
  for (uint64_t i = 0; i < 64; ++i) {
    const ArchCode want = space.sample(2, i);
    ASSERT_TRUE(std::equal(want.begin(), want.end(), codes.begin() + i * 22)) << i;
    for (size_t d = 0; d < builtin.size(); ++d) {
      const double ms = reference_ms(space, want, builtin[d]);
      EXPECT_NEAR(lat[i * builtin.size() + d], ms, 1e-5 * ms) << "row " << i << " device " << builtin[d].name;
    }
  }
}

TEST_F(Cli, SpacesAndDevicesAreListed) {
  const CliResult s = run("spaces");
  EXPECT_EQ(s.code, 0) << s.err;
  for (const char* name : {"nb201", "fbnet", "ofa_mbv3", "mbv2"}) EXPECT_NE(s.out.find(name), std::string::npos) << name;
  EXPECT_NE(s.out.find("15625"), std::string::npos);
  const CliResult d = run("devices");
  EXPECT_EQ(d.code, 0) << d.err;
  for (const auto& dev : builtin_devices()) EXPECT_NE(d.out.find(dev.name), std::string::npos) << dev.name;
  const CliResult v = run("devices --verbose");
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.out.find("source:"), std::string::npos);
}
