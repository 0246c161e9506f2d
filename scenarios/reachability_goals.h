// The reachability goals: every rare path a sweep must reach, named by its coverage counter, with the minimum count
// a sweep of at least N seeds of a generator reaches. A sweep of that size that leaves a goal unreached fails,
// naming it: a path nobody reaches any more is a path no sweep judges (a generator change, a fault that stopped
// firing, a refactor that moved a counter). After FoundationDB's code probes and Antithesis's "sometimes"
// assertions.
//
// Minimums are set from measured sweeps with a wide margin (the table's comment gives the measurement), so they hold
// for any range of seeds of that size, not only the measured one. A goal applies to sweeps of at least `seeds`
// seeds; several tiers of one counter may stand side by side (a few seeds reach it once, thousands reach it often).
#ifndef SNAPSIM_SCENARIOS_REACHABILITY_GOALS_H_
#define SNAPSIM_SCENARIOS_REACHABILITY_GOALS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace snapsim {

struct ReachabilityGoal {
  std::string counter;
  // "swarm", "swarm-recoverable" or "lifecycle".
  std::string generator;
  // The goal applies to sweeps of at least this many seeds.
  uint64_t seeds = 0;
  int minimum = 1;
};

const std::vector<ReachabilityGoal>& ReachabilityGoals();

// "COUNTER:MIN" (a sweep's --require): a goal for one sweep, whatever its size.
absl::StatusOr<ReachabilityGoal> ParseRequiredGoal(absl::string_view text, const std::string& generator);

struct GoalReport {
  // Goals that applied to the sweep, and those it left unreached: "checkpoint expired: 3, at least 10 in a sweep
  // of 100 seeds of swarm".
  int applied = 0;
  std::vector<std::string> unreached;
};

// Judges a sweep of `seeds` seeds of `generator` that reached `coverage`, against the table and `required`.
GoalReport JudgeGoals(const std::string& generator, uint64_t seeds, const std::map<std::string, int>& coverage,
                      const std::vector<ReachabilityGoal>& required = {});

// Every counter some goal of `generator` names (the sweep lists those that stayed zero).
std::vector<std::string> GoalCounters(const std::string& generator);

}  // namespace snapsim

#endif  // SNAPSIM_SCENARIOS_REACHABILITY_GOALS_H_
