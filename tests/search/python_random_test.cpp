// Checks proxysim's reimplementation of CPython's random.seed(int) + random.sample(range(m), k)
// against Python's own output (tests/data/adapt/python_sample.csv, written by
// scripts/dev/make_adaproxy_fixtures.py with CPython 3.11): exact equality, index for
// index, since the paper protocol's split must be the authors' split. The cases cover
// both of CPython's sampling algorithms (pool for m <= setsize, set rejection above),
// the boundary m = 277 / 278 at k = 70, seed 0 and a seed wider than 32 bits.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "search/adaptation.hpp"
#include "search/python_random.hpp"
#include "base/error.hpp"

using namespace proxysim;

TEST(PythonRandom, SampleMatchesCPython) {
  std::ifstream in(std::string(PROXYSIM_TEST_DATA) + "/adapt/python_sample.csv");
  ASSERT_TRUE(in) << "missing fixture";
  std::string line;
  std::getline(in, line);  // header
  int cases = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string seed, m, k, sample;
    std::getline(fields, seed, ',');
    std::getline(fields, m, ',');
    std::getline(fields, k, ',');
    std::getline(fields, sample);
    std::vector<int64_t> expected;
    std::istringstream values(sample);
    for (int64_t v; values >> v;) expected.push_back(v);
    EXPECT_EQ(python_sample(std::stoull(seed), std::stoll(m), std::stoll(k)), expected) << line;
    ++cases;
  }
  EXPECT_EQ(cases, 10);
}

TEST(PythonRandom, AuthorsSamplingSplitsTrainThenValidation) {
  const std::vector<double> key(1999, 1.0);  // the authors' draw ignores the proxy
  const SampleSplit s = draw_adaptation_samples(Sampling::kAuthors, 1, key, 60, 10);
  const std::vector<int64_t> all = python_sample(1, 1999, 70);
  EXPECT_EQ(s.train, std::vector<int64_t>(all.begin(), all.begin() + 60));
  EXPECT_EQ(s.validation, std::vector<int64_t>(all.begin() + 60, all.end()));
  EXPECT_THROW(python_sample(1, 10, 11), UserError);
  EXPECT_EQ(sampling_from_name("authors"), Sampling::kAuthors);
}
