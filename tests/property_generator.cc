#include "tests/property_generator.h"

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "faults/fault_model.h"
#include "rapidcheck.h"
#include "rapidcheck/state.h"

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
  // Checkpoints and savepoints triggered by steps so far: about the id of the next one (periodic checkpoints and a
  // resume's restored id move it on), for messages scripted about one checkpoint.
  int triggers = 0;

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
    ++model.triggers;
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
      } else if (model.Quiet() && model.config.checkpoint_interval_ms == 0 && Chance(1, 4)) {
        // Nothing can fail it: no fault armed, no message scripted, no periodic checkpoint to subsume it.
        arguments.push_back({"expect", "completed"});
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
                   {"checkpoint", Chance(1, 4) ? Int(model.triggers + 1, model.triggers + 2) : "any"},
                   {"ms", Chance(1, 4) ? Int(100, 600) : Int(0, 50)},
                   {"count", Int(1, 2)}};
    } else if (verb == "deliver") {
      arguments = {{"kind", Pick(std::vector<std::string>(std::begin(kMessageKinds), std::end(kMessageKinds)))}};
      if (Chance(1, 4)) arguments.push_back({"subtask", Int(0, model.parallelism - 1)});
    } else if (verb == "fault") {
      // Download faults only show on a restore, a rarer step than those that upload or touch the disk: they are
      // drawn twice as often as the others.
      std::vector<std::string> kinds = RecoverableFaultKinds();
      for (const char* download : {"download-fails", "download-corrupts"}) kinds.push_back(download);
      const std::string kind = Pick(kinds);
      // A local disk sees far more operations than the object store.
      const bool disk = OnLocalDisk(kind);
      arguments = {{"kind", kind}, {"count", Chance(1, 3) ? "-1" : Int(1, 3)}};
      // Every matching operation (the default chance) only for a fault that runs out.
      if (disk || Find(arguments, "count") == "-1" || Chance(3, 4)) {
        arguments.push_back({"chance", absl::StrCat("1/", disk ? Pick(std::vector<int>{16, 64, 256})
                                                               : Pick(std::vector<int>{1, 2, 4, 8}))});
      }
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
      arguments = {{"from", Pick(sources)}, {"parallelism", Chance(1, 4) ? "same" : Int(1, 3)}};
    }
    const bool single_write =
        verb == "put" || verb == "append" || verb == "map-put" || verb == "map-remove" || verb == "remove";
    if (single_write && model.operators > 1 && Chance(1, 2)) {
      arguments.push_back({"operator", Int(0, model.operators - 1)});
    }
    return std::make_shared<StepCommand>(verb, std::move(arguments));
  });
}

}  // namespace

Scenario GeneratePropertyScenario(const std::string& property, const PropertyEmphasis& emphasis) {
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
  // The job manager's decisions (invariant 12): tolerable failures for half the programs, a min pause for half of
  // those with periodic checkpoints (shorter and longer than the interval), a timeout short enough to expire under
  // slow storage for one in four.
  config.tolerable_failures = Chance(1, 2) ? -1 : static_cast<int>(Uniform(0, 2));
  if (config.checkpoint_interval_ms > 0 && Chance(1, 2)) config.min_pause_ms = Pick(std::vector<int64_t>{20, 40, 80});
  if (Chance(1, 4)) config.checkpoint_timeout_ms = 150;
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


Scenario SamplePropertyScenario(uint64_t seed, int size) {
  const rc::Gen<Scenario> generator = rc::gen::exec([] { return GeneratePropertyScenario("sample", {}); });
  return generator(rc::Random(seed), size).value();
}

}  // namespace snapsim
