// Checkpoint metadata (_metadata files; ParseCheckpointMetadata): never a crash; an error names the file; what is
// accepted serializes to bytes that parse back to the same bytes.
#include "absl/strings/match.h"
#include "snapshot/completed_checkpoint.h"
#include "tests/fuzz/corpus.h"
#include "tests/fuzz/fuzz_target.h"

namespace snapsim {
namespace fuzz {

const char kTargetName[] = "checkpoint_metadata";

std::vector<std::string> SeedCorpus() { return BuildSeedObjects().checkpoint_metadata; }

namespace {

constexpr char kOrigin[] = "fuzz/chk-1/_metadata";

void Check(absl::string_view input) {
  absl::StatusOr<CompletedCheckpoint> parsed = ParseCheckpointMetadata(input, kOrigin);
  if (!parsed.ok()) {
    if (!absl::StrContains(parsed.status().message(), kOrigin)) {
      Finding("an error that does not name the file: " + parsed.status().ToString());
    }
    return;
  }
  CountAccepted();
  const std::string serialized = SerializeCheckpointMetadata(*parsed);
  absl::StatusOr<CompletedCheckpoint> again = ParseCheckpointMetadata(serialized, kOrigin);
  if (!again.ok()) Finding("accepted metadata, serialized again, is rejected: " + again.status().ToString());
  if (SerializeCheckpointMetadata(*again) != serialized) Finding("metadata does not survive a round trip");
}

}  // namespace
}  // namespace fuzz
}  // namespace snapsim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  snapsim::fuzz::Check(input);
  if (std::optional<std::string> fixed = snapsim::fuzz::FixChecksum(input)) snapsim::fuzz::Check(*fixed);
  return 0;
}
