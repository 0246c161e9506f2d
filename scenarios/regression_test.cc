// The regression library replayed forever after: every scenarios/*.scenario passes in the simulated world. Also
// what a user relies on when replaying: the same scenario writes byte-identical trace JSON whose spans nest, and a
// scenario that breaks an expectation or names an unknown snapshot gets the right verdict and location.
#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "faults/fault_model.h"
#include "scenarios/executor.h"
#include "scenarios/scenario.h"
#include "sim/json_check.h"

namespace snapsim {
namespace {

using ::testing::_;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string LibraryDirectory() {
  const char* root = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(root != nullptr ? root : ".", "/", workspace != nullptr ? workspace : "snapsim",
                      "/scenarios/library");
}

// The library's groups, one folder each (scenarios/library/README.md).
constexpr const char* kLibraryGroups[] = {"flink", "sweeps", "properties"};

// Every scenario of every group, sorted by path.
std::vector<std::string> LibraryFiles() {
  std::vector<std::string> files;
  for (const char* group : kLibraryGroups) {
    const std::string directory = absl::StrCat(LibraryDirectory(), "/", group);
    if (DIR* dir = opendir(directory.c_str())) {
      while (dirent* entry = readdir(dir)) {
        const std::string name = entry->d_name;
        if (absl::EndsWith(name, ".scenario")) files.push_back(directory + "/" + name);
      }
      closedir(dir);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The scenario's file in the source tree, for repro commands that work from any directory: the runfiles entry is a
// symlink chain that ends there. Where it cannot be resolved, its path from the workspace root.
std::string WorkspacePath(const std::string& file) {
  if (char* resolved = realpath(file.c_str(), nullptr)) {
    std::string path(resolved);
    free(resolved);
    if (path.find("/execroot/") == std::string::npos && path.find("/sandbox/") == std::string::npos) return path;
  }
  const size_t at = file.rfind("/scenarios/library/");
  return at == std::string::npos ? file : file.substr(at + 1);
}

// "scenarios/library/flink/claim_native_savepoint.scenario" -> "claim_native_savepoint".
std::string TestNameOfScenarioFile(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(info.param.rfind('/') + 1);
  name = name.substr(0, name.size() - std::string(".scenario").size());
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

constexpr char kCoversMarker[] = "Covers:";

class RegressionLibraryTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RegressionLibraryTest, ReplaysGreen) {
  absl::StatusOr<Scenario> scenario = LoadScenarioFile(GetParam());
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  const std::string name = GetParam().substr(GetParam().rfind('/') + 1);
  EXPECT_GE(scenario->description.size(), 2u) << name << ": say which history it replays and what would go wrong";
  const RunResult result = RunScenario(*scenario);
  EXPECT_EQ(result.verdict, RunResult::Verdict::kPass)
      << name << ": " << (result.violation.has_value() ? result.violation->ToString() : result.error)
      << "\n  reproduce: bazel run //:snapsim -- replay " << WorkspacePath(GetParam());
  EXPECT_GT(result.steps_run, 0);
  // A description line "Covers: <coverage counter>" says the scenario exists to reach that path: a run that passes
  // without reaching it has lost what it was kept for.
  for (const std::string& line : scenario->description) {
    if (!absl::StartsWith(line, kCoversMarker)) continue;
    const std::string counter(absl::StripAsciiWhitespace(line.substr(sizeof(kCoversMarker) - 1)));
    auto found = result.coverage.find(counter);
    EXPECT_TRUE(found != result.coverage.end() && found->second > 0)
        << name << ": passed without reaching '" << counter << "', which its description says it covers"
        << "\n  reproduce: bazel run //:snapsim -- replay " << WorkspacePath(GetParam());
  }
}

// One source, two targets: //scenarios:regression_test (simulated) and //scenarios:posix_regression_test, compiled
// with SNAPSIM_REGRESSION_POSIX, each instantiating only its own suite. (A --gtest_filter in the BUILD file would
// override the user's `bazel test --test_filter=NAME`.)
#ifndef SNAPSIM_REGRESSION_POSIX
INSTANTIATE_TEST_SUITE_P(Library, RegressionLibraryTest, ::testing::ValuesIn(LibraryFiles()),
                         TestNameOfScenarioFile);
#else
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RegressionLibraryTest);
#endif

// The same library on real disk with real threads (--fs=posix): not deterministic, so only the verdict is compared.
// Its own target (//scenarios:posix_regression_test) runs it, sharded: it takes about a minute of real time; the
// simulated target filters it out.
class PosixRegressionLibraryTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PosixRegressionLibraryTest, ReplaysGreenOnRealDisk) {
  absl::StatusOr<Scenario> scenario = LoadScenarioFile(GetParam());
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  const std::string name = GetParam().substr(GetParam().rfind('/') + 1);
  RunOptions options;
  options.fs = RunOptions::FileSystem::kPosix;
  const RunResult result = RunScenario(*scenario, options);
  EXPECT_EQ(result.verdict, RunResult::Verdict::kPass)
      << name << ": " << (result.violation.has_value() ? result.violation->ToString() : result.error)
      << "\n  reproduce: bazel run //:snapsim -- replay " << WorkspacePath(GetParam()) << " --fs=posix";
}

// Storage and disk faults are injected in the simulated world only (the posix world has no injector): scenarios with
// `fault` or `corrupt` steps are left out of the real-disk run, and a test below checks that exactly those are. So is
// a scenario whose description has a line starting "Simulated world only:", followed by the reason (an interleaving
// that real threads reach only now and then, so that the real-disk run would fail for reasons of its own).
constexpr char kSimulatedOnlyMarker[] = "Simulated world only:";

bool SimulatedOnly(const std::string& file) {
  absl::StatusOr<Scenario> scenario = LoadScenarioFile(file);
  if (!scenario.ok()) return false;
  for (const ScenarioStep& step : scenario->steps) {
    if (step.verb == "fault" || step.verb == "corrupt") return true;
  }
  for (const std::string& line : scenario->description) {
    if (absl::StartsWith(line, kSimulatedOnlyMarker)) return true;
  }
  return false;
}

std::vector<std::string> PosixLibraryFiles() {
  std::vector<std::string> files;
  for (const std::string& file : LibraryFiles()) {
    if (!SimulatedOnly(file)) files.push_back(file);
  }
  return files;
}

// Judged from each file's text, independently of the parser that decides the exclusion: a scenario is left out of
// the real-disk run only if one of its step lines arms a storage fault or its description says why.
#ifndef SNAPSIM_REGRESSION_POSIX
TEST(RegressionLibrary, OnlyScenariosWithStorageFaultsStayOutOfTheRealDiskRun) {
  const std::vector<std::string> posix = PosixLibraryFiles();
  for (const std::string& file : LibraryFiles()) {
    std::ifstream in(file);
    std::string line;
    bool arms_fault = false;
    while (std::getline(in, line)) {
      arms_fault |= line.rfind(std::string("# ") + kSimulatedOnlyMarker, 0) == 0;
      const size_t verb = line.find(' ');
      arms_fault |= !line.empty() && std::isdigit(static_cast<unsigned char>(line[0])) &&
                    verb != std::string::npos &&
                    (line.compare(verb, 7, " fault ") == 0 || line.compare(verb, 9, " corrupt ") == 0);
    }
    const bool excluded = std::find(posix.begin(), posix.end(), file) == posix.end();
    EXPECT_EQ(excluded, arms_fault) << file;
    if (excluded) std::printf("simulated world only: %s\n", file.c_str());
  }
  EXPECT_GE(posix.size(), 15u);
}
#endif

#ifdef SNAPSIM_REGRESSION_POSIX
INSTANTIATE_TEST_SUITE_P(Library, PosixRegressionLibraryTest, ::testing::ValuesIn(PosixLibraryFiles()),
                         TestNameOfScenarioFile);
#else
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PosixRegressionLibraryTest);

TEST(RegressionLibrary, HoldsAtLeastFifteenScenarios) { EXPECT_GE(LibraryFiles().size(), 15u); }

// Every scenario of the library is in a group this test replays: none directly in scenarios/library/, no folder that
// kLibraryGroups does not list, no group left empty.
TEST(RegressionLibrary, EveryScenarioIsInAGroupThatIsReplayed) {
  DIR* dir = opendir(LibraryDirectory().c_str());
  ASSERT_NE(dir, nullptr) << LibraryDirectory();
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    EXPECT_FALSE(absl::EndsWith(name, ".scenario")) << name << " is in no group: move it into one of them";
    if (entry->d_type == DT_DIR) {
      EXPECT_NE(std::find(std::begin(kLibraryGroups), std::end(kLibraryGroups), name), std::end(kLibraryGroups))
          << "scenarios/library/" << name << " is not replayed: add it to kLibraryGroups";
    }
  }
  closedir(dir);
  const std::vector<std::string> files = LibraryFiles();
  for (const char* group : kLibraryGroups) {
    const std::string prefix = absl::StrCat(LibraryDirectory(), "/", group, "/");
    EXPECT_TRUE(std::any_of(files.begin(), files.end(),
                            [&prefix](const std::string& file) { return absl::StartsWith(file, prefix); }))
        << group << " holds no scenario";
  }
}

constexpr char kTraced[] = R"(# Traced twice.
# Checks byte-identical trace output.
parallelism 2
local_recovery on
seed 5

1 writes count=120 keys=40
2 flush
3 checkpoint as=c1 expect=completed
4 writes count=40 keys=40
5 failover-tasks
6 savepoint format=canonical as=s1 expect=completed
7 stop how=cancel
8 resume from=c1 parallelism=3 mode=full
9 checkpoint expect=completed
)";

TEST(Replay, SameScenarioWritesByteIdenticalTraceJsonWhoseSpansNest) {
  absl::StatusOr<Scenario> scenario = ParseScenario(kTraced, "traced.scenario");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  RunOptions options;
  options.keep_trace_events = true;
  const RunResult first = RunScenario(*scenario, options);
  const RunResult second = RunScenario(*scenario, options);
  ASSERT_EQ(first.verdict, RunResult::Verdict::kPass) << first.violation->ToString();
  EXPECT_EQ(first.trace_hash, second.trace_hash);
  EXPECT_EQ(first.chrome_trace_json, second.chrome_trace_json);
  EXPECT_TRUE(CheckChromeTraceSpansNest(first.chrome_trace_json).ok())
      << CheckChromeTraceSpansNest(first.chrome_trace_json);
  // Duration spans, not only instants: checkpoints, uploads, downloads, restores, activities.
  for (const char* span : {"\"name\":\"checkpoint 1 completed\"", "\"name\":\"upload checkpoints/",
                           "\"name\":\"download checkpoints/", "\"name\":\"restore subtask 0 from checkpoint",
                           "\"name\":\"async-snapshot-"}) {
    EXPECT_THAT(first.chrome_trace_json, HasSubstr(span));
  }
  EXPECT_THAT(first.chrome_trace_json, HasSubstr("\"ph\":\"X\""));
  // Another seed is another run.
  scenario->config.seed = 6;
  EXPECT_NE(RunScenario(*scenario, options).trace_hash, first.trace_hash);
}

// A failing run's trace opens on the failure: the violation is an event of its own, on the first process, with its
// invariant, step and detail; the fault that caused it is an event with its kind, path and the step that armed it;
// the processes are the system's parts.
TEST(Replay, FailingRunsTraceShowsTheViolationTheFaultAndThePartsOfTheSystem) {
  absl::StatusOr<Scenario> scenario = ParseScenario(
      "# A checkpoint required to complete meets an upload fault.\n# Its trace.\nparallelism 2\n"
      "1 writes count=100 keys=40\n2 flush\n3 fault kind=upload-fails-before count=1 path=shared\n"
      "4 checkpoint expect=completed\n",
      "traced_failure.scenario");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  RunOptions options;
  options.keep_trace_events = true;
  const RunResult result = RunScenario(*scenario, options);
  ASSERT_EQ(result.verdict, RunResult::Verdict::kViolation);
  ASSERT_TRUE(CheckChromeTraceSpansNest(result.chrome_trace_json).ok())
      << CheckChromeTraceSpansNest(result.chrome_trace_json);
  absl::StatusOr<std::vector<ChromeTraceEvent>> events = ParseChromeTrace(result.chrome_trace_json);
  ASSERT_TRUE(events.ok()) << events.status();
  std::map<int64_t, std::string> processes;
  for (const ChromeTraceEvent& event : *events) {
    if (event.phase == "M" && event.name == "process_name") processes[event.pid] = event.metadata_name;
  }
  ASSERT_FALSE(processes.empty());
  EXPECT_EQ(processes.begin()->second, "violation");
  for (const char* part : {"scenario", "coordinator", "subtask 0", "subtask 1", "machine tm-0", "object store",
                           "fault"}) {
    EXPECT_THAT(processes, Contains(Pair(_, part)));
  }
  std::vector<ChromeTraceEvent> violations, faults;
  for (const ChromeTraceEvent& event : *events) {
    if (event.category == "violation") violations.push_back(event);
    if (event.category == "fault") faults.push_back(event);
  }
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(processes.at(violations[0].pid), "violation");
  EXPECT_EQ(violations[0].args.at("invariant"), absl::StrCat(result.violation->invariant));
  EXPECT_EQ(violations[0].args.at("step"), "4");
  EXPECT_THAT(violations[0].args.at("detail"), HasSubstr("upload-fails-before"));
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(processes.at(faults[0].pid), "fault");
  EXPECT_EQ(faults[0].args.at("kind"), "upload-fails-before");
  EXPECT_EQ(faults[0].args.at("armed_at_step"), "3");
  EXPECT_THAT(faults[0].args.at("path"), HasSubstr("/shared/"));
  // The upload the fault failed is drawn under the subtask that made it, not under the object store.
  bool failed_upload_under_a_subtask = false;
  for (const ChromeTraceEvent& event : *events) {
    if (event.phase == "X" && absl::StartsWith(event.name, "upload ") && absl::EndsWith(event.name, " FAILED")) {
      failed_upload_under_a_subtask |= absl::StartsWith(processes.at(event.pid), "subtask ");
    }
  }
  EXPECT_TRUE(failed_upload_under_a_subtask);
  // Probes of absent files are the disk answering, not failures.
  for (const ChromeTraceEvent& event : *events) {
    if (absl::StartsWith(event.category, "fs:") && absl::StartsWith(event.name, "exists ")) {
      EXPECT_FALSE(absl::EndsWith(event.name, " FAILED")) << event.ToString();
    }
  }
}

// `snapsim explain`'s redraw: the steps before the reseeded one replay exactly (the same trace up to it), the rest is
// another run (another hash), and the same reseed gives the same run.
TEST(Replay, ReseedingFromAStepKeepsThePrefixAndRedrawsTheRest) {
  absl::StatusOr<Scenario> scenario = ParseScenario(kTraced, "traced.scenario");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  RunOptions plain;
  plain.keep_trace_events = true;
  RunOptions reseeded = plain;
  reseeded.reseed_from_step = 4;
  reseeded.reseed = 77;
  const RunResult original = RunScenario(*scenario, plain);
  const RunResult redrawn = RunScenario(*scenario, reseeded);
  const RunResult again = RunScenario(*scenario, reseeded);
  ASSERT_EQ(original.verdict, RunResult::Verdict::kPass);
  EXPECT_NE(redrawn.trace_hash, original.trace_hash);
  EXPECT_EQ(redrawn.trace_hash, again.trace_hash);
  // Everything up to the line that starts step 4 (in the redrawn run: the line that reseeds, just before it).
  const auto up_to_line_with = [](const std::string& text, const std::string& marker) {
    const size_t at = text.find(marker);
    return at == std::string::npos ? std::string("(no '" + marker + "')") : text.substr(0, text.rfind('\n', at) + 1);
  };
  EXPECT_EQ(up_to_line_with(redrawn.trace_text, " scenario reseeded with 77"),
            up_to_line_with(original.trace_text, " scenario step 4 "));
  EXPECT_THAT(redrawn.trace_text, HasSubstr("scenario reseeded with 77"));
}

TEST(Replay, BrokenExpectationIsAViolationNamingTheStep) {
  absl::StatusOr<Scenario> scenario = ParseScenario(
      "# x\n# y\nparallelism 1\n1 writes count=10 keys=5\n2 checkpoint expect=failed\n", "expect.scenario");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  const RunResult result = RunScenario(*scenario);
  ASSERT_EQ(result.verdict, RunResult::Verdict::kViolation);
  EXPECT_EQ(result.ExitCode(), 1);
  EXPECT_EQ(result.violation->step, 2);
  EXPECT_THAT(result.violation->ToString(), HasSubstr("expected to fail"));
}

TEST(Replay, AMessageRuleAboutOneCheckpointLeavesTheOthersAlone) {
  // The rule waits for checkpoint 2's acknowledgement: checkpoint 1's passes, checkpoint 2 never completes (it
  // expires), checkpoint 3's passes again. Without the filter the rule would fail checkpoint 1 instead.
  absl::StatusOr<Scenario> scenario = ParseScenario(
      "parallelism 2\ntimeout_ms 200\n1 message action=drop kind=ack subtask=1 checkpoint=2\n"
      "2 writes count=20 keys=10\n3 checkpoint expect=completed\n4 checkpoint expect=failed\n"
      "5 checkpoint expect=completed\n",
      "filter.scenario");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  const RunResult result = RunScenario(*scenario);
  EXPECT_EQ(result.verdict, RunResult::Verdict::kPass)
      << (result.violation.has_value() ? result.violation->ToString() : result.error);
  absl::StatusOr<Scenario> zero = ParseScenario("1 message action=drop kind=ack checkpoint=0\n", "zero.scenario");
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(std::string(zero.status().message()), HasSubstr("zero.scenario:1:"));
}

TEST(Replay, ASnapshotIsRestoredOnceForTheSameParallelismAndBytes) {
  // Checkpoint a is restored at parallelism 2 after step 3; step 4 restores it at 1 (another restore); step 5 at 1
  // again and the run's end at 2 again find the same bytes restored before: no third or fourth side world.
  absl::StatusOr<Scenario> scenario = ParseScenario(
      "parallelism 2\n1 writes count=40 keys=20\n2 flush\n3 checkpoint as=a expect=completed\n"
      "4 restore-check from=a parallelism=1\n5 restore-check from=a parallelism=1\n",
      "once.scenario");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  RunOptions options;
  options.keep_trace_events = true;
  const RunResult result = RunScenario(*scenario, options);
  ASSERT_EQ(result.verdict, RunResult::Verdict::kPass) << result.error;
  EXPECT_EQ(result.side_world_restores, 2);
  EXPECT_EQ(result.side_world_restores_reused, 2);
  EXPECT_THAT(result.trace_text, HasSubstr("at parallelism 1: the same bytes side world 2 restored"));
  EXPECT_THAT(result.trace_text, HasSubstr("at parallelism 2: the same bytes side world 1 restored"));
}

TEST(Replay, UnknownSnapshotNameIsBadInputAtItsColumn) {
  absl::StatusOr<Scenario> scenario =
      ParseScenario("parallelism 1\n1 checkpoint as=c1\n2 stop how=cancel\n3 resume from=c2\n", "names.scenario");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  const RunResult result = RunScenario(*scenario);
  ASSERT_EQ(result.verdict, RunResult::Verdict::kBadInput);
  EXPECT_EQ(result.ExitCode(), 2);
  EXPECT_THAT(result.error, HasSubstr("names.scenario:4:15"));
  EXPECT_THAT(result.error, HasSubstr("'c2'"));
}

TEST(Replay, StepsAfterStopOtherThanResumeAreBadInput) {
  absl::StatusOr<Scenario> scenario = ParseScenario("1 stop how=cancel\n2 flush\n", "stopped.scenario");
  ASSERT_TRUE(scenario.ok());
  const RunResult result = RunScenario(*scenario);
  EXPECT_EQ(result.verdict, RunResult::Verdict::kBadInput);
  EXPECT_THAT(result.error, HasSubstr("stopped.scenario:2:3"));
}

TEST(Replay, UntilStopsAndDumpsTheWorld) {
  absl::StatusOr<Scenario> scenario = ParseScenario(kTraced, "traced.scenario");
  ASSERT_TRUE(scenario.ok());
  RunOptions options;
  options.until_step = 3;
  const RunResult result = RunScenario(*scenario, options);
  EXPECT_EQ(result.verdict, RunResult::Verdict::kPass);
  EXPECT_EQ(result.steps_run, 3);
  EXPECT_THAT(result.dump, HasSubstr("retained checkpoints:\n  1 "));
  EXPECT_THAT(result.dump, HasSubstr("c1 = checkpoint 1 of job-1"));
  EXPECT_THAT(result.dump, HasSubstr("checkpoints/job-1/chk-1/_metadata"));
  EXPECT_THAT(result.dump, HasSubstr("shared state registry"));
}

TEST(Replay, ResumesFromASnapshotPath) {
  absl::StatusOr<Scenario> scenario = ParseScenario(
      "parallelism 2\n1 writes count=50 keys=20\n2 checkpoint expect=completed\n3 stop how=cancel\n"
      "4 resume from=path:checkpoints/job-1/chk-1 parallelism=3\n5 verify\n",
      "path.scenario");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  const RunResult result = RunScenario(*scenario);
  EXPECT_EQ(result.verdict, RunResult::Verdict::kPass)
      << (result.violation.has_value() ? result.violation->ToString() : result.error);
  scenario->steps[3].arguments["from"].value = "path:checkpoints/job-1/chk-9";
  const RunResult missing = RunScenario(*scenario);
  EXPECT_EQ(missing.verdict, RunResult::Verdict::kBadInput);
  EXPECT_THAT(missing.error, HasSubstr("checkpoints/job-1/chk-9"));
}

// Where the first object-store operation that failed, was cut short or was slowed, or the first local-disk
// operation a fault failed, stands in a text trace.
size_t FirstFaultyStorageOperation(const std::string& trace) {
  size_t line_start = 0;
  while (line_start < trace.size()) {
    size_t line_end = trace.find('\n', line_start);
    if (line_end == std::string::npos) line_end = trace.size();
    const absl::string_view line(trace.data() + line_start, line_end - line_start);
    if (absl::StrContains(line, " object-store ") &&
        (absl::EndsWith(line, " FAILED") || absl::StrContains(line, " FAILED AFTER EFFECT") ||
         absl::StrContains(line, " PARTIAL") || absl::StrContains(line, " CORRUPTED") ||
         absl::StrContains(line, " ROTTED") || absl::EndsWith(line, " SLOW"))) {
      return line_start;
    }
    if (absl::StrContains(line, " fs:") && absl::EndsWith(line, " FAILED INJECTED")) return line_start;
    line_start = line_end + 1;
  }
  return std::string::npos;
}

// A fault is a step: armed at step 6 with count=1, it fires during step 7 (the next checkpoint), not before, and
// exactly once.
TEST(Faults, EachKindFiresAtTheStepThatArmsIt) {
  for (const FaultKindInfo& info : FaultKinds()) {
    const char* kind = info.name;
    const std::string text = absl::StrCat(
        "parallelism 1\nretained 1\ntimeout_ms 200\n1 writes count=100 keys=30\n2 flush\n3 checkpoint\n"
        "4 writes count=50 keys=30\n5 flush\n6 fault kind=", kind, " ms=400\n7 checkpoint\n8 failover-tasks\n"
        "9 checkpoint\n10 faults-off\n11 liveness attempts=2\n");
    absl::StatusOr<Scenario> scenario = ParseScenario(text, kind);
    ASSERT_TRUE(scenario.ok()) << scenario.status();
    RunOptions options;
    options.keep_trace_events = true;
    const RunResult result = RunScenario(*scenario, options);
    EXPECT_EQ(result.verdict, RunResult::Verdict::kPass)
        << kind << ": " << (result.violation.has_value() ? result.violation->ToString() : result.error);
    EXPECT_THAT(result.notes, ::testing::Contains(absl::StrCat("faults injected: ", kind, " x1"))) << kind;
    if (info.local_disk) {
      // The checkpoint's synchronous part failed on the disk: Flink fails the task, and the job restarted it.
      EXPECT_THAT(result.notes, ::testing::Contains(HasSubstr("; the job restarts its tasks"))) << kind;
    }
    // The first faulty operation in the trace comes after step 6 began.
    const size_t armed = result.trace_text.find("step 6 fault");
    const size_t fired = FirstFaultyStorageOperation(result.trace_text);
    ASSERT_NE(armed, std::string::npos) << kind;
    ASSERT_NE(fired, std::string::npos) << kind;
    EXPECT_GT(fired, armed) << kind;
  }
}

// storage-rot is the unrecoverable kind: the checkpoint the failover needs rotted, so the job fails for good (the
// loss the fault model allows), later steps that need it are skipped, and the snapshot's side-world restore fails
// naming the rotted object, which the checker accepts as that loss. A restore that succeeded would be judged.
TEST(Faults, StorageRotLosesTheJobAndOnlyWhatItRotted) {
  absl::StatusOr<Scenario> scenario = ParseScenario(
      "parallelism 1\nretained 2\n1 writes count=100 keys=30\n2 flush\n3 checkpoint\n4 savepoint format=native as=sp\n"
      "5 writes count=50 keys=30\n6 flush\n7 checkpoint\n8 fault kind=storage-rot path=chk-3/\n"
      "9 failover-tasks\n10 checkpoint\n11 faults-off\n12 restore-check from=all\n13 resume from=sp\n"
      "14 writes count=10 keys=30\n15 checkpoint\n16 liveness attempts=1\n",
      "rot");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  const RunResult result = RunScenario(*scenario);
  EXPECT_EQ(result.verdict, RunResult::Verdict::kPass)
      << (result.violation.has_value() ? result.violation->ToString() : result.error);
  EXPECT_THAT(result.notes, ::testing::Contains(HasSubstr("step 9: the job failed for good (storage-rot")));
  EXPECT_THAT(result.notes, ::testing::Contains("step 10 skipped: the job was lost"));
  EXPECT_THAT(result.notes, ::testing::Contains(HasSubstr("checkpoints/job-1/chk-3 is lost (storage-rot, allowed)")));
  // The savepoint shares nothing with checkpoint 3: it restores, and the job resumed from it runs on.
  EXPECT_THAT(result.notes, ::testing::Not(::testing::Contains(HasSubstr("savepoint-job-1")))) << "savepoint lost";
  EXPECT_EQ(result.checkpoints_completed, 5);
}

// Flink's CheckpointFailureManager: with tolerable_failures 1, the second checkpoint in a row that expires fails the
// job over (every task restarts from the latest checkpoint); a completed checkpoint in between resets the count;
// unlimited (the default) never does.
std::vector<std::string> RunTolerable(const std::string& header, const std::string& middle) {
  absl::StatusOr<Scenario> scenario = ParseScenario(
      absl::StrCat("parallelism 1\ntimeout_ms 100\n", header, "1 writes count=50 keys=10\n2 checkpoint\n",
                   "3 fault kind=storage-slow ms=300 count=-1\n4 checkpoint expect=failed\n", middle,
                   "10 checkpoint expect=failed\n11 faults-off\n12 liveness attempts=1\n"),
      "tolerable");
  EXPECT_TRUE(scenario.ok()) << scenario.status();
  if (!scenario.ok()) return {};
  const RunResult result = RunScenario(*scenario);
  EXPECT_EQ(result.verdict, RunResult::Verdict::kPass)
      << (result.violation.has_value() ? result.violation->ToString() : result.error);
  return result.notes;
}

TEST(TolerableCheckpointFailures, TheFailureAfterTheToleratedOnesFailsTheJobOver) {
  const std::vector<std::string> notes = RunTolerable("tolerable_failures 1\n", "5 advance ms=1\n");
  EXPECT_THAT(notes, ::testing::Contains(HasSubstr(
                         "step 10: the coordinator failed the job over: Exceeded checkpoint tolerable failure "
                         "threshold (1)")));
}

TEST(TolerableCheckpointFailures, ASuccessInBetweenResetsTheCount) {
  const std::vector<std::string> notes =
      RunTolerable("tolerable_failures 1\n", "5 faults-off\n6 checkpoint\n7 fault kind=storage-slow ms=300 "
                                               "count=-1\n");
  EXPECT_THAT(notes, ::testing::Not(::testing::Contains(HasSubstr("failed the job over"))));
}

TEST(TolerableCheckpointFailures, UnlimitedByDefault) {
  const std::vector<std::string> notes = RunTolerable("", "5 advance ms=1\n");
  EXPECT_THAT(notes, ::testing::Not(::testing::Contains(HasSubstr("failed the job over"))));
}

TEST(Faults, DisabledKindsNeverFire) {
  absl::StatusOr<Scenario> scenario = ParseScenario(
      "parallelism 2\n1 writes count=100 keys=30\n2 flush\n3 checkpoint\n4 failover-tasks\n5 checkpoint\n",
      "nofaults");
  ASSERT_TRUE(scenario.ok());
  RunOptions options;
  options.keep_trace_events = true;
  const RunResult result = RunScenario(*scenario, options);
  EXPECT_EQ(result.verdict, RunResult::Verdict::kPass);
  EXPECT_EQ(result.trace_text.find("[injected]"), std::string::npos);
  EXPECT_EQ(FirstFaultyStorageOperation(result.trace_text), std::string::npos);
  for (const std::string& note : result.notes) EXPECT_THAT(note, ::testing::Not(HasSubstr("faults injected")));
}

#endif  // SNAPSIM_REGRESSION_POSIX

}  // namespace
}  // namespace snapsim
