// Checkpoint metadata (_metadata files; ParseCheckpointMetadata): never a crash; an error names the file; what is
// accepted survives a round trip.
#include "snapshot/completed_checkpoint.h"
#include "tests/fuzz/corpus.h"
#include "tests/fuzz/fuzz_target.h"

namespace snapsim {
namespace fuzz {

const char kTargetName[] = "checkpoint_metadata";

std::vector<std::string> SeedCorpus() { return BuildSeedObjects().checkpoint_metadata; }

namespace {

void Check(absl::string_view input) {
  constexpr absl::string_view kOrigin = "fuzz/chk-1/_metadata";
  CheckRoundTrip(
      input, kOrigin, "metadata", [&](absl::string_view bytes) { return ParseCheckpointMetadata(bytes, kOrigin); },
      [](const CompletedCheckpoint& checkpoint) { return SerializeCheckpointMetadata(checkpoint); });
}

}  // namespace
}  // namespace fuzz
}  // namespace snapsim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  snapsim::fuzz::CheckRawAndWithChecksum(data, size, snapsim::fuzz::Check);
  return 0;
}
