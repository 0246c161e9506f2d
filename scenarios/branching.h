// Exploring from rare states (issue #29; Antithesis and moonpool-explorer do it): when a run is the first of a sweep
// to reach a rare coverage counter (a path few runs reach), K more runs replay that run exactly up to the step that
// reached it and redraw everything after it from new seeds (RunOptions::reseed_from_step: the schedule, latencies,
// fault draws, written bytes). A bug that needs two rare events together then needs about one run per rare event
// instead of the product of their rarities.
//
// Rarity is learnt from the runs themselves: after `warmup_runs` root runs, a counter that at most `rare_fraction`
// of the root runs reached is rare. Each counter is a branch point once per explorer (the first run to reach it
// while it is rare); branch runs do not branch again. The budget: at most `max_branch_points` branch points.
#ifndef SNAPSIM_SCENARIOS_BRANCHING_H_
#define SNAPSIM_SCENARIOS_BRANCHING_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "scenarios/executor.h"

namespace snapsim {

struct BranchingOptions {
  // Runs per branch point (0: no branching).
  int suffixes = 0;
  int warmup_runs = 8;
  double rare_fraction = 0.1;
  int max_branch_points = 1'000'000;
};

// One run to make: the root run's scenario again, reseeded from `from_step` with `reseed`.
struct BranchRun {
  std::string counter;  // the rare counter the root run reached
  int from_step = 0;
  uint64_t reseed = 0;
};

class RareStateExplorer {
 public:
  explicit RareStateExplorer(BranchingOptions options) : options_(options) {}

  // After a root run of seed `seed` with `result`: the branch runs to make now (none most of the time).
  std::vector<BranchRun> AfterRootRun(uint64_t seed, const RunResult& result);

  // RunOptions for one branch run.
  static RunOptions OptionsFor(const BranchRun& branch, RunOptions base);

  int root_runs() const { return root_runs_; }
  int branch_points() const { return static_cast<int>(branched_.size()); }
  // "counter (reached by N of M root runs) at step S of seed X", one per branch point, in order.
  const std::vector<std::string>& branch_log() const { return branch_log_; }

 private:
  BranchingOptions options_;
  int root_runs_ = 0;
  std::map<std::string, int> reached_;  // root runs that reached each counter
  std::set<std::string> branched_;
  std::vector<std::string> branch_log_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SCENARIOS_BRANCHING_H_
