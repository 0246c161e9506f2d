// snapsim: the command line of the harness.
//
//   bazel run //:snapsim -- replay FILE... [--trace_out=FILE.json] [--until=STEP] [--quiet] [--print_hash]
//   bazel run //:snapsim -- sweep --seeds=N [--first=S] [--jobs=J] [--out=DIR] [--json_out=FILE]
//   bazel run //:snapsim -- report FILE... [--json] [--shrink] [--export_failures=DIR]
//   bazel run //:snapsim -- shrink FILE|--seed=N [--generator=G] [--out=FILE] [--max_runs=N]
//   bazel run //:snapsim -- print --seed=N   (the scenario seed N generates)
//   bazel run //:snapsim -- steps        (the scenario language's header fields and steps)
//   bazel run //:snapsim -- --help
//
// Exit status: 0 every scenario passed, 1 an invariant was violated, 2 bad input (a malformed scenario, an
// unreadable file, bad arguments), 130 interrupted. The commands live in replay_command.cc, sweep_command.cc and
// report_command.cc; what they share in cli.h.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "scenarios/cli.h"
#include "scenarios/scenario.h"
#include "scenarios/shrink.h"

namespace {

constexpr char kUsage[] =
    "usage: snapsim replay FILE... [options]   replay scenario files (each in a child process: a crash is a verdict)\n"
    "       snapsim sweep --seeds=N [options]  run the scenarios seeds S..S+N-1 generate\n"
    "       snapsim report FILE... [--json] [--shrink] [--export_failures=DIR]\n"
    "                                          merge the records of sweeps and replays (--json_out) into one report\n"
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
    "  --invariants=N[,M...]  judge only these invariants (what a property about some invariants judged); others'\n"
    "                         violations are listed, not failed\n"
    "  --fs=sim|posix         sim (default): the simulated world, deterministic; posix: a real directory with real\n"
    "                         threads (not deterministic; checkpoint timeouts capped at 1 s), same verdicts expected\n"
    "  --json_out=FILE        one JSON record per scenario (verdict, violation, trace hash, CPU seconds, coverage)\n"
    "\n"
    "sweep options:\n"
    "  --seeds=N --first=S    seeds S..S+N-1 (S defaults to 1)\n"
    "  --generator=G          swarm (default: a fault mix per seed), swarm-recoverable or lifecycle\n"
    "  --jobs=J               J worker processes, each pinned to one CPU (--pin=no leaves them free)\n"
    "  --out=DIR              where each failure's scenario is written (default /tmp/snapsim-sweep; checked first)\n"
    "  --json_out=FILE        one JSON record per seed and a summary record, for `snapsim report`\n"
    "  --require=COUNTER:MIN  a reachability goal of this sweep's own, beside scenarios/reachability_goals.h's;\n"
    "                         a goal left unreached fails the sweep, naming it\n"
    "  --fs=sim|posix         posix: real directories and threads (the lifecycle generator only)\n"
    "  A progress bar on a terminal, plain lines otherwise. Ctrl-C (SIGINT) or SIGTERM stops every worker and\n"
    "  prints the summary so far and the failures found (exit 130).\n"
    "\n"
    "report options:\n"
    "  --json                 the report as JSON (for dashboards)\n"
    "  --shrink               shrink one example of each failure group; merge groups that shrink alike\n"
    "  --export_failures=DIR  write every failing seed's scenario to DIR (a corpus to replay)\n"
    "\n"
    "exit status: 0 pass, 1 an invariant was violated (or a goal unreached), 2 bad input, 130 interrupted\n"
    "scenario language: scenarios/README.md, or `snapsim steps`\n";

}  // namespace

namespace snapsim::cli {

int Usage(const std::string& problem) {
  std::fprintf(stderr, "snapsim: %s\n%s", problem.c_str(), kUsage);
  return 2;
}

}  // namespace snapsim::cli

namespace {

using snapsim::cli::Generate;
using snapsim::cli::KnownGenerator;
using snapsim::cli::Usage;
using snapsim::cli::UserPath;

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
  options.progress = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  // Each candidate in a child process: a scenario that crashes the process (a failed assertion inside RocksDB)
  // shrinks to a smaller one that still crashes, and the shrinker survives it.
  options.isolate = true;
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
  const std::string path = UserPath(out);
  if (absl::Status written = snapsim::cli::WriteTextFile(path, snapsim::FormatScenario(result)); !written.ok()) {
    std::printf("violation: %s\nthe shrunk scenario (above) could not be written: %s\n",
                shrunk->result.violation->ToString().c_str(), std::string(written.message()).c_str());
    return 2;
  }
  std::printf("violation: %s\nwritten to %s\nreproduce: bazel run //:snapsim -- replay %s\n",
              shrunk->result.violation->ToString().c_str(), path.c_str(), snapsim::cli::ShellQuote(path).c_str());
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
  if (command == "sweep") return snapsim::cli::Sweep(arguments);
  if (command == "report") return snapsim::cli::Report(arguments);
  if (command == "print") return Print(arguments);
  if (command == "shrink") return Shrink(arguments);
  if (command == "replay") {
    for (const std::string& argument : arguments) {
      if (argument == "--help") {
        std::printf("%s", kUsage);
        return 0;
      }
    }
    return snapsim::cli::Replay(arguments);
  }
  return Usage("unknown command " + command);
}
