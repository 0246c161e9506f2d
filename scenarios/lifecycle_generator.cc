#include "scenarios/lifecycle_generator.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sim/prng.h"

namespace snapsim {
namespace {

const char* const kMessageKinds[] = {"trigger", "notify-complete", "notify-aborted", "ack", "decline"};

}  // namespace

std::string DescribeConfiguration(const ScenarioConfig& config) {
  return absl::StrCat("parallelism=", config.parallelism, " ", config.incremental ? "incremental" : "full",
                      config.local_recovery ? " local-recovery" : "", " max_concurrent=",
                      config.max_concurrent_checkpoints, " retained=", config.retained_checkpoints,
                      " resume=", config.restore_mode,
                      config.tolerable_failures >= 0 ? absl::StrCat(" tolerable_failures=", config.tolerable_failures)
                                                     : std::string(),
                      config.inline_threshold > 0 ? absl::StrCat(" inline_threshold=", config.inline_threshold)
                                                  : std::string(),
                      config.min_pause_ms > 0 ? absl::StrCat(" min_pause=", config.min_pause_ms, "ms") : std::string(),
                      config.checkpoint_timeout_ms != kGeneratedTimeoutMs
                          ? absl::StrCat(" timeout=", config.checkpoint_timeout_ms, "ms")
                          : std::string());
}

Scenario GenerateLifecycleScenario(uint64_t seed) {
  Scenario scenario;
  scenario.origin = absl::StrCat("<lifecycle seed ", seed, ">");
  Prng prng = Prng(seed).Child("lifecycle-generator");
  ScenarioConfig& config = scenario.config;
  config.seed = seed;
  config.parallelism = 1 + static_cast<int>(prng.UniformBelow(3));
  config.incremental = prng.UniformBelow(2) == 0;
  config.local_recovery = prng.UniformBelow(2) == 0;
  config.max_concurrent_checkpoints = 1 + static_cast<int>(prng.UniformBelow(3));
  config.retained_checkpoints = 1 + static_cast<int>(prng.UniformBelow(2));
  const char* const modes[] = {"claim", "no_claim", "legacy"};
  config.restore_mode = modes[prng.UniformBelow(3)];
  config.checkpoint_interval_ms = 30;
  config.checkpoint_timeout_ms = kGeneratedTimeoutMs;
  scenario.description = {
      absl::StrCat("Generated job lifecycle, seed ", seed, ": ", DescribeConfiguration(config), "."),
      absl::StrCat("Regenerate: bazel run //:snapsim -- sweep --first=", seed, " --seeds=1")};

  ScenarioStepAppender steps(&scenario, "lifecycle");
  const int crashed_machine = static_cast<int>(prng.UniformBelow(static_cast<uint64_t>(config.parallelism)));
  for (int round = 0; round < 18; ++round) {
    // Lost, duplicated, delayed and reordered messages: best effort is what Flink promises.
    if (prng.UniformBelow(3) == 0) {
      const char* const actions[] = {"drop", "duplicate", "delay", "reorder"};
      const char* action = actions[prng.UniformBelow(4)];
      const char* kind = kMessageKinds[prng.UniformBelow(prng.UniformBelow(4) == 0 ? 5 : 3)];
      steps.Add("message", {{"action", action},
                            {"kind", kind},
                            {"count", absl::StrCat(1 + prng.UniformBelow(2))},
                            {"ms", absl::StrCat(prng.UniformBelow(40))}});
    }
    steps.Add("writes", {{"count", absl::StrCat(5 + prng.UniformBelow(20))}, {"keys", "300"}});
    if (prng.UniformBelow(3) == 0) steps.Add("flush");
    if (prng.UniformBelow(6) == 0) steps.Add("compact");
    if (prng.UniformBelow(4) == 0) steps.Add("checkpoint");
    if (prng.UniformBelow(8) == 0) {
      steps.Add("savepoint", {{"format", prng.UniformBelow(2) == 0 ? "native" : "canonical"}});
    }
    steps.Add("advance", {{"ms", "20"}});
    if (round == 5) steps.Add("failover-tasks");
    if (round == 10) {
      steps.Add("crash", {{"machine", absl::StrCat(crashed_machine)},
                          {"how", prng.UniformBelow(2) == 0 ? "graceful" : "hard"}});
    }
    if (round == 14) steps.Add("failover-coordinator");
  }
  // A completion notification racing the next trigger can make a checkpoint decline (Flink too); the liveness
  // step allows retries and reports each one.
  steps.Add("liveness", {{"attempts", "4"}});
  steps.Add("stop", {{"how", "cancel"}});
  steps.Add("resume", {{"from", "latest"},
                       {"mode", config.incremental ? "full" : "incremental"},
                       {"local_recovery", config.local_recovery ? "off" : "on"},
                       {"parallelism", absl::StrCat(config.parallelism % 3 + 1)}});
  for (int round = 0; round < 3; ++round) {
    steps.Add("writes", {{"count", absl::StrCat(5 + prng.UniformBelow(20))}, {"keys", "300"}});
    if (prng.UniformBelow(2) == 0) steps.Add("flush");
    steps.Add("liveness", {{"attempts", "4"}});
  }
  steps.Add("failover-tasks");
  steps.Add("restore-check", {{"from", "all"}, {"parallelism", absl::StrCat(1 + prng.UniformBelow(3))}});
  return scenario;
}

}  // namespace snapsim
