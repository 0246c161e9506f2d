// Benchmark 8 (issue #29): bug-finding power, in runs to the catch. For every mutant of the mutation self-test
// (backend/mutation.h) and each generator (swarm, swarm-recoverable, the property tests' generator), K independent
// streams of seeds run until the first run whose scenario fails; a catch counts only when the same run passes
// without the mutant (a run that fails either way is a bug of the system under test, and fails the benchmark).
// Figures per mutant and generator: streams that caught it within the budget, the median and p90 of runs to the
// catch (a miss counts as more than the budget), the CPU seconds spent to it, and runs per core-hour. What a harness
// is worth is how fast it finds a bug, not how many seeds it runs.
//
// --branch=K measures every stream a second time with branching from rare states (scenarios/branching.h): after a
// root run that was the first to reach a rare coverage counter, K runs replay it up to that step and redraw the
// rest. Branch runs count as runs: the comparison is at equal cost. The two configurations print side by side.
//
// Stream k of a generator starts at seed first + k*B (B: --budget; a stream runs at most B seeds), so streams are
// disjoint and a catch is reproduced by its seed (and, for a branch run, its step and reseed). Each (mutant,
// generator, configuration, stream) runs in a forked worker (the mutant is chosen by SNAPSIM_MUTANT before the
// worker's first run), --jobs at a time; a worker that dies counts as a catch at the run it was running.
//
// Mutants exist only in a build with their mutation points compiled in:
//   bazel run --config=mutants -c opt //tests/bench:bug_finding_benchmark -- [--streams=3] [--budget=50] [--first=1]
//       [--jobs=2] [--branch=K] [--mutants=a,b] [--generators=swarm,swarm-recoverable,property] [--json=FILE]
// A build without them (the default suite's smoke test) measures the unmutated system instead: every stream must run
// its budget without a failure, so the smoke test is also a small sweep of all three generators.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "backend/mutation.h"
#include "scenarios/branching.h"
#include "scenarios/executor.h"
#include "scenarios/swarm_generator.h"
#include "tests/bench/bench_report.h"
#include "tests/property_generator.h"

namespace snapsim {
namespace bench {
namespace {

#ifdef SNAPSIM_MUTANTS
constexpr bool kMutantsBuild = true;
#else
constexpr bool kMutantsBuild = false;
#endif
// The unmutated system, the only "mutant" of a build without mutation points.
constexpr char kNone[] = "none";

const std::vector<std::string>& AllGenerators() {
  static const auto* generators = new std::vector<std::string>{"swarm", "swarm-recoverable", "property"};
  return *generators;
}

Scenario Generate(const std::string& generator, uint64_t seed) {
  if (generator == "property") return SamplePropertyScenario(seed);
  SwarmOptions options;
  options.recoverable_only = generator == "swarm-recoverable";
  return GenerateSwarmScenario(seed, options);
}

struct Task {
  std::string mutant;
  std::string generator;
  int stream = 0;
  uint64_t first_seed = 0;
  // Runs (root and branch runs alike).
  int budget = 0;
  // Runs per branch point (0: no branching).
  int branch = 0;
  // One branch run alone (a catch reproduced or confirmed): from this step on, draws from `reseed`.
  int reseed_from_step = 0;
  uint64_t reseed = 0;
};

// What a worker reports, one line per run ("run SEED FROM_STEP RESEED pass|fail CPU INVARIANT"; FROM_STEP 0 for a
// root run) and one per branch point ("branch SEED STEP COUNTER"), read back by the parent.
struct Outcome {
  bool caught = false;
  int seeds_run = 0;  // runs, root and branch
  int root_runs = 0;
  int branch_points = 0;
  uint64_t catching_seed = 0;
  int catching_from_step = 0;  // > 0: a branch run caught it
  uint64_t catching_reseed = 0;
  double cpu_s = 0;
  std::string invariant;  // "I3 name" of the catch, or "signal N"
  bool confirmed = false;  // the catching scenario passes without the mutant
};

// In the worker: runs the task's seeds until the first failure, appending a line per run to `log`; with branching,
// each root run may be followed by branch runs from the step where it first reached a rare counter.
[[noreturn]] void RunWorker(const Task& task, const std::string& log) {
  if (task.mutant != kNone) setenv("SNAPSIM_MUTANT", task.mutant.c_str(), 1);
  std::FILE* out = std::fopen(log.c_str(), "w");
  if (out == nullptr) _exit(3);
  RunOptions options;
  options.record_trace = false;
  BranchingOptions branching;
  branching.suffixes = task.branch;
  RareStateExplorer explorer(branching);
  int runs = 0;
  // One run; true when it failed.
  auto run = [&](const Scenario& scenario, uint64_t seed, const RunOptions& run_options, RunResult* result) {
    std::fprintf(out, "run %llu %d %llu running\n", static_cast<unsigned long long>(seed),
                 run_options.reseed_from_step, static_cast<unsigned long long>(run_options.reseed));
    std::fflush(out);
    const Stopwatch clock;
    *result = RunScenario(scenario, run_options);
    const double cpu = clock.CpuSeconds();
    const bool failed = result->verdict != RunResult::Verdict::kPass;
    std::string invariant = "-";
    if (result->violation.has_value()) invariant = absl::StrCat("I", result->violation->invariant);
    if (result->verdict == RunResult::Verdict::kBadInput) invariant = "bad-input";
    std::fprintf(out, "run %llu %d %llu %s %.6f %s\n", static_cast<unsigned long long>(seed),
                 run_options.reseed_from_step, static_cast<unsigned long long>(run_options.reseed),
                 failed ? "fail" : "pass", cpu, invariant.c_str());
    std::fflush(out);
    ++runs;
    return failed;
  };
  for (uint64_t seed = task.first_seed; runs < task.budget; ++seed) {
    const Scenario scenario = Generate(task.generator, seed);
    RunOptions root = options;
    root.reseed_from_step = task.reseed_from_step;
    root.reseed = task.reseed;
    RunResult result;
    if (run(scenario, seed, root, &result)) break;
    bool failed = false;
    for (const BranchRun& branch : explorer.AfterRootRun(seed, result)) {
      if (runs >= task.budget) break;
      if (branch.from_step == 0) continue;
      std::fprintf(out, "branch %llu %d %s\n", static_cast<unsigned long long>(seed), branch.from_step,
                   branch.counter.c_str());
      RunResult branch_result;
      if (run(scenario, seed, RareStateExplorer::OptionsFor(branch, options), &branch_result)) {
        failed = true;
        break;
      }
    }
    if (failed) break;
  }
  std::fclose(out);
  _exit(0);
}

Outcome ReadOutcome(const std::string& log, int wait_status) {
  Outcome outcome;
  std::ifstream in(log);
  std::string line;
  uint64_t running = 0, running_reseed = 0;
  int running_from = 0;
  std::set<std::string> branch_points;
  while (std::getline(in, line)) {
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    if (parts.size() >= 4 && parts[0] == "branch") {
      branch_points.insert(parts[3]);
      continue;
    }
    if (parts.size() < 5 || parts[0] != "run" || !absl::SimpleAtoi(parts[1], &running) ||
        !absl::SimpleAtoi(parts[2], &running_from) || !absl::SimpleAtoi(parts[3], &running_reseed)) {
      continue;
    }
    if (parts[4] == "running") continue;
    double cpu = 0;
    if (parts.size() == 7 && absl::SimpleAtod(parts[5], &cpu)) outcome.cpu_s += cpu;
    ++outcome.seeds_run;
    if (running_from == 0) ++outcome.root_runs;
    if (parts[4] == "fail") {
      outcome.caught = true;
      outcome.catching_seed = running;
      outcome.catching_from_step = running_from;
      outcome.catching_reseed = running_reseed;
      outcome.invariant = parts.size() == 7 ? parts[6] : "?";
    }
  }
  outcome.branch_points = static_cast<int>(branch_points.size());
  const bool died = !WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0;
  if (died && !outcome.caught) {
    // The worker died in the run it was running: a catch there (its CPU is not counted).
    outcome.caught = true;
    ++outcome.seeds_run;
    outcome.catching_seed = running;
    outcome.catching_from_step = running_from;
    outcome.catching_reseed = running_reseed;
    outcome.invariant = WIFSIGNALED(wait_status) ? absl::StrCat("signal-", WTERMSIG(wait_status))
                                                 : absl::StrCat("exit-", WEXITSTATUS(wait_status));
  }
  return outcome;
}

// Runs every task in forked workers, `jobs` at a time; returns the outcomes in task order.
std::vector<Outcome> RunAll(const std::vector<Task>& tasks, int jobs, const std::string& directory) {
  std::vector<Outcome> outcomes(tasks.size());
  std::map<pid_t, size_t> running;
  size_t next = 0;
  const pid_t parent = getpid();
  auto log_of = [&](size_t i) { return absl::StrCat(directory, "/bug-finding-", parent, "-", i, ".log"); };
  while (next < tasks.size() || !running.empty()) {
    while (next < tasks.size() && static_cast<int>(running.size()) < jobs) {
      std::fflush(stdout);
      std::fflush(stderr);
      const pid_t pid = fork();
      if (pid == 0) RunWorker(tasks[next], log_of(next));
      if (pid < 0) {
        std::perror("fork");
        std::exit(1);
      }
      running[pid] = next++;
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) break;
    auto found = running.find(pid);
    if (found == running.end()) continue;
    const size_t i = found->second;
    running.erase(found);
    outcomes[i] = ReadOutcome(log_of(i), status);
    std::remove(log_of(i).c_str());
    const Task& task = tasks[i];
    std::fprintf(stderr, "  %s %s%s stream %d: %s\n", task.mutant.c_str(), task.generator.c_str(),
                 task.branch > 0 ? absl::StrCat(" +b", task.branch).c_str() : "", task.stream,
                 outcomes[i].caught ? absl::StrCat("caught at seed ", outcomes[i].catching_seed,
                                                   outcomes[i].catching_from_step > 0 ? " (a branch run)" : "", " (",
                                                   outcomes[i].seeds_run, " runs, ", outcomes[i].invariant, ")")
                                          .c_str()
                                    : absl::StrCat("missed in ", outcomes[i].seeds_run, " runs").c_str());
  }
  return outcomes;
}

// The p-th percentile (0..1) of runs to the catch, misses counted as more than the budget: "12", ">50".
std::string Percentile(std::vector<int> seeds, double p, int budget) {
  if (seeds.empty()) return "-";
  std::sort(seeds.begin(), seeds.end());
  const size_t index = std::min(seeds.size() - 1, static_cast<size_t>(p * (seeds.size() - 1) + 0.5));
  return seeds[index] > budget ? absl::StrCat(">", budget) : absl::StrCat(seeds[index]);
}

// The one command that runs exactly the run that caught it (or failed without a mutant).
std::string ReproduceCommand(const std::string& mutant, const std::string& generator, uint64_t seed, int from_step,
                             uint64_t reseed) {
  return absl::StrCat("bazel run ", mutant == kNone ? "" : "--config=mutants ",
                      "-c opt //tests/bench:bug_finding_benchmark -- --mutants=", mutant, " --generators=", generator,
                      " --first=", seed, " --budget=1 --streams=1",
                      from_step == 0 ? "" : absl::StrCat(" --reseed_from_step=", from_step, " --reseed=", reseed));
}

// The rows of one configuration (branching off or on) of a mutant and generator.
struct Row {
  std::vector<int> seeds;  // runs to the catch per stream; budget + 1 for a miss
  std::vector<double> cpu_to_catch;
  std::vector<std::string> invariants;
  int caught = 0, by_branch = 0, branch_points = 0, runs = 0, root_runs = 0;
  double cpu = 0;
};

int Main(int argc, char** argv) {
  const BenchFlags flags = ParseBenchFlags(
      argc, argv, "bug_finding_benchmark",
      {{"streams=K", "independent seed streams per mutant and generator (default 3)"},
       {"budget=B", "runs per stream (default 50)"},
       {"first=S", "the first seed of stream 0 (default 1)"},
       {"jobs=N", "forked workers at a time (default 2)"},
       {"mutants=a,b", "the mutants measured (default: all of backend/mutation.h; none: the unmutated system)"},
       {"generators=a,b", "swarm, swarm-recoverable, property (default all three)"},
       {"branch=K", "also measure each stream with branching from rare states (scenarios/branching.h): K runs\n"
                    "      per branch point, side by side with the same streams without (default 0: without only)"},
       {"reseed_from_step=N", "with --reseed=X, --budget=1, --streams=1: the one branch run a catch names"},
       {"reseed=X", "the redrawn rest's seed (with --reseed_from_step)"},
       {"print", "prints the scenario of --first for each of --generators (a catch's, to replay with\n"
                 "      `snapsim replay` of a mutants build) and exits"},
       {"list_mutants", "prints backend/mutation.h's mutants, one per line, and exits"}});
  if (flags.other.count("list_mutants") > 0) {
    for (const char* name : kMutantNames) std::printf("%s\n", name);
    return 0;
  }
  int streams = 3, budget = 50, jobs = 2, branch = 0, reseed_from_step = 0;
  uint64_t first = 1, reseed = 0;
  auto number = [&](const char* name, auto* value, bool zero_allowed) {
    if (flags.other.count(name) == 0) return true;
    if (absl::SimpleAtoi(flags.other.at(name), value) && (*value > 0 || (zero_allowed && *value == 0))) return true;
    std::fprintf(stderr, "--%s needs a %s number, not '%s'\n", name, zero_allowed ? "non-negative" : "positive",
                 flags.other.at(name).c_str());
    return false;
  };
  if (!number("streams", &streams, false) || !number("budget", &budget, false) || !number("jobs", &jobs, false) ||
      !number("first", &first, false) || !number("branch", &branch, true) ||
      !number("reseed_from_step", &reseed_from_step, false) || !number("reseed", &reseed, true)) {
    return 2;
  }
  std::vector<std::string> generators = AllGenerators();
  if (flags.other.count("generators") > 0) generators = absl::StrSplit(flags.other.at("generators"), ',');
  for (const std::string& generator : generators) {
    if (std::find(AllGenerators().begin(), AllGenerators().end(), generator) == AllGenerators().end()) {
      std::fprintf(stderr, "unknown generator '%s' (swarm, swarm-recoverable, property)\n", generator.c_str());
      return 2;
    }
  }
  if (flags.other.count("print") > 0) {
    for (const std::string& generator : generators) {
      std::printf("%s", FormatScenario(Generate(generator, first)).c_str());
    }
    return 0;
  }
  std::vector<std::string> mutants;
  if (flags.other.count("mutants") > 0) {
    mutants = absl::StrSplit(flags.other.at("mutants"), ',');
  } else if (kMutantsBuild) {
    mutants.assign(std::begin(kMutantNames), std::end(kMutantNames));
  } else {
    mutants = {kNone};
  }
  for (const std::string& mutant : mutants) {
    const bool known = mutant == kNone || std::find(std::begin(kMutantNames), std::end(kMutantNames), mutant) !=
                                              std::end(kMutantNames);
    if (!known) {
      std::fprintf(stderr, "unknown mutant '%s' (--list_mutants lists them)\n", mutant.c_str());
      return 2;
    }
    if (mutant != kNone && !kMutantsBuild) {
      std::fprintf(stderr, "mutant '%s': this build has no mutation points; build with --config=mutants\n",
                   mutant.c_str());
      return 2;
    }
  }
  if (flags.smoke) {
    streams = 2;
    budget = 2;
    if (branch > 0) budget = 12;  // past the warm-up, so a branch can happen
  }
  if (!kMutantsBuild) {
    std::fprintf(stderr, "this build has no mutation points (--config=mutants has): measuring the unmutated system, "
                         "where every stream must run its budget without a catch\n");
  }
  std::vector<int> configurations = {0};
  if (branch > 0) configurations.push_back(branch);

  std::vector<Task> tasks;
  for (const std::string& mutant : mutants) {
    for (const std::string& generator : generators) {
      for (int configuration : configurations) {
        for (int k = 0; k < streams; ++k) {
          Task task{mutant, generator, k, first + static_cast<uint64_t>(k) * budget, budget, configuration};
          task.reseed_from_step = reseed_from_step;
          task.reseed = reseed;
          tasks.push_back(task);
        }
      }
    }
  }
  std::fprintf(stderr, "%zu mutants x %zu generators x %zu configurations x %d streams of %d runs, %d workers\n",
               mutants.size(), generators.size(), configurations.size(), streams, budget, jobs);
  const std::string directory = flags.directory.empty() ? "/tmp" : flags.directory;
  std::vector<Outcome> outcomes = RunAll(tasks, jobs, directory);

  // Every catch is replayed without the mutant: it must pass there, or the system under test has a bug of its own.
  std::vector<Task> confirmations;
  std::vector<size_t> confirmed_of;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (!outcomes[i].caught || tasks[i].mutant == kNone) continue;
    Task replay{kNone, tasks[i].generator, tasks[i].stream, outcomes[i].catching_seed, 1};
    replay.reseed_from_step = outcomes[i].catching_from_step;
    replay.reseed = outcomes[i].catching_reseed;
    confirmations.push_back(replay);
    confirmed_of.push_back(i);
  }
  if (!confirmations.empty()) {
    std::fprintf(stderr, "replaying %zu catches without their mutant\n", confirmations.size());
  }
  const std::vector<Outcome> replays = RunAll(confirmations, jobs, directory);
  for (size_t j = 0; j < replays.size(); ++j) outcomes[confirmed_of[j]].confirmed = !replays[j].caught;

  BenchReport report("bug_finding_benchmark", flags, argc, argv);
  report.Table(absl::StrCat("runs to the first catch: ", streams, " streams of ", budget,
                            " runs per mutant and generator",
                            branch > 0 ? absl::StrCat(", without and with branching (", branch, " runs per branch "
                                                      "point)")
                                       : "",
                            kMutantsBuild ? "" : " (no mutation points: the unmutated system)"),
               {"mutant", "generator", "caught", "median runs", "p90 runs", "median CPU s", "CPU s/run", "branch pts",
                "by branch", "invariants"});
  int failures = 0;
  std::set<std::string> mutants_caught;
  // Per generator and configuration: runs to the catch over every mutant, CPU and runs.
  std::map<std::pair<std::string, int>, Row> totals;
  // Per mutant, generator and configuration, for the side-by-side comparison.
  std::map<std::tuple<std::string, std::string, int>, Row> rows;
  std::vector<std::string> problems;
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Task& task = tasks[i];
    const Outcome& outcome = outcomes[i];
    Row& row = rows[{task.mutant, task.generator, task.branch}];
    Row& total = totals[{task.generator, task.branch}];
    row.cpu += outcome.cpu_s;
    row.runs += outcome.seeds_run;
    row.branch_points += outcome.branch_points;
    total.cpu += outcome.cpu_s;
    total.runs += outcome.seeds_run;
    total.branch_points += outcome.branch_points;
    total.root_runs += outcome.root_runs;
    const std::string command = ReproduceCommand(task.mutant, task.generator, outcome.catching_seed,
                                                 outcome.catching_from_step, outcome.catching_reseed);
    if (task.mutant == kNone) {
      if (outcome.caught) {
        ++failures;
        problems.push_back(absl::StrCat("the unmutated system fails ", task.generator, " seed ",
                                        outcome.catching_seed, " (", outcome.invariant, "); reproduce: ", command));
      }
      row.seeds.push_back(budget + 1);
      total.seeds.push_back(budget + 1);
      continue;
    }
    if (outcome.caught && !outcome.confirmed) {
      ++failures;
      problems.push_back(absl::StrCat(task.generator, " seed ", outcome.catching_seed,
                                      " fails without the mutant too (", outcome.invariant, "); reproduce: ",
                                      ReproduceCommand(kNone, task.generator, outcome.catching_seed,
                                                       outcome.catching_from_step, outcome.catching_reseed)));
    }
    if (outcome.caught && outcome.confirmed) {
      ++row.caught;
      if (outcome.catching_from_step > 0) ++row.by_branch;
      row.seeds.push_back(outcome.seeds_run);
      total.seeds.push_back(outcome.seeds_run);
      row.cpu_to_catch.push_back(outcome.cpu_s);
      if (std::find(row.invariants.begin(), row.invariants.end(), outcome.invariant) == row.invariants.end()) {
        row.invariants.push_back(outcome.invariant);
      }
      mutants_caught.insert(task.mutant);
      std::printf("  catch: %s\n", command.c_str());
    } else {
      row.seeds.push_back(budget + 1);
      total.seeds.push_back(budget + 1);
    }
  }
  for (const std::string& mutant : mutants) {
    for (const std::string& generator : generators) {
      for (int configuration : configurations) {
        Row& row = rows[{mutant, generator, configuration}];
        std::sort(row.cpu_to_catch.begin(), row.cpu_to_catch.end());
        report.Row({mutant, configuration == 0 ? generator : absl::StrCat(generator, "+b", configuration),
                    absl::StrCat(row.caught, "/", streams), Percentile(row.seeds, 0.5, budget),
                    Percentile(row.seeds, 0.9, budget),
                    row.cpu_to_catch.empty() ? "-" : Fixed(row.cpu_to_catch[(row.cpu_to_catch.size() - 1) / 2], 1),
                    row.runs > 0 ? Fixed(row.cpu / row.runs, 2) : "-", absl::StrCat(row.branch_points),
                    absl::StrCat(row.by_branch), row.invariants.empty() ? "-" : absl::StrJoin(row.invariants, " ")});
      }
    }
  }
  if (branch > 0) {
    // Side by side: for each mutant and generator, median runs to the catch without and with branching.
    report.Table("branching's effect: median runs to the catch without / with (misses count as the budget + 1)",
                 {"mutant", "generator", "without", "with", "ratio"});
    for (const std::string& mutant : mutants) {
      for (const std::string& generator : generators) {
        std::vector<int> without = rows[{mutant, generator, 0}].seeds;
        std::vector<int> with = rows[{mutant, generator, branch}].seeds;
        std::sort(without.begin(), without.end());
        std::sort(with.begin(), with.end());
        const double a = without[(without.size() - 1) / 2], b = with[(with.size() - 1) / 2];
        report.Row({mutant, generator, Percentile(without, 0.5, budget), Percentile(with, 0.5, budget),
                    Fixed(a / b, 2)});
      }
    }
  }
  for (const std::string& generator : generators) {
    for (int configuration : configurations) {
      Row& total = totals[{generator, configuration}];
      const std::string name = configuration == 0 ? generator : absl::StrCat(generator, " with branching");
      report.Summary(absl::StrCat("median runs to the catch, ", name), Percentile(total.seeds, 0.5, budget),
                     "lower is better");
      report.Summary(absl::StrCat("runs per core-hour, ", name),
                     total.cpu > 0 ? Fixed(total.runs / total.cpu * 3600, 0) : "-", ">= 25,000 (swarm)");
      if (configuration > 0) {
        report.Summary(absl::StrCat("branch points per 100 root runs, ", generator),
                       Fixed(100.0 * total.branch_points / std::max(1, total.root_runs), 1), "-");
      }
    }
  }
  if (kMutantsBuild && mutants.front() != kNone) {
    report.Summary("mutants caught by some generator within the budget",
                   absl::StrCat(mutants_caught.size(), " of ", mutants.size()), "all");
  } else {
    report.Summary("runs of the unmutated system that failed", absl::StrCat(failures), "0");
  }
  for (const std::string& problem : problems) std::printf("FAIL: %s\n", problem.c_str());
  const int written = report.Finish();
  return failures > 0 ? 1 : written;
}

}  // namespace
}  // namespace bench
}  // namespace snapsim

int main(int argc, char** argv) { return snapsim::bench::Main(argc, argv); }
