// Serialized state handles (ParseKeyedStateHandle, ParseIncrementalLocalHandle): never a crash; an error names
// the origin; what is accepted survives a round trip.
#include "absl/strings/match.h"
#include "snapshot/state_handles.h"
#include "tests/fuzz/corpus.h"
#include "tests/fuzz/fuzz_target.h"

namespace snapsim {
namespace fuzz {

const char kTargetName[] = "keyed_state_handle";

std::vector<std::string> SeedCorpus() {
  std::vector<std::string> corpus = BuildSeedObjects().keyed_state_handles;
  for (const std::string& local : BuildSeedObjects().local_handles) corpus.push_back(local);
  return corpus;
}

namespace {

constexpr char kOrigin[] = "fuzz checkpoint 7";

void CheckError(const absl::Status& status) {
  if (!absl::StrContains(status.message(), kOrigin)) {
    Finding("an error that does not name the origin: " + status.ToString());
  }
}

void Check(absl::string_view input) {
  absl::StatusOr<KeyedStateHandle> remote = ParseKeyedStateHandle(input, kOrigin);
  if (remote.ok()) {
    CountAccepted();
    const std::string serialized = SerializeKeyedStateHandle(*remote);
    absl::StatusOr<KeyedStateHandle> again = ParseKeyedStateHandle(serialized, kOrigin);
    if (!again.ok()) Finding("an accepted handle, serialized again, is rejected: " + again.status().ToString());
    if (!(*again == *remote)) Finding("a keyed state handle does not survive a round trip");
  } else {
    CheckError(remote.status());
  }
  absl::StatusOr<IncrementalLocalKeyedStateHandle> local = ParseIncrementalLocalHandle(input, kOrigin);
  if (local.ok()) {
    CountAccepted();
    const std::string serialized = SerializeIncrementalLocalHandle(*local);
    absl::StatusOr<IncrementalLocalKeyedStateHandle> again = ParseIncrementalLocalHandle(serialized, kOrigin);
    if (!again.ok()) Finding("an accepted local handle, serialized again, is rejected: " + again.status().ToString());
    if (!(*again == *local)) Finding("a local handle does not survive a round trip");
  } else {
    CheckError(local.status());
  }
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
