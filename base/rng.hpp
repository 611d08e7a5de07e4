// Counter-based random numbers: every draw is a pure function of (seed, counters),
// so architecture i of seed s is the same on every backend and in every chunking.
#pragma once
#include <cstdint>

#include "base/hd.hpp"

namespace proxysim {

// SplitMix64 finaliser (Steele, Lea, Flood 2014), a bijective 64-bit mixer.
PROXYSIM_HD inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

PROXYSIM_HD inline uint64_t counter_hash(uint64_t seed, uint64_t a, uint64_t b) {
  return mix64(mix64(mix64(seed) ^ a) ^ (b * 0xd1342543de82ef95ull));
}

// Uniform integer in [0, n) from 32 random bits (Lemire 2019, multiply-shift).
PROXYSIM_HD inline uint32_t bounded(uint64_t bits, uint32_t n) {
  return static_cast<uint32_t>(((bits >> 32) * static_cast<uint64_t>(n)) >> 32);
}

// Uniform double in (0, 1) from the top 53 bits.
PROXYSIM_HD inline double unit_open(uint64_t bits) {
  return (static_cast<double>(bits >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

}  // namespace proxysim
