#include "sim/prng.h"

#include <map>

#include <gtest/gtest.h>

namespace snapsim {
namespace {

// Golden values from an independent implementation of splitmix64 and xoshiro256** (Vigna's reference algorithms):
// a change here changes every recorded scenario's replay.
TEST(PrngTest, SplitMixMatchesReference) {
  uint64_t state = 0;
  EXPECT_EQ(SplitMix64(&state), 0xe220a8397b1dcdafull);
}

TEST(PrngTest, XoshiroOutputsArePinned) {
  Prng zero(0);
  EXPECT_EQ(zero.NextU64(), 0x99ec5f36cb75f2b4ull);
  EXPECT_EQ(zero.NextU64(), 0xbf6e1f784956452aull);
  EXPECT_EQ(zero.NextU64(), 0x1a5f849d4933e6e0ull);
  EXPECT_EQ(zero.NextU64(), 0x6aa594f1262d2d2cull);
  Prng answer(42);
  EXPECT_EQ(answer.NextU64(), 0x15780b2e0c2ec716ull);
  EXPECT_EQ(answer.NextU64(), 0x6104d9866d113a7eull);
  EXPECT_EQ(answer.NextU64(), 0xae17533239e499a1ull);
  EXPECT_EQ(answer.NextU64(), 0xecb8ad4703b360a1ull);
}

TEST(PrngTest, ChildStreamsDependOnNameAndSeedOnly) {
  Prng parent(7);
  Prng before = parent.Child("uploader");
  parent.NextU64();  // drawing from the parent does not move its children
  Prng after = parent.Child("uploader");
  EXPECT_EQ(before.NextU64(), after.NextU64());
  EXPECT_NE(Prng(7).Child("uploader").NextU64(), Prng(7).Child("scheduler").NextU64());
  EXPECT_NE(Prng(7).Child("uploader").NextU64(), Prng(8).Child("uploader").NextU64());
}

TEST(PrngTest, UniformAndRangesStayInBoundsAndCoverThem) {
  Prng prng(3);
  std::map<int64_t, int> seen;
  for (int i = 0; i < 6000; ++i) {
    const int64_t value = prng.UniformInRange(-2, 3);
    ASSERT_GE(value, -2);
    ASSERT_LE(value, 3);
    ++seen[value];
  }
  EXPECT_EQ(seen.size(), 6u);
  for (const auto& [value, count] : seen) EXPECT_GT(count, 800) << value;  // ~1000 expected each
  EXPECT_EQ(prng.UniformBelow(1), 0u);
  // The full int64 range does not overflow.
  (void)prng.UniformInRange(INT64_MIN, INT64_MAX);
}

TEST(PrngTest, ChanceFollowsTheRatio) {
  Prng prng(11);
  int hits = 0;
  for (int i = 0; i < 10000; ++i) hits += prng.Chance(Ratio{1, 4}) ? 1 : 0;
  EXPECT_GT(hits, 2300);
  EXPECT_LT(hits, 2700);
  EXPECT_FALSE(prng.Chance(Ratio{0, 5}));
  EXPECT_TRUE(prng.Chance(Ratio{5, 5}));
}

TEST(PrngTest, WeightedChoiceNeverPicksZeroWeights) {
  Prng prng(5);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 4000; ++i) ++counts[prng.WeightedChoice({3, 0, 1})];
  EXPECT_EQ(counts[1], 0);
  EXPECT_GT(counts[0], 2700);
  EXPECT_GT(counts[2], 800);
}

}  // namespace
}  // namespace snapsim
