// The swarm sweep in the default suite: each seed generates a scenario with its own fault mix
// (scenarios/swarm_generator.h), the executor runs it and the checker judges every invariant after every step. One
// parameterized test per seed, so Bazel's sharding (through GoogleTest's) gives every shard its share.
// SNAPSIM_SWARM_SEEDS and SNAPSIM_SWARM_FIRST choose the seeds (`--test_env=SNAPSIM_SWARM_SEEDS=2000`).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "scenarios/executor.h"
#include "scenarios/swarm_generator.h"

namespace snapsim {
namespace {

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  uint64_t parsed = 0;
  return value != nullptr && absl::SimpleAtoi(value, &parsed) ? parsed : fallback;
}

class SwarmSweepTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(SwarmSweepTest, SeedKeepsTheInvariants) {
  const uint64_t seed = GetParam();
  const Scenario scenario = GenerateSwarmScenario(seed);
  const RunResult result = RunScenario(scenario);
  std::printf("seed %llu ran: %s\n", static_cast<unsigned long long>(seed), scenario.description[1].c_str());
  EXPECT_EQ(result.verdict, RunResult::Verdict::kPass)
      << "seed " << seed << ": " << (result.violation.has_value() ? result.violation->ToString() : result.error)
      << "\n  reproduce: bazel run //:snapsim -- sweep --first=" << seed << " --seeds=1"
      << "\n  scenario:\n" << FormatScenario(scenario);
  // A fault kind the seed's mix left out never fires ("faults injected: <kind> xN" notes against the banner).
  const std::string& mix = scenario.description[1];
  for (const std::string& note : result.notes) {
    constexpr absl::string_view kInjected = "faults injected: ";
    if (!absl::StartsWith(note, kInjected)) continue;
    const std::string kind(note.substr(kInjected.size(), note.find(' ', kInjected.size()) - kInjected.size()));
    EXPECT_TRUE(absl::StrContains(mix, absl::StrCat(" ", kind, " ")))
        << "seed " << seed << " injected " << kind << " outside its mix: " << mix;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, SwarmSweepTest,
                         ::testing::Range<uint64_t>(EnvOr("SNAPSIM_SWARM_FIRST", 1),
                                                    EnvOr("SNAPSIM_SWARM_FIRST", 1) +
                                                        EnvOr("SNAPSIM_SWARM_SEEDS", 100)));

}  // namespace
}  // namespace snapsim
