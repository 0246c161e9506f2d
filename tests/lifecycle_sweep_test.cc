// A seed sweep of the job lifecycle: each seed generates a scenario (scenarios/lifecycle_generator.h: a drawn
// configuration, lost, duplicated, delayed and reordered messages, restarts, a resume with another configuration)
// that the executor runs while the checker judges every invariant after every step. One parameterized test per seed, so Bazel's
// sharding (shard_count, through GoogleTest's own sharding) gives every shard its share and the shards together run
// every seed once (tests/sweep_shards_test.sh checks that). SNAPSIM_SWEEP_SEEDS overrides how many.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "scenarios/executor.h"
#include "scenarios/lifecycle_generator.h"

namespace snapsim {
namespace {

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  uint64_t parsed = 0;
  return value != nullptr && absl::SimpleAtoi(value, &parsed) ? parsed : fallback;
}

class LifecycleSweepTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(LifecycleSweepTest, SeedKeepsTheInvariants) {
  const uint64_t seed = GetParam();
  const Scenario scenario = GenerateLifecycleScenario(seed);
  const RunResult result = RunScenario(scenario);
  std::printf("seed %llu ran\n", static_cast<unsigned long long>(seed));
  EXPECT_EQ(result.verdict, RunResult::Verdict::kPass)
      << "seed " << seed << " (" << DescribeConfiguration(scenario.config)
      << "): " << (result.violation.has_value() ? result.violation->ToString() : result.error)
      << "\n  reproduce: bazel run //:snapsim -- sweep --first=" << seed << " --seeds=1"
      << "\n  scenario:\n" << FormatScenario(scenario);
}

INSTANTIATE_TEST_SUITE_P(Seeds, LifecycleSweepTest,
                         ::testing::Range<uint64_t>(1, EnvOr("SNAPSIM_SWEEP_SEEDS", 120) + 1));

}  // namespace
}  // namespace snapsim
