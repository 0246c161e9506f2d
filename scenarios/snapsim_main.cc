// snapsim: the command line of the harness.
//
//   bazel run //:snapsim -- replay FILE... [--trace_out=FILE.json] [--until=STEP] [--quiet] [--print_hash]
//   bazel run //:snapsim -- sweep --seeds=N [--first=S] [--jobs=J] [--out=DIR] [--json_out=FILE]
//   bazel run //:snapsim -- report FILE... [--json] [--shrink] [--export_failures=DIR]
//   bazel run //:snapsim -- shrink FILE|--seed=N [--generator=G] [--out=FILE] [--max_runs=N]
//   bazel run //:snapsim -- explain FILE [--runs=M]   (at which step a failure becomes likely, and certain)
//   bazel run //:snapsim -- print --seed=N   (the scenario seed N generates)
//   bazel run //:snapsim -- steps        (the scenario language's header fields and steps)
//   bazel run //:snapsim -- --help   (and `snapsim help CMD`, `snapsim CMD --help`: that command's usage)
//   bazel run //:snapsim -- --version   (the version and the commit it was built from)
//
// Every command declares its flags in a FlagSet (cli_flags.h): --name=value or --name value, one-line errors on
// stderr with the hint to --help, exit 2.
// Exit status: 0 every scenario passed, 1 an invariant was violated, 2 bad input (a malformed scenario, an
// unreadable file, bad arguments), 130 interrupted. The commands live in replay_command.cc, sweep_command.cc and
// report_command.cc; what they share in cli.h.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "scenarios/build_commit.h"
#include "scenarios/cli.h"
#include "scenarios/cli_flags.h"
#include "scenarios/scenario.h"
#include "scenarios/shrink.h"

namespace {

// The scenario language and the command line's version; scenario files and sweep records do not carry it.
constexpr char kVersion[] = "0.9.0";

using snapsim::cli::FlagSet;
using snapsim::cli::Generate;
using snapsim::cli::UsageError;
using snapsim::cli::UserPath;

constexpr char kUsage[] =
    "usage: snapsim COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  replay FILE...       replay scenario files (each in a child process: a crash is a verdict)\n"
    "  sweep --seeds=N      run the scenarios seeds S..S+N-1 generate\n"
    "  report FILE...       merge the records of sweeps and replays (--json_out) into one report\n"
    "  shrink FILE|--seed=N minimize a failing scenario or sweep seed into the smallest scenario that still fails\n"
    "  explain FILE         the step at which a failing scenario's failure becomes likely, and certain\n"
    "  print --seed=N       print the scenario that seed N generates\n"
    "  steps                list the scenario language's header fields and steps\n"
    "  help COMMAND         the usage of COMMAND (or: snapsim COMMAND --help)\n"
    "  --version            the version and the commit this build comes from\n"
    "\n"
    "exit status: 0 pass, 1 an invariant was violated (or a goal unreached), 2 bad input, 130 interrupted\n"
    "scenario language: scenarios/README.md, or `snapsim steps`\n";

int Shrink(const std::vector<std::string>& arguments) {
  std::vector<std::string> files;
  uint64_t seed = 0;
  std::string seed_text;
  std::string generator = "swarm";
  std::string out = "/tmp/snapsim-shrunk.scenario";
  snapsim::ShrinkOptions options;
  FlagSet flags("shrink", "FILE|--seed=N [options]",
                "Minimizes a failing scenario (or the scenario a sweep seed generates) into the smallest one that\n"
                "still fails the same invariant; prints the steps before and after and writes the result.");
  flags.Positionals(&files, "FILE");
  flags.String("seed", &seed_text, "N", "shrink the scenario this sweep seed generates");
  flags.Choice("generator", &generator, {"swarm", "swarm-recoverable", "lifecycle"},
               "the seed's generator (default swarm)");
  flags.Path("out", &out, "FILE", "where the shrunk scenario is written (default /tmp/snapsim-shrunk.scenario)");
  flags.Int("max_runs", &options.max_runs, 1, 1 << 20, "the most candidate runs (default 300)");
  flags.Note("Exit status: 1 a failure was shrunk, 0 the scenario passes (nothing to shrink), 2 bad input.");
  if (std::optional<int> stop = flags.ParseOrStop(arguments)) return *stop;
  const bool have_seed = !seed_text.empty();
  if (have_seed && !absl::SimpleAtoi(seed_text, &seed)) {
    return UsageError("shrink", "--seed takes a number, not '" + seed_text + "'");
  }
  if (files.size() + (have_seed ? 1 : 0) != 1) return UsageError("shrink", "give one scenario file or --seed=N");
  const std::string file = files.empty() ? "" : files[0];
  if (absl::Status status = snapsim::cli::CheckWritableFile(out); !status.ok()) {
    return UsageError("shrink", absl::StrCat("--out: ", status.message()));
  }
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
  const std::string& path = out;
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
  std::string seed_text;
  std::string generator = "swarm";
  FlagSet flags("print", "--seed=N [--generator=G]",
                "Prints the scenario that seed N generates, every argument written out; saved to a file, it replays\n"
                "like any other.");
  flags.String("seed", &seed_text, "N", "the seed (required)");
  flags.Choice("generator", &generator, {"swarm", "swarm-recoverable", "lifecycle"}, "the generator (default swarm)");
  if (std::optional<int> stop = flags.ParseOrStop(arguments)) return *stop;
  if (seed_text.empty()) return UsageError("print", "--seed=N is required");
  if (!absl::SimpleAtoi(seed_text, &seed)) return UsageError("print", "--seed takes a number, not '" + seed_text + "'");
  std::printf("%s", snapsim::FormatScenario(Generate(generator, seed)).c_str());
  return 0;
}

int Steps(const std::vector<std::string>& arguments) {
  FlagSet flags("steps", "", "Lists the scenario language's header fields and steps (scenarios/README.md has more).");
  if (std::optional<int> stop = flags.ParseOrStop(arguments)) return *stop;
  std::printf("%s", snapsim::DescribeVocabulary().c_str());
  return 0;
}

int Dispatch(const std::string& command, const std::vector<std::string>& arguments) {
  if (command == "replay") return snapsim::cli::Replay(arguments);
  if (command == "sweep") return snapsim::cli::Sweep(arguments);
  if (command == "report") return snapsim::cli::Report(arguments);
  if (command == "explain") return snapsim::cli::Explain(arguments);
  if (command == "shrink") return Shrink(arguments);
  if (command == "print") return Print(arguments);
  if (command == "steps") return Steps(arguments);
  std::fprintf(stderr, "snapsim: unknown command '%s'\nrun 'snapsim --help' for the commands\n", command.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> arguments(argv + 1, argv + argc);
  if (arguments.empty()) {
    std::fprintf(stderr, "snapsim: no command\n%s", kUsage);
    return 2;
  }
  const std::string command = arguments[0];
  arguments.erase(arguments.begin());
  if (command == "--help" || command == "-h" || (command == "help" && arguments.empty())) {
    std::printf("snapsim: deterministic simulation of Flink-style RocksDB snapshot strategies\n\n%s", kUsage);
    return 0;
  }
  if (command == "--version" || command == "version") {
    if (!arguments.empty()) {
      std::fprintf(stderr, "snapsim: --version takes no arguments\nrun 'snapsim --help' for the commands\n");
      return 2;
    }
    // "-dirty": built from a tree whose tracked files differ from the commit; "unknown": not built from git.
    std::printf("snapsim %s (commit %s)\n", kVersion, SNAPSIM_BUILD_COMMIT);
    return 0;
  }
  if (command == "help") {
    if (arguments.size() != 1) return UsageError("help", "give one command: snapsim help COMMAND");
    return Dispatch(arguments[0], {"--help"});
  }
  return Dispatch(command, arguments);
}
