// A seed sweep of the job lifecycle (sim/job_lifecycle.h): each seed draws a configuration, runs a simulated job
// under lost and duplicated messages and restarts, resumes it with another configuration, and checks restore
// equality, ownership and that storage holds only referenced files. One parameterized test per seed, so Bazel's
// sharding (shard_count, through GoogleTest's own sharding) gives every shard its share and the shards together run
// every seed once (tests/sweep_shards_test.sh checks that). SNAPSIM_SWEEP_SEEDS overrides how many.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "sim/job_lifecycle.h"

namespace snapsim {
namespace {

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  uint64_t parsed = 0;
  return value != nullptr && absl::SimpleAtoi(value, &parsed) ? parsed : fallback;
}

class JobLifecycleSweepTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(JobLifecycleSweepTest, SeedKeepsTheInvariants) {
  const uint64_t seed = GetParam();
  JobLifecycleReport report;
  absl::Status status = RunJobLifecycleForSeed(seed, &report);
  std::printf("seed %llu ran\n", static_cast<unsigned long long>(seed));
  EXPECT_TRUE(status.ok()) << "seed " << seed << " (" << report.configuration << "): " << status.message()
                           << "\n  reproduce: bazel run //:snapsim_demo -- --job_only --seed=" << seed;
}

INSTANTIATE_TEST_SUITE_P(Seeds, JobLifecycleSweepTest,
                         ::testing::Range<uint64_t>(1, EnvOr("SNAPSIM_SWEEP_SEEDS", 120) + 1));

}  // namespace
}  // namespace snapsim
