// A seed sweep of the job lifecycle (sim/job_lifecycle.h): each seed draws a configuration, runs a simulated job
// under lost and duplicated messages and restarts, resumes it with another configuration, and checks restore
// equality, ownership and that storage holds only referenced files. Sharded by Bazel (shard_count): each shard
// runs the seeds with seed % TEST_TOTAL_SHARDS == TEST_SHARD_INDEX. SNAPSIM_SWEEP_SEEDS overrides how many.
#include <cstdint>
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

TEST(JobLifecycleSweepTest, EverySeedKeepsTheInvariants) {
  const uint64_t seeds = EnvOr("SNAPSIM_SWEEP_SEEDS", 120);
  const uint64_t shards = EnvOr("TEST_TOTAL_SHARDS", 1);
  const uint64_t shard = EnvOr("TEST_SHARD_INDEX", 0);
  if (const char* status_file = std::getenv("TEST_SHARD_STATUS_FILE")) {
    std::FILE* file = std::fopen(status_file, "w");  // tells Bazel this test shards
    if (file != nullptr) std::fclose(file);
  }
  int ran = 0;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    if (seed % shards != shard) continue;
    JobLifecycleReport report;
    absl::Status status = RunJobLifecycleForSeed(seed, &report);
    EXPECT_TRUE(status.ok()) << "seed " << seed << " (" << report.configuration << "): " << status.message()
                             << "\n  reproduce: bazel run //:snapsim_demo -- --job_only --seed=" << seed;
    ++ran;
  }
  EXPECT_GT(ran, 0);
}

}  // namespace
}  // namespace snapsim
