// snapsim: the command line of the harness.
//
//   bazel run //:snapsim -- replay FILE... [--trace_out=FILE.json] [--until=STEP] [--quiet] [--print_hash]
//   bazel run //:snapsim -- sweep --seeds=N [--first=S] [--out=DIR]
//   bazel run //:snapsim -- shrink FILE|--seed=N [--generator=G] [--out=FILE] [--max_runs=N]
//   bazel run //:snapsim -- print --seed=N   (the scenario seed N generates)
//   bazel run //:snapsim -- steps        (the scenario language's header fields and steps)
//   bazel run //:snapsim -- --help
//
// Exit status: 0 every scenario passed, 1 an invariant was violated, 2 bad input (a malformed scenario, an
// unreadable file, bad arguments).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "scenarios/executor.h"
#include "scenarios/lifecycle_generator.h"
#include "scenarios/swarm_generator.h"
#include "scenarios/scenario.h"
#include "scenarios/shrink.h"

namespace {

constexpr char kUsage[] =
    "usage: snapsim replay FILE... [options]   replay scenario files in the simulated world\n"
    "       snapsim sweep --seeds=N [--first=S] [--out=DIR] [--generator=swarm|swarm-recoverable|lifecycle]\n"
    "                                          run the scenarios seeds S..S+N-1 generate (default: the swarm, with a\n"
    "                                          fault mix per seed); each failure is written to DIR (default\n"
    "                                          /tmp/snapsim-sweep) as a scenario\n"
    "       snapsim shrink FILE|--seed=N [--generator=...] [--out=FILE] [--max_runs=N]\n"
    "                                          minimize a failing scenario or sweep seed into the smallest scenario\n"
    "                                          that still fails the same invariant (written to --out, default\n"
    "                                          /tmp/snapsim-shrunk.scenario)\n"
    "       snapsim print --seed=N [--generator=...]   print the scenario that seed N generates\n"
    "       snapsim steps                      list the scenario language's header fields and steps\n"
    "       snapsim --help\n"
    "\n"
    "replay options:\n"
    "  --trace_out=FILE.json  write a Perfetto / chrome://tracing timeline of the (last) scenario\n"
    "  --until=STEP           stop after step STEP and dump the job, the registry and the storage listing\n"
    "  --quiet                print only the verdict lines, not every step\n"
    "  --verbose              print every trace event (time, component, event) after the steps\n"
    "  --print_hash           print the trace hash of each run (the determinism judge)\n"
    "  --fs=sim|posix         sim (default): the simulated world, deterministic; posix: a real directory with real\n"
    "                         threads (not deterministic; checkpoint timeouts capped at 1 s), same verdicts expected\n"
    "\n"
    "exit status: 0 pass, 1 an invariant was violated, 2 bad input\n"
    "scenario language: scenarios/README.md, or `snapsim steps`\n";

int Usage(const std::string& problem) {
  std::fprintf(stderr, "snapsim: %s\n%s", problem.c_str(), kUsage);
  return 2;
}

// Bazel runs the binary in its runfiles; relative paths are the user's, from where `bazel run` was called.
std::string UserPath(const std::string& path) {
  const char* directory = std::getenv("BUILD_WORKING_DIRECTORY");
  if (directory == nullptr || path.empty() || path[0] == '/') return path;
  return absl::StrCat(directory, "/", path);
}

int Replay(const std::vector<std::string>& arguments) {
  std::vector<std::string> files;
  std::string trace_out;
  int until = 0;
  bool quiet = false;
  bool verbose = false;
  bool print_hash = false;
  snapsim::RunOptions::FileSystem fs = snapsim::RunOptions::FileSystem::kSim;
  for (const std::string& argument : arguments) {
    if (absl::StartsWith(argument, "--trace_out=")) {
      trace_out = argument.substr(12);
    } else if (absl::StartsWith(argument, "--until=")) {
      if (!absl::SimpleAtoi(argument.substr(8), &until) || until <= 0) {
        return Usage("--until takes a positive step number: " + argument);
      }
    } else if (argument == "--quiet") {
      quiet = true;
    } else if (argument == "--verbose") {
      verbose = true;
    } else if (argument == "--print_hash") {
      print_hash = true;
    } else if (absl::StartsWith(argument, "--fs=")) {
      const std::string name = argument.substr(5);
      if (name != "sim" && name != "posix") return Usage("--fs is sim or posix: " + argument);
      fs = name == "posix" ? snapsim::RunOptions::FileSystem::kPosix : snapsim::RunOptions::FileSystem::kSim;
    } else if (absl::StartsWith(argument, "--")) {
      return Usage("unknown option " + argument);
    } else {
      files.push_back(argument);
    }
  }
  if (files.empty()) return Usage("replay needs at least one scenario file");
  int worst = 0;
  for (size_t index = 0; index < files.size(); ++index) {
    const std::string& file = files[index];
    absl::StatusOr<snapsim::Scenario> scenario = snapsim::LoadScenarioFile(UserPath(file));
    if (!scenario.ok()) {
      std::printf("%s: BAD INPUT\n  %s\n", file.c_str(), std::string(scenario.status().message()).c_str());
      worst = 2;
      continue;
    }
    scenario->origin = file;
    snapsim::RunOptions options;
    options.keep_trace_events = verbose || (!trace_out.empty() && index + 1 == files.size());
    options.until_step = until;
    options.fs = fs;
    if (!quiet) {
      std::printf("== %s (seed %llu, %zu steps)\n", file.c_str(),
                  static_cast<unsigned long long>(scenario->config.seed), scenario->steps.size());
      options.progress = [](const std::string& line) { std::printf("  %s\n", line.c_str()); };
    }
    const snapsim::RunResult result = snapsim::RunScenario(*scenario, options);
    if (verbose) std::printf("%s", result.trace_text.c_str());
    switch (result.verdict) {
      case snapsim::RunResult::Verdict::kPass:
        std::printf("%s: PASS  steps=%d checkpoints=%d side_world_restores=%d %s=%lldus events=%llu "
                    "trace_hash=%016llx\n",
                    file.c_str(), result.steps_run, result.checkpoints_completed, result.side_world_restores,
                    fs == snapsim::RunOptions::FileSystem::kSim ? "virtual_time" : "elapsed",
                    static_cast<long long>(result.virtual_time_micros),
                    static_cast<unsigned long long>(result.trace_events),
                    static_cast<unsigned long long>(result.trace_hash));
        break;
      case snapsim::RunResult::Verdict::kViolation:
        std::printf("%s: FAIL  %s\n  reproduce: bazel run //:snapsim -- replay %s%s\n", file.c_str(),
                    result.violation->ToString().c_str(), file.c_str(),
                    fs == snapsim::RunOptions::FileSystem::kSim ? "" : " --fs=posix");
        break;
      case snapsim::RunResult::Verdict::kBadInput:
        std::printf("%s: BAD INPUT\n  %s\n", file.c_str(), result.error.c_str());
        break;
    }
    for (const std::string& note : result.notes) std::printf("  note: %s\n", note.c_str());
    if (print_hash) std::printf("%016llx\n", static_cast<unsigned long long>(result.trace_hash));
    if (!result.dump.empty()) {
      std::printf("-- state after step %d (end-of-run checks not run) --\n%s", result.last_step, result.dump.c_str());
    }
    if (!trace_out.empty() && index + 1 == files.size()) {
      std::ofstream out(UserPath(trace_out), std::ios::binary);
      out << result.chrome_trace_json;
      out.close();
      if (!out) {
        std::fprintf(stderr, "snapsim: cannot write %s\n", trace_out.c_str());
        return 2;
      }
      std::printf("  trace written to %s (open in ui.perfetto.dev or chrome://tracing)\n", trace_out.c_str());
    }
    const int code = result.ExitCode();
    if (code == 2 || (code == 1 && worst == 0)) worst = code;
  }
  return worst;
}

// Which generator turns a seed into a scenario.
snapsim::Scenario Generate(const std::string& generator, uint64_t seed) {
  if (generator == "lifecycle") return snapsim::GenerateLifecycleScenario(seed);
  snapsim::SwarmOptions options;
  options.recoverable_only = generator == "swarm-recoverable";
  return snapsim::GenerateSwarmScenario(seed, options);
}

bool KnownGenerator(const std::string& generator) {
  return generator == "swarm" || generator == "swarm-recoverable" || generator == "lifecycle";
}

int Sweep(const std::vector<std::string>& arguments) {
  uint64_t first = 1;
  uint64_t seeds = 0;
  std::string out = "/tmp/snapsim-sweep";
  std::string generator = "swarm";
  for (const std::string& argument : arguments) {
    if (absl::StartsWith(argument, "--seeds=")) {
      if (!absl::SimpleAtoi(argument.substr(8), &seeds) || seeds == 0) return Usage("--seeds takes a positive number");
    } else if (absl::StartsWith(argument, "--first=")) {
      if (!absl::SimpleAtoi(argument.substr(8), &first)) return Usage("--first takes a number");
    } else if (absl::StartsWith(argument, "--out=")) {
      out = argument.substr(6);
    } else if (absl::StartsWith(argument, "--generator=")) {
      generator = argument.substr(12);
      if (!KnownGenerator(generator)) return Usage("--generator is swarm, swarm-recoverable or lifecycle");
    } else {
      return Usage("unknown sweep argument " + argument);
    }
  }
  if (seeds == 0) return Usage("sweep needs --seeds=N");
  uint64_t failures = 0;
  std::map<std::string, int> coverage;
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    const snapsim::Scenario scenario = Generate(generator, seed);
    const snapsim::RunResult result = snapsim::RunScenario(scenario);
    for (const auto& [name, count] : result.coverage) coverage[name] += count;
    const std::string configuration =
        generator == "lifecycle" ? snapsim::DescribeConfiguration(scenario.config) : scenario.description[1];
    if (result.verdict == snapsim::RunResult::Verdict::kPass) {
      std::printf("seed %llu: ok  %s: steps=%d checkpoints=%d side_world_restores=%d trace_hash=%016llx\n",
                  static_cast<unsigned long long>(seed), configuration.c_str(), result.steps_run,
                  result.checkpoints_completed, result.side_world_restores,
                  static_cast<unsigned long long>(result.trace_hash));
      for (const std::string& note : result.notes) {
        if (absl::StrContains(note, "liveness")) std::printf("  note: %s\n", note.c_str());
      }
      continue;
    }
    ++failures;
    const std::string directory = UserPath(out);
    (void)std::system(absl::StrCat("mkdir -p '", directory, "'").c_str());
    const std::string file = absl::StrCat(directory, "/seed-", seed, ".scenario");
    std::ofstream written(file, std::ios::binary);
    written << snapsim::FormatScenario(scenario);
    written.close();
    std::printf("seed %llu: FAILED  %s: %s\n  scenario written to %s\n  reproduce: bazel run //:snapsim -- replay %s\n"
                "  or: bazel run //:snapsim -- sweep --generator=%s --first=%llu --seeds=1\n"
                "  shrink: bazel run //:snapsim -- shrink %s\n",
                static_cast<unsigned long long>(seed), configuration.c_str(),
                result.violation.has_value() ? result.violation->ToString().c_str() : result.error.c_str(),
                file.c_str(), file.c_str(), generator.c_str(), static_cast<unsigned long long>(seed), file.c_str());
  }
  std::printf("coverage over the sweep:\n");
  for (const auto& [name, count] : coverage) std::printf("  %-40s %d\n", name.c_str(), count);
  std::string zero;
  for (const std::string& name : snapsim::CoverageCounters()) {
    if (coverage.count(name) == 0) zero += (zero.empty() ? "" : ", ") + name;
  }
  std::printf("counters that stayed zero: %s\n", zero.empty() ? "none" : zero.c_str());
  std::printf("%llu seeds, %llu failed\n", static_cast<unsigned long long>(seeds),
              static_cast<unsigned long long>(failures));
  return failures == 0 ? 0 : 1;
}

int Shrink(const std::vector<std::string>& arguments) {
  std::string file;
  uint64_t seed = 0;
  bool have_seed = false;
  std::string generator = "swarm";
  std::string out = "/tmp/snapsim-shrunk.scenario";
  snapsim::ShrinkOptions options;
  for (const std::string& argument : arguments) {
    if (absl::StartsWith(argument, "--seed=")) {
      if (!absl::SimpleAtoi(argument.substr(7), &seed)) return Usage("--seed takes a number: " + argument);
      have_seed = true;
    } else if (absl::StartsWith(argument, "--generator=")) {
      generator = argument.substr(12);
      if (!KnownGenerator(generator)) return Usage("--generator is swarm, swarm-recoverable or lifecycle");
    } else if (absl::StartsWith(argument, "--out=")) {
      out = argument.substr(6);
    } else if (absl::StartsWith(argument, "--max_runs=")) {
      if (!absl::SimpleAtoi(argument.substr(11), &options.max_runs) || options.max_runs <= 0) {
        return Usage("--max_runs takes a positive number: " + argument);
      }
    } else if (absl::StartsWith(argument, "--")) {
      return Usage("unknown shrink option " + argument);
    } else if (file.empty()) {
      file = argument;
    } else {
      return Usage("shrink takes one scenario file or --seed=N");
    }
  }
  if (file.empty() == !have_seed) return Usage("shrink takes one scenario file or --seed=N");
  snapsim::Scenario scenario;
  std::string source;
  if (have_seed) {
    scenario = Generate(generator, seed);
    source = absl::StrCat("--seed=", seed, " --generator=", generator);
  } else {
    absl::StatusOr<snapsim::Scenario> loaded = snapsim::LoadScenarioFile(UserPath(file));
    if (!loaded.ok()) {
      std::printf("%s: BAD INPUT\n  %s\n", file.c_str(), std::string(loaded.status().message()).c_str());
      return 2;
    }
    scenario = *std::move(loaded);
    scenario.origin = file;
    source = file;
  }
  std::printf("shrinking %s (%zu steps)\n", source.c_str(), scenario.steps.size());
  options.progress = [](const std::string& line) { std::printf("%s\n", line.c_str()); };
  absl::StatusOr<snapsim::ShrinkResult> shrunk = snapsim::ShrinkScenario(scenario, options);
  if (!shrunk.ok()) {
    std::printf("snapsim shrink: %s\n", std::string(shrunk.status().message()).c_str());
    return absl::IsFailedPrecondition(shrunk.status()) && absl::StrContains(shrunk.status().message(), "passes") ? 0
                                                                                                                : 2;
  }
  std::printf("before (%d steps):\n", shrunk->steps_before);
  for (const snapsim::ScenarioStep& step : scenario.steps) std::printf("  %s\n", step.ToString().c_str());
  snapsim::Scenario& result = shrunk->scenario;
  result.description.insert(result.description.begin(),
                            absl::StrCat("Shrunk by `snapsim shrink ", source, "` from ", shrunk->steps_before,
                                         " to ", shrunk->steps_after, " steps in ", shrunk->runs, " runs",
                                         shrunk->exhausted ? " (--max_runs ran out)" : "", "; still fails: ",
                                         shrunk->result.violation->ToString()));
  std::printf("after (%d steps, %d runs%s):\n%s", shrunk->steps_after, shrunk->runs,
              shrunk->exhausted ? ", --max_runs ran out" : "", snapsim::FormatScenario(result).c_str());
  std::ofstream written(UserPath(out), std::ios::binary);
  written << snapsim::FormatScenario(result);
  written.close();
  if (!written) {
    std::fprintf(stderr, "snapsim: cannot write %s\n", out.c_str());
    return 2;
  }
  std::printf("violation: %s\nwritten to %s\nreproduce: bazel run //:snapsim -- replay %s\n",
              shrunk->result.violation->ToString().c_str(), out.c_str(), out.c_str());
  return 1;
}

int Print(const std::vector<std::string>& arguments) {
  uint64_t seed = 0;
  bool have_seed = false;
  std::string generator = "swarm";
  for (const std::string& argument : arguments) {
    if (absl::StartsWith(argument, "--seed=") && absl::SimpleAtoi(argument.substr(7), &seed)) {
      have_seed = true;
    } else if (absl::StartsWith(argument, "--generator=") && KnownGenerator(argument.substr(12))) {
      generator = argument.substr(12);
    } else {
      return Usage("print takes --seed=N [--generator=swarm|swarm-recoverable|lifecycle]");
    }
  }
  if (!have_seed) return Usage("print takes --seed=N");
  std::printf("%s", snapsim::FormatScenario(Generate(generator, seed)).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> arguments(argv + 1, argv + argc);
  if (arguments.empty()) return Usage("no command");
  const std::string command = arguments[0];
  arguments.erase(arguments.begin());
  if (command == "--help" || command == "-h" || command == "help") {
    std::printf("snapsim: deterministic simulation of Flink-style RocksDB snapshot strategies\n\n%s", kUsage);
    return 0;
  }
  if (command == "steps") {
    std::printf("%s", snapsim::DescribeVocabulary().c_str());
    return 0;
  }
  if (command == "sweep") return Sweep(arguments);
  if (command == "print") return Print(arguments);
  if (command == "shrink") return Shrink(arguments);
  if (command == "replay") {
    for (const std::string& argument : arguments) {
      if (argument == "--help") {
        std::printf("%s", kUsage);
        return 0;
      }
    }
    return Replay(arguments);
  }
  return Usage("unknown command " + command);
}
