// The shrinker: turns a failing scenario into a smaller one that still fails the same invariant. It needs no model
// of the steps: a candidate is kept when the executor still reports a violation of the same invariant, and dropped
// when it passes, fails another invariant, or is bad input (a step the shorter program no longer allows). Passes, to
// a fixed point: cut everything after the violating step; remove chunks of steps, halving the chunk size down to
// single steps (Zeller's ddmin); simplify the header (parallelism, concurrency, retention, local recovery, interval)
// and every argument (integers toward their minimum, words toward their default). Step numbers are kept: they seed
// `writes`, so renumbering would change what a step writes.
//
// After QuickCheck's and Hypothesis's test-case reduction; used by `snapsim shrink` and by sweeps.
#ifndef SNAPSIM_SCENARIOS_SHRINK_H_
#define SNAPSIM_SCENARIOS_SHRINK_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "scenarios/executor.h"
#include "scenarios/scenario.h"

namespace snapsim {

struct ShrinkOptions {
  // Runs of the executor allowed (each candidate is one run); the best scenario so far is returned when exhausted.
  int max_runs = 3000;
  // Called with one line whenever a smaller failing scenario is found.
  std::function<void(const std::string&)> progress;
  // How each candidate runs (judged_invariants: a property about one invariant shrinks to that invariant).
  RunOptions run_options;
  // Runs each candidate (and the original) in a child process (RunScenarioInChildProcess), so that a scenario that
  // crashes the process (a failed assertion inside RocksDB) shrinks like any failure: to one that still crashes.
  bool isolate = false;
};

// A run whose process died: RunScenarioInChildProcess reports it as a violation of this pseudo-invariant, at the step
// that was running (the first one that did not end), with how the process ended.
inline constexpr int kProcessCrashInvariant = -1;

// RunScenario in a forked child process; the parent gets the verdict and the violation (or error) back, not the
// trace or the notes. A child that dies is a kProcessCrashInvariant violation.
RunResult RunScenarioInChildProcess(const Scenario& scenario, const RunOptions& options);

struct ShrinkResult {
  Scenario scenario;
  // The shrunk scenario's run (a violation of `invariant`).
  RunResult result;
  int invariant = 0;
  int runs = 0;
  int steps_before = 0;
  int steps_after = 0;
  // Whether max_runs ran out before a fixed point.
  bool exhausted = false;
};

// Fails with FailedPrecondition when `scenario` does not fail (passes or is bad input).
// How a child process ended without its report: "killed by signal 6 (Aborted)" or "exited with status 3 without a
// report", of a waitpid status (shrink's isolated candidates, and snapsim's sweep workers and replay children).
std::string HowTheProcessEnded(int wait_status);

absl::StatusOr<ShrinkResult> ShrinkScenario(const Scenario& scenario, const ShrinkOptions& options = {});

}  // namespace snapsim

#endif  // SNAPSIM_SCENARIOS_SHRINK_H_
