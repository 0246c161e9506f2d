// `snapsim sweep`: the scenarios seeds S..S+N-1 generate, run in worker processes, each failure written as a
// scenario file with the commands that reproduce it, the coverage summed and judged against the reachability goals,
// and (--json_out) one JSON record per seed plus a summary (scenarios/sweep_records.h) for `snapsim report`.
//
// A failure is never lost: the parent process owns every file (scenarios, records) and checks every write; a
// scenario it cannot write is printed on stdout. A worker that dies has its seed reported as a crash at the step it
// was running. SIGINT or SIGTERM stops every worker, removes the temporary directory of --fs=posix runs, prints
// "interrupted after K of N seeds" with the summary so far and the failures found, and exits 130.
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "scenarios/cli.h"
#include "scenarios/cli_flags.h"
#include "scenarios/executor.h"
#include "scenarios/lifecycle_generator.h"
#include "scenarios/reachability_goals.h"
#include "scenarios/scenario.h"
#include "scenarios/shrink.h"
#include "scenarios/sweep_records.h"

namespace snapsim::cli {
namespace {

struct SweepOptions {
  uint64_t first = 1;
  uint64_t seeds = 0;
  int jobs = 1;
  std::string out = "/tmp/snapsim-sweep";
  std::string json_out;
  std::string generator = "swarm";
  bool pin = true;
  bool posix = false;
  // --fs=posix: the parent's temporary directory, under which every run makes its own.
  std::string posix_directory;
  std::vector<ReachabilityGoal> required;
};

// What a seed's report line says of its scenario: its configuration, and a swarm scenario's fault mix banner.
std::string Configuration(const std::string& generator, const Scenario& scenario) {
  if (generator == "lifecycle" || scenario.description.size() < 2) return DescribeConfiguration(scenario.config);
  return absl::StrCat(DescribeConfiguration(scenario.config), "; ", scenario.description[1]);
}

std::string FsFlag(const SweepOptions& options) { return options.posix ? " --fs=posix" : ""; }

std::string SweepCommand(const SweepOptions& options, uint64_t seed) {
  return absl::StrCat("bazel run //:snapsim -- sweep --generator=", options.generator, " --first=", seed,
                      " --seeds=1", FsFlag(options));
}

// Wall-clock seconds, for the progress line and the summary record only (the driver, outside the simulated path).
double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string Duration(double seconds) {
  const int64_t total = static_cast<int64_t>(seconds + 0.5);
  if (total >= 3600) return absl::StrCat(total / 3600, "h", (total % 3600) / 60, "m");
  if (total >= 60) return absl::StrCat(total / 60, "m", total % 60, "s");
  return absl::StrCat(total, "s");
}

// Collects seed reports from the workers, prints them, and shows progress: a bar redrawn on a terminal, a plain
// progress line every tenth of the sweep otherwise. Writes each record to --json_out as it arrives, so an
// interrupted sweep keeps what it ran.
class SweepProgress {
 public:
  SweepProgress(const SweepOptions& options, FILE* json)
      : options_(options), json_(json), terminal_(isatty(STDOUT_FILENO) == 1) {
    start_ = WallSeconds();
  }

  void Add(const std::string& text, const SeedRecord& record) {
    ++done_;
    const bool failed = record.verdict != "pass";
    if (failed) failures_.push_back(record);
    cpu_seconds_ += record.cpu_seconds;
    for (const auto& [name, count] : record.coverage) coverage_[name] += count;
    if (json_ != nullptr) {
      const std::string line = RecordLine(record) + "\n";
      if (std::fwrite(line.data(), 1, line.size(), json_) != line.size() || std::fflush(json_) != 0) {
        json_error_ = true;
      }
    }
    if (terminal_) {
      // On a terminal the bar stands for the ok lines; failures are printed in full above it.
      if (failed) std::printf("\r\033[K%s", text.c_str());
      DrawBar();
    } else {
      std::printf("%s", text.c_str());
      if (options_.seeds >= 20 && done_ % (options_.seeds / 10) == 0 && done_ < options_.seeds) {
        std::printf("progress: %s\n", Line().c_str());
      }
    }
    std::fflush(stdout);
  }

  // Prints the coverage and, unless interrupted, judges the reachability goals a sweep of this size must reach;
  // then the failures with their reproduce commands and the summary line. Writes the summary record. Returns
  // whether every goal was reached.
  bool Finish(int interrupted_by) {
    if (terminal_) std::printf("\r\033[K");
    std::printf("coverage over the sweep:\n");
    for (const auto& [name, count] : coverage_) std::printf("  %-60s %d\n", name.c_str(), count);
    std::string zero;
    for (const std::string& name : GoalCounters(options_.generator)) {
      if (coverage_.count(name) == 0) zero += (zero.empty() ? "" : ", ") + name;
    }
    std::printf("counters that stayed zero: %s\n", zero.empty() ? "none" : zero.c_str());
    GoalReport goals;
    if (interrupted_by != 0) {
      std::printf("reachability goals: not judged (the sweep was interrupted)\n");
    } else {
      goals = JudgeGoals(options_.generator, done_, coverage_, options_.required);
      if (goals.applied == 0) {
        std::printf("reachability goals: none applies to %llu seeds of %s (the smallest tier is 100 seeds)\n",
                    static_cast<unsigned long long>(done_), options_.generator.c_str());
      } else {
        std::printf("reachability goals: %d of %d reached\n",
                    goals.applied - static_cast<int>(goals.unreached.size()), goals.applied);
      }
      for (const std::string& unreached : goals.unreached) std::printf("  goal unreached: %s\n", unreached.c_str());
    }
    if (!failures_.empty()) {
      std::printf("failures (%zu):\n", failures_.size());
      for (const SeedRecord& failure : failures_) {
        std::printf("  seed %llu: %s\n    reproduce: %s\n", static_cast<unsigned long long>(failure.seed),
                    failure.detail.c_str(), SweepCommand(options_, failure.seed).c_str());
      }
    }
    const double wall = WallSeconds() - start_;
    if (interrupted_by != 0) {
      std::printf("interrupted after %llu of %llu seeds (%s)\n", static_cast<unsigned long long>(done_),
                  static_cast<unsigned long long>(options_.seeds), strsignal(interrupted_by));
    }
    std::printf("%llu seeds, %zu failed%s (%s, %d job%s)\n", static_cast<unsigned long long>(done_),
                failures_.size(),
                goals.unreached.empty() ? "" : absl::StrCat(", ", goals.unreached.size(), " goal(s) unreached").c_str(),
                Duration(wall).c_str(), options_.jobs, options_.jobs == 1 ? "" : "s");
    if (json_ != nullptr) {
      SweepSummary summary;
      summary.generator = options_.generator;
      summary.first = options_.first;
      summary.seeds = options_.seeds;
      summary.reported = done_;
      summary.failed = failures_.size();
      summary.interrupted = interrupted_by != 0;
      summary.cpu_seconds = cpu_seconds_;
      summary.wall_seconds = wall;
      summary.jobs = options_.jobs;
      summary.goals_applied = goals.applied;
      summary.goals_unreached = goals.unreached;
      const std::string line = SummaryLine(summary) + "\n";
      if (std::fwrite(line.data(), 1, line.size(), json_) != line.size() || std::fflush(json_) != 0) {
        json_error_ = true;
      }
    }
    if (json_error_) {
      std::printf("error: could not write every record to %s: %s\n", options_.json_out.c_str(), std::strerror(errno));
    }
    return goals.unreached.empty();
  }

  uint64_t done() const { return done_; }
  size_t failures() const { return failures_.size(); }
  bool json_error() const { return json_error_; }

 private:
  std::string Line() const {
    const double elapsed = std::max(WallSeconds() - start_, 1e-6);
    const double rate = static_cast<double>(done_) / elapsed;
    const double eta = rate > 0 ? static_cast<double>(options_.seeds - done_) / rate : 0;
    return absl::StrCat(done_, "/", options_.seeds, " seeds, ", absl::StrFormat("%.1f", rate), " seeds/s, ",
                        failures_.size(), " failed, ETA ", Duration(eta));
  }

  void DrawBar() const {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done_ / std::max<uint64_t>(options_.seeds, 1));
    std::printf("\r\033[K[%s%s] %s", std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(),
                Line().c_str());
  }

  const SweepOptions& options_;
  FILE* const json_;
  const bool terminal_;
  double start_ = 0;
  uint64_t done_ = 0;
  double cpu_seconds_ = 0;
  bool json_error_ = false;
  std::vector<SeedRecord> failures_;
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
// function of its scenario, so processes change nothing but the order reports arrive in). A worker streams framed
// messages to the parent: "S <seed>\n" before a seed, "E <step>\n" after each step, and "R <text bytes> <record
// bytes>\n<text><record>" when the seed is done (its report line and its JSON record). A worker that dies (a crash
// inside RocksDB or the system under test) has its seed reported by the parent as a crash at the step after the last
// one that ended, and a new worker goes on after it.
void RunWorker(int fd, const SweepOptions& options, uint64_t start, uint64_t stride, int cpu) {
  if (options.pin) PinToOneCpu(cpu);
  FILE* pipe = fdopen(fd, "w");
  const uint64_t end = options.first + options.seeds;
  for (uint64_t seed = start; seed < end; seed += stride) {
    std::fprintf(pipe, "S %llu\n", static_cast<unsigned long long>(seed));
    std::fflush(pipe);
    const Scenario scenario = Generate(options.generator, seed);
    RunOptions run_options;
    run_options.progress = [pipe](const std::string& line) {
      int step = 0;  // "step 3 checkpoint ...: ok at ..."
      if (std::sscanf(line.c_str(), "step %d", &step) == 1) {
        std::fprintf(pipe, "E %d\n", step);
        std::fflush(pipe);
      }
    };
    if (options.posix) {
      run_options.fs = RunOptions::FileSystem::kPosix;
      run_options.posix_directory = options.posix_directory;
    }
    const double cpu_before = ProcessCpuSeconds();
    const RunResult result = RunScenario(scenario, run_options);
    SeedRecord record = MakeRecord(scenario, result, ProcessCpuSeconds() - cpu_before);
    record.generator = options.generator;
    const std::string configuration = Configuration(options.generator, scenario);
    std::string text;
    if (result.verdict == RunResult::Verdict::kPass) {
      text = absl::StrCat("seed ", seed, ": ok  ", configuration, ": steps=", result.steps_run,
                          " checkpoints=", result.checkpoints_completed,
                          " side_world_restores=", result.side_world_restores, " trace_hash=", record.trace_hash,
                          "\n");
      for (const std::string& note : result.notes) {
        if (absl::StrContains(note, "liveness")) absl::StrAppend(&text, "  note: ", note, "\n");
      }
    } else {
      text = absl::StrCat("seed ", seed, ": FAILED  ", configuration, ": ", record.detail, "\n");
    }
    const std::string line = RecordLine(record);
    std::fprintf(pipe, "R %zu %zu\n", text.size(), line.size());
    std::fwrite(text.data(), 1, text.size(), pipe);
    std::fwrite(line.data(), 1, line.size(), pipe);
    std::fflush(pipe);
  }
  std::fclose(pipe);
}

// One message from a worker.
struct WorkerMessage {
  char kind = 0;  // 'S', 'E' or 'R'
  uint64_t seed = 0;
  int step = 0;
  std::string text;
  std::string record;
};

// Reads one message; false at the end of the stream (or a torn message: the worker died writing it).
bool ReadMessage(FILE* pipe, WorkerMessage* message) {
  message->kind = static_cast<char>(std::fgetc(pipe));
  if (message->kind == 'S') {
    unsigned long long seed = 0;
    if (std::fscanf(pipe, " %llu\n", &seed) != 1) return false;
    message->seed = seed;
    return true;
  }
  if (message->kind == 'E') return std::fscanf(pipe, " %d\n", &message->step) == 1;
  if (message->kind != 'R') return false;
  size_t text_size = 0;
  size_t record_size = 0;
  if (std::fscanf(pipe, " %zu %zu\n", &text_size, &record_size) != 2) return false;
  message->text.assign(text_size, '\0');
  message->record.assign(record_size, '\0');
  return std::fread(message->text.data(), 1, text_size, pipe) == text_size &&
         std::fread(message->record.data(), 1, record_size, pipe) == record_size;
}

// The lines after a failed seed's report line: where its scenario was written and the commands that reproduce it.
// The parent writes the file; one it cannot write is printed here instead, never named.
std::string FailureLines(const SweepOptions& options, const SeedRecord& record) {
  const std::string file = absl::StrCat(options.out, "/seed-", record.seed, ".scenario");
  const absl::Status written = WriteTextFile(file, record.scenario);
  if (!written.ok()) {
    return absl::StrCat("  the scenario could not be written (", written.message(),
                        "); here it is, to save as a file and replay:\n-- scenario of seed ", record.seed, " --\n",
                        record.scenario, "-- end of scenario --\n  reproduce: ", SweepCommand(options, record.seed),
                        "\n");
  }
  const std::string quoted = ShellQuote(file);
  return absl::StrCat("  scenario written to ", file, "\n  reproduce: bazel run //:snapsim -- replay ", quoted,
                      FsFlag(options), "\n  or: ", SweepCommand(options, record.seed),
                      "\n  shrink: bazel run //:snapsim -- shrink ", quoted, "\n");
}

// Parses the arguments into `options`. Returns -1 to go on, else the exit status (0 after --help, 2 on an error).
int ParseSweepArguments(const std::vector<std::string>& arguments, SweepOptions* options) {
  FlagSet flags("sweep", "--seeds=N [options]",
                "Runs the scenarios seeds S..S+N-1 generate, in worker processes; writes each failure's scenario with "
                "the\ncommands that reproduce it, sums the coverage and judges the reachability goals.");
  flags.Uint64("seeds", &options->seeds, 1, uint64_t{1} << 40, "how many seeds (required)");
  flags.Uint64("first", &options->first, 0, uint64_t{1} << 62, "the first seed (default 1)");
  flags.Choice("generator", &options->generator, {"swarm", "swarm-recoverable", "lifecycle"},
               "swarm (default: a fault mix per seed), swarm-recoverable or lifecycle");
  flags.Int("jobs", &options->jobs, 1, 256, "N worker processes, each pinned to one CPU (default 1)");
  flags.Bool("pin", &options->pin, "pin each worker to one CPU (default yes; --pin=no leaves them free)");
  flags.Path("out", &options->out, "DIR",
             "where each failure's scenario is written (default /tmp/snapsim-sweep; checked first)");
  flags.Path("json_out", &options->json_out, "FILE",
             "one JSON record per seed and a summary record, for `snapsim report`");
  std::vector<std::string> require;
  flags.Repeated("require", &require, "COUNTER:MIN",
                 "a reachability goal of this sweep's own, beside scenarios/reachability_goals.h's;\n"
                 "a goal left unreached fails the sweep, naming it");
  std::string fs = "sim";
  flags.Choice("fs", &fs, {"sim", "posix"}, "posix: real directories and threads (the lifecycle generator only)");
  flags.Note("A progress bar on a terminal, plain lines otherwise. Ctrl-C (SIGINT) or SIGTERM stops every worker and\n"
             "prints the summary so far and the failures found (exit 130). Exit status: 0 every seed passed and every\n"
             "goal was reached, 1 otherwise, 2 bad input.");
  if (std::optional<int> stop = flags.ParseOrStop(arguments)) return *stop;
  options->posix = fs == "posix";
  if (options->seeds == 0) return UsageError("sweep", "--seeds=N is required");
  if (options->posix && options->generator != "lifecycle") {
    return UsageError("sweep", "--fs=posix sweeps the lifecycle generator only: the swarm injects storage faults, "
                               "which exist in the simulated world only");
  }
  for (const std::string& text : require) {
    absl::StatusOr<ReachabilityGoal> goal = ParseRequiredGoal(text, options->generator);
    if (!goal.ok()) return UsageError("sweep", std::string(goal.status().message()));
    options->required.push_back(*goal);
  }
  options->jobs = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(options->jobs), options->seeds));
  // Every file the sweep will write, checked before the first seed runs.
  if (absl::Status status = EnsureWritableDirectory(options->out); !status.ok()) {
    return UsageError("sweep", absl::StrCat("--out: ", status.message()));
  }
  if (!options->json_out.empty()) {
    if (absl::Status status = CheckWritableFile(options->json_out); !status.ok()) {
      return UsageError("sweep", absl::StrCat("--json_out: ", status.message()));
    }
  }
  return -1;
}

}  // namespace

int Sweep(const std::vector<std::string>& arguments) {
  SweepOptions options;
  if (int code = ParseSweepArguments(arguments, &options); code >= 0) return code;
  FILE* json = nullptr;
  if (!options.json_out.empty()) {
    json = std::fopen(options.json_out.c_str(), "w");
    if (json == nullptr) {
      return CommandError("sweep", absl::StrCat("--json_out: cannot create ", options.json_out, ": ",
                                                std::strerror(errno)));
    }
  }
  Interrupts::Install();
  if (options.posix) {
    absl::StatusOr<std::string> directory = MakeTemporaryDirectory("snapsim-sweep-posix");
    if (!directory.ok()) return CommandError("sweep", std::string(directory.status().message()));
    options.posix_directory = *directory;
  }
  SweepProgress progress(options, json);
  const uint64_t end = options.first + options.seeds;
  const uint64_t stride = static_cast<uint64_t>(options.jobs);
  struct Worker {
    pid_t pid = -1;
    FILE* pipe = nullptr;
    int cpu = 0;
    std::optional<uint64_t> running;  // announced, not reported yet
    int last_step_ended = 0;
  };
  std::vector<Worker> workers(static_cast<size_t>(options.jobs));
  // Starts (or restarts) worker `index` on seeds start, start + stride, ...
  auto start_worker = [&](size_t index, uint64_t start) -> bool {
    std::fflush(stdout);
    std::fflush(stderr);
    if (json != nullptr) std::fflush(json);
    int fds[2];
    if (pipe(fds) != 0) return false;
    const pid_t pid = fork();
    if (pid < 0) {
      close(fds[0]);
      close(fds[1]);
      return false;
    }
    if (pid == 0) {
      Interrupts::ResetInChild();
      close(fds[0]);
      for (const Worker& other : workers) {
        if (other.pipe != nullptr) close(fileno(other.pipe));
      }
      if (json != nullptr) close(fileno(json));
      RunWorker(fds[1], options, start, stride, workers[index].cpu);
      std::_Exit(0);
    }
    close(fds[1]);
    workers[index].pid = pid;
    workers[index].pipe = fdopen(fds[0], "r");
    workers[index].running.reset();
    return true;
  };
  size_t open = 0;
  for (size_t index = 0; index < workers.size(); ++index) {
    workers[index].cpu = options.jobs == 1 ? -1 : static_cast<int>(index);  // one job: the CPU it starts on
    if (!start_worker(index, options.first + index)) {
      std::fprintf(stderr, "snapsim: cannot start a worker process for the sweep: %s\n", std::strerror(errno));
      break;
    }
    ++open;
  }
  // Reports arrive from every worker as they finish seeds; poll so a slow worker blocks nobody.
  int crashes = 0;
  while (open > 0 && Interrupts::signal() == 0) {
    std::vector<pollfd> polls;
    for (const Worker& worker : workers) {
      polls.push_back(pollfd{worker.pipe != nullptr ? fileno(worker.pipe) : -1, POLLIN, 0});
    }
    polls.push_back(pollfd{Interrupts::fd(), POLLIN, 0});
    if (poll(polls.data(), polls.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    // A signal is noticed before a worker's end: a terminal's Ctrl-C kills the workers too, and their deaths are
    // then no crashes.
    if (Interrupts::signal() != 0) break;
    if ((polls.back().revents & POLLIN) != 0) {
      // A byte without a signal here: a worker caught one between fork() and resetting its handlers.
      char bytes[16];
      while (read(Interrupts::fd(), bytes, sizeof(bytes)) > 0) {
      }
    }
    for (size_t i = 0; i < workers.size(); ++i) {
      if (polls[i].fd < 0 || (polls[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      Worker& worker = workers[i];
      WorkerMessage message;
      if (ReadMessage(worker.pipe, &message)) {
        if (message.kind == 'S') {
          worker.running = message.seed;
          worker.last_step_ended = 0;
        } else if (message.kind == 'E') {
          worker.last_step_ended = message.step;
        } else {
          worker.running.reset();
          absl::StatusOr<RecordFileLine> parsed = ParseRecordLine(message.record, "a worker's record");
          if (!parsed.ok()) {
            std::fprintf(stderr, "snapsim: %s\n", std::string(parsed.status().message()).c_str());
            continue;
          }
          std::string text = message.text;
          if (parsed->record.verdict != "pass") text += FailureLines(options, parsed->record);
          progress.Add(text, parsed->record);
        }
        continue;
      }
      if (Interrupts::signal() != 0) break;
      // The stream ended: the worker finished its seeds, or died running one.
      std::fclose(worker.pipe);
      worker.pipe = nullptr;
      int status = 0;
      while (waitpid(worker.pid, &status, 0) < 0 && errno == EINTR) {
      }
      worker.pid = -1;
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
      // The parent writes the scenario and reports it like any failure, at the step that was running.
      const uint64_t crashed = *worker.running;
      const Scenario scenario = Generate(options.generator, crashed);
      SeedRecord record =
          MakeCrashRecord(scenario, StepAfter(scenario, worker.last_step_ended), HowTheProcessEnded(status));
      record.generator = options.generator;
      progress.Add(absl::StrCat("seed ", crashed, ": FAILED  ", Configuration(options.generator, scenario), ": ",
                                record.detail, " (its last words are above)\n", FailureLines(options, record)),
                   record);
      if (crashed + stride >= end || !start_worker(i, crashed + stride)) --open;
    }
  }
  const int interrupted_by = Interrupts::signal();
  for (Worker& worker : workers) {
    if (worker.pid > 0) Interrupts::Stop(worker.pid);
    if (worker.pipe != nullptr) std::fclose(worker.pipe);
  }
  RemoveDirectory(options.posix_directory);
  const bool goals_reached = progress.Finish(interrupted_by);
  const bool json_ok = json == nullptr || (std::fclose(json) == 0 && !progress.json_error());
  if (interrupted_by != 0) return kInterruptedExit;
  if (progress.done() != options.seeds) {
    std::fprintf(stderr, "snapsim: %d worker process(es) died; %llu of %llu seeds reported\n", crashes,
                 static_cast<unsigned long long>(progress.done()), static_cast<unsigned long long>(options.seeds));
    return 1;
  }
  if (!json_ok) return 2;
  return progress.failures() == 0 && goals_reached ? 0 : 1;
}

}  // namespace snapsim::cli
