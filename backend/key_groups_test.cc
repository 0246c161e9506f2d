#include "backend/key_groups.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace snapsim {
namespace {

// Golden values computed by running Flink's algorithm (KeyGroupRangeAssignment.assignToKeyGroup with
// MathUtils.murmurHash, and String.hashCode) on a JVM.
struct GoldenKey {
  const char* key;
  int32_t java_hash_code;
  int key_group_128;
  int key_group_256;
  int key_group_32768;
};

constexpr GoldenKey kGoldenKeys[] = {
    {"", 0, 94, 222, 31198},
    {"a", 97, 81, 209, 19409},
    {"b", 98, 22, 150, 29846},
    {"key-0", 101943362, 31, 159, 19359},
    {"key-1", 101943363, 54, 54, 23094},
    {"key-2", 101943364, 126, 254, 21758},
    {"key-3", 101943365, 20, 148, 11412},
    {"key-17", -1134722988, 96, 224, 26592},
    {"user_42", -147134606, 42, 42, 28714},
    {"flink", 97520992, 98, 226, 16610},
    {"Hello, World!", 1498789909, 86, 86, 19542},
    {"snapsim", -2069020467, 29, 29, 27677},
    {"0123456789abcdef", 285443752, 61, 189, 24765},
};

TEST(KeyGroupsTest, KeyGroupsMatchFlinkForGoldenKeys) {
  for (const GoldenKey& golden : kGoldenKeys) {
    SCOPED_TRACE(golden.key);
    EXPECT_EQ(JavaStringHashCode(golden.key), golden.java_hash_code);
    EXPECT_EQ(AssignKeyToKeyGroup(golden.key, 128), golden.key_group_128);
    EXPECT_EQ(AssignKeyToKeyGroup(golden.key, 256), golden.key_group_256);
    EXPECT_EQ(AssignKeyToKeyGroup(golden.key, 32768), golden.key_group_32768);
  }
}

TEST(KeyGroupsTest, MurmurHashMatchesFlinkIncludingMinValue) {
  EXPECT_EQ(MurmurHash(0), 593689054);
  EXPECT_EQ(MurmurHash(1), 68075478);
  EXPECT_EQ(MurmurHash(-1), 1982413648);
  EXPECT_EQ(MurmurHash(42), 1134849565);
  EXPECT_EQ(MurmurHash(1000), 3506311);
  EXPECT_EQ(MurmurHash(INT32_MIN), 1718298732);
}

TEST(KeyGroupsTest, RangesSplitOverParallelismAsFlink) {
  struct Case {
    int max_parallelism, parallelism, index, start, end;
  };
  const Case cases[] = {
      {128, 1, 0, 0, 127},       {128, 3, 0, 0, 42},        {128, 3, 1, 43, 85},       {128, 3, 2, 86, 127},
      {128, 7, 0, 0, 18},        {128, 7, 3, 55, 73},       {128, 7, 6, 110, 127},     {10, 3, 0, 0, 3},
      {10, 3, 1, 4, 6},          {10, 3, 2, 7, 9},          {32768, 5, 0, 0, 6553},    {32768, 5, 1, 6554, 13107},
      {32768, 5, 4, 26215, 32767}, {256, 256, 7, 7, 7},
  };
  for (const Case& c : cases) {
    absl::StatusOr<KeyGroupRange> range =
        ComputeKeyGroupRangeForOperatorIndex(c.max_parallelism, c.parallelism, c.index);
    ASSERT_TRUE(range.ok()) << range.status();
    EXPECT_EQ(*range, KeyGroupRange(c.start, c.end))
        << "maxP=" << c.max_parallelism << " p=" << c.parallelism << " i=" << c.index << " got "
        << range->ToString();
  }
}

TEST(KeyGroupsTest, DefaultMaxParallelismMatchesFlink) {
  EXPECT_EQ(ComputeDefaultMaxParallelism(1), 128);
  EXPECT_EQ(ComputeDefaultMaxParallelism(85), 128);
  EXPECT_EQ(ComputeDefaultMaxParallelism(86), 256);
  EXPECT_EQ(ComputeDefaultMaxParallelism(1000), 2048);
  EXPECT_EQ(ComputeDefaultMaxParallelism(30000), 32768);
}

TEST(KeyGroupsTest, RejectsInvalidParallelism) {
  EXPECT_FALSE(ComputeKeyGroupRangeForOperatorIndex(0, 1, 0).ok());
  EXPECT_FALSE(ComputeKeyGroupRangeForOperatorIndex(32769, 1, 0).ok());
  EXPECT_FALSE(ComputeKeyGroupRangeForOperatorIndex(4, 8, 0).ok());
  EXPECT_FALSE(ComputeKeyGroupRangeForOperatorIndex(128, 2, 2).ok());
  EXPECT_FALSE(ValidateMaxParallelism(-3).ok());
}

TEST(KeyGroupsTest, PrefixBytes) {
  EXPECT_EQ(KeyGroupPrefixBytes(128), 1);
  EXPECT_EQ(KeyGroupPrefixBytes(129), 2);
  EXPECT_EQ(KeyGroupPrefixBytes(32768), 2);
}

TEST(KeyGroupsTest, RangeIntersectionAndEmpty) {
  EXPECT_EQ(KeyGroupRange(0, 10).Intersection(KeyGroupRange(5, 20)), KeyGroupRange(5, 10));
  EXPECT_TRUE(KeyGroupRange(0, 4).Intersection(KeyGroupRange(5, 9)).empty());
  EXPECT_EQ(KeyGroupRange::Empty().size(), 0);
  EXPECT_FALSE(KeyGroupRange::Empty().Contains(0));
}

// Every key group belongs to exactly the operator whose range contains it, and the ranges tile [0, maxP).
RC_GTEST_PROP(KeyGroupsProperty, RangesTileAndInvertOperatorIndex, ()) {
  const int max_parallelism = *rc::gen::inRange(1, kUpperBoundMaxParallelism + 1);
  const int parallelism = *rc::gen::inRange(1, std::min(max_parallelism, 300) + 1);
  int next = 0;
  for (int index = 0; index < parallelism; ++index) {
    absl::StatusOr<KeyGroupRange> range =
        ComputeKeyGroupRangeForOperatorIndex(max_parallelism, parallelism, index);
    RC_ASSERT(range.ok());
    RC_ASSERT(range->start() == next);
    RC_ASSERT(!range->empty());
    RC_ASSERT(ComputeOperatorIndexForKeyGroup(max_parallelism, parallelism, range->start()) == index);
    RC_ASSERT(ComputeOperatorIndexForKeyGroup(max_parallelism, parallelism, range->end()) == index);
    next = range->end() + 1;
  }
  RC_ASSERT(next == max_parallelism);
}

RC_GTEST_PROP(KeyGroupsProperty, KeyGroupIsWithinMaxParallelism, (std::string key)) {
  const int max_parallelism = *rc::gen::inRange(1, kUpperBoundMaxParallelism + 1);
  const int key_group = AssignKeyToKeyGroup(key, max_parallelism);
  RC_ASSERT(key_group >= 0);
  RC_ASSERT(key_group < max_parallelism);
}

}  // namespace
}  // namespace snapsim
