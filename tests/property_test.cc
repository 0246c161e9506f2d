// Property tests: generated scenarios judged by the checker, shrunk by RapidCheck to the smallest failing program.
//
// A generated run is a scenario: a header drawn per case and steps drawn from the whole step vocabulary (writes of
// every kind, flushes, compactions, checkpoints and savepoints in both formats, awaited triggers, message fates,
// recoverable storage faults, failovers, crashes, hard kills, coordinator failovers, stops and resumes in every
// restore mode, both checkpoint modes, other parallelisms, restore checks). Steps are RapidCheck state commands: a
// model (StepModel) says which steps the program allows at each point (a resume only after a stop and only from a
// snapshot that surely exists, an await only for a pending trigger, a savepoint named for a later resume only when
// nothing can fail it), both while generating and while shrinking, so a shrunk program is always one the executor
// accepts. Shrinking removes steps and simplifies each step's arguments and the header.
//
// A failing property prints the shrunk scenario in the scenario language, writes it to a file
// ($SNAPSIM_PROPERTY_OUT, else $TEST_UNDECLARED_OUTPUTS_DIR, else /tmp) and prints the `snapsim replay` command;
// RapidCheck prints the RC_PARAMS="reproduce=..." line.
//
// Cases per property: RC_PARAMS="max_success=N" (the default suite runs a bounded number; the sharded target
// //tests:property_long_test runs more).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "rapidcheck/state.h"
#include "faults/fault_model.h"
#include "scenarios/executor.h"
#include "scenarios/scenario.h"
#include "scenarios/shrink.h"
#include "tests/property_generator.h"

namespace snapsim {
namespace {

std::string FailureDirectory() {
  for (const char* variable : {"SNAPSIM_PROPERTY_OUT", "TEST_UNDECLARED_OUTPUTS_DIR"}) {
    if (const char* value = std::getenv(variable); value != nullptr && *value != '\0') return value;
  }
  return "/tmp";
}

// The first failing case, before shrinking, in $SNAPSIM_PROPERTY_OUT/first-failure: "<seconds since the epoch>
// <cases drawn in this process, the failing one included>". The mutation self-test reports cases (and seconds) to
// detection apart from shrinking. Test code, outside the simulated path.
bool failed_once = false;
int64_t cases_drawn = 0;

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// $SNAPSIM_PROPERTY_MAX_CASES (set by the mutation self-test): the detection budget of this process, counted in
// cases over every property it runs, so that a verdict does not depend on the machine's load. Past it, a process in
// which no property has failed yet ends (exit status 3) instead of drawing another case; shrinking a failure found
// within it goes on. Counts a case drawn.
void CountCaseWithinBudget() {
  ++cases_drawn;
  const char* budget = std::getenv("SNAPSIM_PROPERTY_MAX_CASES");
  if (budget == nullptr || failed_once) return;
  if (cases_drawn > std::strtoll(budget, nullptr, 10)) {
    std::printf("detection budget over (SNAPSIM_PROPERTY_MAX_CASES=%s): no property failed\n", budget);
    std::fflush(stdout);
    std::_Exit(3);
  }
}

void NoteFirstFailure() {
  failed_once = true;
  const char* out = std::getenv("SNAPSIM_PROPERTY_OUT");
  if (out == nullptr || *out == '\0') return;
  const std::string path = absl::StrCat(out, "/first-failure");
  if (std::ifstream(path).good()) return;
  const int64_t millis = NowMillis();
  std::ofstream(path) << millis / 1000 << "." << absl::StrFormat("%03d", millis % 1000) << " " << cases_drawn << "\n";
}

// Runs the scenario judging `invariants` (empty: all); a violation fails the property with the scenario printed,
// written to a file, and the commands that reproduce it.
void CheckScenario(const std::string& property, Scenario scenario, const std::set<int>& invariants) {
  CountCaseWithinBudget();
  // SNAPSIM_PROPERTY_SAMPLE=DIR keeps every generated scenario (to see what the generator makes).
  if (const char* sample = std::getenv("SNAPSIM_PROPERTY_SAMPLE"); sample != nullptr && *sample != '\0') {
    static int sampled = 0;
    std::ofstream(absl::StrCat(sample, "/", property, "-", ++sampled, ".scenario"), std::ios::binary)
        << FormatScenario(scenario);
  }
  RunOptions options;
  options.judged_invariants = invariants;
  const RunResult result = RunScenario(scenario, options);
  RC_TAG(result.unjudged.empty() ? "judged to the end" : "another invariant failed first");
  RC_TAG(scenario.steps.size() < 10 ? "under 10 steps" : scenario.steps.size() < 30 ? "10-29 steps" : "30+ steps");
  RC_TAG(absl::StrCat(result.checkpoints_completed == 0   ? "no snapshot completed"
                      : result.checkpoints_completed < 3 ? "1-2 snapshots completed"
                                                         : "3+ snapshots completed"));
  if (result.verdict == RunResult::Verdict::kPass) return;
  if (result.verdict == RunResult::Verdict::kBadInput && !result.unjudged.empty()) {
    return;  // a violation this property does not judge stopped the job; the program cannot go on
  }
  std::string what = result.verdict == RunResult::Verdict::kViolation
                         ? result.violation->ToString()
                         : absl::StrCat("the generator wrote a step the executor refused: ", result.error);
  NoteFirstFailure();
  // SNAPSIM_PROPERTY_SHRINK=ddmin (with RC_PARAMS=noshrink=1): shrink with snapsim's own shrinker, seconds instead of
  // RapidCheck's minutes on long programs (the mutation self-test uses it).
  if (const char* shrink = std::getenv("SNAPSIM_PROPERTY_SHRINK");
      shrink != nullptr && std::string(shrink) == "ddmin" && result.verdict == RunResult::Verdict::kViolation) {
    ShrinkOptions shrink_options;
    shrink_options.run_options = options;
    absl::StatusOr<ShrinkResult> shrunk = ShrinkScenario(scenario, shrink_options);
    if (shrunk.ok()) {
      scenario = shrunk->scenario;
      what = absl::StrCat(shrunk->result.violation->ToString(), " (shrunk by snapsim's shrinker from ",
                          shrunk->steps_before, " to ", shrunk->steps_after, " steps in ", shrunk->runs, " runs)");
    }
  }
  // A property judging some invariants replays judging the same ones: another invariant may fail first otherwise.
  std::string judged;
  if (!options.judged_invariants.empty()) {
    judged = absl::StrCat(" --invariants=", absl::StrJoin(options.judged_invariants, ","));
  }
  scenario.description = {absl::StrCat("Property ", property, " failed: ", what),
                          absl::StrCat("Shrunk by RapidCheck; replay: bazel run //:snapsim -- replay FILE", judged)};
  const std::string file = absl::StrCat(FailureDirectory(), "/property-", property, ".scenario");
  std::ofstream out(file, std::ios::binary);
  out << FormatScenario(scenario);
  out.close();
  RC_FAIL(absl::StrCat(what, "\n--- scenario (", scenario.steps.size(), " steps), written to ", file, " ---\n",
                       FormatScenario(scenario), "--- reproduce: bazel run //:snapsim -- replay ", file, judged,
                       "  (RapidCheck's RC_PARAMS=\"reproduce=...\" line replays the property itself",
                       std::getenv("TEST_UNDECLARED_OUTPUTS_DIR") != nullptr
                           ? "; under bazel test the file is in bazel-testlogs/tests/property_test/*/test.outputs/"
                             "outputs.zip, or save the scenario printed above"
                           : "",
                       ")"));
}

// Every invariant at once: the strongest judge, the one the mutation self-test relies on first.
RC_GTEST_PROP(Property, EveryInvariantHolds, ()) {
  CheckScenario("every-invariant", GeneratePropertyScenario("every-invariant", {}), {});
}

// The headline property, stated alone: whatever sequence of full and incremental modes, savepoints in both formats,
// restores in every restore mode, rescales and recoverable faults, restoring any retained checkpoint or savepoint
// gives exactly the model state (invariant 1).
RC_GTEST_PROP(Property, RestoringAnySnapshotGivesTheModelState, ()) {
  CheckScenario("restore-equality", GeneratePropertyScenario("restore-equality", {}), {1});
}

RC_GTEST_PROP(Property, NoUnexpectedError, ()) {
  CheckScenario("no-unexpected-error", GeneratePropertyScenario("no-unexpected-error", {}), {0});
}

RC_GTEST_PROP(Property, NoDanglingReference, ()) {
  CheckScenario("no-dangling-reference", GeneratePropertyScenario("no-dangling-reference", {}), {2});
}

RC_GTEST_PROP(Property, NoLeakAtQuiescence, ()) {
  PropertyEmphasis emphasis;
  emphasis.manual_checkpoints = true;  // quiesce steps need manual checkpoints
  CheckScenario("no-leak", GeneratePropertyScenario("no-leak", emphasis), {3});
}

RC_GTEST_PROP(Property, ReuseOnlyConfirmedUploads, ()) {
  CheckScenario("reuse-only-confirmed", GeneratePropertyScenario("reuse-only-confirmed", {}), {4});
}

RC_GTEST_PROP(Property, RestoreModeOwnership, ()) {
  CheckScenario("ownership", GeneratePropertyScenario("ownership", {}), {5});
}

RC_GTEST_PROP(Property, LocalStateIsolation, ()) {
  PropertyEmphasis emphasis;
  emphasis.local_recovery = 1;
  CheckScenario("local-isolation", GeneratePropertyScenario("local-isolation", emphasis), {6});
}

RC_GTEST_PROP(Property, IncrementalUploadsExactlyWhatTheBaseLacks, ()) {
  CheckScenario("efficiency", GeneratePropertyScenario("efficiency", {}), {8});
}

RC_GTEST_PROP(Property, CheckpointsCompleteOnceFaultsEnd, ()) {
  CheckScenario("liveness", GeneratePropertyScenario("liveness", {}), {9});
}

RC_GTEST_PROP(Property, LocalRecoveryIsUsed, ()) {
  PropertyEmphasis emphasis;
  emphasis.local_recovery = 1;
  CheckScenario("local-recovery-used", GeneratePropertyScenario("local-recovery-used", emphasis), {10});
}

RC_GTEST_PROP(Property, RetentionKeepsTheLatestCheckpoints, ()) {
  CheckScenario("retention", GeneratePropertyScenario("retention", {}), {11});
}

// The job manager decides as Flink 1.18 does: failure accounting, failovers, abort reasons, triggering (invariant 12).
RC_GTEST_PROP(Property, JobManagerDecidesAsFlink, ()) {
  CheckScenario("decisions", GeneratePropertyScenario("decisions", {}), {12});
}

// Determinism: any generated scenario replayed in a second world gives the same trace hash.
RC_GTEST_PROP(Property, SameScenarioSameTraceHash, ()) {
  const Scenario scenario = GeneratePropertyScenario("determinism", {});
  CountCaseWithinBudget();
  const RunResult first = RunScenario(scenario);
  const RunResult second = RunScenario(scenario);
  if (first.trace_hash != second.trace_hash || first.verdict != second.verdict) {
    Scenario failing = scenario;
    const std::string file = absl::StrCat(FailureDirectory(), "/property-determinism.scenario");
    std::ofstream out(file, std::ios::binary);
    out << FormatScenario(failing);
    out.close();
    NoteFirstFailure();
    RC_FAIL(absl::StrCat("two runs of one scenario differ: trace hash ", first.trace_hash, " vs ", second.trace_hash,
                         "\n--- scenario written to ", file, " ---\n", FormatScenario(failing),
                         "--- reproduce: bazel run //:snapsim -- replay --print_hash ", file, " ", file));
  }
}

}  // namespace
}  // namespace snapsim
