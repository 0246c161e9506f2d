// The contract between snapsim's fuzz targets and what runs them. A target defines LLVMFuzzerTestOneInput (the
// libFuzzer entry point) and SeedCorpus(); it never crashes on bad input and calls Finding() when a property it
// checks is broken (a parser accepted what its serializer cannot reproduce, a restore accepted what does not read).
// Two runners: fuzz_driver.cc (the normal compiler: the seed corpus, given files, then deterministic mutations, as
// the default suite's *_fuzz_test) and libFuzzer (bazel build --config=fuzz, clang; tests/fuzz/README.md).
#ifndef SNAPSIM_TESTS_FUZZ_FUZZ_TARGET_H_
#define SNAPSIM_TESTS_FUZZ_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace snapsim {
namespace fuzz {

// The target's name, as in its Bazel target "<name>_fuzz".
extern const char kTargetName[];

// Inputs made by the project's own serializers from real snapshots (corpus.h), defined by each target.
std::vector<std::string> SeedCorpus();

// Prints "FUZZ FINDING in <target>: <what>" and aborts (the runner saves the input and prints how to replay it).
[[noreturn]] void Finding(const std::string& what);

// Counts inputs the parser accepted (the runner prints it, so a corpus that no longer parses shows up).
void CountAccepted();
uint64_t AcceptedCount();

// `body` followed by its CRC-32C, big-endian: every format here ends so, and fixing the checksum lets a mutated
// input reach the fields behind it.
std::string WithChecksum(absl::string_view body);
// `input` without its last 4 bytes, with a valid checksum in their place (nullopt if shorter than 4 bytes).
std::optional<std::string> FixChecksum(absl::string_view input);

// Multi-part inputs: each part as a big-endian u32 length, then its bytes.
std::string JoinParts(const std::vector<std::string>& parts);
// nullopt unless `input` holds exactly `count` parts.
std::optional<std::vector<std::string>> SplitParts(absl::string_view input, size_t count);

}  // namespace fuzz
}  // namespace snapsim

#endif  // SNAPSIM_TESTS_FUZZ_FUZZ_TARGET_H_
