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

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

// Set by the runner while it runs the seed corpus: those inputs were made by the serializer, so serializing what
// was parsed must give back the input byte for byte (a field dropped on read or on write shows up there; the
// fixed-point check below alone would accept a serializer that consistently drops a field).
void SetInputIsSerializerOutput(bool exact);
bool InputIsSerializerOutput();

// The parser property: an error has a message naming `origin` (when not empty); an accepted value serializes to
// bytes that parse back to a value that serializes to the same bytes, and to the input itself when it came from
// the serializer. `parse` returns a StatusOr.
template <typename Parse, typename Serialize>
void CheckRoundTrip(absl::string_view input, absl::string_view origin, absl::string_view what, Parse parse,
                    Serialize serialize) {
  auto parsed = parse(input);
  if (!parsed.ok()) {
    const absl::string_view message = parsed.status().message();
    if (message.empty() || !absl::StrContains(message, origin)) {
      Finding(absl::StrCat("an error that does not name '", origin, "': ", parsed.status().ToString()));
    }
    return;
  }
  CountAccepted();
  const std::string serialized = serialize(*parsed);
  if (InputIsSerializerOutput() && serialized != input) {
    Finding(absl::StrCat(what, " made by the serializer does not serialize back to the same bytes"));
  }
  auto again = parse(serialized);
  if (!again.ok()) Finding(absl::StrCat("accepted ", what, ", serialized again, is rejected: ", again.status().ToString()));
  if (serialize(*again) != serialized) Finding(absl::StrCat(what, " does not survive a round trip"));
}

// Runs `check` on the input, then on the input with its last four bytes replaced by a valid checksum.
template <typename Check>
void CheckRawAndWithChecksum(const uint8_t* data, size_t size, Check check) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  check(input);
  if (std::optional<std::string> fixed = FixChecksum(input)) check(*fixed);
}

}  // namespace fuzz
}  // namespace snapsim

#endif  // SNAPSIM_TESTS_FUZZ_FUZZ_TARGET_H_
