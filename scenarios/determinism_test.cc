#include <gtest/gtest.h>

#include "scenarios/world_demo.h"

namespace snapsim {
namespace {

WorldDemoResult RunDemo(uint64_t seed) {
  WorldDemoOptions options;
  options.seed = seed;
  options.keys = 300;
  absl::StatusOr<WorldDemoResult> result = RunWorldDemo(options);
  EXPECT_TRUE(result.ok()) << result.status() << "\n  reproduce: bazel run //:snapsim_demo -- --seed=" << seed
                           << " --keys=300";
  return result.ok() ? *result : WorldDemoResult{};
}

TEST(DeterminismTest, SameSeedSameTraceHashInOneProcess) {
  for (uint64_t seed : {1, 2, 3}) {
    const WorldDemoResult first = RunDemo(seed);
    const WorldDemoResult second = RunDemo(seed);
    EXPECT_NE(first.trace_hash, 0u);
    EXPECT_EQ(first.trace_hash, second.trace_hash) << "seed " << seed;
    EXPECT_EQ(first.trace_events, second.trace_events) << "seed " << seed;
    EXPECT_EQ(first.virtual_time_micros, second.virtual_time_micros) << "seed " << seed;
    EXPECT_EQ(first.restored_keys, 300);
  }
}

TEST(DeterminismTest, DifferentSeedsExploreDifferentRuns) {
  EXPECT_NE(RunDemo(1).trace_hash, RunDemo(2).trace_hash);
}

TEST(DeterminismTest, KeptTraceIsTheOneThatWasHashed) {
  WorldDemoOptions options;
  options.seed = 5;
  options.keys = 50;
  options.keep_trace_events = true;
  absl::StatusOr<WorldDemoResult> kept = RunWorldDemo(options);
  ASSERT_TRUE(kept.ok()) << kept.status();
  options.keep_trace_events = false;
  absl::StatusOr<WorldDemoResult> hashed = RunWorldDemo(options);
  ASSERT_TRUE(hashed.ok()) << hashed.status();
  EXPECT_EQ(kept->trace_hash, hashed->trace_hash);
  EXPECT_NE(kept->trace_text.find("object-store finish chk-1/"), std::string::npos);
  EXPECT_NE(kept->trace_text.find("machine:tm-0 crash"), std::string::npos);
  EXPECT_NE(kept->chrome_trace_json.find("\"traceEvents\""), std::string::npos);
}

}  // namespace
}  // namespace snapsim
