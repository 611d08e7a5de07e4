// Whether this test binary runs under AddressSanitizer (the `sanitize` preset). Tests
// whose cost is statistical (many seeds or targets for a bound on a mean) keep every
// check and run a named subset there: instrumentation makes them 3-10x slower, and
// what the sanitizers look for is in the code paths, which the subset runs in full.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define PROXYSIM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROXYSIM_TEST_ASAN 1
#endif
#endif
#ifndef PROXYSIM_TEST_ASAN
#define PROXYSIM_TEST_ASAN 0
#endif

namespace proxysim::test {
inline constexpr bool kSanitized = PROXYSIM_TEST_ASAN != 0;
}  // namespace proxysim::test
