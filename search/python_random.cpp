#include "search/python_random.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>

#include "base/error.hpp"

namespace proxysim {

namespace {
constexpr int kN = 624;
constexpr int kM = 397;
constexpr uint32_t kMatrixA = 0x9908b0dfu;
constexpr uint32_t kUpper = 0x80000000u;
constexpr uint32_t kLower = 0x7fffffffu;
}  // namespace

// Matsumoto & Nishimura's reference initialisation (mt19937ar.c), which CPython uses.
void PythonRandom::init_genrand(uint32_t s) {
  mt_[0] = s;
  for (int i = 1; i < kN; ++i) {
    mt_[static_cast<size_t>(i)] =
        1812433253u * (mt_[static_cast<size_t>(i - 1)] ^ (mt_[static_cast<size_t>(i - 1)] >> 30)) +
        static_cast<uint32_t>(i);
  }
  index_ = kN;
}

void PythonRandom::init_by_array(const std::vector<uint32_t>& key) {
  init_genrand(19650218u);
  size_t i = 1, j = 0;
  const size_t len = key.size();
  for (size_t k = std::max<size_t>(kN, len); k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key[j] + static_cast<uint32_t>(j);
    ++i;
    ++j;
    if (i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
    if (j >= len) j = 0;
  }
  for (size_t k = kN - 1; k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) - static_cast<uint32_t>(i);
    ++i;
    if (i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
  }
  mt_[0] = 0x80000000u;
  index_ = kN;
}

PythonRandom::PythonRandom(uint64_t seed) {
  // random.seed(int): the absolute value's 32-bit words, least significant first; 0 is one word.
  std::vector<uint32_t> key;
  do {
    key.push_back(static_cast<uint32_t>(seed & 0xffffffffu));
    seed >>= 32;
  } while (seed != 0);
  init_by_array(key);
}

uint32_t PythonRandom::next_u32() {
  if (index_ >= kN) {
    for (int k = 0; k < kN; ++k) {
      const uint32_t y = (mt_[static_cast<size_t>(k)] & kUpper) | (mt_[static_cast<size_t>((k + 1) % kN)] & kLower);
      mt_[static_cast<size_t>(k)] = mt_[static_cast<size_t>((k + kM) % kN)] ^ (y >> 1) ^ ((y & 1u) ? kMatrixA : 0u);
    }
    index_ = 0;
  }
  uint32_t y = mt_[static_cast<size_t>(index_++)];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

uint64_t PythonRandom::getrandbits(int bits) {
  if (bits <= 32) return next_u32() >> (32 - bits);
  // CPython fills 32-bit words least significant first and drops the last word's surplus.
  const uint64_t low = next_u32();
  const uint64_t high = next_u32() >> (64 - bits);
  return low | (high << 32);
}

uint64_t PythonRandom::randbelow(uint64_t n) {
  int bits = 0;
  for (uint64_t v = n; v != 0; v >>= 1) ++bits;  // n.bit_length()
  uint64_t r = getrandbits(bits);
  while (r >= n) r = getrandbits(bits);
  return r;
}

std::vector<int64_t> python_sample(uint64_t seed, int64_t n, int64_t k) {
  if (k < 0 || k > n) {
    throw UserError("python_sample: a sample of " + std::to_string(k) + " from " + std::to_string(n) +
                    " architectures");
  }
  PythonRandom rng(seed);
  std::vector<int64_t> out(static_cast<size_t>(k));
  // CPython's switch between its two algorithms: a set costs more than a list copy
  // for small populations.
  int64_t setsize = 21;
  if (k > 5) setsize += static_cast<int64_t>(std::pow(4.0, std::ceil(std::log(3.0 * static_cast<double>(k)) / std::log(4.0))));
  if (n <= setsize) {
    std::vector<int64_t> pool(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) pool[static_cast<size_t>(i)] = i;
    for (int64_t i = 0; i < k; ++i) {
      const auto j = static_cast<size_t>(rng.randbelow(static_cast<uint64_t>(n - i)));
      out[static_cast<size_t>(i)] = pool[j];
      pool[j] = pool[static_cast<size_t>(n - i - 1)];
    }
    return out;
  }
  std::unordered_set<int64_t> selected;
  for (int64_t i = 0; i < k; ++i) {
    auto j = static_cast<int64_t>(rng.randbelow(static_cast<uint64_t>(n)));
    while (selected.count(j)) j = static_cast<int64_t>(rng.randbelow(static_cast<uint64_t>(n)));
    selected.insert(j);
    out[static_cast<size_t>(i)] = j;
  }
  return out;
}

}  // namespace proxysim
