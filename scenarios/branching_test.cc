#include "scenarios/branching.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

// A root run that reached `counters` (name -> first step) and ran `last_step` steps.
RunResult Reached(const std::map<std::string, int>& counters, int last_step = 20) {
  RunResult result;
  result.last_step = last_step;
  for (const auto& [name, step] : counters) {
    result.coverage[name] = 1;
    result.coverage_first_step[name] = step;
  }
  return result;
}

BranchingOptions Options(int suffixes) {
  BranchingOptions options;
  options.suffixes = suffixes;
  options.warmup_runs = 8;
  options.rare_fraction = 0.1;
  return options;
}

TEST(RareStateExplorer, BranchesFromTheStepAfterTheFirstRunToReachARareCounter) {
  RareStateExplorer explorer(Options(4));
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    EXPECT_TRUE(explorer.AfterRootRun(seed, Reached({{"checkpoint completed", 3}})).empty()) << seed;
  }
  const std::vector<BranchRun> branches =
      explorer.AfterRootRun(11, Reached({{"checkpoint completed", 3}, {"checkpoint expired", 7}}));
  ASSERT_EQ(branches.size(), 4u);
  std::set<uint64_t> reseeds;
  for (const BranchRun& branch : branches) {
    EXPECT_EQ(branch.counter, "checkpoint expired");
    EXPECT_EQ(branch.from_step, 8);
    reseeds.insert(branch.reseed);
    const RunOptions options = RareStateExplorer::OptionsFor(branch, RunOptions{});
    EXPECT_EQ(options.reseed_from_step, 8);
    EXPECT_EQ(options.reseed, branch.reseed);
  }
  EXPECT_EQ(reseeds.size(), 4u) << "each branch redraws the rest from its own seed";
  EXPECT_EQ(explorer.branch_points(), 1);
  ASSERT_EQ(explorer.branch_log().size(), 1u);
  EXPECT_EQ(explorer.branch_log()[0], "checkpoint expired (reached by 1 of 11 root runs) after step 7 of seed 11");
  // The same counter again: no second branch point.
  EXPECT_TRUE(explorer.AfterRootRun(12, Reached({{"checkpoint expired", 2}})).empty());
}

TEST(RareStateExplorer, NoBranchDuringTheWarmUpOrForCommonCountersOrAtTheRunsEnd) {
  RareStateExplorer explorer(Options(3));
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    EXPECT_TRUE(explorer.AfterRootRun(seed, Reached({{"rare " + std::to_string(seed), 2}})).empty())
        << "warm-up run " << seed;
  }
  // Reached by 9 of 9 runs: common.
  for (uint64_t seed = 9; seed <= 12; ++seed) {
    EXPECT_TRUE(explorer.AfterRootRun(seed, Reached({{"everywhere", 2}})).empty());
  }
  // Rare, but reached in the run's last step: nothing after it to redraw.
  EXPECT_TRUE(explorer.AfterRootRun(13, Reached({{"at the end", 20}}, 20)).empty());
  EXPECT_EQ(explorer.branch_points(), 0);
}

TEST(RareStateExplorer, PicksTheRarestCounterAndKeepsToItsBudget) {
  BranchingOptions options = Options(2);
  options.max_branch_points = 1;
  RareStateExplorer explorer(options);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    (void)explorer.AfterRootRun(seed, Reached({{"somewhat rare", 4}}, 20));
  }
  // "somewhat rare" is reached by 20 of 20 now; "new" by 1 of 21: the rarest.
  std::vector<BranchRun> branches = explorer.AfterRootRun(21, Reached({{"new", 9}, {"other new", 5}}));
  ASSERT_EQ(branches.size(), 2u);
  EXPECT_EQ(branches[0].counter, "other new") << "a tie goes to the earliest reached";
  EXPECT_TRUE(explorer.AfterRootRun(22, Reached({{"third", 3}})).empty()) << "one branch point is the budget";
}

TEST(RareStateExplorer, OffWithoutSuffixesAndTheSameDecisionsForTheSameRuns) {
  RareStateExplorer off(Options(0));
  RareStateExplorer first(Options(2)), second(Options(2));
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    const RunResult result = Reached({{seed % 11 == 0 ? "rare" : "common", 5}});
    EXPECT_TRUE(off.AfterRootRun(seed, result).empty());
    const std::vector<BranchRun> a = first.AfterRootRun(seed, result);
    const std::vector<BranchRun> b = second.AfterRootRun(seed, result);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].reseed, b[i].reseed);
  }
  EXPECT_EQ(first.branch_points(), 1);
}

}  // namespace
}  // namespace snapsim
