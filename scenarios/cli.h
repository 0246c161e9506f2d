// What the `snapsim` commands (snapsim_main.cc, replay_command.cc, sweep_command.cc, report_command.cc,
// explain_command.cc) share:
// paths as the user typed them, commands a user can paste, checked writes, the generators by name, and the signals
// that stop a command cleanly (SIGINT, SIGTERM: stop every child process, remove temporary directories, exit 130).
#ifndef SNAPSIM_SCENARIOS_CLI_H_
#define SNAPSIM_SCENARIOS_CLI_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "scenarios/scenario.h"

namespace snapsim::cli {

// The commands.
int Replay(const std::vector<std::string>& arguments);
int Sweep(const std::vector<std::string>& arguments);
int Report(const std::vector<std::string>& arguments);
int Explain(const std::vector<std::string>& arguments);

// Bazel runs the binary in its runfiles; a relative path is the user's, from where `bazel run` was called. Absolute.
std::string UserPath(const std::string& path);

// `text` as one shell word: unchanged when it holds only characters no shell treats specially, else single-quoted.
std::string ShellQuote(const std::string& text);

// Writes `text` to `path` (replacing it), checked: an error names the path and why. No shell.
absl::Status WriteTextFile(const std::string& path, const std::string& text);

// Creates `directory` (and its parents) and checks that a file can be written in it.
absl::Status EnsureWritableDirectory(const std::string& directory);

// Checks, before a command runs, that `path` can be written (not a directory, its directory exists and is
// writable); leaves nothing behind that was not there. The error names the path and the reason.
absl::Status CheckWritableFile(const std::string& path);

// A fresh directory under $TEST_TMPDIR, $TMPDIR or /tmp, named after `prefix`, for --fs=posix runs: the command that
// made it removes it, also when interrupted.
absl::StatusOr<std::string> MakeTemporaryDirectory(const std::string& prefix);
void RemoveDirectory(const std::string& directory);

// Which generator turns a seed into a scenario: swarm, swarm-recoverable or lifecycle.
Scenario Generate(const std::string& generator, uint64_t seed);

// SIGINT and SIGTERM, caught: the handler records the signal and makes Interrupts::fd() readable, so a command
// blocked in poll() wakes up, stops its children and reports what it has. Child processes restore the default
// action (a terminal's Ctrl-C reaches them too; a `kill` of the parent alone is passed on by the parent).
class Interrupts {
 public:
  // Installs the handlers (once per process).
  static void Install();
  // Readable once a signal arrived (-1 before Install).
  static int fd();
  // The signal caught, or 0.
  static int signal();
  // In a child process after fork(): default actions back, the parent's pipe closed.
  static void ResetInChild();
  // Kills `pid` (SIGKILL) and reaps it.
  static void Stop(pid_t pid);
};

// Exit status of a command stopped by a signal (128 + SIGINT, as a shell reports Ctrl-C).
inline constexpr int kInterruptedExit = 130;

}  // namespace snapsim::cli

#endif  // SNAPSIM_SCENARIOS_CLI_H_
