// Benchmark 8 (issue #29): bug-finding power, in seeds to the catch. For every mutant of the mutation self-test
// (backend/mutation.h) and each generator (swarm, swarm-recoverable, the property tests' generator), K independent
// streams of seeds run until the first seed whose scenario fails; a catch counts only when the same scenario passes
// without the mutant (a scenario that fails either way is a bug of the system under test, and fails the benchmark).
// Figures per mutant and generator: streams that caught it within the budget, the median and p90 of seeds to the
// catch (a miss counts as more than the budget) and the CPU seconds spent to it. What a harness is worth is how fast
// it finds a bug, not how many seeds it runs.
//
// Stream k of a generator runs seeds first + k*B .. first + (k+1)*B - 1 (B: --budget), so streams are disjoint and a
// catch is reproduced by its seed alone. Each (mutant, generator, stream) runs in a forked worker (the mutant is
// chosen by SNAPSIM_MUTANT before the worker's first run), --jobs at a time; a worker that dies counts as a catch at
// the seed it was running.
//
// Mutants exist only in a build with their mutation points compiled in:
//   bazel run --config=mutants -c opt //tests/bench:bug_finding_benchmark -- [--streams=3] [--budget=50] [--first=1]
//       [--jobs=2] [--mutants=a,b] [--generators=swarm,swarm-recoverable,property] [--json=FILE] [--smoke]
// A build without them (the default suite's smoke test) measures the unmutated system instead: every stream must run
// its budget without a failure, so the smoke test is also a small sweep of all three generators.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "backend/mutation.h"
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
  int budget = 0;
};

// What a worker reports, one line per seed run ("seed S pass|fail CPU INVARIANT"), read back by the parent.
struct Outcome {
  bool caught = false;
  bool crashed = false;
  int seeds_run = 0;
  uint64_t catching_seed = 0;
  double cpu_s = 0;
  std::string invariant;  // "I3 name" of the catch, or "signal N"
  bool confirmed = false;  // the catching scenario passes without the mutant
};

double CpuSecondsOfThisProcess() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// In the worker: runs the task's seeds until the first failure, appending a line per seed to `log`.
[[noreturn]] void RunWorker(const Task& task, const std::string& log) {
  if (task.mutant != kNone) setenv("SNAPSIM_MUTANT", task.mutant.c_str(), 1);
  std::FILE* out = std::fopen(log.c_str(), "w");
  if (out == nullptr) _exit(3);
  RunOptions options;
  options.record_trace = false;
  for (int i = 0; i < task.budget; ++i) {
    const uint64_t seed = task.first_seed + i;
    std::fprintf(out, "seed %llu running\n", static_cast<unsigned long long>(seed));
    std::fflush(out);
    const double before = CpuSecondsOfThisProcess();
    const RunResult result = RunScenario(Generate(task.generator, seed), options);
    const double cpu = CpuSecondsOfThisProcess() - before;
    const bool failed = result.verdict != RunResult::Verdict::kPass;
    std::string invariant = "-";
    if (result.violation.has_value()) invariant = absl::StrCat("I", result.violation->invariant);
    if (result.verdict == RunResult::Verdict::kBadInput) invariant = "bad-input";
    std::fprintf(out, "seed %llu %s %.6f %s\n", static_cast<unsigned long long>(seed), failed ? "fail" : "pass", cpu,
                 invariant.c_str());
    std::fflush(out);
    if (failed) break;
  }
  std::fclose(out);
  _exit(0);
}

Outcome ReadOutcome(const std::string& log, int wait_status) {
  Outcome outcome;
  std::ifstream in(log);
  std::string line;
  uint64_t running = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    if (parts.size() < 3 || !absl::SimpleAtoi(parts[1], &running)) continue;
    if (parts[2] == "running") continue;
    double cpu = 0;
    if (parts.size() == 5 && absl::SimpleAtod(parts[3], &cpu)) outcome.cpu_s += cpu;
    ++outcome.seeds_run;
    if (parts[2] == "fail") {
      outcome.caught = true;
      outcome.catching_seed = running;
      outcome.invariant = parts.size() == 5 ? parts[4] : "?";
    }
  }
  const bool died = !WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0;
  if (died && !outcome.caught) {
    // The worker died in the seed it was running: a catch at that seed (its CPU is not counted).
    outcome.caught = true;
    outcome.crashed = true;
    ++outcome.seeds_run;
    outcome.catching_seed = running;
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
    std::fprintf(stderr, "  %s %s stream %d: %s\n", task.mutant.c_str(), task.generator.c_str(), task.stream,
                 outcomes[i].caught ? absl::StrCat("caught at seed ", outcomes[i].catching_seed, " (", outcomes[i].seeds_run,
                                                   " seeds, ", outcomes[i].invariant, ")")
                                          .c_str()
                                    : absl::StrCat("missed in ", outcomes[i].seeds_run, " seeds").c_str());
  }
  return outcomes;
}

// The p-th percentile (0..1) of seeds to the catch, misses counted as more than the budget: "12", ">50".
std::string Percentile(std::vector<int> seeds, double p, int budget) {
  if (seeds.empty()) return "-";
  std::sort(seeds.begin(), seeds.end());
  const size_t index = std::min(seeds.size() - 1, static_cast<size_t>(p * (seeds.size() - 1) + 0.5));
  return seeds[index] > budget ? absl::StrCat(">", budget) : absl::StrCat(seeds[index]);
}

std::string ReproduceCommand(const Task& task, uint64_t seed) {
  return absl::StrCat(task.mutant == kNone ? "" : absl::StrCat("SNAPSIM_MUTANT=", task.mutant, " "),
                      "bazel run ", task.mutant == kNone ? "" : "--config=mutants ",
                      "-c opt //tests/bench:bug_finding_benchmark -- --mutants=", task.mutant,
                      " --generators=", task.generator, " --first=", seed, " --budget=1 --streams=1");
}

int Main(int argc, char** argv) {
  const BenchFlags flags =
      ParseBenchFlags(argc, argv, "bug_finding_benchmark",
                      {{"streams=K", "independent seed streams per mutant and generator (default 3)"},
                       {"budget=B", "seeds per stream (default 50)"},
                       {"first=S", "the first seed of stream 0 (default 1)"},
                       {"jobs=N", "forked workers at a time (default 2)"},
                       {"mutants=a,b", "the mutants measured (default: all of backend/mutation.h; none: the "
                                       "unmutated system)"},
                       {"generators=a,b", "swarm, swarm-recoverable, property (default all three)"},
                       {"list_mutants", "prints backend/mutation.h's mutants, one per line, and exits"}});
  if (flags.other.count("list_mutants") > 0) {
    for (const char* name : kMutantNames) std::printf("%s\n", name);
    return 0;
  }
  int streams = 3, budget = 50, jobs = 2;
  uint64_t first = 1;
  auto number = [&](const char* name, auto* value) {
    if (flags.other.count(name) == 0) return true;
    if (absl::SimpleAtoi(flags.other.at(name), value) && *value > 0) return true;
    std::fprintf(stderr, "--%s needs a positive number, not '%s'\n", name, flags.other.at(name).c_str());
    return false;
  };
  if (!number("streams", &streams) || !number("budget", &budget) || !number("jobs", &jobs) ||
      !number("first", &first)) {
    return 2;
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
  std::vector<std::string> generators = AllGenerators();
  if (flags.other.count("generators") > 0) generators = absl::StrSplit(flags.other.at("generators"), ',');
  for (const std::string& generator : generators) {
    if (std::find(AllGenerators().begin(), AllGenerators().end(), generator) == AllGenerators().end()) {
      std::fprintf(stderr, "unknown generator '%s' (swarm, swarm-recoverable, property)\n", generator.c_str());
      return 2;
    }
  }
  if (flags.smoke) {
    streams = 2;
    budget = 2;
  }
  if (!kMutantsBuild) {
    std::fprintf(stderr, "this build has no mutation points (--config=mutants has): measuring the unmutated system, "
                         "where every stream must run its budget without a catch\n");
  }

  std::vector<Task> tasks;
  for (const std::string& mutant : mutants) {
    for (const std::string& generator : generators) {
      for (int k = 0; k < streams; ++k) {
        tasks.push_back(Task{mutant, generator, k, first + static_cast<uint64_t>(k) * budget, budget});
      }
    }
  }
  std::fprintf(stderr, "%zu mutants x %zu generators x %d streams of %d seeds, %d workers\n", mutants.size(),
               generators.size(), streams, budget, jobs);
  const std::string directory = flags.directory.empty() ? "/tmp" : flags.directory;
  std::vector<Outcome> outcomes = RunAll(tasks, jobs, directory);

  // Every catch is replayed without the mutant: it must pass there, or the system under test has a bug of its own.
  std::vector<Task> confirmations;
  std::vector<size_t> confirmed_of;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (!outcomes[i].caught || tasks[i].mutant == kNone) continue;
    confirmations.push_back(Task{kNone, tasks[i].generator, tasks[i].stream, outcomes[i].catching_seed, 1});
    confirmed_of.push_back(i);
  }
  if (!confirmations.empty()) {
    std::fprintf(stderr, "replaying %zu catches without their mutant\n", confirmations.size());
  }
  const std::vector<Outcome> replays = RunAll(confirmations, jobs, directory);
  for (size_t j = 0; j < replays.size(); ++j) outcomes[confirmed_of[j]].confirmed = !replays[j].caught;

  BenchReport report("bug_finding_benchmark", flags, argc, argv);
  report.Table(absl::StrCat("seeds to the first catch: ", streams, " streams of ", budget,
                            " seeds per mutant and generator", kMutantsBuild ? "" : " (no mutation points: "
                                                                                    "the unmutated system)"),
               {"mutant", "generator", "caught", "median seeds", "p90 seeds", "median CPU s", "CPU s/seed",
                "invariants"});
  int failures = 0;
  int mutants_caught = 0;
  std::map<std::string, std::vector<int>> seeds_by_generator;
  std::map<std::string, std::pair<double, int>> cpu_by_generator;  // CPU seconds, seeds
  std::vector<std::string> problems;
  for (const std::string& mutant : mutants) {
    bool caught_by_any = false;
    for (const std::string& generator : generators) {
      std::vector<int> seeds;
      std::vector<double> cpu_to_catch;
      std::vector<std::string> invariants;
      int caught = 0;
      double cpu = 0;
      int seeds_run = 0;
      for (size_t i = 0; i < tasks.size(); ++i) {
        const Task& task = tasks[i];
        if (task.mutant != mutant || task.generator != generator) continue;
        const Outcome& outcome = outcomes[i];
        cpu += outcome.cpu_s;
        seeds_run += outcome.seeds_run;
        cpu_by_generator[generator].first += outcome.cpu_s;
        cpu_by_generator[generator].second += outcome.seeds_run;
        if (mutant == kNone) {
          if (outcome.caught) {
            ++failures;
            problems.push_back(absl::StrCat("the unmutated system fails ", generator, " seed ", outcome.catching_seed,
                                            " (", outcome.invariant, "); reproduce: ",
                                            ReproduceCommand(task, outcome.catching_seed)));
          }
          seeds.push_back(budget + 1);
          continue;
        }
        if (outcome.caught && !outcome.confirmed) {
          ++failures;
          problems.push_back(absl::StrCat(generator, " seed ", outcome.catching_seed,
                                          " fails without the mutant too (", outcome.invariant, "); reproduce: ",
                                          ReproduceCommand(Task{kNone, generator, 0, 0, 1}, outcome.catching_seed)));
        }
        if (outcome.caught && outcome.confirmed) {
          ++caught;
          seeds.push_back(outcome.seeds_run);
          cpu_to_catch.push_back(outcome.cpu_s);
          if (std::find(invariants.begin(), invariants.end(), outcome.invariant) == invariants.end()) {
            invariants.push_back(outcome.invariant);
          }
          std::printf("  catch: %s\n", ReproduceCommand(task, outcome.catching_seed).c_str());
        } else {
          seeds.push_back(budget + 1);
        }
      }
      if (caught > 0) caught_by_any = true;
      for (int s : seeds) seeds_by_generator[generator].push_back(s);
      std::sort(cpu_to_catch.begin(), cpu_to_catch.end());
      const std::string median_cpu =
          cpu_to_catch.empty() ? "-" : Fixed(cpu_to_catch[(cpu_to_catch.size() - 1) / 2], 1);
      report.Row({mutant, generator, absl::StrCat(caught, "/", streams), Percentile(seeds, 0.5, budget),
                  Percentile(seeds, 0.9, budget), median_cpu, seeds_run > 0 ? Fixed(cpu / seeds_run, 2) : "-",
                  invariants.empty() ? "-" : absl::StrJoin(invariants, " ")});
    }
    if (caught_by_any) ++mutants_caught;
  }
  for (const std::string& generator : generators) {
    const auto& [cpu, seeds] = cpu_by_generator[generator];
    report.Summary(absl::StrCat("median seeds to the catch, ", generator),
                   Percentile(seeds_by_generator[generator], 0.5, budget), "lower is better");
    report.Summary(absl::StrCat("CPU seconds per seed, ", generator), seeds > 0 ? Fixed(cpu / seeds, 2) : "-",
                   "lower is better");
  }
  if (kMutantsBuild || mutants.front() != kNone) {
    report.Summary("mutants caught by some generator within the budget",
                   absl::StrCat(mutants_caught, " of ", mutants.size()), "all");
  } else {
    report.Summary("seeds of the unmutated system that failed", absl::StrCat(failures), "0");
  }
  for (const std::string& problem : problems) std::printf("FAIL: %s\n", problem.c_str());
  const int written = report.Finish();
  return failures > 0 ? 1 : written;
}

}  // namespace
}  // namespace bench
}  // namespace snapsim

int main(int argc, char** argv) { return snapsim::bench::Main(argc, argv); }
