#include "scenarios/swarm_generator.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "faults/fault_model.h"
#include "scenarios/lifecycle_generator.h"
#include "sim/prng.h"

namespace snapsim {
namespace {

constexpr const char* kMessageKinds[] = {"trigger", "ack", "decline", "notify-complete", "notify-aborted"};
constexpr const char* kMessageActions[] = {"drop", "duplicate", "delay", "reorder"};
constexpr const char* kPaths[] = {"", "shared/", "chk-", "savepoint", "_metadata", "ha/"};
// Local disks: a machine, a DB's working directory, SST files, MANIFESTs, local-recovery copies.
constexpr const char* kDiskPaths[] = {"", "/tm-0/", "/db/", ".sst", "MANIFEST", "localState/"};

}  // namespace

Scenario GenerateSwarmScenario(uint64_t seed, const SwarmOptions& options) {
  Scenario scenario;
  scenario.origin = absl::StrCat("<swarm seed ", seed, ">");
  Prng prng = Prng(seed).Child("swarm-generator");
  auto below = [&prng](uint64_t n) { return prng.UniformBelow(n); };
  ScenarioConfig& config = scenario.config;
  config.seed = seed;
  config.parallelism = 1 + static_cast<int>(below(3));
  config.incremental = below(2) == 0;
  config.local_recovery = below(2) == 0;
  config.max_concurrent_checkpoints = 1 + static_cast<int>(below(3));
  config.retained_checkpoints = 1 + static_cast<int>(below(3));
  const char* const modes[] = {"claim", "no_claim", "legacy"};
  config.restore_mode = modes[below(3)];
  config.checkpoint_interval_ms = below(2) == 0 ? 0 : 30 + 10 * static_cast<int64_t>(below(4));
  config.checkpoint_timeout_ms = kGeneratedTimeoutMs;
  // Flink's tolerable failed checkpoints: unlimited for half the seeds, else 0 (Flink's default), 1 or 3.
  const int tolerable[] = {-1, -1, -1, 0, 1, 3};
  config.tolerable_failures = tolerable[below(6)];
  // Chained keyed operators: one for half the seeds, else two or three. Drawn apart, so that every other draw of a
  // seed stays what it was before operators were drawn.
  Prng operators_prng = Prng(seed).Child("swarm-operators");
  config.operators = operators_prng.UniformBelow(2) == 0 ? 1 : 2 + static_cast<int>(operators_prng.UniformBelow(2));
  // Task manager restarts on a kept working directory (crash how=restart|reboot): drawn apart, for the same reason.
  Prng restarts_prng = Prng(seed).Child("swarm-restarts");
  // Small state inline in the metadata for a third of the seeds, at thresholds that make some SST files, MANIFESTs,
  // CURRENTs and metadata streams inline and others objects: drawn apart too.
  Prng inline_prng = Prng(seed).Child("swarm-inline");
  if (inline_prng.UniformBelow(3) == 0) {
    constexpr int64_t kThresholds[] = {64, 512, 2048, 8192, 20480};
    config.inline_threshold = kThresholds[inline_prng.UniformBelow(5)];
  }
  // The job manager's decisions (invariant 12): a min pause for half the seeds with periodic checkpoints (shorter
  // than, equal to and longer than the interval, so requests are refused and the trigger rescheduled, and the base
  // interval becomes the pause), timeouts short enough to expire under slow storage for a third, and checkpoints left
  // pending across restarts. Drawn apart too.
  Prng decisions_prng = Prng(seed).Child("swarm-decisions");
  if (config.checkpoint_interval_ms > 0 && decisions_prng.UniformBelow(2) == 0) {
    const int64_t pauses[] = {10, 20, config.checkpoint_interval_ms, 2 * config.checkpoint_interval_ms};
    config.min_pause_ms = pauses[decisions_prng.UniformBelow(4)];
  }
  if (decisions_prng.UniformBelow(3) == 0) {
    const int64_t timeouts[] = {100, 150, 200};
    config.checkpoint_timeout_ms = timeouts[decisions_prng.UniformBelow(3)];
  }
  // The rest of the scenario language (tests/vocabulary_drawn_test.cc): another max parallelism and another message
  // latency bound for some seeds (0: messages race each other), and resumes Flink refuses, drawn with the refusal
  // expected. Drawn apart too.
  Prng vocabulary_prng = Prng(seed).Child("swarm-vocabulary");
  if (vocabulary_prng.UniformBelow(8) == 0) config.max_parallelism = vocabulary_prng.UniformBelow(2) == 0 ? 32 : 256;
  if (vocabulary_prng.UniformBelow(8) == 0) {
    config.message_latency_ms_max = vocabulary_prng.UniformBelow(2) == 0 ? 0 : 10;
  }

  // The mix: each storage fault kind on with chance 1/2, at 1/D per matching operation (disks see far more
  // operations than the object store: their D is larger).
  struct StorageFault {
    std::string kind;
    uint64_t denominator;
    std::string path;
  };
  std::vector<StorageFault> storage_faults;
  for (const FaultKindInfo& info : FaultKinds()) {
    if (options.recoverable_only && !info.recoverable) continue;
    if (below(2) == 0) continue;
    const uint64_t denominators[] = {4, 8, 16, 32};
    const uint64_t disk_denominators[] = {64, 256, 1024, 4096};
    // A loss ends much of a run: rarer.
    const uint64_t loss_denominators[] = {32, 128, 512, 2048};
    if (!info.recoverable) {
      storage_faults.push_back({info.name, loss_denominators[below(4)], kPaths[below(6)]});
    } else if (info.local_disk) {
      storage_faults.push_back({info.name, disk_denominators[below(4)], kDiskPaths[below(6)]});
    } else {
      storage_faults.push_back({info.name, denominators[below(4)], kPaths[below(6)]});
    }
  }
  std::vector<std::string> message_kinds;
  for (const char* kind : kMessageKinds) {
    if (below(2) == 0) message_kinds.push_back(kind);
  }
  const bool restarts = below(4) != 0;
  const bool resumes = below(4) != 0;

  std::vector<std::string> mix;
  for (const StorageFault& fault : storage_faults) {
    mix.push_back(absl::StrCat(fault.kind, " 1/", fault.denominator, fault.path.empty() ? "" : " on ", fault.path));
  }
  for (const std::string& kind : message_kinds) mix.push_back(absl::StrCat("messages ", kind));
  if (restarts) mix.push_back("restarts");
  if (resumes) mix.push_back("resumes");
  scenario.description = {
      absl::StrCat("Swarm seed ", seed, ": ", DescribeConfiguration(config),
                   config.checkpoint_interval_ms > 0 ? absl::StrCat(" interval=", config.checkpoint_interval_ms, "ms")
                                                     : std::string(" manual checkpoints")),
      absl::StrCat("Fault mix: ", mix.empty() ? std::string("none") : absl::StrJoin(mix, ", ")),
      absl::StrCat("Regenerate: bazel run //:snapsim -- sweep --first=", seed, " --seeds=1")};

  ScenarioStepAppender steps(&scenario, "swarm");
  auto arm = [&] {
    for (const StorageFault& fault : storage_faults) {
      std::vector<std::pair<std::string, std::string>> arguments = {
          {"kind", fault.kind}, {"chance", absl::StrCat("1/", fault.denominator)}, {"count", "-1"}};
      if (!fault.path.empty()) arguments.push_back({"path", fault.path});
      if (fault.kind == "storage-slow") arguments.push_back({"ms", absl::StrCat(100 + 100 * below(4))});
      steps.Add("fault", arguments);
    }
  };
  auto quiet_period = [&] {  // a checkpoint that completes, so a resume has something to start from
    steps.Add("faults-off");
    steps.Add("liveness", {{"attempts", "4"}});
  };
  int parallelism = config.parallelism;
  int operators = config.operators;
  bool incremental = config.incremental;
  bool local_recovery = config.local_recovery;
  arm();
  const int rounds = 12 + static_cast<int>(below(12));
  for (int round = 0; round < rounds; ++round) {
    if (!message_kinds.empty() && below(3) == 0) {
      steps.Add("message", {{"action", kMessageActions[below(4)]},
                            {"kind", message_kinds[below(message_kinds.size())]},
                            {"count", absl::StrCat(1 + below(2))},
                            {"ms", absl::StrCat(below(50))}});
    }
    steps.Add("writes", {{"count", absl::StrCat(5 + below(40))}, {"keys", absl::StrCat(20 + below(200))}});
    if (below(3) == 0) steps.Add("flush");
    if (below(5) == 0) steps.Add("compact");
    if (below(3) == 0) steps.Add("checkpoint", {{"kind", below(6) == 0 ? "full" : "configured"}});
    if (below(8) == 0) {
      steps.Add("savepoint",
                {{"format", below(2) == 0 ? "native" : "canonical"}, {"sync", below(4) == 0 ? "yes" : "no"}});
    }
    steps.Add("advance", {{"ms", absl::StrCat(5 + below(40))}});
    if (restarts && below(10) == 0) {
      // Now and then with a checkpoint still pending: the restart aborts it (a reason that must not count).
      if (decisions_prng.UniformBelow(3) == 0) steps.Add("checkpoint", {{"wait", "no"}});
      steps.Add("failover-tasks");
    }
    if (restarts && below(12) == 0) {
      steps.Add("crash", {{"machine", absl::StrCat(below(static_cast<uint64_t>(parallelism)))},
                          {"how", below(2) == 0 ? "graceful" : "hard"}});
    }
    if (restarts && restarts_prng.UniformBelow(10) == 0) {
      const std::string machine = absl::StrCat(restarts_prng.UniformBelow(static_cast<uint64_t>(parallelism)));
      // Now and then the disk the task manager comes back to holds a corrupt local snapshot file, or a corrupt SST
      // file of a local copy (FLINK-27681: a local restore must not use it). Only right before the process dies: an
      // SST of a local copy is hard-linked into the running database, whose compactions would read the flipped bit on
      // RocksDB's blocking-call helper; the dead process's database reads nothing any more.
      switch (restarts_prng.UniformBelow(6)) {
        case 0:
        case 1:
          steps.Add("corrupt", {{"machine", machine}, {"path", "_task_state_snapshot"}});
          break;
        case 2:
          steps.Add("corrupt", {{"machine", machine},
                                {"path", ".sst"},
                                {"count", absl::StrCat(1 + restarts_prng.UniformBelow(2))}});
          break;
        default:
          break;
      }
      steps.Add("crash", {{"machine", machine}, {"how", restarts_prng.UniformBelow(3) == 0 ? "reboot" : "restart"}});
    }
    if (restarts && below(14) == 0) steps.Add("failover-coordinator");
    if (resumes && below(9) == 0) {
      quiet_period();
      // Now and then the new job starts from a savepoint taken in the quiet period, not the latest checkpoint.
      std::string from = "latest";
      if (below(3) == 0) {
        from = absl::StrCat("sp", round);
        steps.Add("savepoint",
                  {{"format", below(2) == 0 ? "native" : "canonical"}, {"as", from}, {"expect", "completed"}});
      }
      const char* const stops[] = {"cancel", "suspend"};
      steps.Add("stop", {{"how", stops[below(2)]}});
      parallelism = 1 + static_cast<int>(below(3));
      incremental = below(2) == 0;
      local_recovery = below(2) == 0;
      std::vector<std::pair<std::string, std::string>> resume = {{"from", from},
                                                                 {"mode", incremental ? "incremental" : "full"},
                                                                 {"restore_mode", modes[below(3)]},
                                                                 {"local_recovery", local_recovery ? "on" : "off"},
                                                                 {"parallelism", absl::StrCat(parallelism)}};
      // Now and then a resume Flink refuses comes first, expected to fail: another max parallelism (FLINK-40113), or
      // fewer operators than the snapshot has state for (only while every operator has had rounds of writes). A
      // refused resume leaves no job; the real resume follows.
      if (vocabulary_prng.UniformBelow(6) == 0) {
        steps.Add("resume", {{"from", from},
                             {"max_parallelism", absl::StrCat(config.max_parallelism == 128 ? 64 : 128)},
                             {"expect", "failed"}});
      } else if (operators > 1 && operators == config.operators && round >= 3 &&
                 vocabulary_prng.UniformBelow(4) == 0) {
        steps.Add("resume", {{"from", from}, {"operators", absl::StrCat(operators - 1)}, {"expect", "failed"}});
      }
      // Now and then the new job chains one more operator, which starts empty (one fewer is refused: the snapshot
      // has state for it).
      if (operators < 3 && operators_prng.UniformBelow(4) == 0) {
        ++operators;
        resume.push_back({"operators", absl::StrCat(operators)});
      }
      steps.Add("resume", resume);
      arm();
    }
  }
  // Liveness: faults over, pending work drains, a checkpoint completes within the bound.
  quiet_period();
  steps.Add("restore-check", {{"from", "all"}, {"parallelism", absl::StrCat(1 + below(3))}});
  return scenario;
}

}  // namespace snapsim
