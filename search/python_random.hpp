// CPython's `random` module, as far as drawing a sample of indices goes: the Mersenne
// Twister MT19937 seeded as `random.seed(int)` seeds it (init_by_array over the
// integer's 32-bit words), `getrandbits`, `_randbelow` by rejection, and
// `random.sample(range(n), k)` with both of its algorithms (a shrinking pool for small
// populations, rejection from a set otherwise). The paper's authors drew their 60 + 10
// target samples with `random.seed(1); random.sample(range(m), 70)`; this reproduces
// that draw index for index (tests/search/python_random_test.cpp checks it against
// Python's own output).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace proxysim {

class PythonRandom {
 public:
  explicit PythonRandom(uint64_t seed);
  uint32_t next_u32();                // genrand_uint32
  uint64_t getrandbits(int bits);     // 1 <= bits <= 64
  uint64_t randbelow(uint64_t n);     // uniform in [0, n), n >= 1

 private:
  void init_genrand(uint32_t s);
  void init_by_array(const std::vector<uint32_t>& key);
  std::array<uint32_t, 624> mt_{};
  int index_ = 625;
};

// random.seed(seed); random.sample(range(n), k). Throws UserError unless 0 <= k <= n.
std::vector<int64_t> python_sample(uint64_t seed, int64_t n, int64_t k);

}  // namespace proxysim
