#include "scenarios/reachability_goals.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace snapsim {
namespace {

// Counter, its minimum in a sweep of 100 seeds (0: none at that size: too rare to be sure of), and in one of 2000.
// The same minimums for swarm and swarm-recoverable: both draw the same mix but for the unrecoverable kind, and reach
// these paths at rates within 20% of each other. Measured on 2026-12-07: swarm-recoverable seeds 1-2000 and swarm
// seeds 2001-4000 (scenarios/README.md, "Reachability goals", has the counts). A minimum is a third of the smaller
// count at 2000 seeds, and a quarter of the count expected in 100 seeds; a counter expected fewer than 8 times in 100
// seeds has no 100-seed goal.
//
// Not goals, on purpose: JOB_FAILOVER_REGION and CHECKPOINT_COORDINATOR_SHUTDOWN aborts (a restart and a stop stop
// triggering first, which aborts with CHECKPOINT_COORDINATOR_SUSPEND, as Flink's RESTARTING and CANCELLING do);
// ACKNOWLEDGED_STATE_REFUSED ("decline by registration": only a notification a fault delayed past a newer trigger
// causes it since the registry holds what a pending checkpoint may reuse; 0 in the 4000 seeds);
// CHECKPOINT_DECLINED_TASK_NOT_READY (a trigger already on its way to a task that failed: 1 in 4000);
// TOO_MANY_CHECKPOINT_REQUESTS (1000 queued requests).
struct SwarmGoal {
  const char* counter;
  int at_100;
  int at_2000;
};

constexpr SwarmGoal kSwarmGoals[] = {
    // Faults of every recoverable kind fire (faults/fault_model.h).
    {"fault upload-fails-before", 102, 2721},
    {"fault upload-fails-after", 49, 1315},
    {"fault upload-partial", 59, 1579},
    {"fault storage-slow", 298, 7970},
    {"fault download-fails", 22, 609},
    {"fault download-corrupts", 24, 646},
    {"fault disk-fails", 45, 1202},
    {"fault disk-full", 25, 670},
    {"fault delete-fails", 74, 1992},
    {"local corruption", 15, 419},
    // Restarts of every kind, and what a restore may take.
    {"task failure (injected), tasks restarted", 12, 339},
    {"hard kill", 13, 371},
    {"machine crash", 12, 343},
    {"process restart, local state reloaded", 20, 554},
    {"machine reboot, local state reloaded", 10, 277},
    {"coordinator failover", 22, 596},
    {"restore from local state", 93, 2505},
    {"restore from storage", 448, 11966},
    {"restore from a local copy reloaded after a restart", 8, 227},
    {"restore from a local copy reloaded after power loss", 3, 90},
    {"local recovery fell back to storage", 182, 4873},
    {"local restore failed by a fault, storage used", 4, 113},
    {"rescaled restore (key-group clip)", 207, 5527},
    {"restore cancelled by another subtask's failed deployment", 48, 1293},
    {"placeholder reuse", 1765, 47083},
    {"accepted orphans", 114, 3065},
    {"operator snapshot discarded with its task's", 47, 1258},
    // Resumes in every mode, and savepoints in both formats.
    {"resume CLAIM", 11, 305},
    {"resume NO_CLAIM", 11, 305},
    {"resume LEGACY", 11, 299},
    {"resume switching full <-> incremental", 16, 439},
    {"resume at another parallelism", 22, 597},
    {"resume from a savepoint", 11, 301},
    {"resume with another operator chain", 5, 147},
    {"savepoint native", 19, 514},
    {"savepoint canonical", 23, 625},
    // The job manager's decisions (invariant 12): every abort reason the world can cause, the failure accounting's
    // paths, and the trigger's.
    {"abort CHECKPOINT_EXPIRED", 38, 1019},
    {"abort CHECKPOINT_SUBSUMED", 8, 220},
    {"abort CHECKPOINT_ASYNC_EXCEPTION", 71, 1915},
    {"abort CHECKPOINT_COORDINATOR_SUSPEND", 51, 1368},
    {"abort FINALIZE_CHECKPOINT_FAILURE", 13, 354},
    {"abort CHECKPOINT_DECLINED_SUBSUMED", 0, 45},
    {"abort TASK_FAILURE", 10, 288},
    {"decision: failover by tolerable failures", 21, 571},
    {"decision: failover by a task's failed synchronous savepoint", 2, 71},
    {"decision: failure counted (CHECKPOINT_EXPIRED)", 13, 361},
    {"decision: failure counted (CHECKPOINT_ASYNC_EXCEPTION)", 31, 841},
    {"decision: failure counted (FINALIZE_CHECKPOINT_FAILURE)", 5, 144},
    {"decision: failure older than the last success not counted", 4, 114},
    {"decision: a completion reset the failure count", 9, 255},
    {"decision: decline not counted", 5, 143},
    {"decision: periodic trigger rescheduled after the min pause", 43, 1172},
    {"request rejected MINIMUM_TIME_BETWEEN_CHECKPOINTS", 43, 1172},
    {"request rejected NOT_ALL_REQUIRED_TASKS_RUNNING", 13, 360},
    {"task outcome: synchronous part failed", 13, 364},
    {"task outcome: asynchronous part failed", 99, 2640},
    {"task outcome: cancelled", 132, 3542},
    {"task outcome: trigger duplicate", 8, 223},
    {"task outcome: trigger refused", 7, 186},
};

// Only the unrestricted swarm draws storage-rot, the one unrecoverable kind (about 160 firings in 2000 seeds).
constexpr SwarmGoal kUnrestrictedGoals[] = {
    {"fault storage-rot", 2, 58},
    {"job lost to storage-rot", 0, 47},
    {"snapshot lost to storage-rot", 2, 66},
};

// The lifecycle generator: one fixed shape, every seed a failover, a crash and a coordinator failover, a resume
// with the mode switched, local recovery flipped and another parallelism. No storage faults: message fates only.
// Measured on seeds 1-500; the 2000-seed minimums are a third of four times that.
constexpr SwarmGoal kLifecycleGoals[] = {
    {"coordinator failover", 25, 666},
    {"machine crash", 13, 346},
    {"hard kill", 12, 320},
    {"resume switching full <-> incremental", 25, 666},
    {"resume at another parallelism", 25, 666},
    {"resume CLAIM", 7, 198},
    {"resume NO_CLAIM", 8, 234},
    {"resume LEGACY", 8, 233},
    {"restore from storage", 163, 4357},
    {"restore from local state", 88, 2364},
    {"rescaled restore (key-group clip)", 52, 1406},
    {"savepoint native", 27, 728},
    {"savepoint canonical", 28, 756},
    {"placeholder reuse", 7739, 206384},
    {"decision: periodic trigger", 557, 14856},
    {"abort CHECKPOINT_COORDINATOR_SUSPEND", 104, 2796},
    {"abort CHECKPOINT_SUBSUMED", 30, 804},
    {"abort CHECKPOINT_EXPIRED", 8, 229},
    {"abort CHECKPOINT_DECLINED_SUBSUMED", 8, 233},
    {"task outcome: trigger duplicate", 17, 456},
};

std::vector<ReachabilityGoal> BuildGoals() {
  std::vector<ReachabilityGoal> goals;
  auto add = [&goals](const char* generator, const SwarmGoal& goal) {
    if (goal.at_100 > 0) goals.push_back(ReachabilityGoal{goal.counter, generator, 100, goal.at_100});
    goals.push_back(ReachabilityGoal{goal.counter, generator, 2000, goal.at_2000});
  };
  for (const SwarmGoal& goal : kSwarmGoals) {
    add("swarm", goal);
    add("swarm-recoverable", goal);
  }
  for (const SwarmGoal& goal : kUnrestrictedGoals) add("swarm", goal);
  for (const SwarmGoal& goal : kLifecycleGoals) add("lifecycle", goal);
  return goals;
}

}  // namespace

const std::vector<ReachabilityGoal>& ReachabilityGoals() {
  static const std::vector<ReachabilityGoal>* goals = new std::vector<ReachabilityGoal>(BuildGoals());
  return *goals;
}

absl::StatusOr<ReachabilityGoal> ParseRequiredGoal(absl::string_view text, const std::string& generator) {
  const size_t colon = text.rfind(':');
  int minimum = 0;
  if (colon == absl::string_view::npos || colon == 0 || !absl::SimpleAtoi(text.substr(colon + 1), &minimum) ||
      minimum < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--require takes COUNTER:MINIMUM, a coverage counter and a positive count ('", text, "')"));
  }
  return ReachabilityGoal{std::string(text.substr(0, colon)), generator, 0, minimum};
}

GoalReport JudgeGoals(const std::string& generator, uint64_t seeds, const std::map<std::string, int>& coverage,
                      const std::vector<ReachabilityGoal>& required) {
  GoalReport report;
  auto judge = [&](const ReachabilityGoal& goal) {
    if (goal.generator != generator || seeds < goal.seeds) return;
    ++report.applied;
    auto found = coverage.find(goal.counter);
    const int count = found == coverage.end() ? 0 : found->second;
    if (count >= goal.minimum) return;
    report.unreached.push_back(
        absl::StrCat(goal.counter, ": ", count, ", at least ", goal.minimum,
                     goal.seeds > 0 ? absl::StrCat(" in a sweep of ", goal.seeds, " seeds of ", generator)
                                    : std::string(" (--require)")));
  };
  for (const ReachabilityGoal& goal : ReachabilityGoals()) judge(goal);
  for (const ReachabilityGoal& goal : required) judge(goal);
  return report;
}

std::vector<std::string> GoalCounters(const std::string& generator) {
  std::set<std::string> counters;
  for (const ReachabilityGoal& goal : ReachabilityGoals()) {
    if (goal.generator == generator) counters.insert(goal.counter);
  }
  return std::vector<std::string>(counters.begin(), counters.end());
}

}  // namespace snapsim
