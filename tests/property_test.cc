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

namespace snapsim {
namespace {

using Arguments = std::vector<std::pair<std::string, std::string>>;

// What the program allows next. Conservative: a step is offered only when the executor surely accepts it.
struct StepModel {
  ScenarioConfig config;
  bool running = true;
  int parallelism = 1;
  int operators = 1;
  // The running (or just stopped) job's restore mode; a resume with restore_mode=same keeps it.
  std::string restore_mode = "no_claim";
  bool faults_armed = false;
  // Message fates scripted since the last liveness step (they may still fail a trigger).
  bool messages_scripted = false;
  // The current (or just stopped) job surely retains a completed checkpoint (a liveness step ran in it).
  bool has_latest = false;
  // Savepoints surely completed (named while nothing could fail them) and still the user's.
  std::vector<std::string> savepoints;
  // Triggers with wait=no not yet awaited.
  std::vector<std::string> pending;
  // Every name a step gave (a name is given once).
  std::set<std::string> names;

  bool Quiet() const { return !faults_armed && !messages_scripted; }
};

// Every kind faults/fault_model.h declares recoverable.
std::vector<std::string> RecoverableFaultKinds() {
  std::vector<std::string> kinds;
  for (const FaultKindInfo& info : FaultKinds()) {
    if (info.recoverable) kinds.push_back(info.name);
  }
  return kinds;
}
bool OnLocalDisk(const std::string& kind) {
  for (const FaultKindInfo& info : FaultKinds()) {
    if (kind == info.name) return info.local_disk;
  }
  return false;
}
const char* const kFaultPaths[] = {"", "shared/", "chk-", "savepoint", "_metadata", "ha/"};
const char* const kDiskFaultPaths[] = {"", "/tm-0/", "/db/", ".sst", "MANIFEST", "localState/"};
const char* const kMessageKinds[] = {"trigger", "ack", "decline", "notify-complete", "notify-aborted"};

std::string Find(const Arguments& arguments, const std::string& name) {
  for (const auto& [key, value] : arguments) {
    if (key == name) return value;
  }
  return "";
}

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Whether the executor accepts `verb arguments` in the state `model` describes.
bool Allowed(const StepModel& model, const std::string& verb, const Arguments& arguments) {
  if (verb != "await" && !Find(arguments, "as").empty() && model.names.count(Find(arguments, "as")) > 0) return false;
  if (verb == "await") return Contains(model.pending, Find(arguments, "as"));
  if (verb == "restore-check") {
    const std::string from = Find(arguments, "from");
    return from == "all" || Contains(model.savepoints, from);
  }
  if (verb == "quiesce") return model.config.checkpoint_interval_ms == 0;
  if (verb == "faults-off" || verb == "fault") return true;  // the world's, running job or not
  if (verb == "resume") {
    const std::string from = Find(arguments, "from");
    if (model.running || model.faults_armed) return false;
    // Fewer operators than the snapshot has state for is refused (a regression scenario covers it).
    const std::string operators = Find(arguments, "operators");
    if (!operators.empty() && operators != "same" && std::stoi(operators) < model.operators) return false;
    return from == "latest" ? model.has_latest : Contains(model.savepoints, from);
  }
  if (!model.running) return false;
  if (verb == "message") {
    const std::string subtask = Find(arguments, "subtask");
    return subtask == "any" || std::stoi(subtask) < model.parallelism;
  }
  if (verb == "crash") return std::stoi(Find(arguments, "machine")) < model.parallelism;
  if (const std::string op = Find(arguments, "operator"); !op.empty() && std::stoi(op) >= model.operators) {
    return false;
  }
  if (verb == "savepoint" && !Find(arguments, "as").empty()) return model.Quiet();
  return true;
}

void Apply(StepModel& model, const std::string& verb, const Arguments& arguments) {
  if (verb == "checkpoint" || verb == "savepoint") {
    const std::string name = Find(arguments, "as");
    if (Find(arguments, "wait") == "no") {
      model.pending.push_back(name);
    } else if (verb == "savepoint" && !name.empty()) {
      model.savepoints.push_back(name);
    }
  } else if (verb == "await") {
    model.pending.erase(std::find(model.pending.begin(), model.pending.end(), Find(arguments, "as")));
  } else if (verb == "fault") {
    model.faults_armed = true;
  } else if (verb == "faults-off") {
    model.faults_armed = false;
  } else if (verb == "message") {
    model.messages_scripted = true;
  } else if (verb == "liveness") {
    model.faults_armed = false;
    model.messages_scripted = false;
    model.has_latest = true;
  } else if (verb == "stop") {
    model.running = false;
    // A finished job's checkpoints are discarded; a cancelled or suspended job's are retained.
    if (Find(arguments, "how") == "finish") model.has_latest = false;
  } else if (verb == "resume") {
    model.running = true;
    model.has_latest = false;
    model.messages_scripted = false;
    const std::string parallelism = Find(arguments, "parallelism");
    if (parallelism != "same") model.parallelism = std::stoi(parallelism);
    const std::string operators = Find(arguments, "operators");
    if (!operators.empty() && operators != "same") model.operators = std::stoi(operators);
    // A CLAIM resume makes the restored snapshot the job's: savepoints sharing its files are no longer the user's
    // to resume from (the checker knows which; the model forgets them all).
    if (Find(arguments, "restore_mode") != "same") model.restore_mode = Find(arguments, "restore_mode");
    if (model.restore_mode == "claim") model.savepoints.clear();
  }
  // Names are never reused: later steps keep the names they were generated with when earlier ones are shrunk away.
  if (!Find(arguments, "as").empty() && verb != "await") {
    model.names.insert(Find(arguments, "as"));
  }
}

struct NoSystem {};

struct StepCommand : rc::state::Command<StepModel, NoSystem> {
  std::string verb;
  Arguments arguments;

  StepCommand(std::string verb_in, Arguments arguments_in)
      : verb(std::move(verb_in)), arguments(std::move(arguments_in)) {}
  void checkPreconditions(const StepModel& model) const override { RC_PRE(Allowed(model, verb, arguments)); }
  void apply(StepModel& model) const override { Apply(model, verb, arguments); }
  void run(const StepModel&, NoSystem&) const override {}
  void show(std::ostream& os) const override {
    os << verb;
    for (const auto& [key, value] : arguments) os << " " << key << "=" << value;
  }
};

using CommandPtr = std::shared_ptr<const rc::state::Command<StepModel, NoSystem>>;

// Draws in [low, high] uniformly whatever RapidCheck's current size (inRange alone scales the range with the size,
// which would make early cases all `writes`); shrinks toward `low`.
int64_t Uniform(int64_t low, int64_t high) { return *rc::gen::resize(100, rc::gen::inRange<int64_t>(low, high + 1)); }

std::string Int(int64_t low, int64_t high) { return absl::StrCat(Uniform(low, high)); }

// One of `choices`, uniformly; shrinks toward the first.
template <typename T>
T Pick(const std::vector<T>& choices) {
  return choices[static_cast<size_t>(Uniform(0, static_cast<int64_t>(choices.size()) - 1))];
}
std::string Pick(std::initializer_list<const char*> choices) {
  return Pick(std::vector<std::string>(choices.begin(), choices.end()));
}
// `weight` in `total` chances of true.
bool Chance(int weight, int total) { return Uniform(0, total - 1) < weight; }

// One step the model allows, its arguments drawn; each choice shrinks toward the simplest.
rc::Gen<CommandPtr> GenerateStep(const StepModel& model) {
  return rc::gen::exec([model]() -> CommandPtr {
    std::vector<std::pair<int, std::string>> verbs;  // (weight, verb), simplest first
    auto offer = [&](int weight, const char* verb) {
      if (weight > 0) verbs.push_back({weight, verb});
    };
    if (model.running) {
      offer(10, "writes");
      offer(2, "put");
      offer(1, "append");
      offer(1, "map-put");
      offer(1, "map-remove");
      offer(1, "remove");
      offer(6, "flush");
      offer(2, "compact");
      offer(8, "checkpoint");
      offer(3, "savepoint");
      offer(4, "advance");
      offer(2, "message");
      offer(1, "deliver");
      offer(3, "fault");
      offer(model.faults_armed ? 2 : 0, "faults-off");
      // A failover under armed faults restores through them (downloads failing, corrupted).
      offer(model.faults_armed ? 4 : 2, "failover-tasks");
      offer(1, "crash");
      offer(1, "failover-coordinator");
      offer(4, "liveness");
      offer(1, "verify");
      offer(model.has_latest ? 8 : 0, "stop");
    } else {
      offer(model.faults_armed ? 0 : 6, "resume");
      offer(model.faults_armed ? 3 : 0, "faults-off");
    }
    offer(model.pending.empty() ? 0 : 3, "await");
    offer(1, "restore-check");
    offer(model.config.checkpoint_interval_ms == 0 ? 1 : 0, "quiesce");
    int total = 0;
    for (const auto& [weight, candidate] : verbs) total += weight;
    int64_t roll = Uniform(0, total - 1);  // shrinks toward the first verbs: writes, then flushes, ...
    std::string verb;
    for (const auto& [weight, candidate] : verbs) {
      if (roll < weight) {
        verb = candidate;
        break;
      }
      roll -= weight;
    }
    const std::string name = absl::StrCat(verb == "savepoint" ? "sp" : "p", model.names.size() + 1);
    Arguments arguments;
    if (verb == "writes") {
      arguments = {{"count", Int(1, 40)}, {"keys", Int(1, 100)}};
    } else if (verb == "put") {
      arguments = {{"state", Pick({"value", "value2"})},
                   {"key", absl::StrCat("k", Int(0, 9))},
                   {"value", absl::StrCat("x", Int(0, 99))}};
    } else if (verb == "append") {
      arguments = {{"state", "list"}, {"key", absl::StrCat("k", Int(0, 9))}, {"value", absl::StrCat("y", Int(0, 9))}};
    } else if (verb == "map-put" || verb == "map-remove") {
      arguments = {{"state", "map"}, {"key", absl::StrCat("k", Int(0, 9))}, {"user_key", absl::StrCat("u", Int(0, 3))}};
      if (verb == "map-put") arguments.push_back({"value", absl::StrCat("z", Int(0, 9))});
    } else if (verb == "remove") {
      arguments = {{"state", Pick({"value", "value2", "list", "map"})},
                   {"key", absl::StrCat("k", Int(0, 9))}};
    } else if (verb == "checkpoint") {
      arguments = {{"kind", Chance(1, 5) ? "full" : "configured"}};
      if (Chance(1, 5)) {
        arguments.push_back({"wait", "no"});
        arguments.push_back({"as", name});
      }
    } else if (verb == "savepoint") {
      arguments = {{"format", Pick({"native", "canonical"})},
                   {"sync", Chance(1, 2) ? "yes" : "no"}};
      const int64_t naming = Uniform(0, 3);
      if (naming == 1 && model.Quiet()) {
        arguments.push_back({"as", name});
        arguments.push_back({"expect", "completed"});
      } else if (naming == 2) {
        arguments.push_back({"wait", "no"});
        arguments.push_back({"as", name});
      }
    } else if (verb == "advance") {
      // Now and then past the checkpoint timeout (400 ms): expiries, late acknowledgements.
      arguments = {{"ms", Chance(1, 5) ? Int(100, 500) : Int(0, 60)}};
    } else if (verb == "message") {
      arguments = {{"action", Pick({"drop", "duplicate", "delay", "hold", "reorder"})},
                   {"kind", Pick(std::vector<std::string>(std::begin(kMessageKinds), std::end(kMessageKinds)))},
                   {"subtask", Chance(1, 4) ? Int(0, model.parallelism - 1) : "any"},
                   {"ms", Chance(1, 4) ? Int(100, 600) : Int(0, 50)},
                   {"count", Int(1, 2)}};
    } else if (verb == "deliver") {
      arguments = {{"kind", Pick(std::vector<std::string>(std::begin(kMessageKinds), std::end(kMessageKinds)))}};
    } else if (verb == "fault") {
      // Download faults only show on a restore, a rarer step than those that upload or touch the disk: they are
      // drawn twice as often as the others.
      std::vector<std::string> kinds = RecoverableFaultKinds();
      for (const std::string& download : {"download-fails", "download-corrupts"}) kinds.push_back(download);
      const std::string kind = Pick(kinds);
      // A local disk sees far more operations than the object store.
      const bool disk = OnLocalDisk(kind);
      arguments = {{"kind", kind},
                   {"chance", absl::StrCat("1/", disk ? Pick(std::vector<int>{16, 64, 256})
                                                      : Pick(std::vector<int>{1, 2, 4, 8}))},
                   {"count", Chance(1, 3) ? "-1" : Int(1, 3)}};
      const std::string path =
          disk ? Pick(std::vector<std::string>(std::begin(kDiskFaultPaths), std::end(kDiskFaultPaths)))
               : Pick(std::vector<std::string>(std::begin(kFaultPaths), std::end(kFaultPaths)));
      if (!path.empty()) arguments.push_back({"path", path});
      if (kind == "storage-slow") arguments.push_back({"ms", Int(50, 500)});
    } else if (verb == "crash") {
      arguments = {{"machine", Int(0, model.parallelism - 1)},
                   {"how", Pick({"graceful", "hard", "restart", "reboot"})}};
    } else if (verb == "liveness") {
      arguments = {{"attempts", "4"}};
    } else if (verb == "stop") {
      arguments = {{"how", Pick({"cancel", "suspend", "finish"})}};
    } else if (verb == "resume") {
      std::vector<std::string> sources = model.savepoints;
      if (model.has_latest) sources.insert(sources.begin(), "latest");
      RC_PRE(!sources.empty());
      arguments = {{"from", Pick(sources)},
                   {"mode", Pick({"same", "incremental", "full"})},
                   {"restore_mode", Pick({"same", "claim", "no_claim", "legacy"})},
                   {"local_recovery", Pick({"same", "on", "off"})},
                   {"parallelism", Chance(1, 3) ? Int(1, 3) : "same"}};
      if (model.operators < 3 && Chance(1, 4)) arguments.push_back({"operators", Int(model.operators, 3)});
    } else if (verb == "await") {
      arguments = {{"as", Pick(model.pending)}};
    } else if (verb == "restore-check") {
      std::vector<std::string> sources = model.savepoints;
      sources.insert(sources.begin(), "all");
      arguments = {{"from", Pick(sources)}, {"parallelism", Int(1, 3)}};
    }
    const bool single_write =
        verb == "put" || verb == "append" || verb == "map-put" || verb == "map-remove" || verb == "remove";
    if (single_write && model.operators > 1 && Chance(1, 2)) {
      arguments.push_back({"operator", Int(0, model.operators - 1)});
    }
    return std::make_shared<StepCommand>(verb, std::move(arguments));
  });
}

// A property's emphasis: header overrides (-1 draws).
struct Emphasis {
  int local_recovery = -1;
  bool manual_checkpoints = false;
};

Scenario GenerateScenario(const std::string& property, const Emphasis& emphasis) {
  // RapidCheck gives every property of a process the same seed: draws salted by the property's name give each
  // property programs of its own.
  size_t salt = 0;
  for (char c : property) salt = salt * 31 + static_cast<unsigned char>(c);
  for (size_t draw = 0; draw < salt % 7 + 1; ++draw) (void)Uniform(0, 1 << 20);
  ScenarioConfig config;
  config.seed = static_cast<uint64_t>(Uniform(1, 1'000'000));
  config.parallelism = static_cast<int>(Uniform(1, 3));
  config.incremental = !Chance(1, 2);
  config.local_recovery = emphasis.local_recovery >= 0 ? emphasis.local_recovery == 1 : Chance(1, 2);
  config.max_concurrent_checkpoints = static_cast<int>(Uniform(1, 2));
  config.retained_checkpoints = static_cast<int>(Uniform(1, 3));
  config.restore_mode = Pick({"no_claim", "claim", "legacy"});
  config.checkpoint_interval_ms = !emphasis.manual_checkpoints && Chance(1, 4) ? 40 : 0;
  config.checkpoint_timeout_ms = 400;
  config.upload_threads = static_cast<int>(Uniform(1, 2));
  // Several operators make every case slower: one program in four chains two or three.
  config.operators = Chance(3, 4) ? 1 : static_cast<int>(Uniform(2, 3));
  // Small state inline in the metadata in one program in four (most of a small job's files, then).
  config.inline_threshold = Chance(3, 4) ? 0 : Chance(1, 2) ? 512 : 4096;
  StepModel initial;
  initial.config = config;
  initial.parallelism = config.parallelism;
  initial.operators = config.operators;
  initial.restore_mode = config.restore_mode;
  const auto commands = *rc::gen::scale(1.0, rc::state::gen::commands(initial, &GenerateStep));
  Scenario scenario;
  scenario.origin = absl::StrCat("<property ", property, ">");
  scenario.config = config;
  ScenarioStepAppender steps(&scenario, "property");
  for (const auto& command : commands) {
    const auto* step = dynamic_cast<const StepCommand*>(command.get());
    steps.Add(step->verb, step->arguments);
  }
  // Every retained checkpoint and savepoint must restore to the model (the end of the run restores them again).
  steps.Add("restore-check", {{"from", "all"}, {"parallelism", Int(1, 3)}});
  return scenario;
}

std::string FailureDirectory() {
  for (const char* variable : {"SNAPSIM_PROPERTY_OUT", "TEST_UNDECLARED_OUTPUTS_DIR"}) {
    if (const char* value = std::getenv(variable); value != nullptr && *value != '\0') return value;
  }
  return "/tmp";
}

// The wall-clock time (seconds since the epoch) of the first failing case, before shrinking, in
// $SNAPSIM_PROPERTY_OUT/first-failure: the mutation self-test reports time to detection apart from time to shrink.
// Test code, outside the simulated path.
bool failed_once = false;

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// $SNAPSIM_PROPERTY_DEADLINE (seconds since the epoch, set by the mutation self-test): past it, a run in which no
// property has failed yet ends (exit status 3) instead of drawing another case; shrinking a failure found in time
// goes on.
void DiscardPastDeadline() {
  const char* deadline = std::getenv("SNAPSIM_PROPERTY_DEADLINE");
  if (deadline == nullptr || failed_once) return;
  if (NowMillis() / 1000 >= std::strtoll(deadline, nullptr, 10)) {
    std::printf("detection budget over (SNAPSIM_PROPERTY_DEADLINE): no property failed\n");
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
  std::ofstream(path) << millis / 1000 << "." << absl::StrFormat("%03d", millis % 1000) << "\n";
}

// Runs the scenario judging `invariants` (empty: all); a violation fails the property with the scenario printed,
// written to a file, and the commands that reproduce it.
void CheckScenario(const std::string& property, Scenario scenario, const std::set<int>& invariants) {
  DiscardPastDeadline();
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
  CheckScenario("every-invariant", GenerateScenario("every-invariant", {}), {});
}

// The headline property, stated alone: whatever sequence of full and incremental modes, savepoints in both formats,
// restores in every restore mode, rescales and recoverable faults, restoring any retained checkpoint or savepoint
// gives exactly the model state (invariant 1).
RC_GTEST_PROP(Property, RestoringAnySnapshotGivesTheModelState, ()) {
  CheckScenario("restore-equality", GenerateScenario("restore-equality", {}), {1});
}

RC_GTEST_PROP(Property, NoUnexpectedError, ()) {
  CheckScenario("no-unexpected-error", GenerateScenario("no-unexpected-error", {}), {0});
}

RC_GTEST_PROP(Property, NoDanglingReference, ()) {
  CheckScenario("no-dangling-reference", GenerateScenario("no-dangling-reference", {}), {2});
}

RC_GTEST_PROP(Property, NoLeakAtQuiescence, ()) {
  Emphasis emphasis;
  emphasis.manual_checkpoints = true;  // quiesce steps need manual checkpoints
  CheckScenario("no-leak", GenerateScenario("no-leak", emphasis), {3});
}

RC_GTEST_PROP(Property, ReuseOnlyConfirmedUploads, ()) {
  CheckScenario("reuse-only-confirmed", GenerateScenario("reuse-only-confirmed", {}), {4});
}

RC_GTEST_PROP(Property, RestoreModeOwnership, ()) {
  CheckScenario("ownership", GenerateScenario("ownership", {}), {5});
}

RC_GTEST_PROP(Property, LocalStateIsolation, ()) {
  Emphasis emphasis;
  emphasis.local_recovery = 1;
  CheckScenario("local-isolation", GenerateScenario("local-isolation", emphasis), {6});
}

RC_GTEST_PROP(Property, IncrementalUploadsExactlyWhatTheBaseLacks, ()) {
  CheckScenario("efficiency", GenerateScenario("efficiency", {}), {8});
}

RC_GTEST_PROP(Property, CheckpointsCompleteOnceFaultsEnd, ()) {
  CheckScenario("liveness", GenerateScenario("liveness", {}), {9});
}

RC_GTEST_PROP(Property, LocalRecoveryIsUsed, ()) {
  Emphasis emphasis;
  emphasis.local_recovery = 1;
  CheckScenario("local-recovery-used", GenerateScenario("local-recovery-used", emphasis), {10});
}

RC_GTEST_PROP(Property, RetentionKeepsTheLatestCheckpoints, ()) {
  CheckScenario("retention", GenerateScenario("retention", {}), {11});
}

// Determinism: any generated scenario replayed in a second world gives the same trace hash.
RC_GTEST_PROP(Property, SameScenarioSameTraceHash, ()) {
  const Scenario scenario = GenerateScenario("determinism", {});
  DiscardPastDeadline();
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
