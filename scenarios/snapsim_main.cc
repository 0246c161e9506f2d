// snapsim: the command line of the harness.
//
//   bazel run //:snapsim -- replay FILE... [--trace_out=FILE.json] [--until=STEP] [--quiet] [--print_hash]
//   bazel run //:snapsim -- sweep --seeds=N [--first=S] [--jobs=J] [--out=DIR]
//   bazel run //:snapsim -- shrink FILE|--seed=N [--generator=G] [--out=FILE] [--max_runs=N]
//   bazel run //:snapsim -- print --seed=N   (the scenario seed N generates)
//   bazel run //:snapsim -- steps        (the scenario language's header fields and steps)
//   bazel run //:snapsim -- --help
//
// Exit status: 0 every scenario passed, 1 an invariant was violated, 2 bad input (a malformed scenario, an
// unreadable file, bad arguments).
#include <poll.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "scenarios/executor.h"
#include "scenarios/lifecycle_generator.h"
#include "scenarios/reachability_goals.h"
#include "scenarios/swarm_generator.h"
#include "scenarios/scenario.h"
#include "scenarios/shrink.h"

namespace {

constexpr char kUsage[] =
    "usage: snapsim replay FILE... [options]   replay scenario files in the simulated world\n"
    "       snapsim sweep --seeds=N [--first=S] [--jobs=J] [--out=DIR]\n"
    "                    [--generator=swarm|swarm-recoverable|lifecycle] [--pin=no] [--require=COUNTER:MIN]...\n"
    "                                          run the scenarios seeds S..S+N-1 generate (default: the swarm, with a\n"
    "                                          fault mix per seed) in J processes; a progress bar on a terminal,\n"
    "                                          plain lines otherwise; each failure is written to DIR (default\n"
    "                                          /tmp/snapsim-sweep) as a scenario. Each process is pinned to one CPU\n"
    "                                          (the simulation runs one thread at a time); --pin=no leaves it free\n"
    "                                          Then the reachability goals a sweep of that size must reach\n"
    "                                          (scenarios/reachability_goals.h, and each --require=COUNTER:MIN):\n"
    "                                          one left unreached fails the sweep, naming it\n"
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
  std::set<int> invariants;
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
    } else if (absl::StartsWith(argument, "--invariants=")) {
      for (absl::string_view number : absl::StrSplit(argument.substr(13), ',')) {
        int invariant = -1;
        if (!absl::SimpleAtoi(number, &invariant) || invariant < 0 || invariant > 99) {
          return Usage("--invariants takes invariant numbers separated by commas: " + argument);
        }
        invariants.insert(invariant);
      }
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
    options.judged_invariants = invariants;
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
        std::printf("%s: FAIL  %s\n  reproduce: bazel run //:snapsim -- replay %s%s%s\n", file.c_str(),
                    result.violation->ToString().c_str(), file.c_str(),
                    fs == snapsim::RunOptions::FileSystem::kSim ? "" : " --fs=posix",
                    invariants.empty() ? "" : absl::StrCat(" --invariants=", absl::StrJoin(invariants, ",")).c_str());
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

// One seed of a sweep: its report (the lines the sweep prints for it) and what it reached.
struct SeedReport {
  bool failed = false;
  std::string text;
  std::map<std::string, int> coverage;
};

// What a seed's report line says of its scenario: the lifecycle's configuration, or the swarm's fault mix banner.
std::string Configuration(const std::string& generator, const snapsim::Scenario& scenario) {
  return generator == "lifecycle" ? snapsim::DescribeConfiguration(scenario.config) : scenario.description[1];
}

// Writes a failed seed's scenario under `out` and returns its report: what failed and the commands that reproduce it.
SeedReport FailedSeed(const std::string& generator, uint64_t seed, const snapsim::Scenario& scenario,
                      const std::string& what, const std::string& out) {
  const std::string configuration = Configuration(generator, scenario);
  SeedReport report;
  report.failed = true;
  const std::string directory = UserPath(out);
  (void)std::system(absl::StrCat("mkdir -p '", directory, "'").c_str());
  const std::string file = absl::StrCat(directory, "/seed-", seed, ".scenario");
  std::ofstream written(file, std::ios::binary);
  written << snapsim::FormatScenario(scenario);
  written.close();
  report.text = absl::StrCat("seed ", seed, ": FAILED  ", configuration, ": ", what, "\n  scenario written to ", file,
                             "\n  reproduce: bazel run //:snapsim -- replay ", file,
                             "\n  or: bazel run //:snapsim -- sweep --generator=", generator, " --first=", seed,
                             " --seeds=1\n  shrink: bazel run //:snapsim -- shrink ", file, "\n");
  return report;
}

SeedReport RunSeed(const std::string& generator, uint64_t seed, const std::string& out) {
  SeedReport report;
  const snapsim::Scenario scenario = Generate(generator, seed);
  const snapsim::RunResult result = snapsim::RunScenario(scenario);
  report.coverage = result.coverage;
  const std::string configuration = Configuration(generator, scenario);
  if (result.verdict == snapsim::RunResult::Verdict::kPass) {
    report.text = absl::StrCat("seed ", seed, ": ok  ", configuration, ": steps=", result.steps_run,
                               " checkpoints=", result.checkpoints_completed,
                               " side_world_restores=", result.side_world_restores, " trace_hash=",
                               absl::Hex(result.trace_hash, absl::kZeroPad16), "\n");
    for (const std::string& note : result.notes) {
      if (absl::StrContains(note, "liveness")) absl::StrAppend(&report.text, "  note: ", note, "\n");
    }
    return report;
  }
  return FailedSeed(generator, seed, scenario,
                    result.violation.has_value() ? result.violation->ToString() : result.error, out);
}

// A seed whose process died while running it (a crash: an assertion in RocksDB, a signal): the parent writes the
// scenario and reports it like any failure, with the commands that reproduce it.
SeedReport CrashedSeed(const std::string& generator, uint64_t seed, int wait_status, const std::string& out) {
  const snapsim::Scenario scenario = Generate(generator, seed);
  const std::string how =
      WIFSIGNALED(wait_status)
          ? absl::StrCat("killed by signal ", WTERMSIG(wait_status), " (", strsignal(WTERMSIG(wait_status)), ")")
          : absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  return FailedSeed(generator, seed, scenario,
                    absl::StrCat("the process running it crashed, ", how, "; its last words are above"), out);
}

// Wall-clock seconds, for the progress line only (the driver, outside the simulated path).
double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string Duration(double seconds) {
  const int64_t total = static_cast<int64_t>(seconds + 0.5);
  if (total >= 3600) return absl::StrCat(total / 3600, "h", (total % 3600) / 60, "m");
  if (total >= 60) return absl::StrCat(total / 60, "m", total % 60, "s");
  return absl::StrCat(total, "s");
}

// Collects seed reports (from this process or from --jobs workers), prints them, and shows progress: a bar redrawn
// on a terminal, a plain progress line every tenth of the sweep otherwise.
class SweepProgress {
 public:
  SweepProgress(uint64_t seeds, int jobs) : seeds_(seeds), jobs_(jobs), terminal_(isatty(STDOUT_FILENO) == 1) {
    start_ = WallSeconds();
  }

  void Add(bool failed, const std::string& text, const std::map<std::string, int>& coverage) {
    ++done_;
    if (failed) ++failures_;
    for (const auto& [name, count] : coverage) coverage_[name] += count;
    if (terminal_) {
      // On a terminal the bar stands for the ok lines; failures are printed in full above it.
      if (failed) std::printf("\r\033[K%s", text.c_str());
      DrawBar();
    } else {
      std::printf("%s", text.c_str());
      if (seeds_ >= 20 && done_ % (seeds_ / 10) == 0 && done_ < seeds_) std::printf("progress: %s\n", Line().c_str());
    }
    std::fflush(stdout);
  }

  // Prints the coverage and judges the reachability goals a sweep of this size of `generator` must reach; returns
  // whether every one was reached.
  bool Finish(const std::string& generator, const std::vector<snapsim::ReachabilityGoal>& required) {
    if (terminal_) std::printf("\r\033[K");
    std::printf("coverage over the sweep:\n");
    for (const auto& [name, count] : coverage_) std::printf("  %-40s %d\n", name.c_str(), count);
    std::string zero;
    for (const std::string& name : snapsim::GoalCounters(generator)) {
      if (coverage_.count(name) == 0) zero += (zero.empty() ? "" : ", ") + name;
    }
    std::printf("counters that stayed zero: %s\n", zero.empty() ? "none" : zero.c_str());
    const snapsim::GoalReport goals = snapsim::JudgeGoals(generator, done_, coverage_, required);
    if (goals.applied == 0) {
      std::printf("reachability goals: none applies to %llu seeds of %s (the smallest tier is 100 seeds)\n",
                  static_cast<unsigned long long>(done_), generator.c_str());
    } else {
      std::printf("reachability goals: %d of %d reached\n", goals.applied - static_cast<int>(goals.unreached.size()),
                  goals.applied);
    }
    for (const std::string& unreached : goals.unreached) std::printf("  goal unreached: %s\n", unreached.c_str());
    std::printf("%llu seeds, %llu failed%s (%s, %d job%s)\n", static_cast<unsigned long long>(done_),
                static_cast<unsigned long long>(failures_),
                goals.unreached.empty() ? "" : absl::StrCat(", ", goals.unreached.size(), " goal(s) unreached").c_str(),
                Duration(WallSeconds() - start_).c_str(), jobs_, jobs_ == 1 ? "" : "s");
    return goals.unreached.empty();
  }

  uint64_t done() const { return done_; }
  uint64_t failures() const { return failures_; }

 private:
  std::string Line() const {
    const double elapsed = std::max(WallSeconds() - start_, 1e-6);
    const double rate = static_cast<double>(done_) / elapsed;
    const double eta = rate > 0 ? static_cast<double>(seeds_ - done_) / rate : 0;
    return absl::StrCat(done_, "/", seeds_, " seeds, ", absl::StrFormat("%.1f", rate), " seeds/s, ", failures_,
                        " failed, ETA ", Duration(eta));
  }

  void DrawBar() const {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done_ / std::max<uint64_t>(seeds_, 1));
    std::printf("\r\033[K[%s%s] %s", std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(),
                Line().c_str());
  }

  const uint64_t seeds_;
  const int jobs_;
  const bool terminal_;
  double start_ = 0;
  uint64_t done_ = 0;
  uint64_t failures_ = 0;
  std::map<std::string, int> coverage_;
};

// Pins the calling thread, and so every thread it starts later, to one CPU of those it may use: the `index`-th
// modulo their number (-1: the CPU it runs on now). The simulated world runs one activity at a time, so one CPU
// loses nothing, and a baton hand-off between threads on one CPU costs about 4 us against 22 us across CPUs
// (measured by //tests/bench:swarm_throughput_benchmark under taskset). Scheduling decisions do not depend on it.
void PinToOneCpu(int index) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return;
  const int count = CPU_COUNT(&allowed);
  if (count <= 1) return;
  int cpu = -1;
  if (index < 0) {
    cpu = sched_getcpu();
  } else {
    int seen = 0;
    for (int candidate = 0; candidate < CPU_SETSIZE && cpu < 0; ++candidate) {
      if (CPU_ISSET(candidate, &allowed) && seen++ == index % count) cpu = candidate;
    }
  }
  if (cpu < 0 || !CPU_ISSET(cpu, &allowed)) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  (void)sched_setaffinity(0, sizeof(one), &one);
}

// Every sweep runs its seeds in worker processes: worker k runs seeds first+k, first+k+J, ... (a run is a pure
// function of its scenario, so processes change nothing but the order reports arrive in), announces each seed before
// running it ("S <seed>\n") and streams each report to the parent as framed records: "R <failed> <text bytes>
// <coverage entries>\n" then the text, then "<count> <name>\n" per entry. A worker that dies (a crash inside RocksDB
// or the system under test) has its seed reported as failed by the parent, and a new worker goes on after it.
void RunWorker(int fd, const std::string& generator, uint64_t start, uint64_t end, uint64_t stride, int cpu,
               const std::string& out, bool pin) {
  if (pin) PinToOneCpu(cpu);
  FILE* pipe = fdopen(fd, "w");
  for (uint64_t seed = start; seed < end; seed += stride) {
    std::fprintf(pipe, "S %llu\n", static_cast<unsigned long long>(seed));
    std::fflush(pipe);
    const SeedReport report = RunSeed(generator, seed, out);
    std::fprintf(pipe, "R %d %zu %zu\n", report.failed ? 1 : 0, report.text.size(), report.coverage.size());
    std::fwrite(report.text.data(), 1, report.text.size(), pipe);
    for (const auto& [name, count] : report.coverage) std::fprintf(pipe, "%d %s\n", count, name.c_str());
    std::fflush(pipe);
  }
  std::fclose(pipe);
}

// Reads one framed record: a seed announcement (sets *started) or a report; false at the end of the stream.
bool ReadReport(FILE* pipe, SeedReport* report, std::optional<uint64_t>* started) {
  int kind = std::fgetc(pipe);
  if (kind == 'S') {
    unsigned long long seed = 0;
    if (std::fscanf(pipe, " %llu\n", &seed) != 1) return false;
    *started = seed;
    return true;
  }
  if (kind != 'R') return false;
  int failed = 0;
  size_t text_size = 0;
  size_t entries = 0;
  if (std::fscanf(pipe, " %d %zu %zu\n", &failed, &text_size, &entries) != 3) return false;
  report->failed = failed != 0;
  report->text.assign(text_size, '\0');
  if (text_size > 0 && std::fread(report->text.data(), 1, text_size, pipe) != text_size) return false;
  report->coverage.clear();
  char name[256];
  for (size_t i = 0; i < entries; ++i) {
    int count = 0;
    if (std::fscanf(pipe, "%d %255[^\n]\n", &count, name) != 2) return false;
    report->coverage[name] = count;
  }
  return true;
}

int Sweep(const std::vector<std::string>& arguments) {
  uint64_t first = 1;
  uint64_t seeds = 0;
  int jobs = 1;
  std::string out = "/tmp/snapsim-sweep";
  std::string generator = "swarm";
  bool pin = true;
  std::vector<std::string> require;
  for (const std::string& argument : arguments) {
    if (argument == "--pin=no") {
      pin = false;
    } else if (absl::StartsWith(argument, "--require=")) {
      require.push_back(argument.substr(10));
    } else if (absl::StartsWith(argument, "--seeds=")) {
      if (!absl::SimpleAtoi(argument.substr(8), &seeds) || seeds == 0) return Usage("--seeds takes a positive number");
    } else if (absl::StartsWith(argument, "--first=")) {
      if (!absl::SimpleAtoi(argument.substr(8), &first)) return Usage("--first takes a number");
    } else if (absl::StartsWith(argument, "--jobs=")) {
      if (!absl::SimpleAtoi(argument.substr(7), &jobs) || jobs <= 0 || jobs > 256) {
        return Usage("--jobs takes a number from 1 to 256");
      }
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
  std::vector<snapsim::ReachabilityGoal> required;
  for (const std::string& text : require) {
    absl::StatusOr<snapsim::ReachabilityGoal> goal = snapsim::ParseRequiredGoal(text, generator);
    if (!goal.ok()) return Usage(std::string(goal.status().message()));
    required.push_back(*goal);
  }
  jobs = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(jobs), seeds));
  SweepProgress progress(seeds, jobs);
  const uint64_t end = first + seeds;
  const uint64_t stride = static_cast<uint64_t>(jobs);
  struct Worker {
    pid_t pid = -1;
    FILE* pipe = nullptr;
    int cpu = 0;
    std::optional<uint64_t> running;  // announced, not reported yet
  };
  std::vector<Worker> workers(static_cast<size_t>(jobs));
  // Starts (or restarts) worker `index` on seeds start, start + stride, ...
  auto start_worker = [&](size_t index, uint64_t start) -> bool {
    std::fflush(stdout);
    std::fflush(stderr);
    int fds[2];
    if (pipe(fds) != 0) return false;
    const pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
      close(fds[0]);
      for (const Worker& other : workers) {
        if (other.pipe != nullptr) std::fclose(other.pipe);
      }
      RunWorker(fds[1], generator, start, end, stride, workers[index].cpu, out, pin);
      std::_Exit(0);
    }
    close(fds[1]);
    workers[index].pid = pid;
    workers[index].pipe = fdopen(fds[0], "r");
    workers[index].running.reset();
    return true;
  };
  for (size_t index = 0; index < workers.size(); ++index) {
    workers[index].cpu = jobs == 1 ? -1 : static_cast<int>(index);  // one job: the CPU it starts on
    if (!start_worker(index, first + index)) return Usage("cannot start a worker process for the sweep");
  }
  // Reports arrive from every worker as they finish seeds; poll so a slow worker blocks nobody.
  size_t open = workers.size();
  int crashes = 0;
  while (open > 0) {
    std::vector<pollfd> polls;
    for (const Worker& worker : workers) {
      polls.push_back(pollfd{worker.pipe != nullptr ? fileno(worker.pipe) : -1, POLLIN, 0});
    }
    if (poll(polls.data(), polls.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (size_t i = 0; i < polls.size(); ++i) {
      if (polls[i].fd < 0 || (polls[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      Worker& worker = workers[i];
      SeedReport report;
      std::optional<uint64_t> started;
      if (ReadReport(worker.pipe, &report, &started)) {
        if (started.has_value()) {
          worker.running = started;
        } else {
          worker.running.reset();
          progress.Add(report.failed, report.text, report.coverage);
        }
        continue;
      }
      // The stream ended: the worker finished its seeds, or died running one.
      std::fclose(worker.pipe);
      worker.pipe = nullptr;
      int status = 0;
      waitpid(worker.pid, &status, 0);
      const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (clean && !worker.running.has_value()) {
        --open;
        continue;
      }
      ++crashes;
      if (!worker.running.has_value()) {
        // Died between seeds: nothing to blame; the sweep cannot tell which seeds remain.
        --open;
        continue;
      }
      const uint64_t crashed = *worker.running;
      const SeedReport failure = CrashedSeed(generator, crashed, status, out);
      progress.Add(failure.failed, failure.text, failure.coverage);
      if (crashed + stride >= end || !start_worker(i, crashed + stride)) --open;
    }
  }
  const bool goals_reached = progress.Finish(generator, required);
  if (progress.done() != seeds) {
    std::fprintf(stderr, "snapsim: %d worker process(es) died; %llu of %llu seeds reported\n", crashes,
                 static_cast<unsigned long long>(progress.done()), static_cast<unsigned long long>(seeds));
    return 1;
  }
  return progress.failures() == 0 && goals_reached ? 0 : 1;
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
