// snapsim explain FILE: at which step a failure becomes likely, and at which it becomes certain (issue #29).
//
// For a failing scenario, and for each step S up to the failing one, M runs replay the header and the steps before
// S exactly and redraw everything from S on from new seeds (RunOptions::reseed_from_step: the schedule, latencies,
// fault draws, the bytes written); the share of them that still fail the same invariant estimates the probability
// of the failure once the steps before S ran as they did. Printed step by step as a text plot, with the step at
// which the failure becomes likely (p >= 0.5 from then on) and the one at which it becomes certain (every run from
// then on fails). Antithesis calls this causality analysis; here it is a loop over replays, in this process.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "scenarios/cli.h"
#include "scenarios/cli_flags.h"
#include "scenarios/executor.h"
#include "scenarios/scenario.h"
#include "sim/prng.h"

namespace snapsim::cli {
namespace {

constexpr int kBarWidth = 20;

std::string Bar(double probability) {
  const int filled = static_cast<int>(probability * kBarWidth + 0.5);
  return absl::StrCat("|", std::string(filled, '#'), std::string(kBarWidth - filled, ' '), "|");
}

// The seed of run `run` redrawn from step `step`: a function of the scenario's seed, the step and the run only.
uint64_t ReseedOf(uint64_t scenario_seed, int step, int run) {
  return Prng(scenario_seed).Child(absl::StrCat("explain-", step, "-", run)).NextU64();
}

}  // namespace

int Explain(const std::vector<std::string>& arguments) {
  std::vector<std::string> files;
  int runs = 20;
  FlagSet flags("explain", "FILE [--runs=M]",
                "For a failing scenario, and for each step S up to the failing one, replays the steps before S\n"
                "exactly and redraws the rest M times from new seeds (schedule, latencies, fault draws, the bytes\n"
                "written); prints, step by step, the share of runs that still fail the same invariant, and the steps\n"
                "at which the failure becomes likely (p >= 0.5 from then on) and certain (every run fails).");
  flags.Int("runs", &runs, 1, 1000, "runs per step (default 20)");
  flags.Positionals(&files, "FILE");
  if (std::optional<int> stop = flags.ParseOrStop(arguments)) return *stop;
  if (files.size() != 1) return UsageError("explain", "give one scenario FILE");
  const std::string path = UserPath(files[0]);
  absl::StatusOr<Scenario> scenario = LoadScenarioFile(path);
  if (!scenario.ok()) {
    std::printf("%s: BAD INPUT\n  %s\n", files[0].c_str(), std::string(scenario.status().message()).c_str());
    return 2;
  }
  const RunResult original = RunScenario(*scenario);
  if (original.verdict == RunResult::Verdict::kBadInput) {
    std::printf("%s: BAD INPUT\n  %s\n", files[0].c_str(), original.error.c_str());
    return 2;
  }
  if (original.verdict == RunResult::Verdict::kPass) {
    std::printf("%s: PASS: nothing to explain\n", files[0].c_str());
    return 0;
  }
  const Violation& failure = *original.violation;
  std::printf("%s: FAIL  %s\n", files[0].c_str(), failure.ToString().c_str());
  std::printf("p: the share of %d runs that still fail invariant %d when the steps before it replay as recorded "
              "and the rest is redrawn\n",
              runs, failure.invariant);

  // Steps up to the failing one (an end-of-run failure: all of them). Redrawing from a later step changes nothing.
  std::vector<const ScenarioStep*> steps;
  for (const ScenarioStep& step : scenario->steps) {
    if (step.number <= failure.step) steps.push_back(&step);
  }
  std::vector<double> probability(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    int failed = 0;
    for (int run = 0; run < runs; ++run) {
      RunOptions options;
      options.reseed_from_step = steps[i]->number;
      options.reseed = ReseedOf(scenario->config.seed, steps[i]->number, run);
      const RunResult result = RunScenario(*scenario, options);
      if (result.violation.has_value() && result.violation->invariant == failure.invariant) ++failed;
    }
    probability[i] = static_cast<double>(failed) / runs;
    std::string text = steps[i]->ToString();
    if (text.size() > 60) text = absl::StrCat(text.substr(0, 57), "...");
    std::printf("  redrawn from step %-4d p=%.2f %s  %s\n", steps[i]->number, probability[i],
                Bar(probability[i]).c_str(), text.c_str());
    std::fflush(stdout);
  }
  // The failure is likely (certain) from the first step after which every redraw keeps it likely (certain): the
  // step before the first S of a run of redraws from S on that all reach the threshold, or the header itself.
  const auto from = [&](double threshold) -> std::string {
    size_t first = steps.size();
    while (first > 0 && probability[first - 1] >= threshold) --first;
    if (first == 0) return "from the header: every redraw of the whole run";
    if (first == steps.size()) return "only as recorded: no redraw of the failing step";
    return absl::StrCat("once step ", steps[first - 1]->number, " (", steps[first - 1]->verb, ") ran as recorded");
  };
  std::printf("likely (p >= 0.5): %s\n", from(0.5).c_str());
  std::printf("certain (p = 1): %s\n", from(1.0).c_str());
  return 1;
}

}  // namespace snapsim::cli
