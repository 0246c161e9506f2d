// Runs a fuzz target without libFuzzer, with the normal compiler: its seed corpus (corpus.h), any files or
// directories named on the command line (inputs that once found a bug, a libFuzzer corpus), then --inputs
// deterministic mutations of them (bit flips, interesting integers, inserted, erased, duplicated and spliced
// ranges; a quarter of them mutate the previous mutant again), drawn from --seed. The default suite runs each
// target so (tests/fuzz/BUILD.bazel); --config=fuzz links libFuzzer's own main instead (README.md in this directory).
//
// On a finding (an abort, a crash) the input is written to a file and the two commands that replay it are printed.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "sim/prng.h"
#include "tests/fuzz/fuzz_target.h"

namespace snapsim {
namespace fuzz {
namespace {

// What the signal handler needs, prepared before any input runs (it may only make async-signal-safe calls).
const std::string* current_input = nullptr;
char finding_path[4096];
char replay_message[2 * sizeof(finding_path) + 1024];  // the path twice and the text around it

void OnFatalSignal(int signal_number) {
  if (current_input != nullptr) {
    const int fd = open(finding_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      size_t written = 0;
      while (written < current_input->size()) {
        const ssize_t n = write(fd, current_input->data() + written, current_input->size() - written);
        if (n <= 0) break;
        written += static_cast<size_t>(n);
      }
      close(fd);
    }
    const ssize_t ignored = write(STDERR_FILENO, replay_message, std::strlen(replay_message));
    (void)ignored;
  }
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

uint64_t Interesting(Prng& prng) {
  static constexpr uint64_t kValues[] = {0,          1,          2,          0x7F,       0x80,
                                         0xFF,       0x7FFF,     0x8000,     0xFFFF,     0x7FFFFFFF,
                                         0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF,
                                         0x8000000000000000, 0xFFFFFFFFFFFFFFFF};
  return kValues[prng.UniformBelow(sizeof(kValues) / sizeof(kValues[0]))];
}

void PutBigEndian(std::string& bytes, size_t at, uint64_t value, int width) {
  for (int i = 0; i < width && at + i < bytes.size(); ++i) {
    bytes[at + i] = static_cast<char>((value >> (8 * (width - 1 - i))) & 0xFF);
  }
}

void MutateOnce(std::string& bytes, const std::vector<std::string>& corpus, Prng& prng) {
  const size_t size = bytes.size();
  const size_t at = size == 0 ? 0 : prng.UniformBelow(size);
  switch (prng.UniformBelow(9)) {
    case 0:
      if (size > 0) bytes[at] = static_cast<char>(bytes[at] ^ (1 << prng.UniformBelow(8)));
      break;
    case 1:
      if (size > 0) bytes[at] = static_cast<char>(Interesting(prng) & 0xFF);
      break;
    case 2:
      bytes.insert(bytes.begin() + at, static_cast<char>(prng.UniformBelow(256)));
      break;
    case 3:
      if (size > 0) bytes.erase(at, 1 + prng.UniformBelow(std::min<size_t>(16, size - at)));
      break;
    case 4:
      if (size > 0) {
        const std::string range = bytes.substr(at, 1 + prng.UniformBelow(std::min<size_t>(32, size - at)));
        bytes.insert(prng.UniformBelow(size + 1), range);
      }
      break;
    case 5:
      bytes.resize(at);
      break;
    case 6:
      PutBigEndian(bytes, at, Interesting(prng), 2);
      break;
    case 7:
      PutBigEndian(bytes, at, Interesting(prng), prng.Chance({1, 2}) ? 4 : 8);
      break;
    default: {
      const std::string& other = corpus[prng.UniformBelow(corpus.size())];
      if (!other.empty()) bytes = bytes.substr(0, at) + other.substr(prng.UniformBelow(other.size()));
      break;
    }
  }
}

bool ReadFile(const std::string& path, std::string* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *bytes = buffer.str();
  return true;
}

int Main(int argc, char** argv) {
  uint64_t inputs = 0;
  uint64_t seed = 1;
  std::string write_corpus;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    absl::string_view value = arg;
    if (absl::ConsumePrefix(&value, "--inputs=")) {
      if (!absl::SimpleAtoi(value, &inputs)) return std::fprintf(stderr, "bad --inputs: %s\n", argv[i]), 2;
    } else if (absl::ConsumePrefix(&value, "--seed=")) {
      if (!absl::SimpleAtoi(value, &seed)) return std::fprintf(stderr, "bad --seed: %s\n", argv[i]), 2;
    } else if (absl::ConsumePrefix(&value, "--write_corpus=")) {
      write_corpus = std::string(value);
    } else if (absl::StartsWith(arg, "-")) {
      std::fprintf(stderr,
                   "usage: %s_fuzz [--inputs=N] [--seed=S] [--write_corpus=DIR] [FILE|DIR...]\n"
                   "  runs the seed corpus, the files given, then N mutated inputs drawn from seed S\n",
                   kTargetName);
      return 2;
    } else {
      paths.emplace_back(arg);
    }
  }

  std::vector<std::string> corpus = SeedCorpus();
  const size_t seeds = corpus.size();
  if (!write_corpus.empty()) {
    std::error_code error;
    std::filesystem::create_directories(write_corpus, error);
    for (size_t i = 0; i < corpus.size(); ++i) {
      const std::string path = absl::StrCat(write_corpus, "/seed-", i);
      std::ofstream(path, std::ios::binary) << corpus[i];
    }
    std::printf("%s: wrote %zu seed inputs to %s\n", kTargetName, corpus.size(), write_corpus.c_str());
    return 0;
  }
  for (const std::string& path : paths) {
    std::vector<std::string> files;
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        if (entry.is_regular_file()) files.push_back(entry.path().string());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(path);
    }
    for (const std::string& file : files) {
      std::string bytes;
      if (!ReadFile(file, &bytes)) return std::fprintf(stderr, "cannot read %s\n", file.c_str()), 2;
      corpus.push_back(std::move(bytes));
    }
  }
  if (corpus.empty()) return std::fprintf(stderr, "%s: empty corpus\n", kTargetName), 2;

  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  std::snprintf(finding_path, sizeof(finding_path), "%s/%s-finding", outputs != nullptr ? outputs : "/tmp",
                kTargetName);
  std::snprintf(replay_message, sizeof(replay_message),
                "the input is in %s\n"
                "reproduce: bazel run //tests/fuzz:%s_fuzz -- --seed=%llu --inputs=%llu\n"
                "   or: bazel run //tests/fuzz:%s_fuzz -- %s  (copy it out of the test's outputs first)\n",
                finding_path, kTargetName, static_cast<unsigned long long>(seed),
                static_cast<unsigned long long>(inputs), kTargetName, finding_path);
  for (int signal_number : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(signal_number, OnFatalSignal);

  for (size_t i = 0; i < corpus.size(); ++i) {
    current_input = &corpus[i];
    SetInputIsSerializerOutput(i < seeds);  // the seed corpus came from the serializers; files may not have
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(corpus[i].data()), corpus[i].size());
  }
  SetInputIsSerializerOutput(false);
  const uint64_t accepted_from_corpus = AcceptedCount();
  Prng prng(seed);
  std::string previous = corpus[0];
  for (uint64_t i = 0; i < inputs; ++i) {
    std::string mutant = prng.Chance({1, 4}) ? previous : corpus[prng.UniformBelow(corpus.size())];
    const uint64_t mutations = 1 + prng.UniformBelow(4);
    for (uint64_t m = 0; m < mutations; ++m) MutateOnce(mutant, corpus, prng);
    if (mutant.size() > (1u << 20)) mutant.resize(1u << 20);
    current_input = &mutant;
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(mutant.data()), mutant.size());
    previous = std::move(mutant);
  }
  current_input = nullptr;
  std::printf("%-22s %8s %8s %9s %10s %9s\n", "target", "seeds", "files", "mutated", "accepted", "findings");
  std::printf("%-22s %8zu %8zu %9llu %10llu %9d\n", kTargetName, seeds, corpus.size() - seeds,
              static_cast<unsigned long long>(inputs), static_cast<unsigned long long>(AcceptedCount()), 0);
  if (accepted_from_corpus == 0) {
    std::fprintf(stderr, "%s: no seed input was accepted: the corpus no longer matches the parser\n", kTargetName);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace fuzz
}  // namespace snapsim

int main(int argc, char** argv) { return snapsim::fuzz::Main(argc, argv); }
