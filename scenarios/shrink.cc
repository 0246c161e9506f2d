#include "scenarios/shrink.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace snapsim {
namespace {

RunResult Run(const Scenario& scenario, const ShrinkOptions& options) {
  return options.isolate ? RunScenarioInChildProcess(scenario, options.run_options)
                         : RunScenario(scenario, options.run_options);
}

// The child's report: "E <step>\n" as each step ends, then the result: "R <verdict> <invariant> <step> <checkpoint>
// <subtask> <name bytes> <file bytes> <detail bytes> <error bytes>\n" and the four texts.
void WriteAll(int fd, const std::string& bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    written += static_cast<size_t>(n);
  }
}

std::string ReadAll(int fd) {
  std::string bytes;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return bytes;
    bytes.append(buffer, static_cast<size_t>(n));
  }
}

class Shrinker {
 public:
  Shrinker(const ShrinkOptions& options, int invariant) : options_(options), invariant_(invariant) {}

  // Runs `candidate`; on the same violation keeps it (cut after the violating step) and returns true.
  bool TryKeep(Scenario candidate) {
    if (candidate.steps.empty() || runs_ >= options_.max_runs) return false;
    ++runs_;
    RunResult result = Run(candidate, options_);
    if (result.verdict != RunResult::Verdict::kViolation || !result.violation.has_value() ||
        result.violation->invariant != invariant_) {
      return false;
    }
    CutAfterViolation(&candidate, result);
    if (options_.progress) {
      options_.progress(absl::StrCat("  ", candidate.steps.size(), " steps still fail invariant ", invariant_,
                                     " (run ", runs_, ")"));
    }
    best_ = std::move(candidate);
    best_result_ = std::move(result);
    return true;
  }

  static void CutAfterViolation(Scenario* scenario, const RunResult& result) {
    const int step = result.violation->step;
    while (scenario->steps.size() > 1 && scenario->steps.back().number > step) scenario->steps.pop_back();
  }

  // ddmin: remove chunks of steps, from half the program down to single steps.
  bool RemoveSteps() {
    bool any = false;
    size_t chunk = std::max<size_t>(1, best_.steps.size() / 2);
    while (!Exhausted()) {
      bool removed = false;
      for (size_t start = 0; start < best_.steps.size() && !Exhausted();) {
        Scenario candidate = best_;
        const size_t end = std::min(candidate.steps.size(), start + chunk);
        candidate.steps.erase(candidate.steps.begin() + static_cast<ptrdiff_t>(start),
                              candidate.steps.begin() + static_cast<ptrdiff_t>(end));
        if (TryKeep(std::move(candidate))) {
          removed = any = true;
        } else {
          start += chunk;
        }
      }
      if (!removed) {
        if (chunk == 1) break;
        chunk /= 2;
      } else {
        chunk = std::min(chunk, std::max<size_t>(1, best_.steps.size() / 2));
      }
    }
    return any;
  }

  // Header fields toward the simplest job.
  bool SimplifyHeader() {
    bool any = false;
    auto attempt = [&](auto mutate) {
      Scenario candidate = best_;
      if (!mutate(candidate.config)) return;
      if (TryKeep(std::move(candidate))) any = true;
    };
    attempt([](ScenarioConfig& c) { return c.parallelism > 1 ? (c.parallelism = 1, true) : false; });
    attempt([](ScenarioConfig& c) { return c.parallelism > 2 ? (c.parallelism = 2, true) : false; });
    attempt([](ScenarioConfig& c) { return c.operators > 1 ? (c.operators = 1, true) : false; });
    attempt([](ScenarioConfig& c) { return c.operators > 2 ? (c.operators = 2, true) : false; });
    attempt([](ScenarioConfig& c) {
      return c.max_concurrent_checkpoints > 1 ? (c.max_concurrent_checkpoints = 1, true) : false;
    });
    attempt([](ScenarioConfig& c) { return c.retained_checkpoints > 1 ? (c.retained_checkpoints = 1, true) : false; });
    attempt([](ScenarioConfig& c) { return c.local_recovery ? (c.local_recovery = false, true) : false; });
    attempt([](ScenarioConfig& c) {
      return c.checkpoint_interval_ms > 0 ? (c.checkpoint_interval_ms = 0, true) : false;
    });
    attempt([](ScenarioConfig& c) { return c.upload_threads > 1 ? (c.upload_threads = 1, true) : false; });
    attempt([](ScenarioConfig& c) { return c.inline_threshold > 0 ? (c.inline_threshold = 0, true) : false; });
    attempt([](ScenarioConfig& c) {
      return c.tolerable_failures >= 0 ? (c.tolerable_failures = -1, true) : false;
    });
    attempt([](ScenarioConfig& c) { return c.min_pause_ms > 0 ? (c.min_pause_ms = 0, true) : false; });
    return any;
  }

  // Every argument toward its minimum or default.
  bool SimplifyArguments() {
    bool any = false;
    for (size_t index = 0; index < best_.steps.size() && !Exhausted(); ++index) {
      const StepSpec* spec = FindStepSpec(best_.steps[index].verb);
      if (spec == nullptr) continue;
      for (const StepParameter& parameter : spec->parameters) {
        for (const std::string& simpler : SimplerValues(parameter, best_.steps[index])) {
          if (index >= best_.steps.size()) break;
          Scenario candidate = best_;
          auto found = candidate.steps[index].arguments.find(parameter.name);
          if (found == candidate.steps[index].arguments.end()) continue;
          found->second.value = simpler;
          if (TryKeep(std::move(candidate))) {
            any = true;
            break;
          }
        }
      }
    }
    return any;
  }

  static std::vector<std::string> SimplerValues(const StepParameter& parameter, const ScenarioStep& step) {
    std::vector<std::string> values;
    auto found = step.arguments.find(parameter.name);
    if (found == step.arguments.end()) return values;
    const std::string& current = found->second.value;
    if (parameter.type == StepParameter::Type::kInt) {
      int64_t value = 0;
      if (!absl::SimpleAtoi(current, &value)) {
        if (!parameter.default_value.empty() && current != parameter.default_value) {
          values.push_back(parameter.default_value);
        }
        return values;
      }
      const int64_t floor = std::max<int64_t>(parameter.min, 0);
      if (value > floor) values.push_back(absl::StrCat(floor));
      if (value / 2 > floor) values.push_back(absl::StrCat(value / 2));
      if (value - 1 > floor && value - 1 != value / 2) values.push_back(absl::StrCat(value - 1));
    } else if (parameter.name == "chance") {  // a fault that fires every time is the simplest
      if (current != "1/1") values.push_back("1/1");
    } else if (parameter.type == StepParameter::Type::kWord) {
      if (!parameter.default_value.empty() && current != parameter.default_value) {
        values.push_back(parameter.default_value);
      }
    }
    return values;
  }

  bool Exhausted() const { return runs_ >= options_.max_runs; }
  int runs() const { return runs_; }
  Scenario& best() { return best_; }
  RunResult& best_result() { return best_result_; }

 private:
  const ShrinkOptions& options_;
  const int invariant_;
  int runs_ = 0;
  Scenario best_;
  RunResult best_result_;
};

}  // namespace

RunResult RunScenarioInChildProcess(const Scenario& scenario, const RunOptions& options) {
  std::fflush(stdout);
  std::fflush(stderr);
  int fds[2];
  RunResult result;
  if (pipe(fds) != 0) {
    result.verdict = RunResult::Verdict::kBadInput;
    result.error = "cannot create a pipe for a child run";
    return result;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    result.verdict = RunResult::Verdict::kBadInput;
    result.error = "cannot start a child process for a run";
    return result;
  }
  if (pid == 0) {
    close(fds[0]);
    RunOptions child_options = options;
    child_options.progress = [fd = fds[1]](const std::string& line) {
      int step = 0;  // "step 3 checkpoint ...: ok at ..."
      if (std::sscanf(line.c_str(), "step %d", &step) == 1) WriteAll(fd, absl::StrCat("E ", step, "\n"));
    };
    const RunResult run = RunScenario(scenario, child_options);
    const Violation violation = run.violation.value_or(Violation{});
    WriteAll(fds[1], absl::StrCat("R ", static_cast<int>(run.verdict), " ", violation.invariant, " ", violation.step,
                                  " ", violation.checkpoint_id, " ", violation.subtask, " ", violation.name.size(),
                                  " ", violation.file.size(), " ", violation.detail.size(), " ", run.error.size(),
                                  "\n", violation.name, violation.file, violation.detail, run.error));
    close(fds[1]);
    std::_Exit(0);
  }
  close(fds[1]);
  const std::string report = ReadAll(fds[0]);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // The steps that ended, then the result if the child got that far.
  int last_ended = 0;
  size_t position = 0;
  while (position < report.size() && report[position] == 'E') {
    const size_t end = report.find('\n', position);
    if (end == std::string::npos) break;
    (void)absl::SimpleAtoi(absl::string_view(report).substr(position + 2, end - position - 2), &last_ended);
    position = end + 1;
  }
  int verdict = 0;
  Violation violation;
  long long checkpoint = -1;
  size_t name_size = 0, file_size = 0, detail_size = 0, error_size = 0;
  int consumed = 0;
  if (position < report.size() &&
      std::sscanf(report.c_str() + position, "R %d %d %d %lld %d %zu %zu %zu %zu\n%n", &verdict, &violation.invariant,
                  &violation.step, &checkpoint, &violation.subtask, &name_size, &file_size, &detail_size, &error_size,
                  &consumed) == 9 &&
      position + consumed + name_size + file_size + detail_size + error_size <= report.size()) {
    size_t at = position + static_cast<size_t>(consumed);
    violation.checkpoint_id = checkpoint;
    violation.name = report.substr(at, name_size);
    violation.file = report.substr(at += name_size, file_size);
    violation.detail = report.substr(at += file_size, detail_size);
    result.error = report.substr(at += detail_size, error_size);
    result.verdict = static_cast<RunResult::Verdict>(verdict);
    if (result.verdict == RunResult::Verdict::kViolation) result.violation = std::move(violation);
    return result;
  }
  // The child died before its report: the step after the last one that ended was running (or the end of the run).
  result.verdict = RunResult::Verdict::kViolation;
  result.violation = MakeViolation(0, StepAfter(scenario, last_ended),
                                   absl::StrCat("the process crashed, ", HowTheProcessEnded(status)));
  result.violation->invariant = kProcessCrashInvariant;
  result.violation->name = "process crash";
  return result;
}

std::string HowTheProcessEnded(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(wait_status), " (", strsignal(WTERMSIG(wait_status)), ")");
  }
  return absl::StrCat("exited with status ", WEXITSTATUS(wait_status), " without a report");
}

absl::StatusOr<ShrinkResult> ShrinkScenario(const Scenario& scenario, const ShrinkOptions& options) {
  RunResult first = Run(scenario, options);
  if (first.verdict == RunResult::Verdict::kBadInput) {
    return absl::FailedPreconditionError(absl::StrCat("the scenario is bad input: ", first.error));
  }
  if (first.verdict != RunResult::Verdict::kViolation || !first.violation.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat(scenario.origin, " passes: there is no failure to shrink"));
  }
  Shrinker shrinker(options, first.violation->invariant);
  shrinker.best() = scenario;
  Shrinker::CutAfterViolation(&shrinker.best(), first);
  shrinker.best_result() = first;
  bool changed = true;
  while (changed && !shrinker.Exhausted()) {
    changed = shrinker.RemoveSteps();
    changed = shrinker.SimplifyHeader() || changed;
    changed = shrinker.SimplifyArguments() || changed;
  }
  ShrinkResult result;
  result.invariant = first.violation->invariant;
  result.runs = shrinker.runs() + 1;
  result.steps_before = static_cast<int>(scenario.steps.size());
  result.scenario = shrinker.best();
  result.steps_after = static_cast<int>(result.scenario.steps.size());
  result.result = shrinker.best_result();
  result.exhausted = shrinker.Exhausted();
  return result;
}

}  // namespace snapsim
