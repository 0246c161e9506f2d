// `snapsim replay`: scenario files run one after another, each in a child process, so that a scenario that crashes
// the process (a failed assertion inside RocksDB, a signal) is a verdict like any other: "CRASH at step N" with the
// signal, the steps before it already printed (the child flushes every line), exit status 1. The parent owns what
// outlives a child: --json_out records (sweep_records.h), the temporary directory of --fs=posix runs, and SIGINT /
// SIGTERM (the child is stopped, the directory removed, exit 130).
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "scenarios/cli.h"
#include "scenarios/cli_flags.h"
#include "scenarios/executor.h"
#include "scenarios/lifecycle_generator.h"
#include "scenarios/scenario.h"
#include "scenarios/shrink.h"
#include "scenarios/sweep_records.h"

namespace snapsim::cli {
namespace {

struct ReplayOptions {
  std::vector<std::string> files;
  std::string trace_out;
  std::string json_out;
  int until = 0;
  bool quiet = false;
  bool verbose = false;
  bool print_hash = false;
  std::set<int> invariants;
  bool posix = false;
  std::string posix_directory;
  // A branch of a sweep or of explain: from this step on, every draw comes from `reseed` (0: never).
  int reseed_from_step = 0;
  uint64_t reseed = 0;
};

void WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t written = write(fd, text.data() + done, text.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    done += static_cast<size_t>(written);
  }
}

std::string ReproduceFlags(const ReplayOptions& options) {
  return absl::StrCat(
      options.posix ? " --fs=posix" : "",
      options.invariants.empty() ? "" : absl::StrCat(" --invariants=", absl::StrJoin(options.invariants, ",")),
      options.reseed_from_step == 0
          ? ""
          : absl::StrCat(" --reseed_from_step=", options.reseed_from_step, " --reseed=", options.reseed));
}

// The child: runs `scenario`, prints its steps and verdict (each line flushed), writes the trace file, and sends the
// parent "E <step>\n" after each step and "J <bytes>\n<record>" at the end. Returns the exit status.
int RunInChild(const ReplayOptions& options, const Scenario& scenario, const std::string& file, bool last, int fd) {
  RunOptions run_options;
  run_options.keep_trace_events = options.verbose || (!options.trace_out.empty() && last);
  run_options.until_step = options.until;
  run_options.judged_invariants = options.invariants;
  run_options.reseed_from_step = options.reseed_from_step;
  run_options.reseed = options.reseed;
  if (options.posix) {
    run_options.fs = RunOptions::FileSystem::kPosix;
    run_options.posix_directory = options.posix_directory;
  }
  if (!options.quiet) {
    std::printf("== %s (seed %llu, %zu steps)\n", file.c_str(), static_cast<unsigned long long>(scenario.config.seed),
                scenario.steps.size());
    // The header it runs, and a generated scenario's fault mix.
    std::printf("  configuration: %s\n", DescribeConfiguration(scenario.config).c_str());
    for (const std::string& line : scenario.description) {
      if (absl::StartsWith(line, "Fault mix: ")) std::printf("  fault mix: %s\n", line.substr(11).c_str());
    }
    std::fflush(stdout);
  }
  run_options.progress = [&options, fd](const std::string& line) {
    if (!options.quiet) {
      std::printf("  %s\n", line.c_str());
      std::fflush(stdout);
    }
    int step = 0;  // "step 3 checkpoint ...: ok at ..."
    if (std::sscanf(line.c_str(), "step %d", &step) == 1) WriteAll(fd, absl::StrCat("E ", step, "\n"));
  };
  const double cpu_before = ProcessCpuSeconds();
  const RunResult result = RunScenario(scenario, run_options);
  SeedRecord record = MakeRecord(scenario, result, ProcessCpuSeconds() - cpu_before);
  record.type = "scenario";
  record.generator = "file";
  record.origin = file;
  if (options.verbose) std::printf("%s", result.trace_text.c_str());
  switch (result.verdict) {
    case RunResult::Verdict::kPass:
      std::printf("%s: PASS  steps=%d checkpoints=%d side_world_restores=%d %s=%lldus events=%llu "
                  "trace_hash=%016llx\n",
                  file.c_str(), result.steps_run, result.checkpoints_completed, result.side_world_restores,
                  options.posix ? "elapsed" : "virtual_time", static_cast<long long>(result.virtual_time_micros),
                  static_cast<unsigned long long>(result.trace_events),
                  static_cast<unsigned long long>(result.trace_hash));
      break;
    case RunResult::Verdict::kViolation:
      std::printf("%s: FAIL  %s\n  reproduce: bazel run //:snapsim -- replay %s%s\n", file.c_str(),
                  result.violation->ToString().c_str(), ShellQuote(UserPath(file)).c_str(),
                  ReproduceFlags(options).c_str());
      break;
    case RunResult::Verdict::kBadInput:
      std::printf("%s: BAD INPUT\n  %s\n", file.c_str(), result.error.c_str());
      break;
  }
  for (const std::string& note : result.notes) std::printf("  note: %s\n", note.c_str());
  if (options.print_hash) std::printf("%016llx\n", static_cast<unsigned long long>(result.trace_hash));
  if (!result.dump.empty()) {
    std::printf("-- state after step %d (end-of-run checks not run) --\n%s", result.last_step, result.dump.c_str());
  }
  int code = result.ExitCode();
  if (!options.trace_out.empty() && last) {
    if (absl::Status written = WriteTextFile(options.trace_out, result.chrome_trace_json); !written.ok()) {
      std::fprintf(stderr, "snapsim: %s\n", std::string(written.message()).c_str());
      code = 2;
    } else {
      std::printf("  trace written to %s (open in ui.perfetto.dev or chrome://tracing)\n", options.trace_out.c_str());
    }
  }
  std::fflush(stdout);
  const std::string line = RecordLine(record);
  WriteAll(fd, absl::StrCat("J ", line.size(), "\n", line));
  return code;
}

// What the parent heard from a child: the last step that ended, and the record if the child got that far.
struct ChildReport {
  int last_step_ended = 0;
  std::string record;
  bool interrupted = false;
};

// Reads the child's messages until its end (or a signal to this process).
ChildReport ReadChild(int fd) {
  ChildReport report;
  std::string buffer;
  char bytes[4096];
  for (;;) {
    pollfd polls[2] = {{fd, POLLIN, 0}, {Interrupts::fd(), POLLIN, 0}};
    if (poll(polls, 2, -1) < 0 && errno != EINTR) break;
    if (Interrupts::signal() != 0) {
      report.interrupted = true;
      return report;
    }
    if ((polls[1].revents & POLLIN) != 0) {
      while (read(Interrupts::fd(), bytes, sizeof(bytes)) > 0) {
      }
    }
    if ((polls[0].revents & (POLLIN | POLLHUP)) == 0) continue;
    const ssize_t got = read(fd, bytes, sizeof(bytes));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    buffer.append(bytes, static_cast<size_t>(got));
  }
  size_t position = 0;
  while (position < buffer.size() && buffer[position] == 'E') {
    const size_t end = buffer.find('\n', position);
    if (end == std::string::npos) break;
    (void)absl::SimpleAtoi(absl::string_view(buffer).substr(position + 2, end - position - 2),
                           &report.last_step_ended);
    position = end + 1;
  }
  size_t size = 0;
  if (position < buffer.size() && buffer[position] == 'J') {
    const size_t end = buffer.find('\n', position);
    if (end != std::string::npos &&
        absl::SimpleAtoi(absl::string_view(buffer).substr(position + 2, end - position - 2), &size) &&
        end + 1 + size == buffer.size()) {
      report.record = buffer.substr(end + 1);
    }
  }
  return report;
}

// Parses the arguments into `options`. Returns -1 to go on, else the exit status (0 after --help, 2 on an error).
int ParseReplayArguments(const std::vector<std::string>& arguments, ReplayOptions* options) {
  FlagSet flags("replay", "FILE... [options]",
                "Replays scenario files, each in a child process (a crash is a verdict), judging every invariant\n"
                "after every step.");
  flags.Positionals(&options->files, "FILE");
  flags.Path("trace_out", &options->trace_out, "FILE.json",
             "write a Perfetto / chrome://tracing timeline of the (last) scenario");
  flags.Int("until", &options->until, 1, 1 << 30,
            "stop after step N and dump the job, the registry and the storage listing");
  flags.Bool("quiet", &options->quiet, "print only the verdict lines, not every step");
  flags.Bool("verbose", &options->verbose, "print every trace event (time, component, event) after the steps");
  flags.Bool("print_hash", &options->print_hash, "print the trace hash of each run (the determinism judge)");
  std::string invariants;
  flags.String("invariants", &invariants, "N[,M...]",
               "judge only these invariants; others' violations are listed, not failed");
  std::string fs = "sim";
  flags.Choice("fs", &fs, {"sim", "posix"},
               "sim (default): the simulated world, deterministic; posix: a real directory with real\n"
               "threads (not deterministic; checkpoint timeouts between 2 s and 8 s), same verdicts expected");
  flags.Path("json_out", &options->json_out, "FILE",
             "one JSON record per scenario (verdict, violation, trace hash, CPU seconds, coverage)");
  flags.Int("reseed_from_step", &options->reseed_from_step, 1, 1 << 30,
            "replay the steps before N exactly and draw the rest from --reseed (a branch from a rare\n"
            "state, or one of explain's runs)");
  flags.Uint64("reseed", &options->reseed, 0, std::numeric_limits<uint64_t>::max(),
               "the seed of the redrawn rest (with --reseed_from_step)");
  flags.Note("Exit status: 0 every scenario passed, 1 an invariant was violated (or the process crashed), 2 bad\n"
             "input, 130 interrupted (SIGINT, SIGTERM). Scenario language: scenarios/README.md, or `snapsim steps`.");
  if (std::optional<int> stop = flags.ParseOrStop(arguments)) return *stop;
  if (!invariants.empty()) {
    for (absl::string_view number : absl::StrSplit(invariants, ',')) {
      int invariant = -1;
      if (!absl::SimpleAtoi(number, &invariant) || invariant < 0 || invariant > 99) {
        return UsageError("replay", "--invariants takes invariant numbers separated by commas, not '" + invariants +
                                        "'");
      }
      options->invariants.insert(invariant);
    }
  }
  options->posix = fs == "posix";
  if (options->reseed_from_step > 0 && options->posix) {
    return UsageError("replay", "--reseed_from_step needs the simulated world (--fs=sim)");
  }
  if (options->files.empty()) return UsageError("replay", "no scenario file given");
  // Every file the run writes, checked before the first scenario runs.
  for (const std::string* path : {&options->trace_out, &options->json_out}) {
    if (path->empty()) continue;
    if (absl::Status status = CheckWritableFile(*path); !status.ok()) {
      return UsageError("replay", absl::StrCat(path == &options->trace_out ? "--trace_out" : "--json_out", ": ",
                                               status.message()));
    }
  }
  return -1;
}

}  // namespace

int Replay(const std::vector<std::string>& arguments) {
  ReplayOptions options;
  if (int code = ParseReplayArguments(arguments, &options); code >= 0) return code;
  FILE* json = nullptr;
  if (!options.json_out.empty()) {
    json = std::fopen(options.json_out.c_str(), "w");
    if (json == nullptr) {
      return UsageError("replay", absl::StrCat("--json_out: cannot create ", options.json_out, ": ",
                                               std::strerror(errno)));
    }
  }
  bool json_ok = true;
  auto write_record = [&](const std::string& line) {
    if (json == nullptr) return;
    const std::string text = line + "\n";
    if (std::fwrite(text.data(), 1, text.size(), json) != text.size() || std::fflush(json) != 0) json_ok = false;
  };
  Interrupts::Install();
  if (options.posix) {
    absl::StatusOr<std::string> directory = MakeTemporaryDirectory("snapsim-replay-posix");
    if (!directory.ok()) return CommandError("replay", std::string(directory.status().message()));
    options.posix_directory = *directory;
  }
  int worst = 0;
  size_t index = 0;
  for (; index < options.files.size() && Interrupts::signal() == 0; ++index) {
    const std::string& file = options.files[index];
    absl::StatusOr<Scenario> scenario = LoadScenarioFile(UserPath(file));
    if (!scenario.ok()) {
      std::printf("%s: BAD INPUT\n  %s\n", file.c_str(), std::string(scenario.status().message()).c_str());
      SeedRecord record;
      record.type = "scenario";
      record.generator = "file";
      record.origin = file;
      record.verdict = "bad_input";
      record.detail = std::string(scenario.status().message());
      write_record(RecordLine(record));
      worst = 2;
      continue;
    }
    scenario->origin = file;
    std::fflush(stdout);
    std::fflush(stderr);
    if (json != nullptr) std::fflush(json);
    int fds[2];
    if (pipe(fds) != 0) return CommandError("replay", absl::StrCat("cannot create a pipe: ", std::strerror(errno)));
    const pid_t pid = fork();
    if (pid < 0) {
      return CommandError("replay", absl::StrCat("cannot start a child process: ", std::strerror(errno)));
    }
    if (pid == 0) {
      Interrupts::ResetInChild();
      close(fds[0]);
      if (json != nullptr) close(fileno(json));
      const int code = RunInChild(options, *scenario, file, index + 1 == options.files.size(), fds[1]);
      close(fds[1]);
      std::fflush(stdout);
      std::_Exit(code);
    }
    close(fds[1]);
    const ChildReport report = ReadChild(fds[0]);
    close(fds[0]);
    if (report.interrupted) {
      Interrupts::Stop(pid);
      break;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    if (!report.record.empty() && WIFEXITED(status)) {
      write_record(report.record);
    } else {
      // The child died before its verdict: the step after the last one that ended was running.
      const int running = StepAfter(*scenario, report.last_step_ended);
      SeedRecord record = MakeCrashRecord(*scenario, running, HowTheProcessEnded(status));
      record.type = "scenario";
      record.generator = "file";
      record.origin = file;
      write_record(RecordLine(record));
      std::printf(
          "%s: CRASH  the process crashed at step %d (%s), %s\n  reproduce: bazel run //:snapsim -- "
          "replay %s%s\n",
          file.c_str(), running, record.verb.c_str(), HowTheProcessEnded(status).c_str(),
          ShellQuote(UserPath(file)).c_str(), ReproduceFlags(options).c_str());
      std::fflush(stdout);
      code = 1;
    }
    if (code == 2 || (code == 1 && worst == 0)) worst = code;
  }
  RemoveDirectory(options.posix_directory);
  if (json != nullptr && std::fclose(json) != 0) json_ok = false;
  if (Interrupts::signal() != 0) {
    std::printf("interrupted after %zu of %zu scenarios (%s)\n", index, options.files.size(),
                strsignal(Interrupts::signal()));
    return kInterruptedExit;
  }
  if (!json_ok) {
    std::fprintf(stderr, "snapsim: could not write every record to %s\n", options.json_out.c_str());
    return 2;
  }
  return worst;
}

}  // namespace snapsim::cli
