// The executor: runs a scenario step by step in a fresh simulated world (scheduler, object store, machines, the
// simulated job) and has the checker judge the invariants after every step. The one executor serves `snapsim
// replay`, the regression library, and (later) the sweep and the property tests. A run is a pure function of
// (build, scenario): the scenario's `seed` header seeds everything.
#ifndef SNAPSIM_SCENARIOS_EXECUTOR_H_
#define SNAPSIM_SCENARIOS_EXECUTOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "scenarios/checker.h"
#include "scenarios/scenario.h"

namespace snapsim {

struct RunOptions {
  enum class FileSystem { kSim, kPosix };
  // kPosix: real disk and real threads (sim/posix_world.h), in a fresh directory under `posix_directory` (default:
  // $TEST_TMPDIR or $TMPDIR or /tmp), removed afterwards. Checkpoint timeouts are kept between 2 s and 8 s there
  // (timers run in real time; sim/posix_world.h). Not deterministic: for comparing verdicts of passing scenarios.
  FileSystem fs = FileSystem::kSim;
  std::string posix_directory;
  // Keep every trace event (text and Perfetto JSON output); the hash is kept either way.
  bool keep_trace_events = false;
  // Stop after the step with this number (0: run to the end) and dump the world's state.
  int until_step = 0;
  // From the first step numbered `reseed_from_step` or more (0: never), every random draw comes from streams of
  // `reseed` instead of the scenario's seed: the schedule, unique ids, storage and message latencies, fault draws,
  // the bytes of writes. The steps before it replay exactly; the rest is another run (`snapsim explain`). Simulated
  // world only.
  int reseed_from_step = 0;
  uint64_t reseed = 0;
  // The invariants that decide the verdict (empty: all). A violation of another one is kept in
  // RunResult::unjudged and the run goes on, so a property about one invariant judges the whole run.
  std::set<int> judged_invariants;
  // Measuring the harness's own cost (//tests/bench:swarm_throughput_benchmark), never for judging a run:
  // false records no trace (the hash stays constant); false skips restoring every new snapshot in a side world
  // after each step (invariant 1's check; restore and verify steps still restore).
  bool record_trace = true;
  bool side_world_restores = true;
  // Called with one line per step as it ends ("step 3 checkpoint ...: ok at 12345us").
  std::function<void(const std::string&)> progress;
};

struct RunResult {
  enum class Verdict { kPass, kViolation, kBadInput };
  Verdict verdict = Verdict::kPass;
  std::optional<Violation> violation;
  // Violations of invariants outside RunOptions::judged_invariants, in order.
  std::vector<Violation> unjudged;
  // kBadInput: "<file>:<line>:<column>: <what>".
  std::string error;
  uint64_t trace_hash = 0;
  uint64_t trace_events = 0;
  int64_t virtual_time_micros = 0;
  int steps_run = 0;
  // The number of the last step run.
  int last_step = 0;
  int checkpoints_completed = 0;
  int side_world_restores = 0;
  // Side-world restores not run again: the same snapshot, parallelism and bytes restored to its model before.
  int side_world_restores_reused = 0;
  // The simulated world's OS-thread hand-offs and activities (threads) spawned; 0 under --fs=posix.
  uint64_t scheduler_handoffs = 0;
  uint64_t activities_spawned = 0;
  uint64_t threads_started = 0;
  // Reported facts: retries a liveness step needed, accepted orphans.
  std::vector<std::string> notes;
  // What the run reached, by name (faults injected per kind, restore modes, mode switches, rare paths, the job
  // manager's decisions); a sweep sums them and judges them against the reachability goals (reachability_goals.h).
  std::map<std::string, int> coverage;
  // The number of the step after which each counter of `coverage` was first above zero (the end of the run counts as
  // the step after the last): where a run reached a rare path, to branch from (scenarios/branching.h).
  std::map<std::string, int> coverage_first_step;
  std::string trace_text;
  std::string chrome_trace_json;
  // With until_step: the job's state, the registry and the storage listing at that step.
  std::string dump;

  int ExitCode() const { return verdict == Verdict::kPass ? 0 : verdict == Verdict::kViolation ? 1 : 2; }
};

RunResult RunScenario(const Scenario& scenario, const RunOptions& options = {});

}  // namespace snapsim

#endif  // SNAPSIM_SCENARIOS_EXECUTOR_H_
