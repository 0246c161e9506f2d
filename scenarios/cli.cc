#include "scenarios/cli.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "scenarios/lifecycle_generator.h"
#include "scenarios/swarm_generator.h"

namespace snapsim::cli {
namespace {

volatile sig_atomic_t caught_signal = 0;
int interrupt_pipe[2] = {-1, -1};

void OnSignal(int number) {
  caught_signal = number;
  const int saved = errno;
  const char byte = 1;
  (void)!write(interrupt_pipe[1], &byte, 1);
  errno = saved;
}

}  // namespace

std::string UserPath(const std::string& path) {
  if (path.empty()) return path;
  std::string joined = path;
  const char* directory = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path[0] != '/' && directory != nullptr) joined = absl::StrCat(directory, "/", path);
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(joined, error);
  return error ? joined : absolute.lexically_normal().string();
}

std::string ShellQuote(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                              "/._-+=:,@%") == std::string::npos) {
    return text;
  }
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

absl::Status WriteTextFile(const std::string& path, const std::string& text) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  const size_t written = std::fwrite(text.data(), 1, text.size(), file);
  const int write_error = written == text.size() ? 0 : errno;
  const bool flushed = std::fflush(file) == 0;
  const int flush_error = errno;
  const bool closed = std::fclose(file) == 0;
  if (written != text.size() || !flushed || !closed) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ",
                                               std::strerror(write_error != 0 ? write_error : flush_error)));
  }
  return absl::OkStatus();
}

absl::Status EnsureWritableDirectory(const std::string& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return absl::UnavailableError(absl::StrCat("cannot create directory ", directory, ": ", error.message()));
  if (!std::filesystem::is_directory(directory, error)) {
    return absl::UnavailableError(absl::StrCat(directory, " is not a directory"));
  }
  const std::string probe = absl::StrCat(directory, "/.snapsim-probe-", getpid());
  if (absl::Status status = WriteTextFile(probe, "probe\n"); !status.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot write in directory ", directory, ": ", status.message()));
  }
  std::filesystem::remove(probe, error);
  return absl::OkStatus();
}

absl::Status CheckWritableFile(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": is a directory"));
  }
  const bool existed = std::filesystem::exists(path, error);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  close(fd);
  if (!existed) std::filesystem::remove(path, error);
  return absl::OkStatus();
}

absl::StatusOr<std::string> MakeTemporaryDirectory(const std::string& prefix) {
  std::string parent = "/tmp";
  for (const char* variable : {"TEST_TMPDIR", "TMPDIR"}) {
    const char* value = std::getenv(variable);
    if (value != nullptr && value[0] != '\0') {
      parent = value;
      break;
    }
  }
  std::string pattern = absl::StrCat(parent, "/", prefix, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot create a temporary directory under ", parent, ": ",
                                               std::strerror(errno)));
  }
  return pattern;
}

void RemoveDirectory(const std::string& directory) {
  if (directory.empty()) return;
  std::error_code error;
  std::filesystem::remove_all(directory, error);
  if (error) std::fprintf(stderr, "snapsim: cannot remove %s: %s\n", directory.c_str(), error.message().c_str());
}

Scenario Generate(const std::string& generator, uint64_t seed) {
  if (generator == "lifecycle") return GenerateLifecycleScenario(seed);
  SwarmOptions options;
  options.recoverable_only = generator == "swarm-recoverable";
  return GenerateSwarmScenario(seed, options);
}

void Interrupts::Install() {
  if (interrupt_pipe[0] >= 0) return;
  if (pipe2(interrupt_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking call returns EINTR
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int Interrupts::fd() { return interrupt_pipe[0]; }

int Interrupts::signal() { return caught_signal; }

void Interrupts::ResetInChild() {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  for (int& end : interrupt_pipe) {
    if (end >= 0) close(end);
    end = -1;
  }
}

void Interrupts::Stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace snapsim::cli
